"""Stage benchmarks from a workspace's own history: how long won deals spent in each stage
(p50/p75/p90), how many deals went on from it, and the team's activity cadence.

Stages with few won deals are shrunk toward the workspace-wide figure:
    shrunk = (n · stage_value + k · workspace_value) / (n + k)
with k pseudo-deals (StallSettings.shrinkage_strength, default 20), so a stage seen in three
won deals mostly borrows the workspace's figure and one seen in three hundred keeps its own.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from unstuck.core.models import Workspace
from unstuck.deals.models import Stage
from unstuck.investigate.models import StageBenchmark, StallSettings
from unstuck.investigate.scoring_cache import scoring_changed
from unstuck.investigate.sql import days_between, fetch_dicts, timestamp_param

DEFAULT_NO_ACTIVITY_DAYS = 14
MIN_NO_ACTIVITY_DAYS = 7

# Real stage moves of the workspace's closed deals; rows that only updated amount or close
# date in place (to_stage == previous to_stage) are dropped.
_MOVES = """
WITH hist AS (
  SELECT sc.deal_id, sc.to_stage_id, sc.changed_at, st.kind, st."order" AS ord, d.status,
         d.closed_at,
         LAG(sc.to_stage_id) OVER (PARTITION BY sc.deal_id ORDER BY sc.changed_at, sc.id)
           AS prev_stage
  FROM deals_stagechange sc
  JOIN deals_deal d ON d.id = sc.deal_id
  JOIN deals_stage st ON st.id = sc.to_stage_id
  WHERE d.workspace_id = %s AND d.status <> 'open' AND d.closed_at <= %s
),
moves AS (
  SELECT deal_id, to_stage_id, changed_at, kind, ord, status, closed_at,
         LEAD(changed_at) OVER (PARTITION BY deal_id ORDER BY changed_at) AS left_at
  FROM hist WHERE prev_stage IS NULL OR prev_stage <> to_stage_id
)
"""


def _stage_figures_sql() -> str:
    """Each stage's won-deal percentiles (rows `part` = 'p', and the pooled row, stage NULL)
    and its conversion (rows `part` = 'c') in one statement: the moves are computed once
    for both (a CTE used twice is materialised on both databases), where two statements
    computed them twice (a third of the benchmarks' CPU at 100,000 deals)."""
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
),
percentiles AS (
  SELECT stage_id, COUNT(*) AS n,
         MIN(CASE WHEN cd >= 0.5 THEN days END) AS p50,
         MIN(CASE WHEN cd >= 0.75 THEN days END) AS p75,
         MIN(CASE WHEN cd >= 0.9 THEN days END) AS p90
  FROM ranked GROUP BY stage_id
),
reached AS (
  -- A window, not a join to a per-deal CTE: SQLite would scan that CTE once per row.
  SELECT deal_id, to_stage_id, ord, kind,
         MAX(CASE WHEN kind = 'won' THEN 100000 WHEN kind = 'open' THEN ord ELSE -1 END)
           OVER (PARTITION BY deal_id) AS best
  FROM moves
),
entered AS (SELECT DISTINCT deal_id, to_stage_id, ord, best FROM reached WHERE kind = 'open'),
conversion AS (
  SELECT to_stage_id AS stage_id, COUNT(*) AS entered,
         SUM(CASE WHEN best > ord THEN 1 ELSE 0 END) AS advanced
  FROM entered
  GROUP BY to_stage_id
)
SELECT 'p' AS part, stage_id, n, p50, p75, p90, NULL AS entered, NULL AS advanced
FROM percentiles
UNION ALL
SELECT 'c', stage_id, NULL, NULL, NULL, NULL, entered, advanced FROM conversion
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


# The same three statements before their aggregation, each row with its deal's close time, so
# the benchmarks known at many moments (the stall score's landmarks) come from one pass:
# a closed deal's rows do not depend on the moment (its whole history is known once it
# closed), only whether it had closed by then.
def _won_days_rows_sql() -> str:
    span = days_between("changed_at", "left_at")
    return (
        _MOVES
        + f"""
SELECT deal_id, to_stage_id AS stage_id, MAX(closed_at) AS closed_at, SUM({span}) AS days
FROM moves WHERE status = 'won' AND kind = 'open' AND left_at IS NOT NULL
GROUP BY deal_id, to_stage_id
"""
    )


_ENTERED_ROWS_SQL = (
    _MOVES
    + """
, reached AS (
  SELECT deal_id, to_stage_id, ord, kind, closed_at,
         MAX(CASE WHEN kind = 'won' THEN 100000 WHEN kind = 'open' THEN ord ELSE -1 END)
           OVER (PARTITION BY deal_id) AS best
  FROM moves
)
SELECT DISTINCT deal_id, to_stage_id AS stage_id, ord, best, closed_at
FROM reached WHERE kind = 'open'
"""
)


def _gap_rows_sql() -> str:
    gap = days_between(
        "LAG(a.occurred_at) OVER (PARTITION BY a.deal_id ORDER BY a.occurred_at)", "a.occurred_at"
    )
    return f"""
SELECT * FROM (
  SELECT d.closed_at, {gap} AS gap
  FROM deals_activity a JOIN deals_deal d ON d.id = a.deal_id
  WHERE d.workspace_id = %s AND d.status = 'won' AND d.closed_at <= %s
) gaps WHERE gap IS NOT NULL
"""


def _cume_min(values: np.ndarray, q: float) -> float | None:
    """MIN(value) over the values whose CUME_DIST() is at least q, as the statements say."""
    if not len(values):
        return None
    ordered = np.sort(values)
    # CUME_DIST of a value: the share of values at or below it (ties share the highest).
    cd = np.searchsorted(ordered, ordered, side="right") / len(ordered)
    return float(ordered[np.argmax(cd >= q)])


def benchmarks_compute_many(
    *, workspace: Workspace, moments: list[datetime]
) -> list[list[StageBenchmark]]:
    """`benchmarks_compute(as_of=moment)` for each moment, from one pass over the history:
    the rows of the closed deals are read once, up to the latest moment, and each moment's
    figures are computed from the deals closed by then (the same percentile, conversion and
    cadence definitions; a test holds them to `benchmarks_compute`)."""
    if not moments:
        return []
    last = timestamp_param(max(moments))
    params = [workspace.pk, last]

    def closed(rows: list[dict[str, Any]]) -> np.ndarray:
        return np.array([_naive_utc(r["closed_at"]) for r in rows], dtype="datetime64[us]")

    won = fetch_dicts(_won_days_rows_sql(), params)
    won_at, won_stage = closed(won), np.array([r["stage_id"] for r in won], dtype=np.int64)
    won_days = np.array([float(r["days"]) for r in won], dtype=float)
    entered = fetch_dicts(_ENTERED_ROWS_SQL, params)
    entered_at = closed(entered)
    entered_stage = np.array([r["stage_id"] for r in entered], dtype=np.int64)
    advanced_flag = np.array([r["best"] > r["ord"] for r in entered], dtype=bool)
    gaps = fetch_dicts(_gap_rows_sql(), params)
    gap_at, gap = closed(gaps), np.array([float(r["gap"]) for r in gaps], dtype=float)
    stages = list(Stage.objects.filter(pipeline__workspace=workspace, kind="open"))
    k = stall_settings_for(workspace).shrinkage_strength
    out = []
    for moment in moments:
        at = np.datetime64(_naive_utc(moment), "us")
        w = won_at <= at
        percentiles: dict[int | None, dict[str, Any]] = {}
        if w.any():
            for stage_id in [None, *np.unique(won_stage[w]).tolist()]:
                mask = w if stage_id is None else w & (won_stage == stage_id)
                days = won_days[mask]
                percentiles[stage_id] = {
                    "n": int(mask.sum()),
                    "p50": _cume_min(days, 0.5),
                    "p75": _cume_min(days, 0.75),
                    "p90": _cume_min(days, 0.9),
                }
        e = entered_at <= at
        conversion = {
            int(stage_id): {
                "entered": int((e & (entered_stage == stage_id)).sum()),
                "advanced": int((e & (entered_stage == stage_id) & advanced_flag).sum()),
            }
            for stage_id in np.unique(entered_stage[e]).tolist()
        }
        g = gap[gap_at <= at]
        cadence = {"p50": _cume_min(g, 0.5), "p90": _cume_min(g, 0.9)}
        out.append(_benchmark_rows(workspace, stages, k, percentiles, conversion, cadence))
    return out


def _naive_utc(value: Any) -> datetime:
    """A moment as naive UTC (SQLite hands text, PostgreSQL aware datetimes)."""
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


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
    figures = fetch_dicts(_stage_figures_sql(), params)
    percentiles = {r["stage_id"]: r for r in figures if r["part"] == "p"}
    conversion = {r["stage_id"]: r for r in figures if r["part"] == "c"}
    cadence = fetch_dicts(_cadence_sql(), params)[0]
    stages = list(Stage.objects.filter(pipeline__workspace=workspace, kind="open"))
    return _benchmark_rows(workspace, stages, k, percentiles, conversion, cadence)


def _benchmark_rows(
    workspace: Workspace,
    stages: list[Stage],
    k: int,
    percentiles: dict[Any, dict[str, Any]],
    conversion: dict[Any, dict[str, Any]],
    cadence: dict[str, Any],
) -> list[StageBenchmark]:
    """The stored rows from the figures: the pooled row, then each open stage's, shrunk
    toward the pooled figures."""
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
    stored = StageBenchmark.objects.bulk_create(rows)
    scoring_changed(workspace)
    return stored


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
