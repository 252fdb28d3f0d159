"""`unstuck plays list|show|apply`: the playbook from the command line — the plays with their
status and use, one play with its measured outcome, and recording an application."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import Http404

from unstuck.core.access import get_deal_for
from unstuck.core.errors import UnstuckError
from unstuck.core.models import Membership, Role, Workspace
from unstuck.investigate.management.commands._common import membership_arg, workspace_arg
from unstuck.share.models import PlaySource
from unstuck.share.plays_access import can_curate, get_play_for
from unstuck.share.plays_outcomes import play_outcome, probability_text, summarize
from unstuck.share.selectors import plays as selectors
from unstuck.share.services import plays as services


def _viewer(workspace: Workspace, email: str | None) -> Membership:
    """--as EMAIL sees what that member sees; without it, a leader's view (the operator)."""
    found = membership_arg(workspace, email)
    if found is not None:
        return found
    leader = (
        Membership.objects.filter(workspace=workspace, role=Role.LEADER)
        .select_related("workspace", "user")
        .order_by("pk")
        .first()
    )
    if leader is None:
        raise CommandError("The workspace has no leader; say whose view: --as EMAIL.")
    return leader


class Command(BaseCommand):
    help = (
        "The playbook. `list`: plays with status, use and review state (--q searches, --due "
        "only those due for review). `show --play ID`: one play with its measured outcome "
        "against comparable deals (n, won/lost/open, win rate with its interval, the "
        "probability it does better, or 'too early to tell'). `apply --play ID --deal "
        "EXTERNAL_ID --by EMAIL`: record that the play was applied to a deal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        ls = sub.add_parser("list", help="The plays.")
        ls.add_argument("--q", default="", help="Search words.")
        ls.add_argument("--status", choices=["draft", "verified", "retired"], default="")
        ls.add_argument("--due", action="store_true", help="Only plays due for review.")
        show = sub.add_parser("show", help="One play with its measured outcome.")
        show.add_argument("--play", type=int, required=True, help="The play's id.")
        apply = sub.add_parser("apply", help="Record that a play was applied to a deal.")
        apply.add_argument("--play", type=int, required=True, help="The play's id.")
        apply.add_argument("--deal", required=True, help="The deal's external id (CRM id).")
        apply.add_argument("--by", required=True, help="Who applied it (an email).")
        apply.add_argument("--note", default="")
        for p in (ls, show, apply):
            p.add_argument("--workspace", help="Workspace slug (optional if there is one).")
            p.add_argument("--format", choices=["text", "json"], default="text")
        for p in (ls, show):
            p.add_argument("--as", dest="as_user", help="Only what this member may see.")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = workspace_arg(options["workspace"])
        try:
            getattr(self, f"_{options['action']}")(workspace, options)
        except (Http404, PermissionDenied) as exc:
            raise CommandError(str(exc) or "Not found.") from None
        except UnstuckError as exc:
            raise CommandError(exc.message) from None

    def _out(self, options: dict[str, Any], payload: Any) -> bool:
        if options["format"] == "json":
            self.stdout.write(json.dumps(payload, indent=2, default=str))
            return True
        return False

    def _list(self, workspace: Workspace, options: dict[str, Any]) -> None:
        viewer = _viewer(workspace, options["as_user"])
        plays = selectors.play_list(
            viewer, q=options["q"], status=options["status"], due=options["due"]
        )
        rows = [
            {
                "id": p.pk,
                "title": p.title,
                "status": "due" if p.is_due else p.status,
                "applications": p.n_applications,  # type: ignore[attr-defined]
                "obstacle_kinds": p.obstacle_kinds,
                "stages": p.stages,
            }
            for p in plays
        ]
        trust = selectors.playbook_trust(workspace) if can_curate(viewer) else None
        if self._out(options, {"plays": rows, "trust": trust.as_dict() if trust else None}):
            return
        for r in rows:
            fits = ", ".join(r["obstacle_kinds"] + r["stages"]) or "any deal"
            self.stdout.write(
                f"{r['id']:>5}  {r['status']:<9} {r['applications']:>4} applied  {r['title']}"
                f"  [{fits}]"
            )
        if trust is not None:
            pct = f"{trust.pct}%" if trust.pct is not None else "—"
            self.stdout.write(
                f"\nTrust: {pct} — {trust.current} of {trust.active} plays verified and "
                f"current; {trust.due} due for review; {trust.proposed_retirement} proposed "
                "for retirement."
            )

    def _show(self, workspace: Workspace, options: dict[str, Any]) -> None:
        viewer = _viewer(workspace, options["as_user"])
        play = get_play_for(viewer, options["play"])
        result = play_outcome(play)
        summary = summarize(result, play.applications.count())
        if self._out(
            options,
            {
                "play": {"id": play.pk, "title": play.title, "status": play.status},
                "summary": summary.as_dict(),
                "result": result.as_dict(),
            },
        ):
            return
        w = self.stdout.write
        w(f"{play.title}  ({play.get_status_display().lower()})")
        for line in textwrap.wrap(play.what_to_do, 92):
            w(f"  {line}")
        if result.verdict == "too_early":
            w(f"\n{summary.verdict_label}: {result.reason.removeprefix('too early to tell: ')}.")
        else:
            w(f"\n{summary.verdict_label}: {summary.headline}")
        t, c = result.treated, result.comparison
        w(f"  applications: {summary.applications} ({t.n} compared)")
        w(f"  won / lost / open: {t.won} / {t.lost} / {t.open}")
        w(f"  comparison deals: {c.deals}")
        for label, arm in (("with the play", t), ("comparable deals", c)):
            if arm.win_rate and result.verdict != "too_early":
                r = arm.win_rate
                w(
                    f"  win rate {label}: {r.mean:.0%} "
                    f"({result.level:.0%} interval {r.interval.low:.0%}-{r.interval.high:.0%})"
                )
        if result.win:
            w(f"  probability the play does better: {probability_text(result.win.p_better)}")
        else:
            w("  too early to tell — no rates shown below the minimum sample")
        for note in result.notes:
            w(f"  note: {note}")

    def _apply(self, workspace: Workspace, options: dict[str, Any]) -> None:
        by = membership_arg(workspace, options["by"])
        assert by is not None
        play = get_play_for(by, options["play"])
        matches = list(
            workspace.deals.filter(external_id=options["deal"]).values_list("pk", flat=True)[:2]
        )
        if len(matches) != 1:
            raise CommandError(f"No single deal with external id '{options['deal']}'.")
        deal = get_deal_for(by, matches[0], write=True)
        a = services.play_apply(
            membership=by, play=play, deal=deal, source=PlaySource.API, note=options["note"]
        )
        payload = {
            "id": a.pk,
            "play": play.pk,
            "deal": deal.external_id,
            "stage": deal.stage.name,
            "stall_score": a.stall_score,
            "applied_at": a.applied_at,
        }
        if not self._out(options, payload):
            self.stdout.write(
                f"Recorded: “{play.title}” applied to {deal.name} in {deal.stage.name} "
                f"(stall score {a.stall_score})."
            )
