"""Staging tables: where an import's rows wait, inside its transaction, before the upsert.

PostgreSQL fills them with COPY; SQLite with batched executemany. Both then run the same
set-based SQL (see loader.py); the little that differs between the two is here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection

BATCH = 5000
log = logging.getLogger("unstuck.imports.loader")


@contextlib.contextmanager
def timed(step: str) -> Iterator[None]:
    """Log how long an import step took (DEBUG; the import benchmark prints the slow ones)."""
    started = time.perf_counter()
    yield
    log.debug("import step %s: %.2fs", step, time.perf_counter() - started)


DEAL_COLUMNS = [
    ("line", "integer"),
    ("external_id", "text"),
    ("name", "text"),
    ("account_key", "text"),
    ("owner_id", "bigint"),
    ("team_id", "bigint"),
    ("pipeline", "text"),
    ("stage", "text"),
    ("kind", "text"),
    ("probability", "integer"),
    ("amount", "numeric"),
    ("currency", "text"),
    ("close_date", "date"),
    ("created_at", "ts"),
    ("entered_hint", "ts"),
    ("last_activity_at", "ts"),
    ("next_step", "text"),
    ("custom", "json"),
    # The row's fingerprint (fingerprint.py) when the COPY path read it, else NULL.
    ("row_hash", "bigint"),
]
HISTORY_COLUMNS = [
    ("line", "integer"),
    ("deal_ext", "text"),
    ("stage", "text"),
    ("changed_at", "ts"),
    ("amount", "numeric"),
    ("close_date", "date"),
]


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


class Dialect:
    """SQL spelled for the current database."""

    def __init__(self) -> None:
        self.pg = is_postgres()

    def type(self, name: str) -> str:
        if name == "ts":
            return "timestamptz" if self.pg else "text"
        if name == "json":
            return "jsonb" if self.pg else "text"
        return name

    def distinct(self, a: str, b: str) -> str:
        return f"{a} IS DISTINCT FROM {b}" if self.pg else f"{a} IS NOT {b}"

    def greatest(self, a: str, b: str) -> str:
        if self.pg:
            return f"GREATEST({a}, {b})"
        return f"MAX(COALESCE({a}, {b}), COALESCE({b}, {a}))"

    def index(self, table: str, columns: str) -> str:
        """CREATE INDEX for a staging table (SQLite wants every index named)."""
        if self.pg:
            return f"CREATE INDEX ON {table} ({columns})"
        return f"CREATE INDEX {table}_{columns.replace(', ', '_')} ON {table} ({columns})"

    def row_key(self) -> str:
        """A staged deal's values as one text, to tell identical repeats of an id from
        conflicting ones (the line and the fingerprint are left out: they differ anyway)."""
        cols = [c for c, _ in DEAL_COLUMNS if c not in ("line", "row_hash")]
        if self.pg:
            return f"ROW({', '.join(cols)})::text"
        return " || char(31) || ".join(f"COALESCE(CAST({c} AS TEXT), char(30))" for c in cols)

    def null(self, typ: str) -> str:
        return f"CAST(NULL AS {self.type(typ)})"

    def temp(self, name: str) -> str:
        return f"CREATE TEMP TABLE {name}"

    def value(self, v: Any) -> Any:
        """A Python value as this database's staging column wants it."""
        if self.pg:
            if isinstance(v, dict):
                return json.dumps(v)
            return v
        if isinstance(v, datetime):
            # Django's SQLite format: naive UTC, microseconds only when present.
            return str(v.astimezone(UTC).replace(tzinfo=None))
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, Decimal):
            return str(v)
        if isinstance(v, dict):
            return json.dumps(v)
        return v


@contextlib.contextmanager
def sqlite_read_transaction() -> Iterator[None]:
    """SQLite: a DEFERRED transaction for reading the files into TEMP tables.

    Django opens SQLite transactions IMMEDIATE (the write lock at once); this one writes only
    TEMP tables, which live in a database of their own, and reads the main database as a WAL
    reader, so it holds no lock that makes anyone wait. Inside an open transaction (tests), it
    adds nothing.
    """
    if connection.in_atomic_block:
        yield
        return
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
    try:
        yield
    except BaseException:
        with connection.cursor() as cursor:
            cursor.execute("ROLLBACK")
        raise
    with connection.cursor() as cursor:
        cursor.execute("COMMIT")


def execute(sql: str, params: Sequence[Any] = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        count: int = cursor.rowcount
        return count


def fetchall(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def drop(*names: str) -> None:
    """Drop staging tables or views (the COPY path stages history as a view)."""
    for name in names:
        if is_postgres():
            kind = fetchall(
                "SELECT relkind FROM pg_class WHERE relname = %s AND relpersistence = 't' "
                "AND pg_table_is_visible(oid)",
                [name],
            )
            if kind:
                execute(f"DROP {'VIEW' if kind[0][0] == 'v' else 'TABLE'} {name} CASCADE")
        else:
            execute(f"DROP TABLE IF EXISTS {name}")


def create(name: str, columns: list[tuple[str, str]], dialect: Dialect) -> None:
    drop(name)
    cols = ", ".join(f"{c} {dialect.type(t)}" for c, t in columns)
    execute(f"{dialect.temp(name)} ({cols})")


class StagingWriter:
    """Buffers rows and sends them to a staging table: COPY on PostgreSQL, executemany else."""

    def __init__(self, table: str, columns: list[tuple[str, str]], dialect: Dialect) -> None:
        self.table = table
        self.names = [c for c, _ in columns]
        self.dialect = dialect
        self.buffer: list[tuple[Any, ...]] = []
        self.count = 0
        create(table, columns, dialect)
        self._cursor: Any = None
        self._copy: Any = None
        if dialect.pg:
            self._cursor = connection.cursor()
            raw = self._cursor.cursor
            self._copy_cm = raw.copy(f"COPY {table} ({', '.join(self.names)}) FROM STDIN")
            self._copy = self._copy_cm.__enter__()

    def write(self, row: tuple[Any, ...]) -> None:
        """Rows come as Python values, JSON already serialised."""
        self.count += 1
        if self._copy is not None:
            # psycopg adapts dates, datetimes and decimals itself.
            self._copy.write_row(row)
            return
        self.buffer.append(tuple(self.dialect.value(v) for v in row))
        if len(self.buffer) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        marks = ", ".join(["%s"] * len(self.names))
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {self.table} ({', '.join(self.names)}) VALUES ({marks})",
                self.buffer,
            )
        self.buffer.clear()

    def close(self) -> None:
        if self._copy is not None:
            self._copy_cm.__exit__(None, None, None)
            self._copy = None
            self._cursor.close()
        self.flush()
        # Neither autovacuum nor SQLite analyse temporary tables on their own, and without row
        # counts both planners may loop over millions of staged rows per row.
        execute(f"ANALYZE {self.table}")

    def abort(self) -> None:
        if self._copy is not None:
            # The transaction is being rolled back anyway; a failing COPY adds nothing.
            with contextlib.suppress(Exception):
                self._copy_cm.__exit__(RuntimeError, RuntimeError("aborted"), None)
            self._copy = None
            self._cursor.close()
