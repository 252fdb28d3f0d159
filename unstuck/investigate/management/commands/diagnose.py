from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from unstuck.core import csvexport
from unstuck.investigate.management.commands._common import membership_arg, workspace_arg
from unstuck.investigate.selectors import diagnosis


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
        rows = [
            r
            for r in diagnosis(membership, workspace, as_of=as_of)
            if r["stall_score"] >= options["min_score"]
        ]
        fmt = options["format"]
        if fmt == "json":
            payload = {
                "workspace": workspace.slug,
                "as_of": as_of.isoformat() if as_of else None,
                "deals": rows,
            }
            self.stdout.write(json.dumps(payload, indent=2, default=str))
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
            self.stdout.write(f"{len(rows)} open deals in {workspace.slug}, {when}\n")
            self.stdout.write(f"{'score':>5}  {'id':<12} {'stage':<14} {'days':>5}  deal / signals")
            for r in rows:
                self.stdout.write(
                    f"{r['stall_score']:>5}  {r['external_id'][:12]:<12} {r['stage'][:14]:<14} "
                    f"{r['days_in_stage']:>5.0f}  {r['name']}"
                )
                for s in r["signals"]:
                    self.stdout.write(f"{'':>40}- {s['text']}")
