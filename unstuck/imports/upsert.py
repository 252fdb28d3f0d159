"""The set-based half of the loader: staged rows become deals and stage history.

Runs inside the loader's transaction on whatever the staging tables hold (deduplicated and
valid). Deals are matched on (workspace, source, external id); history rows already stored
(same deal, stage and time) are skipped; where the history does not end in the deal's
current stage, the step into it is added; stage_entered_at, closed_at and status then follow
from the history. The same SQL runs on PostgreSQL and SQLite (staging.Dialect spells the
differences).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from unstuck.imports import staging

if TYPE_CHECKING:
    from unstuck.imports.loader import LoadResult

log = logging.getLogger("unstuck.imports.loader")


@contextlib.contextmanager
def timed(step: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    log.debug("import step %s: %.2fs", step, time.perf_counter() - started)


def upsert_staged(*, workspace_id: int, source: str, now: datetime, result: LoadResult) -> None:
    """Staged rows → deals and stage history, set-based; counts go into result."""
    d = staging.Dialect()
    ws, src = workspace_id, source
    now_value = d.value(now)
    temp = d.temp
    idx = (
        (lambda t, c: f"CREATE INDEX ON {t} ({c})")
        if d.pg
        else (lambda t, c: f"CREATE INDEX {t}_{c.replace(', ', '_')} ON {t} ({c})")
    )

    def run(sql: str, params: Any = ()) -> int:
        with timed(sql[:60]):
            return staging.execute(sql, params)

    if d.pg:
        # Sorts and hashes for the window queries stay in memory (this transaction only).
        run("SET LOCAL work_mem = '128MB'")
        # Fresh statistics: after a big import the tables are far larger than the planner
        # last saw, and a stale estimate turns these joins into nested loops.
        for table in ("stg_stage", "deals_deal", "deals_account", "deals_stagechange"):
            run(f"ANALYZE {table}")
    else:
        run("ANALYZE stg_stage")
    # The accounts of this source by their CRM id. (Joined through a small table of their own:
    # SQLite cannot use the partial unique index on deals_account for this join.)
    staging.drop("stg_account")
    run(
        f"{temp('stg_account')} AS SELECT external_id AS account_key, id AS account_id "
        "FROM deals_account WHERE workspace_id = %s AND source = %s AND external_id <> ''",
        [ws, src],
    )
    run(idx("stg_account", "account_key"))
    run("ANALYZE stg_account")
    run(
        f"{temp('stg_deal_r')} AS "
        "SELECT s.line, s.external_id, s.name, s.owner_id, s.team_id, s.amount, s.currency, "
        "s.close_date, s.created_at, s.entered_hint, s.last_activity_at, s.next_step, "
        "s.custom, m.pipeline_id, m.stage_id, m.kind, a.account_id, d.id AS deal_id, "
        "COALESCE(s.created_at, d.created_at) AS created0 "
        "FROM stg_deal s JOIN stg_stage m ON m.pipeline = s.pipeline AND m.stage = s.stage "
        "LEFT JOIN stg_account a ON a.account_key = s.account_key "
        "LEFT JOIN deals_deal d ON d.workspace_id = %s AND d.source = %s "
        "AND d.external_id = s.external_id",
        [ws, src],
    )
    run(idx("stg_deal_r", "external_id"))
    run(idx("stg_deal_r", "deal_id"))
    run("ANALYZE stg_deal_r")
    # New history rows: resolved to stages, minus those already recorded.
    run(
        f"{temp('stg_hist_r')} AS "
        "SELECT h.line, h.deal_ext, m.stage_id, h.changed_at, h.amount, h.close_date "
        "FROM stg_hist h JOIN stg_deal_r r ON r.external_id = h.deal_ext "
        "JOIN stg_stage m ON m.pipeline_id = r.pipeline_id AND m.stage = h.stage "
        "WHERE r.deal_id IS NULL OR NOT EXISTS (SELECT 1 FROM deals_stagechange sc "
        "WHERE sc.deal_id = r.deal_id AND sc.changed_at = h.changed_at "
        "AND sc.to_stage_id = m.stage_id)"
    )
    existing_rows = (
        "SELECT r.external_id AS deal_ext, sc.id AS sc_id, sc.to_stage_id AS stage_id, "
        "sc.changed_at, sc.amount, sc.close_date, 0 AS is_new, sc.id AS ord, "
        "sc.from_stage_id AS old_from "
        "FROM deals_stagechange sc JOIN stg_deal_r r ON r.deal_id = sc.deal_id"
    )
    new_rows = (
        f"SELECT deal_ext, {d.null('bigint')} AS sc_id, stage_id, changed_at, amount, "
        f"close_date, 1 AS is_new, line AS ord, {d.null('bigint')} AS old_from "
        "FROM stg_hist_r"
    )
    # Each deal's first and last step so far, to date a missing entry into its stage.
    run(
        f"{temp('stg_last')} AS SELECT deal_ext, first_at, changed_at AS last_at, "
        "stage_id AS last_stage FROM (SELECT deal_ext, stage_id, changed_at, "
        "MIN(changed_at) OVER (PARTITION BY deal_ext) AS first_at, "
        "ROW_NUMBER() OVER (PARTITION BY deal_ext ORDER BY changed_at DESC, is_new DESC, "
        f"ord DESC) AS rn FROM ({existing_rows} UNION ALL {new_rows}) u) x WHERE rn = 1"
    )
    run(idx("stg_last", "deal_ext"))
    run("ANALYZE stg_last")
    # Where the history does not end in the deal's current stage, add the step into it.
    start = f"COALESCE(r.entered_hint, r.created0, {'%s'})"
    sql = (
        "INSERT INTO stg_hist_r (line, deal_ext, stage_id, changed_at, amount, close_date) "
        f"SELECT 2147483647, r.external_id, r.stage_id, CASE WHEN l.deal_ext IS NULL "
        f"THEN {d.greatest(start, 'COALESCE(r.created0, ' + start + ')')} "
        f"ELSE {d.greatest('COALESCE(r.entered_hint, l.last_at)', 'l.last_at')} END, "
        "r.amount, r.close_date FROM stg_deal_r r "
        "LEFT JOIN stg_last l ON l.deal_ext = r.external_id "
        "WHERE l.deal_ext IS NULL OR l.last_stage <> r.stage_id"
    )
    run(sql, [now_value] * sql.count("%s"))
    run(
        f"{temp('stg_seq')} AS SELECT deal_ext, sc_id, stage_id, changed_at, amount, "
        "close_date, is_new, old_from, LAG(stage_id) OVER (PARTITION BY deal_ext "
        f"ORDER BY changed_at, is_new, ord) AS prev FROM ({existing_rows} UNION ALL "
        f"{new_rows}) u"
    )
    run(
        f"{temp('stg_entered')} AS SELECT s.deal_ext, MAX(s.changed_at) AS entered, "
        "MIN(s.changed_at) AS first_at FROM stg_seq s "
        "JOIN stg_deal_r r ON r.external_id = s.deal_ext AND r.stage_id = s.stage_id "
        "WHERE s.prev IS NULL OR s.prev <> s.stage_id GROUP BY s.deal_ext"
    )
    run(idx("stg_entered", "deal_ext"))
    run("ANALYZE stg_entered")
    run(
        f"{temp('stg_final')} AS SELECT r.*, "
        "COALESCE(r.created0, l.first_at, e.first_at, %s) AS created_eff, "
        "e.entered AS stage_entered_at, "
        "CASE WHEN r.kind = 'open' THEN NULL ELSE e.entered END AS closed_at "
        "FROM stg_deal_r r JOIN stg_entered e ON e.deal_ext = r.external_id "
        "LEFT JOIN stg_last l ON l.deal_ext = r.external_id",
        [now_value],
    )
    if d.pg:
        run("ANALYZE stg_final")
        run("ANALYZE stg_seq")
    result.created = run(
        "INSERT INTO deals_deal (workspace_id, name, account_id, owner_id, team_id, "
        "pipeline_id, stage_id, status, amount, currency, close_date, created_at, closed_at, "
        "stage_entered_at, last_activity_at, next_step, source, external_id, custom, "
        "updated_at) SELECT %s, name, account_id, owner_id, team_id, pipeline_id, stage_id, "
        "kind, COALESCE(amount, 0), currency, close_date, created_eff, closed_at, "
        "stage_entered_at, last_activity_at, next_step, %s, external_id, custom, %s "
        "FROM stg_final WHERE deal_id IS NULL",
        [ws, src, now],
    )
    fields = {
        "name": "f.name",
        "account_id": "f.account_id",
        "owner_id": "f.owner_id",
        "team_id": "f.team_id",
        "pipeline_id": "f.pipeline_id",
        "stage_id": "f.stage_id",
        "status": "f.kind",
        "amount": "COALESCE(f.amount, 0)",
        "currency": "f.currency",
        "close_date": "f.close_date",
        "created_at": "f.created_eff",
        "closed_at": "f.closed_at",
        "stage_entered_at": "f.stage_entered_at",
        "last_activity_at": "f.last_activity_at",
        "next_step": "f.next_step",
        "custom": "f.custom",
    }
    changed = " OR ".join(d.distinct(f"d.{col}", expr) for col, expr in fields.items())
    sets = ", ".join(f"{col} = {expr}" for col, expr in fields.items())
    result.updated = run(
        f"UPDATE deals_deal AS d SET {sets}, updated_at = %s FROM stg_final f "
        f"WHERE d.id = f.deal_id AND ({changed})",
        [now_value],
    )
    total = staging.fetchall("SELECT COUNT(*) FROM stg_final")[0][0]
    result.unchanged = total - result.created - result.updated
    result.history_added = run(
        "INSERT INTO deals_stagechange (deal_id, from_stage_id, to_stage_id, changed_at, "
        "amount, close_date, source) SELECT d.id, s.prev, s.stage_id, s.changed_at, "
        "s.amount, s.close_date, %s FROM stg_seq s JOIN deals_deal d "
        "ON d.workspace_id = %s AND d.source = %s AND d.external_id = s.deal_ext "
        "WHERE s.is_new = 1",
        [src, ws, src],
    )
    # A step added in the middle of known history changes what the next step came from.
    run(
        "UPDATE deals_stagechange AS sc SET from_stage_id = s.prev FROM stg_seq s "
        f"WHERE s.is_new = 0 AND sc.id = s.sc_id AND {d.distinct('s.old_from', 's.prev')}"
    )
