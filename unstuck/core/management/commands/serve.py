from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


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
            default=int(os.environ.get("UNSTUCK_WEB_WORKERS", str((os.cpu_count() or 1) * 2 + 1))),
            help="Gunicorn worker processes (default from UNSTUCK_WEB_WORKERS, else 2 x CPUs + 1).",
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
            "--access-logfile",
            "-",
        ]
        self.stdout.write(f"Serving on http://{options['bind']} with {options['workers']} workers")
        sys.stdout.flush()
        os.execv(sys.executable, argv)
