"""The pipeline's own picture for insights, recomputed in the background and read per team
through the access rules: the stage funnel (open deals by team and stage), and stuck value by
stage over the last weeks (from the stall score as of each Monday, 00:00 UTC)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from django.db.models import Count, Sum

from unstuck.core.access import managed_team_ids
from unstuck.core.models import Membership, Workspace
from unstuck.deals.models import Deal, Stage
from unstuck.insights.models import OpenTotal, StuckValue, replace_stored
from unstuck.insights.timesplit import WEEKS_SHOWN, last_weeks
from unstuck.investigate.stall_signals import STALL_WARNING, signal_rows


@dataclass
class FunnelRow:
    stage: str
    deals: int
    total: float
    weighted: float  # total x the stage's win probability
    probability: int


def open_totals_recompute(*, workspace: Workspace) -> int:
    """Store the open deals by team and stage (one grouped query) for the funnel."""
    rows = [
        OpenTotal(
            workspace=workspace,
            team_id=r["team_id"],
            stage_id=r["stage_id"],
            deals=r["n"],
            amount=float(r["total"] or 0),
        )
        for r in Deal.objects.filter(workspace=workspace)
        .open()
        .order_by()
        .values("team_id", "stage_id")
        .annotate(n=Count("pk"), total=Sum("amount"))
    ]
    return replace_stored(OpenTotal, workspace, rows)


def _teams_filter(membership: Membership) -> dict[str, object]:
    """What a member may see of per-team rows: a leader every team and the deals without
    one; a manager their teams (a manager's own deals outside them are not in these rows)."""
    if membership.is_leader:
        return {}
    return {"team_id__in": managed_team_ids(membership)}


def funnel(membership: Membership) -> list[FunnelRow]:
    """Open deals per stage in pipeline order over the teams the member may see, as of the
    last recomputation: count, total amount and amount weighted by the stage's probability."""
    grouped: dict[int, list[float]] = defaultdict(lambda: [0, 0.0])
    for r in OpenTotal.objects.filter(
        workspace_id=membership.workspace_id, **_teams_filter(membership)
    ).values("stage_id", "deals", "amount"):
        grouped[r["stage_id"]][0] += r["deals"]
        grouped[r["stage_id"]][1] += r["amount"]
    stages = Stage.objects.filter(pk__in=list(grouped)).select_related("pipeline")
    rows = []
    for stage in sorted(
        stages, key=lambda s: (not s.pipeline.is_default, s.pipeline.name, s.order)
    ):
        n, total = grouped[stage.pk]
        rows.append(
            FunnelRow(
                stage=stage.name,
                deals=int(n),
                total=total,
                weighted=total * stage.probability / 100,
                probability=stage.probability,
            )
        )
    return rows


def stuck_value_recompute(*, workspace: Workspace, today: date) -> int:
    """Score the open deals as of each of the last `WEEKS_SHOWN` Mondays and store the
    stuck ones (stall score at or above the warning line) by week, team and stage."""
    stage_of = {
        (s.pipeline_id, s.order): s.pk for s in Stage.objects.filter(pipeline__workspace=workspace)
    }
    rows: list[StuckValue] = []
    for week in last_weeks(today, WEEKS_SHOWN):
        moment = datetime.combine(week, time(0), tzinfo=UTC)
        stuck = {
            r["deal_id"]: (r["stage_order"], float(r["amount_now"] or 0))
            for r in signal_rows(workspace, as_of=moment)
            if r["stall_score"] >= STALL_WARNING
        }
        sums: dict[tuple[int | None, int], list[float]] = defaultdict(lambda: [0, 0.0])
        ids = list(stuck)
        for start in range(0, len(ids), 5000):
            for deal_id, team_id, pipeline_id in Deal.objects.filter(
                pk__in=ids[start : start + 5000]
            ).values_list("pk", "team_id", "pipeline_id"):
                order, amount = stuck[deal_id]
                stage_id = stage_of.get((pipeline_id, order))
                if stage_id is None:
                    continue
                cell = sums[(team_id, stage_id)]
                cell[0] += 1
                cell[1] += amount
        rows += [
            StuckValue(
                workspace=workspace,
                week=week,
                team_id=team_id,
                stage_id=stage_id,
                deals=int(n),
                amount=amount,
            )
            for (team_id, stage_id), (n, amount) in sums.items()
        ]
    return replace_stored(StuckValue, workspace, rows)


@dataclass
class StuckWeeks:
    weeks: list[date]
    stages: list[tuple[int, str]]  # (stage id, name) in pipeline order
    amount: dict[tuple[date, int], float]
    deals: dict[tuple[date, int], int]


def stuck_weeks(membership: Membership, today: date) -> StuckWeeks:
    """Stuck value by stage for the last weeks, over the teams the member may see (a
    leader: every team and the deals without one). One query."""
    weeks = last_weeks(today, WEEKS_SHOWN)
    qs = StuckValue.objects.filter(
        workspace_id=membership.workspace_id, week__in=weeks, **_teams_filter(membership)
    )
    amount: dict[tuple[date, int], float] = defaultdict(float)
    deals: dict[tuple[date, int], int] = defaultdict(int)
    names: dict[int, tuple[int, int, str]] = {}
    for r in qs.values(
        "week", "stage_id", "stage__name", "stage__order", "stage__pipeline_id", "amount", "deals"
    ):
        amount[(r["week"], r["stage_id"])] += r["amount"]
        deals[(r["week"], r["stage_id"])] += r["deals"]
        names[r["stage_id"]] = (r["stage__pipeline_id"], r["stage__order"], r["stage__name"])
    stages = [(sid, n[2]) for sid, n in sorted(names.items(), key=lambda kv: kv[1][:2])]
    return StuckWeeks(weeks=weeks, stages=stages, amount=dict(amount), deals=dict(deals))
