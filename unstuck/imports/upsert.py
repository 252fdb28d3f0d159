"""The set-based half of the loader: staged rows become deals and stage history.

Runs inside the loader's transaction on whatever the staging tables hold (deduplicated and
valid). Deals are matched on (workspace, source, external id) and new ones get their ids
before they are written, so history needs no second lookup; history rows already stored
(same deal, stage and time) are skipped; one window pass over each deal's history, old and
new, gives every step its previous stage and the deal its last step; where the history does
not end in the deal's current stage, the step into it is added; stage_entered_at, closed_at
and created_at then follow from the history. The same SQL runs on PostgreSQL and SQLite
(staging.Dialect spells the differences); bulk.py makes the final writes cheap when an
import is most of the table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from unstuck.imports import bulk, fingerprint, staging
from unstuck.imports.staging import timed

if TYPE_CHECKING:
    from unstuck.imports.loader import LoadResult

log = logging.getLogger("unstuck.imports.loader")

PHASE_ORDERING = "Ordering the stage history"
PHASE_WRITING = "Writing deals and history"


def upsert_staged(
    *,
    workspace_id: int,
    source: str,
    now: datetime,
    result: LoadResult,
    phase: Callable[[str], None] = lambda name: None,
) -> None:
    """Staged rows → deals and stage history, set-based; counts go into result; phase hears
    which step runs."""
    phase(PHASE_ORDERING)
    d = staging.Dialect()
    ws, src = workspace_id, source
    now_value = d.value(now)
    temp = d.temp
    idx = d.index

    def run(sql: str, params: Any = ()) -> int:
        with timed(sql[:60]):
            return staging.execute(sql, params)

    staged = staging.fetchall("SELECT COUNT(*) FROM stg_deal")[0][0]
    if not staged:
        # Every step below joins through the staged deals: with none (the same files again,
        # every deal known unchanged by its fingerprint) there is nothing to write, and no
        # statistics of a million-deal table to refresh for it.
        result.unchanged = result.skipped
        return
    if d.pg:
        # Sorts and hashes for the window queries stay in memory (this transaction only).
        run("SET LOCAL work_mem = '256MB'")
        if staged >= bulk.BULK_ROWS:
            # A million deals' history sorts in memory, not in temp files.
            run("SET LOCAL work_mem = '1GB'")
            # Expressions over staged text (trimmed ids, stage names) get default selectivity
            # estimates; at this size a mistaken nested loop costs minutes, a hash join seconds.
            run("SET LOCAL enable_nestloop = off")
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
    # New deals take their ids now: from the table's own sequence on PostgreSQL, above the
    # highest id ever used on SQLite (the import holds SQLite's write lock from its start).
    if d.pg:
        seq = staging.fetchall("SELECT pg_get_serial_sequence('deals_deal', 'id')")[0][0]
        new_id = f"nextval('{seq}'::regclass)"
    else:
        base = staging.fetchall(
            "SELECT MAX(COALESCE((SELECT MAX(id) FROM deals_deal), 0), COALESCE((SELECT seq "
            "FROM sqlite_sequence WHERE name = 'deals_deal'), 0))"
        )[0][0]
        new_id = f"{int(base)} + ROW_NUMBER() OVER (PARTITION BY d.id IS NULL ORDER BY s.line)"
    run(
        f"{temp('stg_deal_r')} AS "
        "SELECT s.line, s.external_id, s.name, s.owner_id, s.team_id, s.amount, s.currency, "
        "s.close_date, s.created_at, s.entered_hint, s.last_activity_at, s.next_step, "
        "s.custom, s.row_hash, m.pipeline_id, m.stage_id, m.kind, a.account_id, "
        f"CASE WHEN d.id IS NULL THEN {new_id} ELSE d.id END AS deal_id, "
        "CASE WHEN d.id IS NULL THEN 1 ELSE 0 END AS is_new, "
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
    # Every deal's history in order, stored steps and new ones together, in one window pass:
    # each step's previous stage, and which step is the last.
    existing_rows = (
        "SELECT r.deal_id, r.stage_id AS cur_stage, sc.id AS sc_id, sc.to_stage_id AS stage_id, "
        "sc.changed_at, sc.amount, sc.close_date, 0 AS is_new, sc.id AS ord, "
        "sc.from_stage_id AS old_from "
        "FROM deals_stagechange sc JOIN stg_deal_r r ON r.deal_id = sc.deal_id "
        "WHERE r.is_new = 0"
    )
    new_rows = (
        f"SELECT r.deal_id, r.stage_id AS cur_stage, {d.null('bigint')} AS sc_id, "
        "m.stage_id, h.changed_at, h.amount, h.close_date, 1 AS is_new, h.line AS ord, "
        f"{d.null('bigint')} AS old_from "
        "FROM stg_hist h JOIN stg_deal_r r ON r.external_id = h.deal_ext "
        "JOIN stg_stage m ON m.pipeline_id = r.pipeline_id AND m.stage = h.stage "
        "WHERE r.is_new = 1 OR NOT EXISTS (SELECT 1 FROM deals_stagechange sc "
        "WHERE sc.deal_id = r.deal_id AND sc.changed_at = h.changed_at "
        "AND sc.to_stage_id = m.stage_id)"
    )
    run(
        f"{temp('stg_seq')} AS SELECT u.*, LAG(stage_id) OVER w AS prev, "
        "CASE WHEN LEAD(stage_id, 1, 0) OVER w = 0 THEN 1 ELSE 0 END AS is_last "
        f"FROM ({existing_rows} UNION ALL {new_rows}) u "
        "WINDOW w AS (PARTITION BY deal_id ORDER BY changed_at, is_new, ord)"
    )
    # Per deal: first and last step, the stage it ends in, and when it last entered the
    # stage it is in now.
    entering = "s.stage_id = s.cur_stage AND (s.prev IS NULL OR s.prev <> s.stage_id)"
    run(
        f"{temp('stg_sum')} AS SELECT s.deal_id, MIN(s.changed_at) AS first_at, "
        "MAX(s.changed_at) AS last_at, "
        "MAX(CASE WHEN s.is_last = 1 THEN s.stage_id END) AS last_stage, "
        f"MAX(CASE WHEN {entering} THEN s.changed_at END) AS entered "
        "FROM stg_seq s GROUP BY s.deal_id"
    )
    run(idx("stg_sum", "deal_id"))
    run("ANALYZE stg_sum")
    # Where the history does not end in the deal's current stage, the step into it is added:
    # dated by the export's hint, or else when the history ends (or the deal began).
    start = f"COALESCE(r.entered_hint, r.created0, {'%s'})"
    step_at = (
        f"CASE WHEN u.deal_id IS NULL "
        f"THEN {d.greatest(start, 'COALESCE(r.created0, ' + start + ')')} "
        f"ELSE {d.greatest('COALESCE(r.entered_hint, u.last_at)', 'u.last_at')} END"
    )
    needs_step = "u.deal_id IS NULL OR u.last_stage <> r.stage_id"
    sql = (
        f"{temp('stg_final')} AS SELECT r.*, u.last_stage, "
        f"CASE WHEN {needs_step} THEN 1 ELSE 0 END AS needs_step, "
        f"CASE WHEN {needs_step} THEN {step_at} ELSE u.entered END AS stage_entered_at, "
        f"COALESCE(r.created0, u.first_at, CASE WHEN {needs_step} THEN {step_at} END, %s) "
        "AS created_eff "
        "FROM stg_deal_r r LEFT JOIN stg_sum u ON u.deal_id = r.deal_id"
    )
    run(sql, [now_value] * sql.count("%s"))
    if d.pg:
        run("ANALYZE stg_final")
    closed_at = "CASE WHEN f.kind = 'open' THEN NULL ELSE f.stage_entered_at END"
    counts = staging.fetchall(
        "SELECT COUNT(*), COALESCE(SUM(is_new), 0), COALESCE(SUM(needs_step), 0) FROM stg_final"
    )[0]
    new_steps = staging.fetchall("SELECT COUNT(*) FROM stg_seq WHERE is_new = 1")[0][0]
    phase(PHASE_WRITING)
    with bulk.load(
        {"deals_deal": counts[1], "deals_stagechange": new_steps + counts[2]},
        lock_referenced=lambda: _lock_referenced(ws),
        rebuilding=lambda: phase(bulk.PHASE_REBUILDING),
    ):
        # Fingerprinted rows (COPY path) store their hash and the state written.
        fingerprints = ", import_hash, import_state" if d.pg else ""
        written = _written_state(closed_at)
        state = f", f.row_hash, CASE WHEN f.row_hash IS NULL THEN NULL ELSE {written} END"
        state = state if d.pg else ""
        result.created = run(
            "INSERT INTO deals_deal (id, workspace_id, name, account_id, owner_id, team_id, "
            "pipeline_id, stage_id, status, amount, currency, close_date, created_at, "
            "closed_at, stage_entered_at, last_activity_at, next_step, source, external_id, "
            f"custom, updated_at{fingerprints}) SELECT f.deal_id, %s, f.name, f.account_id, "
            "f.owner_id, f.team_id, f.pipeline_id, f.stage_id, f.kind, COALESCE(f.amount, 0), "
            f"f.currency, f.close_date, f.created_eff, {closed_at}, f.stage_entered_at, "
            f"f.last_activity_at, f.next_step, %s, f.external_id, f.custom, %s{state} "
            "FROM stg_final f WHERE f.is_new = 1",
            [ws, src, now_value],
        )
        fields = _final_values(closed_at)
        changed = " OR ".join(d.distinct(f"d.{col}", expr) for col, expr in fields.items())
        sets = ", ".join(f"{col} = {expr}" for col, expr in fields.items())
        if d.pg:
            sets += (
                ", import_hash = f.row_hash, import_state = CASE WHEN f.row_hash IS NULL "
                f"THEN d.import_state ELSE {_written_state(closed_at)} END"
            )
        result.updated = run(
            f"UPDATE deals_deal AS d SET {sets}, updated_at = %s FROM stg_final f "
            f"WHERE d.id = f.deal_id AND f.is_new = 0 AND ({changed})",
            [now_value],
        )
        if d.pg:
            # Deals staged but unchanged (their fingerprint was missing or stale) take theirs
            # now, without counting as updated.
            stored = fingerprint.stored_state("d")
            run(
                f"UPDATE deals_deal AS d SET import_hash = f.row_hash, import_state = {stored} "
                "FROM stg_final f WHERE d.id = f.deal_id AND f.is_new = 0 "
                "AND f.row_hash IS NOT NULL AND (d.import_hash IS DISTINCT FROM f.row_hash "
                f"OR d.import_state IS DISTINCT FROM {stored})"
            )
        # Deals known unchanged by their fingerprints were never staged; they count too.
        result.unchanged = counts[0] - result.created - result.updated + result.skipped
        result.history_added = run(
            "INSERT INTO deals_stagechange (deal_id, from_stage_id, to_stage_id, changed_at, "
            "amount, close_date, source) SELECT s.deal_id, s.prev, s.stage_id, s.changed_at, "
            "s.amount, s.close_date, %s FROM stg_seq s WHERE s.is_new = 1 "
            "UNION ALL SELECT f.deal_id, f.last_stage, f.stage_id, f.stage_entered_at, "
            "f.amount, f.close_date, %s FROM stg_final f WHERE f.needs_step = 1",
            [src, src],
        )
        # A step added in the middle of known history changes what the next step came from.
        run(
            "UPDATE deals_stagechange AS sc SET from_stage_id = s.prev FROM stg_seq s "
            f"WHERE s.is_new = 0 AND sc.id = s.sc_id AND {d.distinct('s.old_from', 's.prev')}"
        )


def _final_values(closed_at: str) -> dict[str, str]:
    """Each imported deal field and the stg_final (f) expression it is written from."""
    return {
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
        "closed_at": closed_at,
        "stage_entered_at": "f.stage_entered_at",
        "last_activity_at": "f.last_activity_at",
        "next_step": "f.next_step",
        "custom": "f.custom",
    }


def _written_state(closed_at: str) -> str:
    """The state hash of the values the final insert or update writes from stg_final f."""
    return fingerprint.state_hash(_final_values(closed_at))


def _lock_referenced(workspace_id: int) -> None:
    """Lock every row the new deals and steps point to, as foreign-key checks would, so that
    nothing they reference can be deleted before the import commits."""
    for sql, params in (
        ("SELECT id FROM core_workspace WHERE id = %s", [workspace_id]),
        ("SELECT id FROM core_user WHERE id IN (SELECT owner_id FROM stg_final)", []),
        ("SELECT id FROM core_team WHERE id IN (SELECT team_id FROM stg_final)", []),
        ("SELECT id FROM deals_pipeline WHERE id IN (SELECT pipeline_id FROM stg_stage)", []),
        ("SELECT id FROM deals_stage WHERE id IN (SELECT stage_id FROM stg_stage)", []),
        ("SELECT id FROM deals_account WHERE id IN (SELECT account_id FROM stg_final)", []),
        (
            "SELECT id FROM deals_deal WHERE id IN (SELECT deal_id FROM stg_final "
            "WHERE is_new = 0)",
            [],
        ),
    ):
        staging.execute(f"{sql} FOR KEY SHARE", params)
