from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Run Unstuck's background tasks (imports, recomputations, emails) from the database "
        "queue. Run one or more beside `unstuck serve`; `unstuck demo` starts one for you."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between polls when idle."
        )
        parser.add_argument(
            "--max-tasks", type=int, default=None, help="Exit after this many tasks."
        )
        parser.add_argument("--batch", action="store_true", help="Run what is queued, then exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        argv = ["--queue-name", "*", "--interval", str(options["interval"]), "--no-startup-delay"]
        if options["max_tasks"] is not None:
            argv += ["--max-tasks", str(options["max_tasks"])]
        if options["batch"]:
            argv.append("--batch")
        call_command("db_worker", *argv)
