"""The labelled corpus of statements (corpus/statements.jsonl; see corpus/DATA_CARD.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus" / "statements.jsonl"


@dataclass(frozen=True)
class Statement:
    id: str
    text: str
    label: str
    kind: str  # biased | neutral | hard_negative
    split: str  # train | dev
    style: str
    speaker: str
    resembles: str | None = None


def load_statements(split: str | None = None, path: Path = CORPUS) -> list[Statement]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rows.append(Statement(**json.loads(line)))
    return [r for r in rows if split is None or r.split == split]
