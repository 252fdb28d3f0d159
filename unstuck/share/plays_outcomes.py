"""A play's measured outcome: its applications against comparison deals that were in the
same situation (quarter, stage, size band, days in stage) at the moment it was applied,
through the shared estimator (unstuck.insights.cohorts and unstuck.insights.estimator).
The clock starts at the application; docs/share.md has the method for readers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.safestring import SafeString

from unstuck.insights import charts
from unstuck.insights.cohorts import TreatedMoment, build_cohort
from unstuck.insights.estimator import Comparison, compare
from unstuck.share.models import Play, PlayApplication

LEVEL = 0.9  # credible intervals at 90 %, as on the insights page
HORIZON_DAYS = 180  # "won within 180 days of the application"
MIN_APPLICATIONS = 10  # below this, "too early to tell"
MIN_COMPARISON = 10
NOUN = "applications"
SUBJECT = "Deals with this play"
ARMS = {
    "play": charts.Series("play", "With this play", "arm-innovated"),
    "comparison": charts.Series("comparison", "Comparable deals without it", "arm-comparable"),
}
VERDICT_LABELS = {
    "working": "Working",
    "no_evidence": "No evidence it works",
    "worse": "Doing worse",
    "too_early": "Too early to tell",
}


def play_outcome(play: Play, *, as_of: datetime | None = None) -> Comparison:
    """The estimator's comparison for one play. Other plays' applications end a deal's time
    as a comparison (from then on it is no longer untreated)."""
    as_of = as_of or timezone.now()
    mine = list(
        PlayApplication.objects.filter(play=play, applied_at__lte=as_of).values_list(
            "deal_id", "applied_at"
        )
    )
    others = list(
        PlayApplication.objects.filter(workspace_id=play.workspace_id, applied_at__lte=as_of)
        .exclude(play=play)
        .values_list("deal_id", "applied_at")
    )
    cohort = build_cohort(
        workspace=play.workspace,
        treated=[TreatedMoment(deal_id=d, at=at) for d, at in mine],
        exclude=others,
        as_of=as_of,
    )
    return compare(
        cohort.treated,
        cohort.comparison,
        level=LEVEL,
        horizon_days=HORIZON_DAYS,
        min_treated=MIN_APPLICATIONS,
        min_comparison=MIN_COMPARISON,
        noun=NOUN,
    )


@dataclass(frozen=True)
class OutcomeSummary:
    """What a list, a suggestion or the digest says about a play's outcome."""

    applications: int  # recorded, whether or not a comparable deal was found
    n: int  # compared (matched with comparable deals)
    won: int
    lost: int
    open: int
    verdict: str
    verdict_label: str
    headline: str
    p_better: float | None
    play_win_rate: float | None
    comparison_win_rate: float | None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def probability_text(p: float) -> str:
    """A posterior probability as people read it: never a flat 0 % or 100 %."""
    if p > 0.99:
        return "over 99%"
    if p < 0.01:
        return "under 1%"
    return f"{p:.0%}"


def summarize(result: Comparison, applications: int | None = None) -> OutcomeSummary:
    t, c = result.treated, result.comparison
    return OutcomeSummary(
        applications=t.n + result.unmatched_treated if applications is None else applications,
        n=t.n,
        won=t.won,
        lost=t.lost,
        open=t.open,
        verdict=result.verdict,
        verdict_label=VERDICT_LABELS[result.verdict],
        headline=result.headline(SUBJECT),
        p_better=result.win.p_better if result.win else None,
        play_win_rate=t.win_rate.mean if t.win_rate else None,
        comparison_win_rate=c.win_rate.mean if c.win_rate else None,
    )


@dataclass(frozen=True, slots=True)
class StampedPlay:
    """What a play's stored outcome is read from, for a play read as a row (the deal page's
    suggestions): its stored outcome (there, its summary only: {} when never measured) and
    what `with_outcome_stamp` annotates."""

    pk: int
    outcome: dict[str, Any]
    outcome_key: str
    n_applications: int
    last_application: int | None


def outcome_key(play: Play | StampedPlay, *, today: date | None = None) -> str:
    """What the stored outcome depends on: the play's applications (how many, the newest)
    and the day (comparison deals' histories move on every day). A play fetched with
    `with_outcome_stamp` carries them already (no query)."""
    n, last = getattr(play, "n_applications", None), getattr(play, "last_application", 0)
    if n is None:
        stamp = PlayApplication.objects.filter(play_id=play.pk).aggregate(
            n=Count("pk"), last=Max("pk")
        )
        n, last = stamp["n"], stamp["last"]
    return f"{n}:{last or 0}:{(today or timezone.localdate()).isoformat()}"


def with_outcome_stamp(plays: QuerySet[Play]) -> QuerySet[Play]:
    """Plays annotated with what their outcome key needs, so that reading their stored
    outcomes (a list, the play of the week) costs no query per play."""
    return plays.annotate(
        n_applications=Count("applications", distinct=True),
        last_application=Max("applications__pk"),
    )


def _not_measured(applications: int) -> dict[str, Any]:
    """What a play whose outcome was never stored shows: the estimator's answer for no
    deals at all, with the applications recorded so far; "too early to tell" below the
    minimum (no measurement could say more), else "not measured yet"."""
    result = compare(
        [],
        [],
        level=LEVEL,
        horizon_days=HORIZON_DAYS,
        min_treated=MIN_APPLICATIONS,
        min_comparison=MIN_COMPARISON,
        noun=NOUN,
    )
    summary = summarize(result, applications).as_dict()
    if applications < MIN_APPLICATIONS:
        # Known without measuring: below the minimum every measurement says so.
        summary["headline"] = (
            f"{SUBJECT}: too early to tell: {applications} {NOUN}, needs {MIN_APPLICATIONS}."
        )
    else:
        summary["headline"] = "Not measured yet: the outcome is computed in the background."
    return {"summary": summary, "result": result.as_dict()}


def stored_outcome(play: Play | StampedPlay) -> dict[str, Any]:
    """The play's measured outcome as last stored — {"summary", "result", "as_of", "stale"}
    — for pages, the API, the suggestions and the digest. A read never computes it (about
    20 s of CPU at 1,000 applications, most of it the speed ratio's bootstrap; see
    bench/estimator_bench.py) and never writes: a stale outcome (the applications
    changed, or it was measured before today) is shown as it is, with the time it was
    measured and `stale` set; it is refreshed by the background task (queued when a play is
    applied, or by a POST asking for it) and by the nightly `unstuck insights recompute`.
    `as_of` is None when it was never measured ("Not measured yet")."""
    key = outcome_key(play)
    if not play.outcome:
        payload = _not_measured(int(key.split(":", 1)[0]))
        return {**payload, "as_of": None, "stale": True}
    payload = dict(play.outcome)
    payload.setdefault("as_of", None)
    payload["stale"] = play.outcome_key != key
    return payload


def outcome_is_fresh(play: Play) -> bool:
    return bool(play.outcome) and play.outcome_key == outcome_key(play)


def outcome_refresh(play: Play) -> dict[str, Any]:
    """Compute the play's outcome now and store it with the time it was measured: the
    background task and the nightly job call this, never a read."""
    key = outcome_key(play)
    n = int(key.split(":", 1)[0])
    result = play_outcome(play)
    payload = {
        "summary": summarize(result, n).as_dict(),
        "result": result.as_dict(),
        "as_of": timezone.now().isoformat(),
    }
    Play.objects.filter(pk=play.pk).update(outcome=payload, outcome_key=key)
    play.outcome, play.outcome_key = payload, key
    return {**payload, "stale": False}


def stale_outcomes_refresh(workspace_id: int) -> int:
    """Refresh every play of the workspace whose stored outcome is stale (nightly, so the
    playbook is fresh each morning); returns how many were refreshed."""
    refreshed = 0
    plays = Play.objects.filter(workspace_id=workspace_id).select_related("workspace")
    for play in plays.order_by("pk"):
        if not outcome_is_fresh(play):
            outcome_refresh(play)
            refreshed += 1
    return refreshed


def outcome_summary(play: Play | StampedPlay) -> OutcomeSummary:
    """The play's outcome summary as last stored (never computed on a read: see
    `stored_outcome`)."""
    return OutcomeSummary(**stored_outcome(play)["summary"])


def outcome_panel(stored: dict[str, Any]) -> dict[str, Any]:
    """What the play page's outcome panel shows, from the stored outcome: the figures per
    arm, the headline, and the charts (Kaplan-Meier curves, win rates with intervals)."""
    result = stored["result"]
    t, c = result["treated"], result["comparison"]
    too_early = result["verdict"] == "too_early"
    as_of = stored.get("as_of")
    panel: dict[str, Any] = {
        "result": result,
        "summary": stored["summary"],
        "as_of": datetime.fromisoformat(as_of) if as_of else None,
        "stale": bool(stored.get("stale")),
        "too_early": too_early,
        "level_pct": f"{result['level']:.0%}",
        "arms": [
            {"label": ARMS["play"].label, "arm": t},
            {"label": ARMS["comparison"].label, "arm": c},
        ],
        "km": None,
        "win_chart": None,
    }
    curves = [
        (ARMS["play"], [(float(p["day"]), p["survival"]) for p in t["curve"]]),
        (ARMS["comparison"], [(float(p["day"]), p["survival"]) for p in c["curve"]]),
    ]
    last = max((p[0] for _, pts in curves for p in pts), default=0)
    if t["n"] and c["n"] and not too_early:
        panel["km"] = _km(curves, min(float(HORIZON_DAYS), max(float(last), 30.0)))
    rows = [
        (
            ARMS[k],
            arm["win_rate"]["mean"],
            arm["win_rate"]["interval"]["low"],
            arm["win_rate"]["interval"]["high"],
        )
        for k, arm in (("play", t), ("comparison", c))
        if arm["win_rate"]
    ]
    if rows and not too_early:
        panel["win_chart"] = charts.intervals(
            title=f"Win rate within {result['horizon_days']} days, with its "
            f"{result['level']:.0%} credible interval",
            desc="Each arm's win rate (dot) and its credible interval (whisker).",
            rows=rows,
        )
    return panel


def _km(curves: list[tuple[charts.Series, list[tuple[float, float]]]], x_max: float) -> SafeString:
    return charts.step_curves(
        title="Days to the next stage: share of deals still waiting",
        desc="Kaplan\u2013Meier curves from the moment the play was applied (or, for a "
        "comparable deal, the Monday it was in the same situation); open deals are counted "
        "until they leave observation (censored).",
        curves=curves,
        x_max=x_max,
    )
