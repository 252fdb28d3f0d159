from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

# A page is mostly Python (one core per process at a time) with short waits on the database:
# a worker per core, plus one to keep the cores busy while another waits, is enough to keep
# every core working; more processes than that only take turns on the same cores, so each
# page takes longer and every worker holds 150-250 MB. Measured with bench/load_bench.py at
# saturation on 2 cores (docs/architecture.md, "Saturation: the worker model"): 4 workers
# cost about 10 % more CPU a request than 2 or 3; 2 or 3 sync workers and 2 x 2 threads
# cost the same within the noise. Threads (gunicorn's gthread workers, --threads) keep the
# clients' connections open between requests, which only helps where the proxy in front
# keeps them open too, and are for pages that wait long on a remote database; the default
# is one.
DEFAULT_THREADS = 1


def default_workers() -> int:
    return (os.cpu_count() or 1) + 1


class Command(BaseCommand):
    help = (
        "Serve Unstuck in production on gunicorn: collect static files, optionally migrate, "
        "then hand over to gunicorn. Run `unstuck worker` beside it for background tasks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--bind",
            default=os.environ.get("UNSTUCK_BIND", "0.0.0.0:8000"),
            help="Address and port (default from UNSTUCK_BIND, else 0.0.0.0:8000).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("UNSTUCK_WEB_WORKERS", str(default_workers()))),
            help="Gunicorn worker processes (default from UNSTUCK_WEB_WORKERS, else CPUs + 1: "
            "one per core and one to use a core while another waits on the database; more only "
            "take turns on the cores, at more CPU a request).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=int(os.environ.get("UNSTUCK_WEB_THREADS", str(DEFAULT_THREADS))),
            help=f"Threads per worker (default from UNSTUCK_WEB_THREADS, else {DEFAULT_THREADS}); "
            "more than 1 runs gunicorn's threaded workers.",
        )
        parser.add_argument(
            "--migrate", action="store_true", help="Apply database migrations before serving."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["migrate"]:
            call_command("migrate", interactive=False)
        call_command("collectstatic", interactive=False, verbosity=0)
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "unstuck.wsgi:application",
            "--bind",
            options["bind"],
            "--workers",
            str(options["workers"]),
            "--threads",
            str(options["threads"]),
            # The app (settings, models, URLs, API: see unstuck/wsgi.py) is loaded once in the
            # master and forked: workers start at once and share that memory.
            "--preload",
            "--access-logfile",
            "-",
        ]
        self.stdout.write(
            f"Serving on http://{options['bind']} with {options['workers']} workers "
            f"x {options['threads']} threads"
        )
        sys.stdout.flush()
        os.execv(sys.executable, argv)
