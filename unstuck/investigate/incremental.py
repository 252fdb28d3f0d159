"""What an incremental recompute must rescore: the open deals whose inputs changed since
their assessment (the deal row, its history, activities or committee), plus those in a
stage whose benchmark moved. Everything else keeps its stored assessment."""

from __future__ import annotations

import hashlib
from typing import Any

from unstuck.core.models import Workspace
from unstuck.investigate.models import StageBenchmark
from unstuck.investigate.sql import fetch_dicts

# One pass over each table, grouped per open deal of the workspace: counts and the latest id
# show appended or removed rows, which is how imports and the app write history.
_INPUTS_SQL = """
WITH open_deals AS (
  SELECT id FROM deals_deal WHERE workspace_id = %s AND status = 'open'
),
sc AS (
  SELECT sc.deal_id, COUNT(*) AS n, MAX(sc.id) AS last_id, MAX(sc.changed_at) AS last_at
  FROM deals_stagechange sc JOIN open_deals o ON o.id = sc.deal_id GROUP BY sc.deal_id
),
act AS (
  SELECT a.deal_id, COUNT(*) AS n, MAX(a.id) AS last_id, MAX(a.occurred_at) AS last_at
  FROM deals_activity a JOIN open_deals o ON o.id = a.deal_id GROUP BY a.deal_id
),
sh AS (
  SELECT s.deal_id, COUNT(*) AS n, MAX(s.id) AS last_id
  FROM deals_stakeholder s JOIN open_deals o ON o.id = s.deal_id GROUP BY s.deal_id
)
SELECT d.id, d.stage_id, d.amount, d.close_date, d.stage_entered_at, d.created_at,
       d.next_step, d.owner_id, d.team_id,
       sc.n AS sc_n, sc.last_id AS sc_last, sc.last_at AS sc_at,
       act.n AS a_n, act.last_id AS a_last, act.last_at AS a_at,
       sh.n AS s_n, sh.last_id AS s_last
FROM deals_deal d
LEFT JOIN sc ON sc.deal_id = d.id
LEFT JOIN act ON act.deal_id = d.id
LEFT JOIN sh ON sh.deal_id = d.id
WHERE d.workspace_id = %s AND d.status = 'open'
"""


def deal_inputs(workspace: Workspace) -> dict[int, tuple[str, int]]:
    """Each open deal's input digest and its stage."""
    out: dict[int, tuple[str, int]] = {}
    for row in fetch_dicts(_INPUTS_SQL, [workspace.pk, workspace.pk]):
        digest = hashlib.md5(repr(tuple(row.values())).encode(), usedforsecurity=False)
        out[row["id"]] = (digest.hexdigest(), row["stage_id"])
    return out


def _key(b: StageBenchmark) -> tuple[Any, ...]:
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 6)

    return (
        r(b.p50_days),
        r(b.p75_days),
        r(b.p90_days),
        r(b.conversion),
        b.won_deals,
        r(b.activity_gap_p90_days),
    )


def benchmark_changes(
    before: list[StageBenchmark], after: list[StageBenchmark]
) -> tuple[bool, set[int]]:
    """(whether the workspace-wide row changed, the stages whose benchmark changed)."""
    old = {b.stage_id: _key(b) for b in before}
    new = {b.stage_id: _key(b) for b in after}
    workspace_wide = old.get(None) != new.get(None)
    stages = {s for s in set(old) | set(new) if s is not None and old.get(s) != new.get(s)}
    return workspace_wide, stages
