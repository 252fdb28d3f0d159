"""The insights page (managers and leaders): where the time goes, what innovation changed,
how much room managers have, and the pipeline's funnel and stuck value — each chart with a
plain table beside it. The check-in, the pulse and a recomputation are posted from it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from unstuck.core.decorators import workspace_view
from unstuck.core.errors import UnstuckError
from unstuck.core.http import AppRequest
from unstuck.core.models import Membership
from unstuck.core.submit import forbid, submit, submit_and_redirect
from unstuck.core.templatetags.unstuck import format_money
from unstuck.insights import charts, forms, pipeline, selectors, services
from unstuck.insights.classes import CATEGORIES, CATEGORY_LABELS, NOT_RECORDED, source_rows
from unstuck.insights.models import CheckIn, PulseAnswer

CATEGORY_SERIES = [charts.Series(c, CATEGORY_LABELS[c], f"cat-{c}") for c in CATEGORIES]
ARMS = {
    "innovated": charts.Series("innovated", "Innovated on", "arm-innovated"),
    "comparable": charts.Series("comparable", "Comparable, no attention", "arm-comparable"),
}


def _week_label(week: str) -> str:
    d = date.fromisoformat(week)
    return f"{d:%b} {d.day}"


def _time_chart(payload: dict[str, Any]) -> Any:
    weeks = payload["weeks"] or []
    return charts.stacked_bars(
        title=f"Where {payload['person']['name']}'s time went, last {len(weeks)} weeks",
        desc="Share of each week by category; a tick under a week marks the person's own "
        "check-in, the other weeks are estimated from recorded actions.",
        labels=[_week_label(w["week"]) for w in weeks],
        series=CATEGORY_SERIES,
        values=[w["share"] for w in weeks],
        max_value=100,
        marks=["✓" if w["source"] == "check-in" else "" for w in weeks],
    )


def _people_chart(payload: dict[str, Any]) -> Any:
    people = payload["people"]
    return charts.stacked_bars(
        title="Where the time went, side by side, last 12 weeks",
        desc="Each person's share of time by category over the last 12 weeks.",
        labels=[p["name"] for p in people],
        series=CATEGORY_SERIES,
        values=[p["share"] for p in people],
        max_value=100,
    )


def _effect_charts(effect: dict[str, Any]) -> dict[str, Any]:
    groups = effect.get("groups")
    if not groups:
        return {}
    out: dict[str, Any] = {}
    curves = [(ARMS[k], effect["curves"][k]) for k in ("innovated", "comparable")]
    last = max((p[0] for _, pts in curves for p in pts), default=0)
    out["km"] = charts.step_curves(
        title="Days to the next stage: share of deals still waiting",
        desc="Kaplan\u2013Meier curves from the moment a deal was innovated on (or, for a "
        "comparable deal, the Monday it was in the same situation); deals still open are "
        "counted until they leave observation.",
        curves=curves,
        x_max=min(float(effect.get("horizon_days") or 180), max(float(last), 30.0)),
    )
    rows = [
        (ARMS[k], g["win_rate"]["estimate"], g["win_rate"]["low"], g["win_rate"]["high"])
        for k, g in groups.items()
        if g["win_rate"]
    ]
    if rows:
        out["win"] = charts.intervals(
            title=f"Win rate within {effect['horizon_days']} days, with its "
            f"{effect['level']:.0%} interval",
            desc="Each group's win rate (dot) and its credible interval (whisker).",
            rows=rows,
        )
    return out


def _pipeline_charts(membership: Membership, today: date) -> dict[str, Any]:
    currency = membership.workspace.default_currency

    def money(v: float) -> str:
        return format_money(v, currency)

    rows = pipeline.funnel(membership)
    stuck = pipeline.stuck_weeks(membership, today)
    stage_series = [
        charts.Series(str(sid), name, f"ch-{i % 8 + 1}")
        for i, (sid, name) in enumerate(stuck.stages)
    ]
    stuck_values = [
        {str(sid): stuck.amount.get((w, sid), 0.0) for sid, _ in stuck.stages} for w in stuck.weeks
    ]
    return {
        "funnel_rows": rows,
        "funnel_total": sum(r.total for r in rows),
        "funnel_weighted": sum(r.weighted for r in rows),
        "funnel_chart": charts.funnel(
            title="Open pipeline by stage: total and weighted amount",
            desc="Bars: the total amount of open deals per stage; the inner bar weights each "
            "by the stage's win probability.",
            rows=[(r.stage, r.total, r.weighted) for r in rows],
            fmt=money,
        )
        if rows
        else None,
        "stuck": stuck,
        "stuck_rows": [
            {
                "week": w,
                "cells": [stuck.amount.get((w, sid), 0.0) for sid, _ in stuck.stages],
                "total": sum(stuck.amount.get((w, sid), 0.0) for sid, _ in stuck.stages),
            }
            for w in stuck.weeks
        ],
        "stuck_chart": charts.stacked_bars(
            title="Stuck value by stage, each Monday",
            desc="The amount of open deals flagged stuck (stall score 40 or more) at each "
            "Monday, by the stage they were in.",
            labels=[f"{w:%b} {w.day}" for w in stuck.weeks],
            series=stage_series,
            values=stuck_values,
            fmt=money,
        )
        if stuck.stages
        else None,
        "stage_series": stage_series,
    }


@workspace_view()
def insights(request: AppRequest, membership: Membership) -> HttpResponse:
    today = timezone.localdate()
    payload = selectors.effectiveness_payload(
        membership=membership,
        workspace=membership.workspace,
        email=request.GET.get("person"),
        today=today,
    )
    own = payload["person"] is not None and payload["person"]["email"] == membership.user.email
    context: dict[str, Any] = {
        "p": payload,
        "own": own,
        "category_series": CATEGORY_SERIES,
        "arms": ARMS,
        "effect_charts": _effect_charts(payload["effectiveness"]),
        "sources": source_rows(),
        "not_recorded": NOT_RECORDED,
        "category_labels": CATEGORY_LABELS,
        "pulse_questions": services.PULSE_QUESTIONS,
        "pulse_min_group": services.PULSE_MIN_GROUP,
        **_pipeline_charts(membership, today),
    }
    if payload["weeks"]:
        context["time_chart"] = _time_chart(payload)
    if payload["people"]:
        context["people_chart"] = _people_chart(payload)
    if own:
        this_week = payload["weeks"][-1]["week"]
        week = request.GET.get("week") or this_week
        existing = CheckIn.objects.filter(
            workspace=membership.workspace, user=membership.user, week=week
        ).first()
        initial = (
            {c: getattr(existing, c) for c in CATEGORIES}
            if existing
            else _rounded_shares(next(w for w in payload["weeks"] if w["week"] == this_week))
        )
        context["checkin_form"] = forms.CheckInForm(
            initial={"week": week, **initial}, weeks=[w["week"] for w in payload["weeks"]]
        )
    if membership.is_manager:
        answered = PulseAnswer.objects.filter(
            workspace=membership.workspace, user=membership.user, month=services.month_of(today)
        ).first()
        context["pulse_form"] = forms.PulseForm(
            initial={k: getattr(answered, k) for k, _ in services.PULSE_QUESTIONS}
            if answered
            else None
        )
        context["pulse_answered"] = answered
    return render(request, "insights/insights.html", context)


def _rounded_shares(week: dict[str, Any]) -> dict[str, int]:
    """The estimate as whole tens adding up to 100, to start the check-in from."""
    share = week["share"]
    if not sum(share.values()):
        return {"innovation": 25, "coaching": 25, "efficiency": 25, "admin": 25}
    tens: dict[str, int] = {c: round(share[c] / 10) * 10 for c in CATEGORIES}
    biggest = max(CATEGORIES, key=lambda c: share[c])
    tens[biggest] += 100 - sum(tens.values())
    return tens


def _back(membership: Membership, anchor: str) -> str:
    return f"/w/{membership.workspace.slug}/insights/#{anchor}"


def _post(
    request: AppRequest,
    membership: Membership,
    form: forms.CheckInForm | forms.PulseForm,
    save: Callable[[dict[str, Any]], object],
    *,
    anchor: str,
    done: str,
    done_anchor: str,
) -> HttpResponse:
    """Form → service (core.submit); a refusal comes back as a message at the form (a 403
    stays a 403), the outcome as a message where it shows."""
    selectors.require_insights(membership)
    try:
        submit(form, save)
    except UnstuckError as exc:
        forbid(exc)
        messages.error(request, exc.message)
        return redirect(_back(membership, anchor))
    messages.success(request, done)
    return redirect(_back(membership, done_anchor))


@require_POST
@workspace_view()
def checkin(request: AppRequest, membership: Membership) -> HttpResponse:
    return _post(
        request,
        membership,
        forms.CheckInForm(request.POST),
        lambda data: services.checkin_save(membership=membership, **data),
        anchor="checkin",
        done="Thanks — your week is corrected.",
        done_anchor="time",
    )


@require_POST
@workspace_view()
def pulse(request: AppRequest, membership: Membership) -> HttpResponse:
    return _post(
        request,
        membership,
        forms.PulseForm(request.POST),
        lambda data: services.pulse_answer(membership=membership, answers=data),
        anchor="pulse",
        done="Thanks — your pulse is in. Leaders only see it pooled with others.",
        done_anchor="pulse",
    )


@require_POST
@workspace_view()
def recompute(request: AppRequest, membership: Membership) -> HttpResponse:
    return submit_and_redirect(  # managers and leaders: insights_schedule checks
        request,
        None,
        lambda _: services.insights_schedule(workspace=membership.workspace, by=membership),
        done="Recomputing the insights in the background; refresh in a minute.",
        back=_back(membership, "status"),
    )
