"""The set-based SQL behind the cohort builder (unstuck.insights.cohorts), written once for
SQLite and PostgreSQL. Moments are handled as "epoch days": fractional days since Monday
1970-01-05 00:00 UTC, so weekly landmarks are the multiples of 7 and every comparison is
plain arithmetic on both backends. Lists (treated moments, cells) travel as one JSON
parameter each, so there is no limit on their length."""

from __future__ import annotations

from collections.abc import Sequence

from unstuck.investigate.sql import (
    ceil_pos,
    epoch_days,
    greatest,
    is_postgres,
    json_rows,
    least,
)

FAR = 1.0e9  # epoch days standing for "never"


def band(expr: str, edges: Sequence[float]) -> str:
    """The index of the band `expr` falls in: below edges[0] → 0, then one per edge."""
    if not edges:
        return "0"
    whens = " ".join(f"WHEN {expr} < {float(e)!r} THEN {i}" for i, e in enumerate(edges))
    return f"(CASE {whens} ELSE {len(edges)} END)"


HASH_MODULUS = 1000003


# ("%%" is the modulo operator once the driver has read the placeholders.)
# A cheap integer hash (Knuth's multiplicative constant), the same on both backends: a
# comparison deal's landmark, its place in a capped cell and its place in the sample of a
# large workspace are chosen pseudo-randomly but reproducibly.
def _hash(*terms: str) -> str:
    mix = " + ".join(f"({t}) * {m}" for t, m in zip(terms, (2654435761, 40503, 97), strict=False))
    return f"(({mix}) %% {HASH_MODULUS})"


def _outcomes(subjects: str, carry: Sequence[str]) -> str:
    """Each subject's fate from its index moment to the end of its follow-up: the first move
    to a later open stage or to won, and the close if it fell in the follow-up — one join
    to the history through its (deal, changed_at) index and one aggregate.
    `subjects` is a CTE with (sid, deal_id, at_d, until_d, ord) and the `carry` columns."""
    changed = epoch_days("sc.changed_at")
    closed = epoch_days("d.closed_at")
    in_time = f"d.closed_at IS NOT NULL AND {closed} <= s.until_d"
    carried = ", ".join(f"MAX(s.{c}) AS {c}" for c in carry)
    forward = "st.kind = 'won' OR (st.kind = 'open' AND st.\"order\" > s.ord)"
    return f"""
SELECT s.sid, {carried},
  MIN(CASE WHEN {forward} THEN {changed} END) AS moved_d,
  MAX(CASE WHEN {in_time} THEN d.status ELSE 'open' END) AS outcome,
  MAX(CASE WHEN {in_time} THEN {closed} END) AS closed_d
FROM {subjects} s
JOIN deals_deal d ON d.id = s.deal_id
LEFT JOIN deals_stagechange sc
  ON sc.deal_id = s.deal_id AND {changed} > s.at_d AND {changed} <= s.until_d
LEFT JOIN deals_stage st ON st.id = sc.to_stage_id
GROUP BY s.sid
ORDER BY s.sid
"""


# A stage change is a real move when it changes the stage; rows that only updated the amount
# or close date in place keep from_stage == to_stage. The same rule on both arms, so days
# in stage are counted alike.
_REAL_MOVE = "(sc.from_stage_id IS NULL OR sc.from_stage_id <> sc.to_stage_id)"


def treated_sql(size_edges: Sequence[float]) -> str:
    """The state of each treated moment — stage, its order, when the deal entered it, the
    amount's size band — from the history known then, and its fate after.
    Params: treated JSON [[tid, deal_id, at_d]], workspace id, as_of epoch days."""
    changed = epoch_days("sc.changed_at")
    return f"""
WITH t AS MATERIALIZED ({json_rows([("tid", "int"), ("deal_id", "int"), ("at_d", "float")])}),
h AS (
  SELECT t.tid, t.deal_id, t.at_d, sc.to_stage_id, {changed} AS changed_d,
    COALESCE(sc.amount, d.amount) AS amount, d.closed_at,
    CASE WHEN {_REAL_MOVE} THEN 1 ELSE 0 END AS real_move,
    ROW_NUMBER() OVER (PARTITION BY t.tid ORDER BY sc.changed_at DESC, sc.id DESC) AS rn_desc
  FROM t
  JOIN deals_deal d ON d.id = t.deal_id AND d.workspace_id = %s
  JOIN deals_stagechange sc ON sc.deal_id = t.deal_id
  WHERE {changed} <= t.at_d
),
state AS (
  SELECT tid, MAX(deal_id) AS deal_id, MAX(at_d) AS at_d,
    MAX(CASE WHEN rn_desc = 1 THEN to_stage_id END) AS stage_id,
    MAX(CASE WHEN rn_desc = 1 THEN amount END) AS amount,
    MAX(CASE WHEN real_move = 1 THEN changed_d END) AS entered_d,
    MIN(changed_d) AS first_d,
    MAX(CASE WHEN closed_at IS NOT NULL AND {epoch_days("closed_at")} <= at_d THEN 1 ELSE 0 END)
      AS closed_before
  FROM h GROUP BY tid
),
subj AS (
  SELECT s.tid AS sid, s.deal_id, s.at_d, %s AS until_d, st."order" AS ord, s.stage_id,
    COALESCE(s.entered_d, s.first_d) AS entered_d, {band("s.amount", size_edges)} AS size_band
  FROM state s JOIN deals_stage st ON st.id = s.stage_id
  WHERE st.kind = 'open' AND s.closed_before = 0
)
{_outcomes("subj", ["deal_id", "at_d", "until_d", "ord", "stage_id", "entered_d", "size_band"])}
"""


def pool_sql(
    size_edges: Sequence[float], days_edges: Sequence[float], stage_ids: Sequence[int]
) -> str:
    """Comparison subjects: for every cell (quarter x stage x size band x days-in-stage
    band) holding treated moments, the deals that were in that situation at one of the
    quarter's weekly landmarks and had not been treated by then — one landmark per deal and
    cell, at most `cap` deals per cell — and their fate after the landmark.

    Each version of a deal's state (one history row, until the next) is cut by quarter and
    by days-in-stage band into ranges of landmark weeks, which then meet their cell by
    equality: no range join, so SQLite needs no index it does not have.
    Params: quarters JSON [[q, k_lo, k_hi]], bands JSON [[band, lo, hi]], cells JSON
    [[cell, q, stage_id, size_band, band, ord, cap]], first-treatment JSON
    [[deal_id, first_d]], workspace id, last and first landmark epoch day, the sample's hash
    threshold, first and last landmark epoch day, as_of epoch day.

    Each subject is followed to as_of, also past its own later treatment (`first_d`, carried
    for the caller): the result is intention to treat, and the caller censors only the time
    to the next stage at first_d (see Subject.treated_after_days)."""
    changed = epoch_days("sc.changed_at")
    w = "PARTITION BY sc.deal_id ORDER BY sc.changed_at, sc.id"
    stages = ", ".join(str(int(s)) for s in stage_ids)
    # PostgreSQL guesses one row for these CTEs and would join the cells before the quarters
    # cut the rows down; computed first, it meets the cells by a hash join. SQLite plans
    # better without the fence (an automatic index on the cells).
    fence = "MATERIALIZED" if is_postgres() else ""
    # The first treatment of a deal, looked up only for the few deals that have one (the IN
    # list is an index on both backends; a LEFT JOIN would be scanned per history row).
    first_d = (
        "(CASE WHEN v.deal_id IN (SELECT deal_id FROM first_treated) THEN "
        f"(SELECT MIN(x.first_d) FROM first_treated x WHERE x.deal_id = v.deal_id) ELSE {FAR} END)"
    )
    k_stop = ceil_pos(f"{least('v.v_to', 'v.closed_d', 'v.first_d')} / 7.0")
    k_in_band_lo = ceil_pos("(vq.entered_d + b.lo) / 7.0")
    k_in_band_hi = f"{ceil_pos('(vq.entered_d + b.hi) / 7.0')} - 1"
    band_first = band("(7 * vq.ka - vq.entered_d)", days_edges)
    band_last = band("(7 * vq.kb - vq.entered_d)", days_edges)
    cell_cols = [
        ("cell", "int"),
        ("q", "int"),
        ("stage_id", "int"),
        ("size_band", "int"),
        ("band", "int"),
        ("ord", "int"),
        ("cap", "int"),
    ]
    return f"""
WITH quarters AS MATERIALIZED ({json_rows([("q", "int"), ("k_lo", "int"), ("k_hi", "int")])}),
bands AS MATERIALIZED ({json_rows([("band", "int"), ("lo", "float"), ("hi", "float")])}),
cells AS MATERIALIZED ({json_rows(cell_cols)}),
first_treated AS MATERIALIZED ({json_rows([("deal_id", "int"), ("first_d", "float")])}),
-- One window pass over the history of the sampled deals: the deals are read first (CROSS
-- JOIN keeps SQLite from starting with the history table), then each one's history through
-- the (deal, changed_at) index.
v AS (
  SELECT sc.deal_id, sc.to_stage_id, {changed} AS v_from,
    COALESCE(LEAD({changed}) OVER ({w}), {FAR}) AS v_to,
    -- Since the last real move (or since the first row, when none is marked as one).
    COALESCE(
      MAX(CASE WHEN {_REAL_MOVE} THEN {changed} END) OVER ({w} ROWS UNBOUNDED PRECEDING),
      MIN({changed}) OVER ({w} ROWS UNBOUNDED PRECEDING)
    ) AS entered_d,
    {band("COALESCE(sc.amount, d.amount)", size_edges)} AS size_band,
    COALESCE({epoch_days("d.closed_at")}, {FAR}) AS closed_d
  FROM deals_deal d CROSS JOIN deals_stagechange sc
  WHERE sc.deal_id = d.id AND d.workspace_id = %s
    AND {epoch_days("d.created_at")} <= %s
    AND (d.closed_at IS NULL OR {epoch_days("d.closed_at")} > %s)
    AND {_hash("d.id")} < %s
),
-- The landmark weeks k (landmark at 7k epoch days) each version covers: inside the
-- version, before the deal closed and before it was first treated. Materialized, so the
-- expressions are computed once per version rather than once per use.
vk AS MATERIALIZED (
  SELECT deal_id, to_stage_id, size_band, entered_d, k_first, k_last, first_d
  FROM (
    SELECT v.deal_id, v.to_stage_id, v.size_band, v.entered_d,
      {ceil_pos("v.v_from / 7.0")} AS k_first, {k_stop} - 1 AS k_last, v.first_d
    FROM (
      SELECT v.*, {first_d} AS first_d FROM v
      WHERE v.to_stage_id IN ({stages}) AND v.v_to > %s AND v.v_from <= %s
    ) v
  ) k WHERE k_first <= k_last
),
vq AS (
  SELECT vk.*, q.q, {greatest("vk.k_first", "q.k_lo")} AS ka, {least("vk.k_last", "q.k_hi")} AS kb
  FROM vk CROSS JOIN quarters q WHERE q.k_lo <= vk.k_last AND q.k_hi >= vk.k_first
),
-- Only the days-in-stage bands the range passes through (from its first landmark's band to
-- its last's).
vqb AS {fence} (
  SELECT vq.deal_id, vq.to_stage_id, vq.size_band, vq.q, vq.first_d, b.band,
    {greatest("vq.ka", k_in_band_lo)} AS k_lo, {least("vq.kb", k_in_band_hi)} AS k_hi
  FROM vq CROSS JOIN bands b
  WHERE b.band BETWEEN {band_first} AND {band_last}
),
-- CROSS JOIN fixes SQLite's join order (history outside, the small tables inside, each
-- through an automatic index); PostgreSQL plans it as an ordinary join.
-- One landmark per deal and cell, standing for all the landmarks at which the deal was in
-- that situation: the range with the lowest hash wins, a week inside it is drawn by another
-- hash, and the subject's weight is the inverse of the chance of drawing that week,
-- (ranges) x (weeks in the range). Without the weight, deals that stayed long would count
-- as much as deals that moved on at once, and the comparison arm would look too fast.
-- Packed as hash * 10^9 + weeks in range * 10^5 + week, to take all three with one MIN.
pick AS (
  SELECT vqb.deal_id, c.cell, MAX(c.cap) AS cap, MAX(c.ord) AS ord, MAX(vqb.first_d) AS first_d,
    COUNT(*) AS ranges,
    MIN({_hash("vqb.deal_id", "c.cell", "vqb.k_lo")} * 1000000000
        + (vqb.k_hi - vqb.k_lo + 1) * 100000
        + vqb.k_lo + {_hash("vqb.deal_id", "c.cell")} %% (vqb.k_hi - vqb.k_lo + 1)) AS packed
  FROM vqb CROSS JOIN cells c
  WHERE c.q = vqb.q AND c.stage_id = vqb.to_stage_id AND c.size_band = vqb.size_band
    AND c.band = vqb.band AND vqb.k_lo <= vqb.k_hi
  GROUP BY vqb.deal_id, c.cell
),
ranked AS (
  SELECT deal_id, cell, cap, ord, first_d, packed %% 100000 AS k,
    ranges * ((packed / 100000) %% 10000) AS weight,
    -- By the deal's own hash, the one the sample is drawn by: a cell whose cap is reached
    -- inside the sample holds the same deals as it would without sampling.
    ROW_NUMBER() OVER (PARTITION BY cell ORDER BY {_hash("deal_id")}, deal_id) AS rk
  FROM pick
),
subj AS (
  SELECT ROW_NUMBER() OVER (ORDER BY cell, deal_id) AS sid, deal_id, cell,
    7 * k AS at_d, %s AS until_d, first_d, ord, weight
  FROM ranked WHERE rk <= cap
)
{_outcomes("subj", ["deal_id", "cell", "at_d", "until_d", "first_d", "ord", "weight"])}
"""
