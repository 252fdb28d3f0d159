"""`unstuck worker`: runs background tasks from the database queue, and outlives the database.

django-tasks-db's `db_worker` exits with a traceback when the database goes away; this command
runs it again with a growing pause (1 s, 2 s, 4 s … 60 s) and says so on stderr, so a restart
of PostgreSQL or a network blip does not stop background work. `--batch` gives up after a few
tries with one clear line and exit code 1, so cron does not hang.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError, connections

MAX_PAUSE = 60.0
BATCH_TRIES = 5


def run_with_retry(
    run: Callable[[], object],
    *,
    say: Callable[[str], None],
    give_up_after: int | None = None,
    first_pause: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    reset: Callable[[], None] = lambda: connections.close_all(),
) -> bool:
    """Call run until it returns; after each database error pause twice as long as the last
    time (reset once a run lasted a minute). False if it gave up after give_up_after tries."""
    pause, failures = first_pause, 0
    while True:
        started = clock()
        try:
            run()
            return True
        except DatabaseError as exc:
            failures += 1
            if clock() - started > MAX_PAUSE:
                pause, failures = first_pause, 1  # it had been working: start over
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if give_up_after is not None and failures >= give_up_after:
                say(
                    f"The database cannot be used ({first_line}); giving up after {failures} tries."
                )
                return False
            say(
                f"The database cannot be used ({first_line}); retrying in {pause:g} s "
                f"(attempt {failures + 1})."
            )
            reset()  # the next try opens a fresh connection
            sleep(pause)
            pause = min(pause * 2, MAX_PAUSE)


class Command(BaseCommand):
    help = (
        "Run Unstuck's background tasks (imports, recomputations, emails) from the database "
        "queue. Run one or more beside `unstuck serve`; `unstuck demo` starts one for you. "
        "If the database goes away it retries with a growing pause (up to a minute) and says so."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between polls when idle."
        )
        parser.add_argument(
            "--max-tasks", type=int, default=None, help="Exit after this many tasks."
        )
        parser.add_argument(
            "--batch",
            action="store_true",
            help=f"Run what is queued, then exit (gives up after {BATCH_TRIES} database errors).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        argv = ["--queue-name", "*", "--interval", str(options["interval"]), "--no-startup-delay"]
        if options["max_tasks"] is not None:
            argv += ["--max-tasks", str(options["max_tasks"])]
        if options["batch"]:
            argv.append("--batch")
        finished = run_with_retry(
            lambda: call_command("db_worker", *argv),
            say=lambda text: self.stderr.write(f"unstuck worker: {text}"),
            give_up_after=BATCH_TRIES if options["batch"] else None,
        )
        if not finished:
            raise SystemExit(1)
