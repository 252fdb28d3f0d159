"""The labelled corpus of statements (corpus/statements.jsonl; see corpus/DATA_CARD.md).

Also reads the blind set (bench/data/bias_blind.jsonl), written by someone who never saw the
corpus: it is for evaluation only, and nothing in training may read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus" / "statements.jsonl"
BLIND = Path(__file__).resolve().parent.parent.parent / "bench" / "data" / "bias_blind.jsonl"


@dataclass(frozen=True)
class Statement:
    id: str
    text: str
    label: str
    kind: str  # biased | neutral | hard_negative
    split: str  # train | fresh54 (the first corpus's last held-out set) | blind
    voice: str  # who wrote it, in what role and register (splits for evaluation follow it)
    medium: str  # slack, email, crm_note, minutes, …
    speaker: str
    batch: str = ""
    resembles: str | None = None
    author: str = ""  # who wrote it: a0 (the first author), w1, w2, … (DATA_CARD.md)


def load_statements(split: str | None = None, path: Path = CORPUS) -> list[Statement]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rows.append(Statement(**json.loads(line)))
    return [r for r in rows if split is None or r.split == split]


def load_blind(path: Path = BLIND) -> list[Statement]:
    """The blind set, in the corpus's shape; its own fields beyond these are ignored."""
    rows = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            raw = json.loads(line)
            label = raw["label"]
            kind = raw.get("kind") or ("biased" if label != "none" else "neutral")
            rows.append(
                Statement(
                    id=str(raw.get("id", f"b{number:04d}")),
                    text=raw["text"],
                    label=label,
                    kind=kind,
                    split="blind",
                    voice=str(raw.get("voice", "blind")),
                    medium=str(raw.get("medium", "")),
                    speaker=str(raw.get("speaker", "")),
                    resembles=raw.get("resembles"),
                    author="blind",
                )
            )
    return rows
