"""`unstuck bias scan` (JSON lines in, JSON lines out) and `unstuck bias check "text"`."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandParser

from unstuck.thinking.biases import CATALOGUE
from unstuck.thinking.detector import BiasFlag, detect, detect_many

BATCH = 256


def _flag_json(flag: BiasFlag) -> dict[str, Any]:
    return {
        "bias": flag.bias,
        "confidence": flag.confidence,
        "evidence": flag.evidence,
        "explanation": flag.explanation,
        "questions": flag.questions,
    }


def _parse(line: str, number: int) -> tuple[Any, str] | str:
    """(id, text) from one input line, or the error message for it."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(record, dict):
        return f'line {number}: expected an object like {{"id": 1, "text": "..."}}'
    if "text" not in record:
        return f'line {number}: missing "text"'
    if not isinstance(record["text"], str):
        return f'line {number}: "text" must be a string'
    return record.get("id"), record["text"]


def scan(lines: TextIO, out: TextIO) -> tuple[int, int]:
    """Write one JSON line per input line, in order; returns (scanned, errors)."""
    scanned = errors = 0
    pending: list[tuple[Any, str] | dict[str, Any]] = []

    def flush() -> None:
        texts = [p[1] for p in pending if isinstance(p, tuple)]
        results = iter(detect_many(texts))
        for item in pending:
            if isinstance(item, tuple):
                flags = next(results)
                record = {"id": item[0], "biases": [_flag_json(f) for f in flags]}
            else:
                record = item
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
        pending.clear()

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parsed = _parse(line, number)
        if isinstance(parsed, str):
            errors += 1
            pending.append({"line": number, "error": parsed})
        else:
            scanned += 1
            pending.append(parsed)
        if len(pending) >= BATCH:
            flush()
    flush()
    return scanned, errors


class Command(BaseCommand):
    help = "Detect the six biases in text: scan JSON lines from stdin, or check one statement."
    # Pure text in, text out: no database, no URLs. `unstuck bias` runs it without
    # django.setup() (unstuck/cli.py), so it must not need the app registry either.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{scan,check}")
        sub.add_parser(
            "scan",
            help='Read {"id": ..., "text": ...} lines on stdin; write one JSON line per input.',
        )
        check = sub.add_parser("check", help="Check one statement and explain, for people.")
        check.add_argument("text", nargs="+", help="The statement (quote it).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "scan":
            scanned, errors = scan(sys.stdin, sys.stdout)
            if errors:
                self.stderr.write(
                    f"{scanned} scanned, {errors} bad line(s) reported in the output."
                )
            return
        text = " ".join(options["text"])
        flags = detect(text)
        if not flags:
            self.stdout.write("No bias flagged. (The detector stays quiet on sound reasoning.)")
            return
        for flag in flags:
            name = CATALOGUE[flag.bias].name
            self.stdout.write(
                self.style.WARNING(f"{name} bias  (confidence {flag.confidence:.2f})")
            )
            self.stdout.write(f"  Evidence: “{flag.evidence}”")
            self.stdout.write(f"  {flag.explanation}")
            self.stdout.write("  Questions to open the view:")
            for q in flag.questions:
                self.stdout.write(f"    - {q}")
