"""`unstuck imports cleanup [--older-than DAYS]`: delete upload files and line indexes no import
needs any more."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.template.defaultfilters import filesizeformat

from unstuck.imports.wizard import RemovedFolder, import_files_cleanup


def _counted(removed: list[RemovedFolder]) -> str:
    counts: Counter[str] = Counter(r.kind for r in removed)
    return " and ".join(
        f"{n} {kind}{'s' if n != 1 else ''}"
        for kind in ("upload folder", "line index file")
        if (n := counts[kind])
    )


class Command(BaseCommand):
    help = "Housekeeping for the files the import wizard stores."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{cleanup}")
        cleanup = sub.add_parser(
            "cleanup",
            help="Delete the uploaded files of imports finished (or drafts left) more than DAYS "
            "ago, upload folders no import refers to, and line index files no workspace keeps "
            "(a deleted workspace's). The imports stay on record; only 'Run again' needs the "
            "files.",
        )
        cleanup.add_argument(
            "--older-than", type=int, default=30, metavar="DAYS", help="Default: 30 days."
        )
        cleanup.add_argument(
            "--dry-run", action="store_true", help="Only list what would be removed."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = max(0, options["older_than"])
        removed = import_files_cleanup(older_than=timedelta(days=days), dry_run=options["dry_run"])
        verb = "Would remove" if options["dry_run"] else "Removed"
        for r in removed:
            self.stdout.write(f"{verb} {r.path} ({filesizeformat(r.size)}): {r.reason}")
        total = filesizeformat(sum(r.size for r in removed))
        self.stdout.write(
            f"{verb} {_counted(removed)}, {total}."
            if removed
            else f"Nothing to remove: no stored upload is older than {days} days or orphaned."
        )
