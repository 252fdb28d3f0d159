"""`unstuck insights effectiveness|recompute`: the insights page's figures as JSON or text,
and the background recomputation run in the foreground (nightly from cron): the stored
insights, then every play outcome of the playbook gone stale since it was measured, so
the playbook is fresh each morning."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import Http404
from django.utils import timezone

from unstuck.core.models import Workspace
from unstuck.insights import selectors, services
from unstuck.insights.models import InsightsRun, RunStatus
from unstuck.investigate.management.commands._common import membership_arg, workspace_arg


class Command(BaseCommand):
    help = (
        "Efficiency versus effectiveness. `effectiveness`: the figures the insights page shows "
        "— the time split per week by category (innovation, coaching, efficiency, admin), "
        "each group's n, the win rates and their interval. `recompute`: recompute the stored "
        "figures now (as the background task does), then every stale play outcome of the "
        "playbook. Run nightly from cron: `30 2 * * * unstuck insights recompute --all`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        eff = sub.add_parser("effectiveness", help="Print the insights figures.")
        eff.add_argument("--workspace", help="Workspace slug (optional if there is one).")
        eff.add_argument(
            "--manager", help="Whose figures (an email); default: every manager side by side."
        )
        eff.add_argument("--as", dest="as_user", help="Only what this member may see.")
        eff.add_argument("--format", choices=["text", "json"], default="text")
        rec = sub.add_parser(
            "recompute", help="Recompute the stored insights and the stale play outcomes now."
        )
        rec.add_argument("--workspace", help="Workspace slug.")
        rec.add_argument("--all", action="store_true", help="Every workspace.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "recompute":
            self._recompute(options)
            return
        workspace = workspace_arg(options["workspace"])
        membership = membership_arg(workspace, options["as_user"])
        if membership is not None and membership.role not in {"manager", "leader"}:
            raise CommandError("Insights are for managers and leaders.")
        try:
            payload = selectors.effectiveness_payload(
                membership=membership,
                workspace=workspace,
                email=options["manager"],
                today=timezone.localdate(),
            )
        except Http404 as exc:
            raise CommandError(str(exc)) from None
        if options["format"] == "json":
            self.stdout.write(json.dumps(payload, indent=2))
            return
        self._text(payload)

    def _recompute(self, options: dict[str, Any]) -> None:
        if options["all"]:
            workspaces = list(Workspace.objects.order_by("slug"))
        else:
            workspaces = [workspace_arg(options["workspace"])]
        # The playbook measures its plays with this app's estimator; it refreshes its stored
        # outcomes here, nightly, and never on a page read (share.plays_outcomes).
        from unstuck.share.plays_outcomes import stale_outcomes_refresh

        failed = False
        for ws in workspaces:
            run = services.insights_recompute(run=InsightsRun.objects.create(workspace=ws))
            if run.status == RunStatus.FAILED:
                failed = True
                self.stderr.write(f"{ws.slug}: failed — {run.error}")
            else:
                self.stdout.write(f"{ws.slug}: recomputed")
            plays = stale_outcomes_refresh(ws.pk)
            self.stdout.write(f"{ws.slug}: {plays} stale play outcome(s) measured again")
        if failed:
            raise CommandError("Some recomputations failed.")

    def _text(self, p: dict[str, Any]) -> None:
        w = self.stdout.write
        if p["demo_data"]:
            w("Demo data: these figures come from the demo generator's invented history.")
        if p["person"]:
            w(f"{p['person']['name']} ({p['person']['email']}), last 12 weeks, share of each week:")
            w(f"  {'week':<10} " + " ".join(f"{c:>10}" for c in p["categories"]) + "  from")
            for week in p["weeks"]:
                cells = " ".join(f"{week['share'][c]:>9.0f}%" for c in p["categories"])
                w(f"  {week['week']:<10} {cells}  {week['source']}")
        if p["people"]:
            w("Side by side, last 12 weeks:")
            for person in p["people"]:
                cells = " ".join(f"{person['share'][c]:>9.0f}%" for c in p["categories"])
                w(f"  {person['email']:<28} {cells}")
        e = p["effectiveness"]
        w(e["headline"])
        if e.get("groups"):
            for name, g in e["groups"].items():
                rate = g["win_rate"]
                shown = (
                    f"{rate['estimate']:.0%} ({rate['low']:.0%}\u2013{rate['high']:.0%})"
                    if rate
                    else "too few"
                )
                w(f"  {name:<11} n = {g['n']:<5} deals = {g['deals']:<5} win rate {shown}")
