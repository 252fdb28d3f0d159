"""`unstuck bias scan` and `unstuck bias check "text"`, without Django.

The command line runs this module straight from unstuck/cli.py, before (and instead of) any
Django set-up: it needs no database, no settings and no app registry, only the detector. The
management command `bias` (for `django-admin`, `call_command` and the tests) is a thin wrapper
around the same functions, so both give the same output. The detector's model is loaded on the
first statement, not on import.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from unstuck.thinking.detector import BiasFlag

BATCH = 256
NO_FLAG = "No bias flagged. (The detector stays quiet on sound reasoning.)"


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


def scan(lines: Iterable[str], out: TextIO) -> tuple[int, int]:
    """Write one JSON line per input line, in order; returns (scanned, errors)."""
    from unstuck.thinking.detector import detect_many

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


def check(text: str, write: Callable[[str], object], heading: Callable[[str], str] = str) -> None:
    """Explain, for people, the biases flagged in one statement (`heading` styles the names)."""
    from unstuck.thinking.biases import CATALOGUE
    from unstuck.thinking.detector import detect

    flags = detect(text)
    if not flags:
        write(NO_FLAG)
        return
    for flag in flags:
        name = CATALOGUE[flag.bias].name
        write(heading(f"{name} bias  (confidence {flag.confidence:.2f})"))
        write(f"  Evidence: “{flag.evidence}”")
        write(f"  {flag.explanation}")
        write("  Questions to open the view:")
        for q in flag.questions:
            write(f"    - {q}")


def parser(prog: str = "unstuck bias") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Detect the six biases in text: scan JSON lines from stdin, or check one "
        "statement.",
    )
    sub = p.add_subparsers(dest="action", required=True, metavar="{scan,check}")
    sub.add_parser(
        "scan", help='Read {"id": ..., "text": ...} lines on stdin; write one JSON line per input.'
    )
    one = sub.add_parser("check", help="Check one statement and explain, for people.")
    one.add_argument("text", nargs="+", help="The statement (quote it).")
    return p


def _heading(text: str) -> str:
    """Yellow and bold on a terminal that takes colour, as Django's WARNING style."""
    import os

    if sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
        return f"\x1b[33;1m{text}\x1b[0m"
    return text


def main(argv: list[str]) -> None:
    """Run `unstuck bias …` with the arguments after `bias`."""
    args = parser().parse_args(argv)
    if args.action == "scan":
        scanned, errors = scan(sys.stdin, sys.stdout)
        if errors:
            sys.stderr.write(f"{scanned} scanned, {errors} bad line(s) reported in the output.\n")
        return
    check(" ".join(args.text), lambda line: sys.stdout.write(line + "\n"), _heading)
