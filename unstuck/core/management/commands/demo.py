from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from unstuck.core.models import Workspace
from unstuck.core.private import private_dir


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM if the demo process dies without cleaning up."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Command(BaseCommand):
    help = (
        "Run Unstuck on its embedded default: create and migrate the SQLite database in the "
        "data directory, load the demo workspace when it is missing, start a task worker and "
        "serve the web app. The data directory comes from --data-dir, else UNSTUCK_DATA_DIR, "
        "else ./unstuck-data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=8000, help="Port to listen on.")
        parser.add_argument(
            "--data-dir",
            help="Where the database and uploads live (also UNSTUCK_DATA_DIR). "
            "Handled before start-up; shown here for --help.",
        )
        parser.add_argument(
            "--deals", type=int, default=600, help="How many deals the demo workspace gets."
        )
        parser.add_argument("--seed", type=int, default=7, help="Seed for the demo generator.")
        parser.add_argument(
            "--no-serve", action="store_true", help="Prepare the database and demo, then exit."
        )
        parser.add_argument(
            "--no-worker", action="store_true", help="Do not start a background task worker."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from unstuck.demo.generator import DEMO_PASSWORD, DEMO_SLUG, generate_demo

        data_dir = settings.DATA_DIR
        private_dir(data_dir)
        db = settings.DATABASES["default"]
        where = db["NAME"] if "sqlite" in db["ENGINE"] else f"{db['ENGINE']} {db['NAME']}"
        self.stdout.write(f"Database: {where}")
        call_command("migrate", interactive=False, verbosity=0)
        workspace = Workspace.objects.filter(slug=DEMO_SLUG).first()
        if workspace is None:
            self.stdout.write(f"Loading the demo workspace ({options['deals']} deals)…")
            result = generate_demo(deals=options["deals"], seed=options["seed"], progress=True)
            workspace = result.workspace
            # Scored now, so the first visit finds a ranked queue rather than "0 of 0 open".
            self.stdout.write("Scoring the innovation queue…")
            from unstuck.investigate.services import assessments_recompute

            scored = assessments_recompute(workspace=workspace)
            self.stdout.write(f"  {scored.assessed} open deals scored.")
            self.stdout.write("Computing the insights (time split, innovation's effect)…")
            from unstuck.insights.models import InsightsRun
            from unstuck.insights.services import insights_recompute

            run = insights_recompute(run=InsightsRun.objects.create(workspace=workspace))
            if run.error:
                self.stderr.write(f"Insights failed ({run.error}); the page offers a retry.")
        else:
            self.stdout.write("The demo workspace is already there; keeping it as it is.")
        logins = workspace.memberships.select_related("user").order_by("role", "user__email")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Sign in with any of these (password: demo):"))
        shown = {"leader", "manager", "rep", "partner"}
        for membership in logins:
            local = membership.user.email.split("@")[0]
            if local in shown or membership.role == "leader":
                self.stdout.write(f"  {membership.role:8} {membership.user.email}")
        others = logins.count() - len(shown)
        if others > 0:
            self.stdout.write(f"  … and {others} more demo people, same password.")
        assert DEMO_PASSWORD == "demo"
        if options["no_serve"]:
            return
        url = f"http://{options['host']}:{options['port']}/"
        if "UNSTUCK_SITE_URL" not in os.environ:  # emails sent by this server link to it
            settings.SITE_URL = url.rstrip("/")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Unstuck is running at {url}  (Ctrl+C to stop)"))
        worker = None
        if not options["no_worker"]:
            worker = subprocess.Popen(
                [sys.executable, "-m", "unstuck.cli", "worker"],
                env={**os.environ, "UNSTUCK_DATA_DIR": str(data_dir)},
                preexec_fn=_die_with_parent,
            )
        # `kill` (SIGTERM) should stop the worker too, not only Ctrl+C.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            call_command(
                "runserver",
                f"{options['host']}:{options['port']}",
                use_reloader=False,
                use_threading=True,
            )
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=10)
