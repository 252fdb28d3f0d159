"""Assemble the bias corpus (corpus/statements.jsonl) from the batch files written by voice.

    uv run python scripts/build_bias_corpus.py

Each file in unstuck/thinking/corpus/batches/ is one batch written in one voice and medium.
Its header lines name them (`# voice: finance`, `# medium: email`, `# speaker: finance`, and
optionally `# author: w1`, who wrote the batch; batches without it are by the first author,
`a0`);
every other non-blank line is `TAG | text`, where TAG is a bias code (pr co ex le fc pe), `n`
for a plain note, or `h-XX` for a hard negative that shares bias XX's surface. Batches mix
labels on purpose: they were written per voice, not per bias, so wording does not give the
label away. The statements of the first corpus (one author, before voices) are kept as the
voice `house`, and its old fresh split as `fresh54` (never trained on).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent.parent / "unstuck" / "thinking" / "corpus"
BATCHES = CORPUS_DIR / "batches"
OUT = CORPUS_DIR / "statements.jsonl"
CODES = {
    "pr": "practicality",
    "co": "confirmation",
    "ex": "exportability",
    "le": "legacy",
    "fc": "first_conclusion",
    "pe": "personal",
}
# Who wrote the batches without an `# author:` line (and the house corpus).
FIRST_AUTHOR = "a0"
HOUSE_STYLE_MEDIUM = {
    "chat": "slack",
    "note": "crm_note",
    "email": "email",
    "meeting": "minutes",
    "review": "review",
}


def parse_batch(path: Path) -> list[dict[str, object]]:
    header: dict[str, str] = {}
    rows: list[dict[str, object]] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            header[key.strip()] = value.strip()
            continue
        tag, sep, text = line.partition("|")
        tag, text = tag.strip(), text.strip().replace("\\n", "\n")
        if not sep or not text:
            sys.exit(f"{path.name}:{number}: expected 'TAG | text'")
        if tag in CODES:
            label, kind, resembles = CODES[tag], "biased", None
        elif tag == "n":
            label, kind, resembles = "none", "neutral", None
        elif tag.startswith("h-") and tag[2:] in CODES:
            label, kind, resembles = "none", "hard_negative", CODES[tag[2:]]
        else:
            sys.exit(f"{path.name}:{number}: unknown tag {tag!r}")
        for key in ("voice", "medium", "speaker"):
            if key not in header:
                sys.exit(f"{path.name}: header '# {key}: …' missing before line {number}")
        rows.append(
            {
                "text": text,
                "label": label,
                "kind": kind,
                "resembles": resembles,
                "voice": header["voice"],
                "medium": header["medium"],
                "speaker": header["speaker"],
                "batch": path.stem,
                "author": header.get("author", FIRST_AUTHOR),
            }
        )
    return rows


def main() -> None:
    house = [json.loads(line) for line in (CORPUS_DIR / "house.jsonl").open(encoding="utf-8")]
    rows: list[dict[str, object]] = []
    for r in house:
        rows.append(
            {
                "text": r["text"],
                "label": r["label"],
                "kind": r["kind"],
                "resembles": r.get("resembles"),
                "voice": "house",
                "medium": HOUSE_STYLE_MEDIUM[r["style"]],
                "speaker": r["speaker"],
                "batch": "house",
                "author": FIRST_AUTHOR,
                "split": "fresh54" if r["split"] == "fresh" else "train",
                "id": r["id"],
            }
        )
    seen = {str(r["text"]).lower() for r in rows}
    n = 0
    for path in sorted(BATCHES.glob("*.txt")):
        for row in parse_batch(path):
            key = str(row["text"]).lower()
            if key in seen:
                print(f"skipping a repeated statement in {path.name}: {row['text']}")
                continue
            seen.add(key)
            n += 1
            row["id"] = f"v{n:05d}"
            row["split"] = "train"
            rows.append(row)
    voices: dict[str, set[object]] = {}
    for row in rows:
        voices.setdefault(str(row["voice"]), set()).add(row["author"])
    shared = sorted(v for v, authors in voices.items() if len(authors) > 1)
    if shared:
        sys.exit(f"voices written by more than one author (rename one): {shared}")
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(
        f"{len(rows)} statements: {len(house)} house, {n} from "
        f"{len(list(BATCHES.glob('*.txt')))} voice batches"
    )


if __name__ == "__main__":
    main()
