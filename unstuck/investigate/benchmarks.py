"""Stage benchmarks from a workspace's own history: how long won deals spent in each stage
(p50/p75/p90), how many deals went on from it, and the team's activity cadence.

Stages with few won deals are shrunk toward the workspace-wide figure:
    shrunk = (n · stage_value + k · workspace_value) / (n + k)
with k pseudo-deals (StallSettings.shrinkage_strength, default 20), so a stage seen in three
won deals mostly borrows the workspace's figure and one seen in three hundred keeps its own.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from unstuck.core.models import Workspace
from unstuck.deals.models import Stage
from unstuck.investigate.models import StageBenchmark, StallSettings
from unstuck.investigate.sql import days_between, fetch_dicts, timestamp_param

DEFAULT_NO_ACTIVITY_DAYS = 14
MIN_NO_ACTIVITY_DAYS = 7

# Real stage moves of the workspace's closed deals; rows that only updated amount or close
# date in place (to_stage == previous to_stage) are dropped.
_MOVES = """
WITH hist AS (
  SELECT sc.deal_id, sc.to_stage_id, sc.changed_at, st.kind, st."order" AS ord, d.status,
         LAG(sc.to_stage_id) OVER (PARTITION BY sc.deal_id ORDER BY sc.changed_at, sc.id)
           AS prev_stage
  FROM deals_stagechange sc
  JOIN deals_deal d ON d.id = sc.deal_id
  JOIN deals_stage st ON st.id = sc.to_stage_id
  WHERE d.workspace_id = %s AND d.status <> 'open' AND d.closed_at <= %s
),
moves AS (
  SELECT deal_id, to_stage_id, changed_at, kind, ord, status,
         LEAD(changed_at) OVER (PARTITION BY deal_id ORDER BY changed_at) AS left_at
  FROM hist WHERE prev_stage IS NULL OR prev_stage <> to_stage_id
)
"""


def _percentile_sql() -> str:
    span = days_between("changed_at", "left_at")
    return (
        _MOVES
        + f"""
, won AS (
  SELECT deal_id, to_stage_id AS stage_id, SUM({span}) AS days
  FROM moves WHERE status = 'won' AND kind = 'open' AND left_at IS NOT NULL
  GROUP BY deal_id, to_stage_id
),
ranked AS (
  SELECT stage_id, days, CUME_DIST() OVER (PARTITION BY stage_id ORDER BY days) AS cd FROM won
  UNION ALL
  SELECT NULL, days, CUME_DIST() OVER (ORDER BY days) FROM won
)
SELECT stage_id, COUNT(*) AS n,
       MIN(CASE WHEN cd >= 0.5 THEN days END) AS p50,
       MIN(CASE WHEN cd >= 0.75 THEN days END) AS p75,
       MIN(CASE WHEN cd >= 0.9 THEN days END) AS p90
FROM ranked GROUP BY stage_id
"""
    )


_CONVERSION_SQL = (
    _MOVES
    + """
, reached AS (
  -- A window, not a join to a per-deal CTE: SQLite would scan that CTE once per row.
  SELECT deal_id, to_stage_id, ord, kind,
         MAX(CASE WHEN kind = 'won' THEN 100000 WHEN kind = 'open' THEN ord ELSE -1 END)
           OVER (PARTITION BY deal_id) AS best
  FROM moves
),
entered AS (SELECT DISTINCT deal_id, to_stage_id, ord, best FROM reached WHERE kind = 'open')
SELECT to_stage_id AS stage_id, COUNT(*) AS entered,
       SUM(CASE WHEN best > ord THEN 1 ELSE 0 END) AS advanced
FROM entered
GROUP BY to_stage_id
"""
)


def _cadence_sql() -> str:
    gap = days_between(
        "LAG(a.occurred_at) OVER (PARTITION BY a.deal_id ORDER BY a.occurred_at)", "a.occurred_at"
    )
    return f"""
WITH gaps AS (
  SELECT {gap} AS gap
  FROM deals_activity a JOIN deals_deal d ON d.id = a.deal_id
  WHERE d.workspace_id = %s AND d.status = 'won' AND d.closed_at <= %s
),
ranked AS (SELECT gap, CUME_DIST() OVER (ORDER BY gap) AS cd FROM gaps WHERE gap IS NOT NULL)
SELECT MIN(CASE WHEN cd >= 0.5 THEN gap END) AS p50,
       MIN(CASE WHEN cd >= 0.9 THEN gap END) AS p90
FROM ranked
"""


def _shrink(raw: float | None, n: int, prior: float | None, k: int) -> float | None:
    if raw is None:
        return prior
    if prior is None:
        return raw
    return (n * raw + k * prior) / (n + k)


def stall_settings_for(workspace: Workspace) -> StallSettings:
    """The workspace's thresholds. A read: the row is stored when the workspace is created
    (stall_settings_ensure); one made another way reads the defaults, unsaved."""
    found = StallSettings.objects.filter(workspace=workspace).first()
    return found or StallSettings(workspace=workspace)


def benchmarks_compute(
    *, workspace: Workspace, as_of: datetime | None = None
) -> list[StageBenchmark]:
    """Every stage's benchmark and the workspace-wide row (stage None), unsaved.

    With `as_of`, only deals closed by then count: what was known at that moment, so an
    as-of diagnosis or a back-test never learns from the future."""
    k = stall_settings_for(workspace).shrinkage_strength
    params = [workspace.pk, timestamp_param(as_of or timezone.now())]
    percentiles = {r["stage_id"]: r for r in fetch_dicts(_percentile_sql(), params)}
    conversion = {r["stage_id"]: r for r in fetch_dicts(_CONVERSION_SQL, params)}
    cadence = fetch_dicts(_cadence_sql(), params)[0]
    pooled: dict[str, Any] = percentiles.get(None) or {}
    entered_all = sum(r["entered"] for r in conversion.values())
    advanced_all = sum(r["advanced"] for r in conversion.values())
    pooled_conversion = advanced_all / entered_all if entered_all else None
    now = timezone.now()
    rows = [
        StageBenchmark(
            workspace=workspace,
            stage=None,
            won_deals=pooled.get("n") or 0,
            p50_days=pooled.get("p50"),
            p75_days=pooled.get("p75"),
            p90_days=pooled.get("p90"),
            raw_p75_days=pooled.get("p75"),
            raw_p90_days=pooled.get("p90"),
            entered=entered_all,
            conversion=pooled_conversion,
            activity_gap_p50_days=cadence["p50"],
            activity_gap_p90_days=cadence["p90"],
            computed_at=now,
        )
    ]
    stages = Stage.objects.filter(pipeline__workspace=workspace, kind="open")
    for stage in stages:
        p = percentiles.get(stage.pk) or {}
        c = conversion.get(stage.pk) or {}
        n = p.get("n") or 0
        entered = c.get("entered") or 0
        advanced = c.get("advanced") or 0
        conv = (
            (advanced + k * pooled_conversion) / (entered + k)
            if pooled_conversion is not None
            else None
        )
        rows.append(
            StageBenchmark(
                workspace=workspace,
                stage=stage,
                won_deals=n,
                p50_days=_shrink(p.get("p50"), n, pooled.get("p50"), k),
                p75_days=_shrink(p.get("p75"), n, pooled.get("p75"), k),
                p90_days=_shrink(p.get("p90"), n, pooled.get("p90"), k),
                raw_p75_days=p.get("p75"),
                raw_p90_days=p.get("p90"),
                entered=entered,
                conversion=conv,
                activity_gap_p50_days=cadence["p50"],
                activity_gap_p90_days=cadence["p90"],
                computed_at=now,
            )
        )
    return rows


@transaction.atomic
def benchmarks_recompute(
    *, workspace: Workspace, as_of: datetime | None = None
) -> list[StageBenchmark]:
    """Recompute and store every stage's benchmark and the workspace-wide row."""
    rows = benchmarks_compute(workspace=workspace, as_of=as_of)
    StageBenchmark.objects.filter(workspace=workspace).delete()
    return StageBenchmark.objects.bulk_create(rows)


def no_activity_threshold(settings_row: StallSettings, workspace_row: StageBenchmark | None) -> int:
    """Days of silence that count: the workspace's setting, else the p90 gap between the
    activities of won deals (the team's usual cadence), never under a week."""
    return no_activity_rule(settings_row, workspace_row)[0]


def no_activity_rule(
    settings_row: StallSettings, workspace_row: StageBenchmark | None
) -> tuple[int, str]:
    """The silence threshold and where it comes from: "setting", "cadence" (the won deals'
    p90 gap) or "default" (no won deal has two activities to measure a cadence from), so the
    signal's sentence claims only what the data shows."""
    if settings_row.no_activity_days:
        return settings_row.no_activity_days, "setting"
    gap = workspace_row.activity_gap_p90_days if workspace_row else None
    if gap is None:
        return DEFAULT_NO_ACTIVITY_DAYS, "default"
    return max(MIN_NO_ACTIVITY_DAYS, math.ceil(gap)), "cadence"
