"""Bulk mode for large imports, the way pg_restore and pgloader load data.

When an import brings at least as many rows as a table already holds, the table's secondary
indexes are dropped before the load and rebuilt after it (one sort each instead of millions
of random inserts), and, where the database role may set `session_replication_role`, the
row-by-row foreign-key triggers are skipped: the loader's own joins produced every key, and
the rows those keys point to are locked against deletion first, as the triggers would have.
All of it happens inside the import's transaction, so a failure or a kill undoes it too.
SQLite takes the index half (its foreign keys stay checked; its readers see the last commit).

While the load runs, the rebuilt tables are locked: pages that read deals wait until the
import commits. Small imports into a large workspace never take this path.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator

from django.db import DatabaseError, transaction

from unstuck.imports import staging
from unstuck.imports.staging import timed

log = logging.getLogger("unstuck.imports.loader")

# Below this many rows the ordinary path is fast enough and holds no table locks.
BULK_ROWS = 50_000
PHASE_REBUILDING = "Rebuilding indexes"


def _estimated_rows(table: str) -> int:
    if not staging.is_postgres():
        # The largest id is enough to tell "nearly empty" from "large", and is instant.
        return int(staging.fetchall(f"SELECT COALESCE(MAX(id), 0) FROM {table}")[0][0])
    # The planner's estimate is enough to tell "nearly empty" from "large" and costs nothing.
    return int(
        staging.fetchall(
            "SELECT GREATEST(reltuples, 0) FROM pg_class WHERE oid = %s::regclass", [table]
        )[0][0]
    )


def _secondary_indexes(table: str) -> list[tuple[str, str]]:
    """(DROP statement, CREATE statement) for the indexes that only speed reads (not primary,
    not unique), and for the primary key too when no foreign key points at the table: all of
    them can be rebuilt after the load, each with one sort."""
    if not staging.is_postgres():
        # SQLite keeps each index's CREATE statement; a table's primary key is its rowid.
        return [
            (f'DROP INDEX "{name}"', sql)
            for name, sql in staging.fetchall(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                "AND sql IS NOT NULL AND upper(sql) NOT LIKE 'CREATE UNIQUE%%' ORDER BY name",
                [table],
            )
        ]
    out = [
        (f"DROP INDEX {name}", definition)
        for name, definition in staging.fetchall(
            "SELECT quote_ident(i.relname), pg_get_indexdef(x.indexrelid) "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary AND NOT x.indisunique "
            "ORDER BY i.relname",
            [table],
        )
    ]
    for name, definition in staging.fetchall(
        "SELECT quote_ident(c.conname), pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "WHERE c.conrelid = %s::regclass AND c.contype = 'p' AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.confrelid = c.conrelid)",
        [table],
    ):
        out.append(
            (
                f"ALTER TABLE {table} DROP CONSTRAINT {name}",
                f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}",
            )
        )
    return out


def _skip_fk_triggers() -> bool:
    """Turn off trigger firing for this transaction if the role may; False if it may not."""
    try:
        with transaction.atomic():
            staging.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        return False
    return True


def plan(rows: dict[str, int]) -> list[str]:
    """The tables that take bulk mode: those getting at least as many new rows as they hold."""
    return [t for t, n in rows.items() if n >= BULK_ROWS and n >= _estimated_rows(t)]


@contextlib.contextmanager
def load(
    rows: dict[str, int],
    *,
    lock_referenced: Callable[[], None],
    rebuilding: Callable[[], None] = lambda: None,
) -> Iterator[list[str]]:
    """Around the final writes of an import: rows says how many rows each table will get.

    lock_referenced locks (FOR KEY SHARE) every row the new rows point to; it runs only when
    foreign-key triggers are skipped, since the triggers would otherwise take those locks.
    rebuilding is called when the writes are done and the indexes are about to be rebuilt.
    """
    tables = plan(rows)
    if not tables:
        yield tables
        return
    pg = staging.is_postgres()
    if pg:
        # Key checks still pending from earlier writes in this transaction would block the
        # ALTER TABLE and CREATE INDEX below: run them now (cheap: a few rows at most).
        staging.execute("SET CONSTRAINTS ALL IMMEDIATE")
    triggers_off = pg and _skip_fk_triggers()
    if triggers_off:
        lock_referenced()
    saved: list[str] = []
    for table in tables:
        for drop, create in _secondary_indexes(table):
            staging.execute(drop)
            saved.append(create)
    log.debug(
        "bulk mode on %s: %d indexes to rebuild, foreign-key triggers %s",
        ", ".join(tables),
        len(saved),
        "skipped" if triggers_off else "kept",
    )
    yield tables
    if triggers_off:
        staging.execute("SET LOCAL session_replication_role = origin")
    if pg:
        staging.execute("SET LOCAL maintenance_work_mem = '512MB'")
    if saved:
        rebuilding()
    for definition in saved:
        with timed(definition.split(" USING ")[0]):
            staging.execute(definition)
    for table in tables:
        staging.execute(f"ANALYZE {table}")
