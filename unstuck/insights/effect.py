"""What innovation changed: the deals a manager innovated on against comparable deals that got
no such attention, through the shared estimator (unstuck.insights.cohorts and
unstuck.insights.estimator; docs/outcomes.md has the method, docs/insights.md this use).

A deal is *innovated on* at the first of: a co-creation session started on it, or its
investigation completed (the checklist all done). Its clock starts at that moment — the
moment the manager acted on its flag — and it is compared, through the cohort builder's
weekly landmarks, with deals in the same quarter, stage, size band and days-in-stage band
that were in the same stall-score band at a Monday of that quarter and had no session and no
completed investigation by then (they leave the comparison when they get one). Other
attention a deal gets — a play applied to it, an ask to the cross-functional bench about it —
does not make it innovated on here (those have their own measured outcomes: the playbook's),
but it ends the deal's time as a comparison too: a comparison deal must have had no such
attention, or another tactic's effect would be counted against the manager's. The stall
score at any moment is the as-of score (`signal_rows(as_of=…)`, the machinery of
`unstuck diagnose --as-of`): the history known then, scored with today's thresholds and
benchmarks (one ruler for every moment; see `StallBands`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Max, Q
from django.utils import timezone

from unstuck.cocreate.models import Session
from unstuck.core.models import Workspace
from unstuck.deals.models import Deal
from unstuck.insights.cohorts import TreatedMoment, build_cohort
from unstuck.insights.estimator import Comparison, compare
from unstuck.investigate.benchmarks import benchmarks_compute
from unstuck.investigate.models import CustomerPain, FeedbackEntry, Obstacle
from unstuck.investigate.stall_signals import STALL_WARNING, signal_rows

STALL_BANDS = (STALL_WARNING, 60, 80)  # under 40 (not flagged), 40-59, 60-79, 80 and over
STALL_BAND_LABELS = ("under 40", "40\u201359", "60\u201379", "80+")
LEVEL = 0.9
SUBJECT_YOU = "Deals you innovated on"
SUBJECT_ALL = "Deals innovated on"


@dataclass(frozen=True)
class Moment:
    deal_id: int
    at: datetime
    manager_id: int | None
    kind: str  # "session" or "investigation"


def stall_band(score: int) -> int:
    return sum(score >= edge for edge in STALL_BANDS)


def _complete_investigations(workspace: Workspace) -> list[Moment]:
    """Deals whose investigation checklist is all done, at the last recorded edit of it
    (decision steps carry no time, so a later edit elsewhere moves the moment later), for
    the manager of the deal's team."""
    from unstuck.investigate.selectors import deal_investigation

    candidates = (
        Deal.objects.filter(workspace=workspace)
        .annotate(steps=Count("decision_steps", distinct=True))
        .filter(steps__gte=2, pain__isnull=False)
        .exclude(Q(pain__pain="") | Q(pain__resolution=""))
        .select_related("team", "account", "owner", "stage", "pipeline")
    )
    out = []
    for deal in candidates:
        inv = deal_investigation(deal)
        if inv.completeness < 100:
            continue
        moments = [
            CustomerPain.objects.filter(deal=deal).aggregate(m=Max("updated_at"))["m"],
            Obstacle.objects.filter(deal=deal).aggregate(m=Max("created_at"))["m"],
            FeedbackEntry.objects.filter(deal=deal).aggregate(m=Max("created_at"))["m"],
            deal.stakeholders.aggregate(m=Max("created_at"))["m"],
            deal.stakeholders.aggregate(m=Max("view__updated_at"))["m"],
        ]
        at = max(m for m in moments if m is not None)
        manager = deal.team.manager_id if deal.team else None
        out.append(Moment(deal_id=deal.pk, at=at, manager_id=manager, kind="investigation"))
    return out


def innovation_moments(workspace: Workspace) -> list[Moment]:
    """Every session start and every completed investigation in the workspace."""
    sessions = [
        Moment(deal_id=d, at=at, manager_id=by, kind="session")
        for d, at, by in Session.objects.filter(workspace=workspace).values_list(
            "deal_id", "created_at", "started_by_id"
        )
    ]
    return sessions + _complete_investigations(workspace)


def attention_moments(workspace: Workspace) -> list[Moment]:
    """Every play applied to a deal and every ask to the bench about one: innovation that ends
    a deal's time as a comparison without making it a treated deal."""
    from unstuck.share.models import BenchAsk, PlayApplication

    plays = PlayApplication.objects.filter(workspace=workspace).values_list(
        "deal_id", "applied_at", "applied_by_id"
    )
    asks = BenchAsk.objects.filter(workspace=workspace).values_list(
        "deal_id", "created_at", "asked_by_id"
    )
    return [Moment(deal_id=d, at=at, manager_id=by, kind="play") for d, at, by in plays] + [
        Moment(deal_id=d, at=at, manager_id=by, kind="bench_ask") for d, at, by in asks
    ]


def first_per_deal(moments: Sequence[Moment]) -> list[Moment]:
    first: dict[int, Moment] = {}
    for m in sorted(moments, key=lambda m: (m.at, m.deal_id)):
        first.setdefault(m.deal_id, m)
    return list(first.values())


class StallBands:
    """The stall-score band of (deal, moment) pairs: each deal's history as known at its
    moment, measured against one ruler — the workspace's benchmarks as they stand today, the
    same for every moment and both groups — so deals from different quarters are banded
    alike. (Benchmarks as known at each moment, as `diagnose --as-of` uses for a back-test,
    move the band edges from quarter to quarter with the few deals closed by then; on the
    planted history that breaks the matching: treated deals won 31 % vs 51 % although only
    their speed was planted.) Cached, so the comparisons for several managers share the scoring."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.cache: dict[tuple[int, datetime], int | None] = {}
        self.ruler = benchmarks_compute(workspace=workspace)

    def __call__(self, pairs: Sequence[tuple[int, datetime]]) -> list[Hashable]:
        missing: dict[datetime, set[int]] = defaultdict(set)
        for deal_id, at in pairs:
            if (deal_id, at) not in self.cache:
                missing[at].add(deal_id)
        for at, ids in missing.items():
            scores = {
                r["deal_id"]: r["stall_score"]
                for r in signal_rows(
                    self.workspace,
                    as_of=at,
                    deals=Deal.objects.filter(pk__in=sorted(ids)),
                    benchmarks=self.ruler,
                )
            }
            for deal_id in ids:
                score = scores.get(deal_id)
                self.cache[(deal_id, at)] = None if score is None else stall_band(score)
        return [self.cache[p] for p in pairs]


def _summary(result: Comparison, headlines: dict[str, str], skipped: int) -> dict[str, Any]:
    return {
        "headlines": headlines,
        "skipped": skipped,
        "result": result.as_dict(),
    }


def compare_moments(
    workspace: Workspace,
    treated: Sequence[Moment],
    *,
    every_moment: Sequence[Moment],
    bands: StallBands,
    as_of: datetime | None = None,
) -> tuple[Comparison, int]:
    """The estimator's comparison for `treated` (one moment per deal); `every_moment` (all
    innovation in the workspace) ends a deal's time as a comparison."""
    cohort = build_cohort(
        workspace=workspace,
        treated=[TreatedMoment(deal_id=m.deal_id, at=m.at) for m in treated],
        exclude=[(m.deal_id, m.at) for m in every_moment],
        extra_parts=[bands],
        as_of=as_of,
    )
    result = compare(cohort.treated, cohort.comparison, level=LEVEL, noun="deals innovated on")
    return result, len(cohort.skipped)


def effectiveness_compute(
    workspace: Workspace, *, names: dict[int, str], as_of: datetime | None = None
) -> dict[str, Any]:
    """The comparison for the whole workspace and for each manager who innovated, ready to
    store (plain JSON) and to show: {"all": …, "managers": {user id: …}}."""
    as_of = as_of or timezone.now()
    # Anything recorded after the moment of measurement cannot be followed up yet.
    moments = [m for m in innovation_moments(workspace) if m.at <= as_of]
    attention = moments + [m for m in attention_moments(workspace) if m.at <= as_of]
    bands = StallBands(workspace)
    out: dict[str, Any] = {"managers": {}}
    result, skipped = compare_moments(
        workspace, first_per_deal(moments), every_moment=attention, bands=bands, as_of=as_of
    )
    out["all"] = _summary(result, {"all": result.headline(SUBJECT_ALL)}, skipped)
    by_manager: dict[int, list[Moment]] = defaultdict(list)
    for m in moments:
        if m.manager_id is not None:
            by_manager[m.manager_id].append(m)
    for manager_id, mine in sorted(by_manager.items()):
        result, skipped = compare_moments(
            workspace, first_per_deal(mine), every_moment=attention, bands=bands, as_of=as_of
        )
        name = names.get(manager_id, "this manager")
        out["managers"][str(manager_id)] = _summary(
            result,
            {
                "you": result.headline(SUBJECT_YOU),
                "named": result.headline(f"Deals {name} innovated on"),
            },
            skipped,
        )
    return out
