"""Stall signals for open deals, computed set-based in one SQL statement over the history
known at a moment (`as_of`), each with its evidence; and the 0-100 stall score.

The score combines the signals like independent risks ("noisy-or"):
    score = 100 * (1 - product of (1 - weight_i))   over the signals that fire,
so each extra signal adds less than the one before and the score never passes 100.
"""

from __future__ import annotations

import json
import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from unstuck.core.models import Workspace
from unstuck.core.templatetags.unstuck import format_money
from unstuck.deals.models import Stage, StageKind
from unstuck.investigate.benchmarks import (
    benchmarks_compute,
    benchmarks_compute_many,
    no_activity_rule,
    stall_settings_for,
)
from unstuck.investigate.models import StageBenchmark, StallSettings
from unstuck.investigate.sql import (
    analytic_transaction,
    as_date,
    as_float,
    as_timestamp,
    between_fraction,
    ceil_pos,
    days_between,
    days_between_dates,
    fetch_dicts,
    floor_pos,
    is_postgres,
    json_rows,
    timestamp_param,
)

if TYPE_CHECKING:
    from unstuck.investigate.stall_score import StallModel

# code: (weight in the score, short label)
SIGNALS: dict[str, tuple[float, str]] = {
    "stage_stalled": (0.35, "Stalled in stage"),
    "stage_slow": (0.15, "Slow in stage"),
    "no_activity": (0.30, "No activity"),
    "close_date_past": (0.20, "Close date passed"),
    "slipping": (0.20, "Close date slipping"),
    "amount_decreased": (0.15, "Amount cut"),
    "moved_back": (0.15, "Moved backwards"),
    "single_threaded": (0.15, "Single-threaded"),
    "no_economic_buyer": (0.10, "No economic buyer"),
    "no_next_step": (0.10, "No next step"),
    "champion_quiet": (0.15, "Champion gone quiet"),
}
STALL_WARNING = 40  # a score at or above this puts a deal among the stuck ones


@dataclass
class Signal:
    code: str
    label: str
    severity: str  # "warn" or "bad"
    text: str
    # The odds multiplier this signal carries in the workspace's learnt score (1.0: it does
    # not count here); None while the fixed weights score.
    weight: float | None = None

    def as_dict(self) -> dict[str, Any]:
        # What dataclasses.asdict gives, field by field: asdict deep-copies every value through
        # a recursive walk, 1.25 s for the 63,726 signals of a full recompute at 100,000
        # deals, against 0.03 s (load 4.8, 2026-12-01).
        return {
            "code": self.code,
            "label": self.label,
            "severity": self.severity,
            "text": self.text,
            "weight": self.weight,
        }


def _deal_row() -> str:
    """The snapshot's deal row (PostgreSQL): the main query reads the deal's own columns
    from the snapshot rather than joining deals_deal again (a second index scan of every
    open deal and a merge join; the columns nothing reads are dropped where the snapshot
    is inlined). SQLite materialises the snapshot, so it keeps only the key there."""
    return ", d.*" if is_postgres() else ""


def _snapshot_open(*, id_filter: str, now_mode: bool, landmark: int | None = None) -> str:
    ts = as_timestamp()
    status = "AND d.status = 'open'" if now_mode else ""
    lm = "" if landmark is None else f", {int(landmark)} AS lm"
    return f"""
SELECT d.id AS deal_id, {ts} AS as_of{lm}{_deal_row()} FROM deals_deal d
WHERE d.workspace_id = %s AND d.created_at <= {ts}
  AND (d.closed_at IS NULL OR d.closed_at > {ts}) {status} {id_filter}
"""


def _snapshot_closed() -> str:
    """Each closed deal seen once at a point of its open life (40 to 95 % of the way through,
    fixed per deal), so the win model learns only from what was known while it was open.
    Deals without a close time are seen at their creation."""
    fraction = "(0.4 + (d.id %% 56) / 100.0)"
    return f"""
SELECT d.id AS deal_id,
  CASE WHEN d.closed_at > d.created_at
       THEN {between_fraction("d.created_at", "d.closed_at", fraction)}
       ELSE d.created_at END AS as_of{_deal_row()}
FROM deals_deal d
WHERE d.workspace_id = %s AND d.status <> 'open'
"""


def _rule_score(codes: list[str]) -> str:
    """ROUND(100 * (1 - product of (1 - weight) over the flags that fire)) as SQL, in exact
    integer arithmetic: every weight is a multiple of 1/20, so each factor is an integer
    out of 20 and the score is ((200 * (20^n - product) + 20^n) // (2 * 20^n)), rounding
    halves up as ROUND does. The same figures as PostgreSQL's numeric (all 2,048 flag
    combinations checked); at 1,000,000 deals the numeric products took about 3 s of CPU,
    the integer ones under 1 s. SQLite's floating point had rounded two combinations (41.5)
    down.
    (DuckDB, the bench's reference, needs `SET integer_division = true` for this.)"""
    den = 20
    factors = [(1 - SIGNALS[code][0]) * den for code in codes]
    whole = den ** len(codes)
    assert all(abs(f - round(f)) < 1e-9 for f in factors), "weights must be multiples of 1/20"
    assert 200 * whole < 2**62, "too many signals for 64-bit integers"
    product = " * ".join(
        f"CASE WHEN f_{code} = 1 THEN {round(f)} ELSE {den} END"
        for code, f in zip(codes, factors, strict=True)
    )
    return f"((200 * ({whole} - CAST(1 AS BIGINT) * {product}) + {whole}) / {2 * whole})"


def _stage_lookup(workspace: Workspace | None) -> tuple[str, str, str]:
    """How a deal's history tells a step back (into an open stage of lower order than the
    stage before): the join to the stages, the columns `hist` adds for it (`{w}` stands for
    its window) and the condition `hagg` tests on each history row. Given a workspace, the
    stages' order and kind are written into the statement as CASE expressions over its
    stages (a handful; ids and orders are integers from the database) instead.

    Without the join the history streams from its (deal, time, id) index in the order the
    window wants; with it, PostgreSQL hash-joined every history row to the stages, and the
    hash join's output, unordered as far as the planner knows, had to be sorted again (5
    million rows to disk at 1,000,000 open deals, issue 16). And the condition is tested
    only where the stage changed, from the previous row's stage that the window reads
    anyway: no third window function for the previous order, and no order looked up for
    the rows that do not move (most of them: close date and amount updates)."""
    if workspace is None:
        return (
            "LEFT JOIN deals_stage st ON st.id = sc.to_stage_id",
            """, CASE WHEN st.kind = 'open' THEN 1 ELSE 0 END AS is_open, st."order" AS ord,
         LAG(st."order") OVER ({w}) AS prev_ord""",
            "prev_ord IS NOT NULL AND ord < prev_ord AND is_open = 1",
        )
    stages = list(
        Stage.objects.filter(pipeline__workspace=workspace).values_list("id", "order", "kind")
    )
    open_ids = ", ".join(str(int(pk)) for pk, _, kind in stages if kind == StageKind.OPEN)
    if not open_ids:
        return "", "", "0 = 1"
    order = " ".join(f"WHEN {int(pk)} THEN {int(o)}" for pk, o, _ in stages)
    return (
        "",
        "",
        f"prev_stage <> to_stage_id AND to_stage_id IN ({open_ids}) "
        f"AND CASE to_stage_id {order} END < CASE prev_stage {order} END",
    )


def _query(
    snapshot_sql: str,
    *,
    one_deal: bool = False,
    landmarks: bool = False,
    stages: tuple[str, str, str] | None = None,
) -> str:
    """The statement; one_deal narrows every table it reads to %(deal_id)s, so a deal page
    reads that deal's rows through their indexes instead of joining whole tables to a
    one-row snapshot.

    landmarks: the snapshot holds several moments (a column `lm` numbers them, a deal may be
    seen at each), and every per-deal step goes by (deal, lm) instead of the deal: the
    history, activities and committee are read once for all the moments. The benchmarks
    carry `lm` too, and the thresholds that depend on the moment (silence, whether the
    workspace had committees or activities by then) come from the rows of %(moments)s."""
    since = days_between
    # How the history meets the snapshot. PostgreSQL: an inner join, each history row
    # partitioned by its own deal, so the window and the grouped aggregate take the rows in
    # the order of the history's (deal, time, id) index (the merge join keeps it) and sort
    # nothing; the deals without history are joined back after, to the aggregate, in deal
    # order. (A left join keeps only the snapshot's order, by deal: the rows of each deal
    # were sorted again by time, and every deal's row then hash-joined to its history's.)
    # SQLite: the snapshot left-joined to the history (a deal without any is one row of
    # NULLs) and the main query driven from the aggregate, since SQLite scanned a
    # left-joined aggregate once per deal (quadratic at 100,000 deals).
    join_back = is_postgres()
    hist_deal = "sc.deal_id" if join_back else "snap.deal_id"
    src = "d" if join_back else "h"  # what the main query is driven from
    at = f"{src}.as_of"
    has_hist = "h.deal_id IS NOT NULL" if join_back else "h.has_hist = 1"
    hagg_src = (
        ""
        if join_back
        else "\n    MAX(as_of) AS as_of,"
        "\n    MAX(CASE WHEN sc_id IS NOT NULL THEN 1 ELSE 0 END) AS has_hist,"
    )
    stage_join, stage_cols, moved_back = stages or _stage_lookup(None)
    # The extra key of every per-deal step when several moments are seen at once (empty
    # otherwise, so the one-moment statement is unchanged).
    lm = ", snap.lm" if landmarks else ""
    lm_as = ", snap.lm AS lm" if landmarks else ""

    def same_lm(left: str, right: str) -> str:
        return f" AND {left}.lm = {right}.lm" if landmarks else ""

    moment = {
        name: f"m.{name}" if landmarks else f"%({name})s"
        for name in ("has_activities", "has_committees", "no_activity_days")
    }
    only_sc, only_a, only_s = (
        f"AND {alias}.deal_id = %(deal_id)s" if one_deal else "" for alias in ("sc", "a", "s")
    )
    # On PostgreSQL the snapshot is inlined where it is used (it is a filter on deals_deal),
    # not materialised: a materialised CTE is read by one process and hides its row count
    # and its deal ids from the planner.
    materialized = " NOT MATERIALIZED" if is_postgres() else ""
    # The benchmarks are a few rows parsed from JSON: once (PostgreSQL would otherwise
    # inline the CTE and parse the JSON text again for every deal, for every figure used).
    bench_materialized = " MATERIALIZED" if is_postgres() else ""
    # A fence (PostgreSQL): without it the planner pulls `base` and `flagged` up into the
    # select and writes each column's expression wherever the column is used, so the days in
    # stage, the close date and the flags were computed again for every flag and for the
    # score that reads them.
    fence = "\n  OFFSET 0" if is_postgres() else ""
    # The deal row holds today's values. For a deal that closed after the moment scored,
    # they are what it closed with (a lost deal's amount 0, the day it closed as its close
    # date): the outcome itself. Only the history speaks for that moment then; a deal with
    # no history at all keeps its amount (imports of one row per deal, nothing else to go on).
    closed_later = f"(d.closed_at IS NOT NULL AND d.closed_at > {at})"
    close_now = (
        f"CASE WHEN {has_hist} THEN h.close_last WHEN {closed_later} THEN NULL "
        "ELSE d.close_date END"
    )
    row_amount = f"CASE WHEN {has_hist} AND {closed_later} THEN NULL ELSE d.amount END"
    w = f"PARTITION BY {hist_deal}{lm} ORDER BY sc.changed_at, sc.id"
    flags = {
        # Whole days against whole-day benchmarks (rounded up), so the sentence "34 days in
        # Proposal; 90 % of won deals left it within 33 days" can never contradict itself.
        "stage_stalled": f"b.p90_days IS NOT NULL AND days_in_stage > {ceil_pos('b.p90_days')}",
        "stage_slow": f"b.p75_days IS NOT NULL AND days_in_stage > {ceil_pos('b.p75_days')} "
        f"AND NOT (b.p90_days IS NOT NULL AND days_in_stage > {ceil_pos('b.p90_days')})",
        # Silence means something only where the workspace records activities at all.
        "no_activity": f"{moment['has_activities']} = 1 "
        f"AND days_silent >= {moment['no_activity_days']} + 1",
        "close_date_past": f"close_now IS NOT NULL AND close_now < {as_date('as_of')}",
        "slipping": "pushes >= %(slip_count)s",
        "amount_decreased": "amount_now < amount_peak",
        "moved_back": "moved_back_at IS NOT NULL",
        "single_threaded": f"{moment['has_committees']} = 1 AND n_sh <= %(single_threaded_max)s",
        "no_economic_buyer": f"{moment['has_committees']} = 1 AND n_eb = 0 "
        'AND st."order" >= %(eb_from_stage)s',
        "no_next_step": "%(now_mode)s = 1 AND next_step = ''",
        "champion_quiet": f"{moment['has_activities']} = 1 AND champion_name IS NOT NULL "
        "AND (champion_days IS NULL "
        "OR champion_days >= %(champion_quiet_days)s + 1)",
    }
    flag_cols = ",\n  ".join(
        f"CASE WHEN {cond} THEN 1 ELSE 0 END AS f_{code}" for code, cond in flags.items()
    )
    score = _rule_score(list(flags))
    bench = json_rows(
        [
            ("stage_id", "int"),
            ("p50_days", "float"),
            ("p75_days", "float"),
            ("p90_days", "float"),
            ("conversion", "float"),
            ("won_deals", "int"),
            *([("lm", "int")] if landmarks else []),
        ]
    ).replace("%s", "%(benchmarks)s")
    driver = (
        f"FROM snap d\n  LEFT JOIN hagg h ON h.deal_id = d.id{same_lm('h', 'd')}"
        if join_back
        else "FROM hagg h\n  JOIN deals_deal d ON d.id = h.deal_id"
    )
    moments_cte, moments_join, lm_out = "", "", ""
    if landmarks:
        moments = json_rows(
            [
                ("lm", "int"),
                ("has_activities", "int"),
                ("has_committees", "int"),
                ("no_activity_days", "int"),
            ]
        ).replace("%s", "%(moments)s")
        moments_cte = f"moments AS ({moments}),"
        moments_join = "JOIN moments m ON m.lm = base.lm"
        lm_out = "lm, "
    return f"""
WITH snap AS{materialized} ({snapshot_sql}),
-- The benchmarks as known at the moment scored (stored ones for now; computed from the
-- deals closed by then for an as-of date), handed over as rows.
bench AS{bench_materialized} ({bench}),
{moments_cte}
hist AS (
  -- Every snapshot deal's history known then (SQLite: a deal with none yet is one row of
  -- NULLs, so one pass over the history serves both).
  SELECT {hist_deal} AS deal_id{lm_as}, snap.as_of, sc.id AS sc_id, sc.to_stage_id,
         sc.changed_at, sc.amount, sc.close_date{stage_cols.replace("{w}", w)},
         -- The first and the last row of the deal's history: the previous stage (never
         -- NULL but on the first row) and LEAD over the same window as the others, so one
         -- sort and one pass serve them all (a row count over the whole partition would
         -- need a second pass).
         LAG(sc.to_stage_id) OVER ({w}) AS prev_stage,
         LAG(sc.close_date) OVER ({w}) AS prev_close,
         LEAD(sc.id) OVER ({w}) AS next_id
  FROM snap
  {"" if join_back else "LEFT "}JOIN deals_stagechange sc
    ON sc.deal_id = snap.deal_id AND sc.changed_at <= snap.as_of {only_sc}
  {stage_join}
),
-- One row per snapshot deal with history (SQLite: per snapshot deal, NULLs when it has
-- none yet, and the main query is driven from here).
hagg AS (
  SELECT deal_id{lm.replace("snap.", "")},{hagg_src}
    MAX(to_stage_id) FILTER (WHERE next_id IS NULL) AS stage_id,
    MAX(amount) FILTER (WHERE next_id IS NULL) AS amount_last,
    MAX(amount) AS amount_peak,
    MAX(close_date) FILTER (WHERE next_id IS NULL) AS close_last,
    MAX(close_date) FILTER (WHERE prev_stage IS NULL) AS close_first,
    MAX(changed_at) FILTER (WHERE prev_stage IS NULL OR prev_stage <> to_stage_id)
      AS entered_at,
    COUNT(*) FILTER (WHERE close_date > prev_close) AS pushes,
    COUNT(*) FILTER (WHERE close_date < prev_close) AS pulls,
    MAX(changed_at) FILTER (WHERE {moved_back}) AS moved_back_at,
    COUNT(*) FILTER (WHERE {"" if join_back else "sc_id IS NOT NULL AND "}(prev_stage IS NULL
        OR prev_stage <> to_stage_id)) AS moves
  FROM hist GROUP BY deal_id{lm.replace("snap.", "")}
),
sh AS (
  SELECT s.deal_id{lm_as}, COUNT(*) AS n_sh,
         COUNT(*) FILTER (WHERE s.buying_role = 'economic_buyer') AS n_eb,
         COUNT(*) FILTER (WHERE s.stance = 'supporter') AS n_supporters,
         MIN(c.name) AS any_name,
         MIN(c.name) FILTER (WHERE s.buying_role = 'champion') AS champion_name,
         MIN(s.contact_id) FILTER (WHERE s.buying_role = 'champion') AS champion_contact
  FROM deals_stakeholder s JOIN snap ON snap.deal_id = s.deal_id
  JOIN deals_contact c ON c.id = s.contact_id
  WHERE s.created_at <= snap.as_of {only_s}
  GROUP BY s.deal_id{lm}
),
-- Activities, and among them the champion's, in one pass.
act AS (
  SELECT a.deal_id{lm_as}, COUNT(*) AS n_act, MAX(a.occurred_at) AS last_act,
         COUNT(*) FILTER (WHERE {since("a.occurred_at", "snap.as_of")} <= 30) AS n_act_30,
         COUNT(*) FILTER (WHERE a.direction = 'inbound') AS n_inbound,
         MAX(a.occurred_at) FILTER (WHERE a.contact_id = sh.champion_contact)
           AS champion_last
  FROM deals_activity a JOIN snap ON snap.deal_id = a.deal_id
  LEFT JOIN sh ON sh.deal_id = a.deal_id{same_lm("sh", "snap")}
  WHERE a.occurred_at <= snap.as_of {only_a}
  GROUP BY a.deal_id{lm}
),
base AS (
  SELECT d.id AS deal_id, d.external_id, d.name, d.owner_id, d.team_id, d.currency,
    d.status AS status_now, {at},{f" {src}.lm," if landmarks else ""}
    COALESCE(h.stage_id, d.stage_id) AS stage_id,
    COALESCE(h.entered_at, d.stage_entered_at) AS entered_at,
    -- Whole days elapsed, the one definition of days in stage (core templatetags whole_days).
    {floor_pos(since("COALESCE(h.entered_at, d.stage_entered_at)", at))}
      AS days_in_stage,
    {since("d.created_at", at)} AS age_days,
    COALESCE(h.amount_last, {row_amount}) AS amount_now,
    COALESCE(h.amount_peak, {row_amount}) AS amount_peak,
    {close_now} AS close_now,
    h.close_first, COALESCE(h.pushes, 0) AS pushes, COALESCE(h.pulls, 0) AS pulls,
    h.moved_back_at,
    COALESCE(h.moves, 0) AS moves,
    COALESCE(act.n_act, 0) AS n_act, COALESCE(act.n_act_30, 0) AS n_act_30,
    COALESCE(act.n_inbound, 0) AS n_inbound, act.last_act,
    {since("COALESCE(act.last_act, d.created_at)", at)} AS days_silent,
    COALESCE(sh.n_sh, 0) AS n_sh, COALESCE(sh.n_eb, 0) AS n_eb,
    COALESCE(sh.n_supporters, 0) AS n_supporters, sh.any_name, sh.champion_name,
    {since("act.champion_last", at)} AS champion_days,
    {days_between_dates(as_date(at), close_now)} AS days_to_close,
    d.next_step
  {driver}
  LEFT JOIN act ON act.deal_id = d.id{same_lm("act", src)}
  LEFT JOIN sh ON sh.deal_id = d.id{same_lm("sh", src)}{fence}
),
-- The stage is joined here, after the per-deal joins: the planner cannot tell how many
-- rows a join on COALESCE(...) keeps, guessed 1 in 30 at 1,000,000 deals, and planned
-- the joins above it for a few thousand rows (hash tables that spilled in 32 batches,
-- then a sort of every row to disk, issue 16).
flagged AS (
  SELECT base.*, st.name AS stage_name, st."order" AS stage_order, st.kind AS stage_kind,
    b.p50_days, b.p75_days, b.p90_days, b.conversion, b.won_deals AS bench_won_deals,
  {flag_cols}
  FROM base
  JOIN deals_stage st ON st.id = base.stage_id
  LEFT JOIN bench b ON b.stage_id = base.stage_id{same_lm("b", "base")}
  {moments_join}
  WHERE st.kind = %(stage_kind)s OR %(stage_kind)s = 'any'{fence}
)
SELECT {lm_out}deal_id, external_id, name, currency, status_now, owner_id, stage_id, stage_name,
  stage_order, stage_kind,
  days_in_stage, age_days, {as_float("amount_now")} AS amount_now,
  {as_float("amount_peak")} AS amount_peak, close_now, close_first, pushes, pulls,
  {as_date("moved_back_at")} AS moved_back_at, moves, n_act, n_act_30, n_inbound,
  {as_date("last_act")} AS last_act, days_silent, n_sh, n_eb, n_supporters, any_name,
  champion_name, champion_days, days_to_close, p50_days, p75_days, p90_days,
  bench_won_deals,
  {", ".join(f"f_{code}" for code in flags)},
  {score} AS stall_score
FROM flagged
"""


def _render(sql: str, named: dict[str, Any]) -> tuple[str, list[Any]]:
    """Turn the %(name)s placeholders into positional ones (both backends accept %s)."""
    params: list[Any] = []

    class Collect(dict[str, Any]):
        def __missing__(self, key: str) -> str:
            raise KeyError(key)

        def __getitem__(self, key: str) -> str:
            params.append(named[key])
            return "%s"

    return sql.replace("%s", "%%s") % Collect(), params


def signal_statement(
    workspace: Workspace,
    *,
    as_of: datetime | None = None,
    deals: QuerySet[Any] | None = None,
    deal_id: int | None = None,
    closed_snapshots: bool = False,
    benchmarks: list[StageBenchmark] | None = None,
    min_score: int | None = None,
    worst_first: bool = False,
    scorer: StallModel | None = None,
    stall: StallSettings | None = None,
) -> tuple[str, list[Any], dict[str, Any]]:
    """The signal statement, its parameters and the thresholds its evidence quotes.

    Benchmarks: the stored ones for now, those known at `as_of` for an earlier moment, or
    the ones given. deal_id reads a single deal (the deal page); min_score and worst_first
    filter and order in the database, so a caller that streams the rows need not hold them
    to sort them. With a learnt `scorer` (not the fixed weights) each row also carries its
    score as `learnt_score`, computed in the database, and min_score and worst_first go by
    it. stall: the workspace's thresholds, when the caller has them (the deal page keeps
    them with the stored benchmarks, investigate.scoring_cache)."""
    now_mode = as_of is None
    moment = as_of or timezone.now()
    stall = stall_settings_for(workspace) if stall is None else stall
    if benchmarks is None:
        benchmarks = (
            list(StageBenchmark.objects.filter(workspace=workspace))
            if as_of is None
            else benchmarks_compute(workspace=workspace, as_of=as_of)
        )
    bench_json = json.dumps([_bench_row(b) for b in benchmarks if b.stage_id is not None])
    id_filter, id_params = _id_filter(deals)
    if deal_id is not None:
        id_filter, id_params = f"{id_filter} AND d.id = %s", [*id_params, deal_id]
    if closed_snapshots:
        snapshot = _snapshot_closed()
        snap_params: list[Any] = [workspace.pk]
    else:
        snapshot = _snapshot_open(id_filter=id_filter, now_mode=now_mode)
        ts = timestamp_param(moment)
        snap_params = [ts, workspace.pk, ts, ts, *id_params]
    seen_by = moment if not closed_snapshots else timezone.now()
    has_committees, has_activities, thresholds = _moment_context(
        workspace, stall, seen_by, benchmarks
    )
    # One deal reads a handful of history rows: the stage join costs nothing there, and
    # spares the deal page a query for the stages.
    query = _query(
        "__SNAPSHOT__",
        one_deal=deal_id is not None,
        stages=None if deal_id is not None else _stage_lookup(workspace),
    )
    rank, enc_params = "stall_score", "[]"
    if scorer is not None and scorer.method != "rules":
        from unstuck.investigate.stall_score import score_from_probability, score_sql

        probability, join, join_params = score_sql(scorer, alias="q")
        enc_params = join_params[0] if join_params else "[]"
        query = (
            f"SELECT s.*, {score_from_probability(scorer, 's.learnt_p')} AS learnt_score "
            f"FROM (SELECT q.*, {probability} AS learnt_p FROM ({query}) q "
            f"{join.replace('%s', '%(enc_owner)s')}) s"
        )
        rank = "learnt_score"
    if min_score is not None:
        query = f"SELECT * FROM ({query}) scored WHERE {rank} >= %(min_score)s"
    if worst_first:
        query += f"\nORDER BY {rank} DESC, COALESCE(amount_now, 0) DESC, deal_id"
    sql, params = _render(
        query,
        {
            "benchmarks": bench_json,
            "no_activity_days": thresholds["no_activity_days"],
            "slip_count": stall.slip_count,
            "has_committees": has_committees,
            "has_activities": has_activities,
            "single_threaded_max": stall.single_threaded_max,
            "eb_from_stage": stall.economic_buyer_from_stage,
            "now_mode": 1 if now_mode else 0,
            "champion_quiet_days": stall.champion_quiet_days,
            "stage_kind": "any" if closed_snapshots else "open",
            "deal_id": deal_id,
            "min_score": min_score,
            "enc_owner": enc_params,
        },
    )
    before, after = sql.split("__SNAPSHOT__")
    return before + snapshot + after, [*snap_params, *params], thresholds


def _num(value: Any) -> float | None:  # PostgreSQL hands unsaved figures as Decimal
    return None if value is None else float(value)


def _bench_row(b: StageBenchmark) -> list[Any]:
    """A stage's benchmark as a row of the statement's `bench`."""
    return [
        b.stage_id,
        _num(b.p50_days),
        _num(b.p75_days),
        _num(b.p90_days),
        _num(b.conversion),
        b.won_deals,
    ]


def _id_filter(deals: QuerySet[Any] | None) -> tuple[str, list[Any]]:
    if deals is None:
        return "", []
    inner, inner_params = deals.values("pk").query.sql_with_params()
    return f"AND d.id IN ({inner})", list(inner_params)


def _any_by_then() -> str:
    """Whether the workspace had recorded any committee member, and any activity, by a
    moment (parameters: workspace, moment, workspace, moment)."""
    return f"""
SELECT
  EXISTS(SELECT 1 FROM deals_stakeholder s JOIN deals_deal d ON d.id = s.deal_id
         WHERE d.workspace_id = %s AND s.created_at <= {as_timestamp()}) AS committees,
  EXISTS(SELECT 1 FROM deals_activity a JOIN deals_deal d ON d.id = a.deal_id
         WHERE d.workspace_id = %s AND a.occurred_at <= {as_timestamp()}) AS activities
"""


def _moment_context(
    workspace: Workspace, stall: Any, seen_by: datetime, benchmarks: list[StageBenchmark]
) -> tuple[int, int, dict[str, Any]]:
    """What the flags need to know of the moment scored: whether the workspace had recorded
    committees and activities by then (signals that need a kind of data switch off where the
    workspace records none of it: no silence without activities, no committee gaps without
    committees), and the thresholds the evidence quotes (the silence rule from the
    benchmarks known then)."""
    # Both "any rows by then?" in one statement (each still stops at the first row), written
    # out: the ORM took a millisecond of CPU to compile it on every deal page, five times
    # what running it takes.
    ts = timestamp_param(seen_by)
    with connection.cursor() as cursor:
        cursor.execute(_any_by_then(), [workspace.pk, ts, workspace.pk, ts])
        committees, activities = cursor.fetchone()
    has_committees, has_activities = int(committees), int(activities)
    workspace_row = next((b for b in benchmarks if b.stage_id is None), None)
    no_activity_days, no_activity_source = no_activity_rule(stall, workspace_row)
    thresholds = {
        "no_activity_days": no_activity_days,
        "no_activity_source": no_activity_source,
        "slip_count": stall.slip_count,
        "champion_quiet_days": stall.champion_quiet_days,
    }
    return has_committees, has_activities, thresholds


def landmark_signal_rows(
    workspace: Workspace,
    moments: list[tuple[datetime, QuerySet[Any] | None]],
    *,
    columns: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """`signal_rows(as_of=moment, deals=deals)` for every (moment, deals) given, in ONE
    statement: each row carries `lm`, the index of its moment, and is what that call would
    have returned for the deal (the same benchmarks known then, thresholds and flags).
    Ordered by moment, then deal. `columns`: only these of the statement's columns (and
    `lm`), for a caller that uses a few: the learnt score's training reads 22 of 41, and
    fetching and converting the others was most of its rows' time in Python (the statement
    is the same; the database drops the outputs nobody selects).

    The learnt stall score is trained on a dozen such moments (landmarks); one statement per
    moment scanned the whole history a dozen times (most of a retraining's time at 100,000
    deals), where one statement reads it once, each row joined to the moments it is known at.
    """
    if not moments:
        return []
    stall = stall_settings_for(workspace)
    snapshots: list[str] = []
    snap_params: list[Any] = []
    bench_rows: list[list[Any]] = []
    moment_rows: list[list[int]] = []
    thresholds: list[dict[str, Any]] = []
    known_then = benchmarks_compute_many(workspace=workspace, moments=[m for m, _ in moments])
    for i, ((moment, deals), benchmarks) in enumerate(zip(moments, known_then, strict=True)):
        bench_rows += [[*_bench_row(b), i] for b in benchmarks if b.stage_id is not None]
        has_committees, has_activities, known = _moment_context(
            workspace, stall, moment, benchmarks
        )
        moment_rows.append([i, has_activities, has_committees, known["no_activity_days"]])
        thresholds.append(known)
        id_filter, id_params = _id_filter(deals)
        snapshots.append(_snapshot_open(id_filter=id_filter, now_mode=False, landmark=i))
        ts = timestamp_param(moment)
        snap_params += [ts, workspace.pk, ts, ts, *id_params]
    query = _query("__SNAPSHOT__", landmarks=True, stages=_stage_lookup(workspace))
    if columns is not None:
        names = ", ".join(["lm", *(c for c in columns if c != "lm")])
        query = f"SELECT {names} FROM (\n{query}\n) AS landmark_rows"
    query += "\nORDER BY lm, deal_id"
    sql, params = _render(
        query,
        {
            "benchmarks": json.dumps(bench_rows),
            "moments": json.dumps(moment_rows),
            "slip_count": stall.slip_count,
            "single_threaded_max": stall.single_threaded_max,
            "eb_from_stage": stall.economic_buyer_from_stage,
            "now_mode": 0,
            "champion_quiet_days": stall.champion_quiet_days,
            "stage_kind": "open",
        },
    )
    before, after = sql.split("__SNAPSHOT__")
    snapshot = "\nUNION ALL\n".join(snapshots)
    # Without JIT: compiling this long statement cost more CPU than running it (sql.py).
    with analytic_transaction():
        rows = fetch_dicts(before + snapshot + after, [*snap_params, *params])
    scored = columns is None or "stall_score" in columns
    for row in rows:
        if scored:
            row["stall_score"] = int(row["stall_score"] or 0)
        row["thresholds"] = thresholds[row["lm"]]
    return rows


def signal_rows(
    workspace: Workspace,
    *,
    as_of: datetime | None = None,
    deals: QuerySet[Any] | None = None,
    deal_id: int | None = None,
    closed_snapshots: bool = False,
    benchmarks: list[StageBenchmark] | None = None,
    stall: StallSettings | None = None,
) -> list[dict[str, Any]]:
    """One row per deal open at `as_of` (default: now) with its facts, flags and score.

    `deals` narrows to a queryset (e.g. what a member may see), `deal_id` to one deal;
    `closed_snapshots` instead returns each closed deal as it looked partway through its
    life (for the win model). Benchmarks and thresholds as in `signal_statement`.
    """
    sql, params, thresholds = signal_statement(
        workspace,
        as_of=as_of,
        deals=deals,
        deal_id=deal_id,
        closed_snapshots=closed_snapshots,
        benchmarks=benchmarks,
        stall=stall,
    )
    if deal_id is None:  # the whole workspace, or what a member may see of it
        with analytic_transaction(jit=True):
            rows = fetch_dicts(sql, params)
    else:
        rows = fetch_dicts(sql, params)
    for row in rows:
        row["stall_score"] = int(row["stall_score"] or 0)
        row["thresholds"] = thresholds
    return rows


def iter_signal_rows(
    workspace: Workspace,
    *,
    as_of: datetime | None = None,
    deals: QuerySet[Any] | None = None,
    min_score: int | None = None,
    benchmarks: list[StageBenchmark] | None = None,
    chunk_size: int = 2000,
    scorer: StallModel | None = None,
) -> Generator[dict[str, Any], None, None]:
    """The rows of signal_rows, worst first, streamed in chunks: memory stays bounded
    however many deals are open (a server-side cursor on PostgreSQL; SQLite steps through
    its result as it is read).

    With a scorer, each row is scored as `stall_score.apply` would score it (the score
    computed in the database, so it orders and filters there too): `stall_score` is the
    scorer's, `rule_score` the fixed weights', with the method and the signal weights."""
    learnt = scorer is not None and scorer.method != "rules"
    sql, params, thresholds = signal_statement(
        workspace,
        as_of=as_of,
        deals=deals,
        min_score=min_score,
        worst_first=True,
        benchmarks=benchmarks,
        scorer=scorer,
    )
    # A server-side cursor lives in a transaction (outside one, PostgreSQL would keep the
    # whole result WITH HOLD); the statement only reads.
    with analytic_transaction(jit=True), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        while batch := cursor.fetchmany(chunk_size):
            for values in batch:
                row = dict(zip(names, values, strict=True))
                row["stall_score"] = int(row["stall_score"] or 0)
                row["thresholds"] = thresholds
                if learnt:
                    assert scorer is not None
                    del row["learnt_p"]
                    row["rule_score"] = row["stall_score"]
                    row["stall_score"] = int(row.pop("learnt_score"))
                    row["score_method"] = scorer.method
                    row["signal_weights"] = scorer.weights
                elif scorer is not None:
                    row["score_method"] = "rules"
                yield row


def _day(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value:%b} {value.day}, {value.year}"


def _money(value: Any, currency: str) -> str:
    return format_money(Decimal(str(value)), currency, compact=False)


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _slip_text(row: dict[str, Any]) -> str:
    """Push-outs and pull-ins worded for what they are: the close date can end earlier than
    first planned even after slipping (e.g. pulled back into the past)."""
    pushes, pulls = int(row["pushes"] or 0), int(row.get("pulls") or 0)
    first, now = row["close_first"], row["close_now"]
    text = f"Close date pushed out {_times(pushes)}"
    if pulls:
        text += f" and pulled in {_times(pulls)}"
    if now is None:
        return text + "."
    if first is None:
        return text + f"; now {_day(now)}."
    first_d = date.fromisoformat(str(first)[:10])
    now_d = date.fromisoformat(str(now)[:10])
    if now_d > first_d:
        return text + f": from {_day(first)} to {_day(now)}."
    if now_d < first_d:
        return text + f"; now {_day(now)}, earlier than the {_day(first)} first planned."
    return text + f"; back to {_day(now)}, the date first planned."


def describe(row: dict[str, Any]) -> list[Signal]:
    """The signals that fire for one row, each in plain words with its evidence."""
    out: list[Signal] = []
    t = row["thresholds"]
    days = round(row["days_in_stage"] or 0)
    stage = row["stage_name"]

    weights = row.get("signal_weights") or {}

    def add(code: str, severity: str, text: str) -> None:
        out.append(Signal(code, SIGNALS[code][1], severity, text, weights.get(code)))

    won_seen = int(row.get("bench_won_deals") or 0)
    basis = (
        ""
        if won_seen >= 20
        else f" (a benchmark from {won_seen} won deal{'s' if won_seen != 1 else ''} in "
        f"{stage}, filled out from the whole pipeline)"
    )
    if row["f_stage_stalled"]:
        add(
            "stage_stalled",
            "bad",
            f"{days} days in {stage}; 90 % of won deals left it within "
            f"{math.ceil(row['p90_days'])} days (median {round(row['p50_days'] or 0)}){basis}.",
        )
    if row["f_stage_slow"]:
        add(
            "stage_slow",
            "warn",
            f"{days} days in {stage}; 75 % of won deals left it within "
            f"{math.ceil(row['p75_days'])} days{basis}.",
        )
    if row["f_no_activity"]:
        last = row["last_act"]
        source = t.get("no_activity_source", "cadence")
        rule = {
            "cadence": f"; on won deals the team went no longer than {t['no_activity_days']} "
            "days between activities (9 times in 10)",
            "setting": f"; this workspace counts {t['no_activity_days']} days of silence as "
            "too long",
        }.get(source, f"; more than the default {t['no_activity_days']} days")
        add(
            "no_activity",
            "bad",
            f"No activity for {int(row['days_silent'])} days"
            + (f" (last on {_day(last)})" if last else " — none recorded since it was created")
            + rule
            + ".",
        )
    if row["f_close_date_past"]:
        add("close_date_past", "bad", f"The close date {_day(row['close_now'])} has passed.")
    if row["f_slipping"]:
        add("slipping", "warn", _slip_text(row))
    if row["f_amount_decreased"]:
        add(
            "amount_decreased",
            "warn",
            f"Amount cut from {_money(row['amount_peak'], row['currency'])} to "
            f"{_money(row['amount_now'], row['currency'])}.",
        )
    if row["f_moved_back"]:
        add(
            "moved_back",
            "warn",
            f"Moved back to an earlier stage on {_day(row['moved_back_at'])}.",
        )
    if row["f_single_threaded"]:
        text = (
            f"Only {row['any_name']} is on the buying committee."
            if row["n_sh"] == 1
            else "No one is mapped on the buying committee."
        )
        add("single_threaded", "warn", text)
    if row["f_no_economic_buyer"]:
        add(
            "no_economic_buyer",
            "warn",
            f"In {stage} and no economic buyer among the {row['n_sh']} people mapped."
            if row["n_sh"] > 1
            else f"In {stage} and no economic buyer identified.",
        )
    if row["f_no_next_step"]:
        add("no_next_step", "warn", "No next step is set.")
    if row["f_champion_quiet"]:
        days_quiet = row["champion_days"]
        add(
            "champion_quiet",
            "bad",
            f"Champion {row['champion_name']} "
            + (
                f"last heard from {int(days_quiet)} days ago"
                if days_quiet is not None
                else "has no recorded contact"
            )
            + f" (more than {t['champion_quiet_days']} days).",
        )
    return out


def signals_for_deal(workspace: Workspace, deal_pk: int) -> dict[str, Any] | None:
    """The live row and signals of one open deal (None when the deal is not open)."""
    rows = signal_rows(workspace, deal_id=deal_pk)
    if not rows:
        return None
    row = rows[0]
    row["signals"] = describe(row)
    return row
