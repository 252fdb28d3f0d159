"""Reads of insights, through the access rules: whose figures a member may see, and the one
payload that the page, the API and `unstuck insights effectiveness` all show — so the
figures on screen and in JSON are the same by construction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from statistics import median
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from unstuck.cocreate.models import ApprovalRequest, ApprovalStatus, Phase, Session
from unstuck.core.access import managed_team_ids
from unstuck.core.models import Membership, Role, Workspace
from unstuck.deals.models import Deal
from unstuck.insights.classes import CATEGORIES
from unstuck.insights.models import InsightsRun, PulseAnswer, RunStatus
from unstuck.insights.services import PULSE_MIN_GROUP, PULSE_QUESTIONS, month_of
from unstuck.insights.timesplit import WEEKS_SHOWN, Week, last_weeks, totals, weeks_for

DEMO_SOURCE = "demo"


def require_insights(membership: Membership) -> None:
    """Reps and partners see none of the time split (403: they are members, the page exists)."""
    if membership.role not in {Role.MANAGER, Role.LEADER}:
        raise PermissionDenied("Insights are for managers and leaders.")


_ROLE_ORDER: dict[str, int] = {Role.MANAGER: 0, Role.LEADER: 1, Role.REP: 2}


def people_visible_to(membership: Membership | None, workspace: Workspace) -> list[Membership]:
    """Whose time split the member may see: a leader (and the operator's CLI, `None`)
    everyone's, managers first; a manager their own and their reps'."""
    qs = Membership.objects.filter(workspace=workspace).select_related("user", "team")
    if membership is None or membership.is_leader:
        qs = qs.filter(role__in=list(_ROLE_ORDER))
    else:
        require_insights(membership)
        qs = qs.filter(
            Q(user_id=membership.user_id)
            | Q(role=Role.REP, team_id__in=managed_team_ids(membership))
        )
    return sorted(qs, key=lambda m: (_ROLE_ORDER.get(m.role, 3), m.user.email))


def person_for(membership: Membership, email: str | None) -> Membership | None:
    """The person whose figures to show: `email` if the member may see them (404 otherwise,
    even when they exist), else the member themself if a manager, else nobody (a leader's
    overview)."""
    people = people_visible_to(membership, membership.workspace)
    if email:
        found = next((p for p in people if p.user.email == email.strip().lower()), None)
        if found is None:
            raise Http404("No such person among those whose figures you may see.")
        return found
    return membership if membership.is_manager else None


def latest_run(workspace: Workspace) -> tuple[InsightsRun | None, InsightsRun | None]:
    """(the newest run of any status, the newest finished one)."""
    newest = InsightsRun.objects.filter(workspace=workspace).order_by("-created_at", "-pk").first()
    if newest is not None and newest.status == RunStatus.DONE:
        return newest, newest
    done = (
        InsightsRun.objects.filter(workspace=workspace, status=RunStatus.DONE)
        .order_by("-created_at", "-pk")
        .first()
    )
    return newest, done


def _arm(arm: dict[str, Any]) -> dict[str, Any]:
    rate = arm.get("win_rate")
    return {
        "n": arm["n"],
        "deals": arm["deals"],
        "won": arm["won"],
        "lost": arm["lost"],
        "open": arm["open"],
        "moved": arm["moved"],
        "median_days": arm["median_days"],
        "win_rate": None
        if rate is None
        else {
            "estimate": rate["mean"],
            "low": rate["interval"]["low"],
            "high": rate["interval"]["high"],
            "n": rate["n"],
        },
    }


def _effect(stored: dict[str, Any] | None, headline_key: str, scope: str) -> dict[str, Any]:
    if not stored:
        return {
            "scope": scope,
            "headline": "Too early to tell: no deals innovated on yet (a session held or an "
            "investigation completed).",
            "verdict": "too_early",
            "reason": "no deals innovated on yet",
            "groups": None,
        }
    r = stored["result"]
    speed, win = r.get("speed"), r.get("win")
    return {
        "scope": scope,
        "headline": stored["headlines"].get(headline_key)
        or next(iter(stored["headlines"].values())),
        "verdict": r["verdict"],
        "reason": r["reason"],
        "level": r["level"],
        "horizon_days": r["horizon_days"],
        "groups": {"innovated": _arm(r["treated"]), "comparable": _arm(r["comparison"])},
        "speed": None
        if speed is None
        else {
            "estimate": speed["estimate"],
            "low": speed["interval"]["low"],
            "high": speed["interval"]["high"],
        },
        "win_difference": None
        if win is None
        else {
            "estimate": win["estimate"],
            "low": win["interval"]["low"],
            "high": win["interval"]["high"],
            "p_better": win["p_better"],
        },
        "curves": {
            "innovated": [[p["day"], p["survival"]] for p in r["treated"]["curve"]],
            "comparable": [[p["day"], p["survival"]] for p in r["comparison"]["curve"]],
        },
        "notes": r.get("notes", []),
        "left_out": stored.get("skipped", 0) + r.get("unmatched_treated", 0),
    }


def _person(m: Membership) -> dict[str, Any]:
    return {
        "email": m.user.email,
        "name": m.user.display_name,
        "role": m.role,
        "team": m.team.name if m.team else None,
    }


def _weeks_json(weeks: list[Week]) -> list[dict[str, Any]]:
    return [w.as_dict() for w in weeks]


def empowerment(workspace: Workspace) -> dict[str, Any]:
    """How much room managers have: decisions within the guardrails versus those that needed
    an approval, how long approvals took and how often they were declined. Few queries."""
    decided = Session.objects.filter(
        workspace=workspace, phase__in=[Phase.DECIDED, Phase.CLOSED], decided_at__isnull=False
    )
    total = decided.count()
    needed = (
        decided.filter(options__is_chosen=True, options__approvals__status=ApprovalStatus.APPROVED)
        .distinct()
        .count()
    )
    answered = list(
        ApprovalRequest.objects.filter(workspace=workspace, decided_at__isnull=False).values_list(
            "status", "created_at", "decided_at"
        )
    )
    hours = [(d - c).total_seconds() / 3600 for _, c, d in answered if d is not None]
    declined = sum(1 for s, _, _ in answered if s == ApprovalStatus.DECLINED)
    pending = ApprovalRequest.objects.filter(
        workspace=workspace, status=ApprovalStatus.PENDING
    ).count()
    return {
        "decisions": total,
        "within_guardrails": total - needed,
        "needed_approval": needed,
        "within_share": None if not total else round((total - needed) / total, 3),
        "approvals_answered": len(answered),
        "approvals_pending": pending,
        "approval_hours_median": None if not hours else round(median(hours), 1),
        "approval_hours_max": None if not hours else round(max(hours), 1),
        "declined": declined,
        "decline_rate": None if not answered else round(declined / len(answered), 3),
    }


def pulse_summary(workspace: Workspace, today: date, months: int = 6) -> list[dict[str, Any]]:
    """The managers' pulse per month, as aggregates only, and only for months at least
    `PULSE_MIN_GROUP` managers answered: no single answer can be read."""
    first = month_of(today)
    wanted = [first]
    for _ in range(months - 1):
        prev = wanted[-1].replace(day=1)
        wanted.append(
            prev.replace(year=prev.year - 1, month=12)
            if prev.month == 1
            else prev.replace(month=prev.month - 1)
        )
    rows = PulseAnswer.objects.filter(
        workspace=workspace,
        month__in=wanted,
        user__memberships__workspace=workspace,
        user__memberships__role=Role.MANAGER,
    ).values("month", *[k for k, _ in PULSE_QUESTIONS])
    by_month: dict[date, list[dict[str, Any]]] = {}
    for r in rows:
        by_month.setdefault(r["month"], []).append(r)
    out = []
    for month in reversed(wanted):
        answers = by_month.get(month, [])
        entry: dict[str, Any] = {"month": month.isoformat()[:7], "answered": len(answers)}
        if len(answers) >= PULSE_MIN_GROUP:
            entry["questions"] = {
                k: {
                    "mean": round(sum(a[k] for a in answers) / len(answers), 2),
                    "agree_share": round(sum(a[k] >= 4 for a in answers) / len(answers), 3),
                }
                for k, _ in PULSE_QUESTIONS
            }
        else:
            entry["questions"] = None
        out.append(entry)
    return out


@dataclass
class Viewer:
    """Who asks: a member (the web, the API, the CLI's --as), or None for the CLI run by the
    operator, who sees the whole workspace as a leader does."""

    membership: Membership | None
    workspace: Workspace

    @property
    def is_leader(self) -> bool:
        return self.membership is None or self.membership.is_leader


def effectiveness_payload(
    *,
    membership: Membership | None,
    workspace: Workspace,
    email: str | None = None,
    today: date,
) -> dict[str, Any]:
    """Everything the insights page shows, as plain JSON types."""
    viewer = Viewer(membership, workspace)
    people = people_visible_to(membership, workspace)
    if membership is not None:
        person = person_for(membership, email)
    else:
        person = next((p for p in people if email and p.user.email == email.lower()), None)
        if email and person is None:
            raise Http404(f"{email} is not a manager, leader or rep of {workspace.slug}.")
    weeks = last_weeks(today, WEEKS_SHOWN)
    side = [p for p in people if p.role == Role.MANAGER] if viewer.is_leader else people
    ids = [p.user_id for p in side] + ([person.user_id] if person else [])
    all_weeks = weeks_for(workspace, ids, weeks)
    newest, done = latest_run(workspace)
    stored = done.effectiveness if done else {}
    if person is not None and person.role == Role.MANAGER:
        mine = stored.get("managers", {}).get(str(person.user_id))
        key = "you" if membership is not None and person.user_id == membership.user_id else "named"
        effect = _effect(mine, key, "manager")
    elif done is not None:
        effect = _effect(stored.get("all"), "all", "workspace")
    else:
        effect = _effect(None, "all", "workspace")
    payload: dict[str, Any] = {
        "workspace": workspace.slug,
        "week_starts_on": "Monday, UTC",
        "categories": list(CATEGORIES),
        "demo_data": Deal.objects.filter(workspace=workspace, source=DEMO_SOURCE).exists(),
        "computed": None
        if newest is None
        else {
            "status": newest.status,
            "error": newest.error,
            "requested_at": newest.created_at.isoformat(),
            "figures_from": done.finished_at.isoformat() if done and done.finished_at else None,
        },
        "person": None if person is None else _person(person),
        "weeks": None if person is None else _weeks_json(all_weeks[person.user_id]),
        "people": [
            {
                **_person(p),
                "share": totals(all_weeks[p.user_id]),
                "checked_in_weeks": sum(w.check_in is not None for w in all_weeks[p.user_id]),
                "estimated_hours": round(sum(w.estimated_hours for w in all_weeks[p.user_id]), 1),
            }
            for p in side
        ],
        "effectiveness": effect,
    }
    if viewer.is_leader:
        payload["empowerment"] = empowerment(workspace)
        payload["pulse"] = pulse_summary(workspace, today)
    return payload
