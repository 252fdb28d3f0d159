from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from unstuck.investigate.evaluation import win_model_evaluate
from unstuck.investigate.management.commands._common import workspace_arg
from unstuck.investigate.winmodel import win_model_train


class Command(BaseCommand):
    help = "Train or evaluate a workspace's win-probability model."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{train,evaluate}")
        for name, text in [
            ("train", "Train on every closed deal and store the model."),
            ("evaluate", "Print AUC, Brier score and calibration error on a holdout."),
        ]:
            p = sub.add_parser(name, help=text)
            p.add_argument("--workspace", help="Workspace slug.")
            p.add_argument("--json", action="store_true", help="Print the figures as JSON.")
            if name == "evaluate":
                p.add_argument(
                    "--folds",
                    action="store_true",
                    help="Stratified 5-fold cross-validation even when deals have dates.",
                )

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = workspace_arg(options["workspace"])
        if options["action"] == "train":
            record = win_model_train(workspace=workspace)
            self.stdout.write(
                f"{workspace.slug}: trained {record.get_kind_display()} on "
                f"{record.closed_deals} closed deals → {record.path}"
            )
            if reason := record.metrics.get("fallback_reason"):
                self.stdout.write(f"Using the stage win rates: {reason}")
            return
        try:
            result = win_model_evaluate(workspace=workspace, folds=options["folds"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2, default=str))
            return
        self.stdout.write(
            f"{workspace.slug}: {result.closed_deals} closed deals, {result.method}, "
            f"{result.test_deals} scored"
        )
        self.stdout.write(f"{'':24}{'AUC':>8}{'Brier':>8}{'ECE':>8}")
        for label, s in [
            (f"model ({result.model_kind})", result.model),
            ("stage-only baseline", result.baseline),
        ]:
            self.stdout.write(f"{label:24}{s.auc:>8.3f}{s.brier:>8.3f}{s.ece:>8.3f}")
