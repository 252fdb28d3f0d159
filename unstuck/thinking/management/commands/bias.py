"""`bias scan` (JSON lines in, JSON lines out) and `bias check "text"` as a Django command.

`unstuck bias …` does not come here: unstuck/cli.py runs unstuck/thinking/bias_cli.py directly,
without Django. This wrapper serves `django-admin`/`call_command` with the same functions.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from unstuck.thinking.bias_cli import check, scan


class Command(BaseCommand):
    help = "Detect the six biases in text: scan JSON lines from stdin, or check one statement."
    # Pure text in, text out: no database, no URLs.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{scan,check}")
        sub.add_parser(
            "scan",
            help='Read {"id": ..., "text": ...} lines on stdin; write one JSON line per input.',
        )
        one = sub.add_parser("check", help="Check one statement and explain, for people.")
        one.add_argument("text", nargs="+", help="The statement (quote it).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "scan":
            scanned, errors = scan(sys.stdin, sys.stdout)
            if errors:
                self.stderr.write(
                    f"{scanned} scanned, {errors} bad line(s) reported in the output."
                )
            return
        check(" ".join(options["text"]), self.stdout.write, self.style.WARNING)
