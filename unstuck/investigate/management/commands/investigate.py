from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from unstuck.core.models import Workspace
from unstuck.investigate.management.commands._common import workspace_arg
from unstuck.investigate.services import assessments_recompute


class Command(BaseCommand):
    help = (
        "Recompute stage benchmarks, stall scores, win probabilities and the innovation "
        "queue. Run nightly from cron: `15 2 * * * unstuck investigate recompute --all "
        "--retrain`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{recompute}")
        recompute = sub.add_parser("recompute", help="Recompute now, in this process.")
        recompute.add_argument("--workspace", help="Workspace slug.")
        recompute.add_argument("--all", action="store_true", help="Every workspace.")
        recompute.add_argument(
            "--retrain", action="store_true", help="Retrain the win model and the stall score."
        )
        recompute.add_argument(
            "--changed",
            action="store_true",
            help="Rescore only deals whose data changed since they were scored (and those "
            "whose stage benchmark moved); the nightly run rescores all.",
        )
        recompute.add_argument(
            "--enqueue", action="store_true", help="Queue it for `unstuck worker` instead."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workspaces = (
            list(Workspace.objects.all())
            if options["all"]
            else [workspace_arg(options["workspace"])]
        )
        for workspace in workspaces:
            if options["enqueue"]:
                from unstuck.investigate.tasks import recompute_workspace

                recompute_workspace.enqueue(workspace.pk, options["retrain"])
                self.stdout.write(f"{workspace.slug}: queued.")
                continue
            result = assessments_recompute(
                workspace=workspace, retrain=options["retrain"], incremental=options["changed"]
            )
            kept = "" if result.full else f" ({result.kept} unchanged kept their scores)"
            self.stdout.write(
                f"{workspace.slug}: {result.assessed} open deals scored{kept}, "
                f"{result.benchmarks} benchmarks, win model: {result.model_kind}."
            )
