from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from unstuck.core import csvexport
from unstuck.investigate.management.commands._common import membership_arg, workspace_arg
from unstuck.investigate.selectors import iter_diagnosis


class Command(BaseCommand):
    help = (
        "List open deals with their stall score and signals, worst first. With --as-of DATE, "
        "answer from the history known at the end of that day: the deals open then, their "
        "stage then and their time in it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", help="Workspace slug (optional if there is one).")
        parser.add_argument("--as-of", help="YYYY-MM-DD: diagnose as of the end of this day.")
        parser.add_argument("--format", choices=["table", "json", "csv"], default="table")
        parser.add_argument("--as", dest="as_user", help="Only what this member may see.")
        parser.add_argument("--min-score", type=int, default=0, help="Hide deals below this.")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = workspace_arg(options["workspace"])
        membership = membership_arg(workspace, options["as_user"])
        as_of = None
        if options["as_of"]:
            try:
                day = date.fromisoformat(options["as_of"])
            except ValueError:
                raise CommandError("--as-of takes a date like 2025-03-31.") from None
            as_of = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
        # Rows stream from the database worst first and are written as they come, so a
        # million open deals need no more memory than a few thousand.
        rows = iter_diagnosis(
            membership, workspace, as_of=as_of, min_score=options["min_score"] or None
        )
        fmt = options["format"]
        if fmt == "json":
            self._json(rows, workspace.slug, as_of)
        elif fmt == "csv":
            writer = csvexport.writer(sys.stdout if self.stdout._out is sys.stdout else self.stdout)
            writer.writerow(
                [
                    "external_id",
                    "name",
                    "stage",
                    "days_in_stage",
                    "amount",
                    "stall_score",
                    "signals",
                ]
            )
            for r in rows:
                writer.writerow(
                    [
                        r["external_id"],
                        r["name"],
                        r["stage"],
                        r["days_in_stage"],
                        r["amount"],
                        r["stall_score"],
                        "; ".join(s["text"] for s in r["signals"]),
                    ]
                )
        else:
            when = f"as of {as_of:%Y-%m-%d}" if as_of else "now"
            self.stdout.write(f"Open deals in {workspace.slug}, {when}, worst first\n")
            self.stdout.write(f"{'score':>5}  {'id':<12} {'stage':<14} {'days':>5}  deal / signals")
            count = 0
            for r in rows:
                count += 1
                self.stdout.write(
                    f"{r['stall_score']:>5}  {r['external_id'][:12]:<12} {r['stage'][:14]:<14} "
                    f"{r['days_in_stage']:>5.0f}  {r['name']}"
                )
                for s in r["signals"]:
                    self.stdout.write(f"{'':>40}- {s['text']}")
            self.stdout.write(f"\n{count} open deals in {workspace.slug}, {when}")

    def _json(self, rows: Iterator[dict[str, Any]], slug: str, as_of: datetime | None) -> None:
        """The same document json.dumps(indent=2) would give, written one deal at a time."""
        head = json.dumps({"workspace": slug, "as_of": as_of.isoformat() if as_of else None})
        self.stdout.write(head[:-1] + ', "deals": [', ending="")
        for i, row in enumerate(rows):
            text = json.dumps(row, indent=2, default=str).replace("\n", "\n    ")
            self.stdout.write(("," if i else "") + "\n    " + text, ending="")
        self.stdout.write("\n  ]}")
