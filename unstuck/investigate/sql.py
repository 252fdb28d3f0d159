"""The few SQL spellings that differ between SQLite and PostgreSQL, so the analytics can be
written once as plain set-based SQL (CTEs, aggregates, window functions)."""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, cast, overload

from django.db import connection, models, transaction


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def days_between(start: str, end: str) -> str:
    """Fractional days from `start` to `end` (both timestamp expressions), as a double
    (EXTRACT returns numeric since PostgreSQL 14, which cost a third of the signal
    statement's CPU at 100,000 deals; date_part still returns double precision)."""
    if is_postgres():
        return f"(date_part('epoch', ({end}) - ({start})) / 86400.0)"
    return f"(julianday({end}) - julianday({start}))"


def days_between_dates(start: str, end: str) -> str:
    """Whole days from date `start` to date `end`."""
    if is_postgres():
        return f"(({end}) - ({start}))"
    return f"(julianday({end}) - julianday({start}))"


def as_date(expr: str) -> str:
    """The calendar day (UTC) of a timestamp expression."""
    if is_postgres():
        return f"CAST(({expr}) AT TIME ZONE 'UTC' AS DATE)"
    return f"date({expr})"


def as_float(expr: str) -> str:
    """A number the driver hands over as a float (decimals cost time at a million rows)."""
    return f"CAST({expr} AS DOUBLE PRECISION)" if is_postgres() else f"CAST({expr} AS REAL)"


def as_timestamp(param: str = "%s") -> str:
    """A timestamp parameter, typed so PostgreSQL can compare and subtract it."""
    return f"CAST({param} AS TIMESTAMPTZ)" if is_postgres() else param


def between_fraction(start: str, end: str, fraction: str) -> str:
    """The moment `fraction` of the way from `start` to `end`."""
    if is_postgres():
        return f"(({start}) + (({end}) - ({start})) * ({fraction}))"
    return f"datetime(julianday({start}) + (julianday({end}) - julianday({start})) * ({fraction}))"


def epoch_days(expr: str) -> str:
    """Fractional days since Monday 1970-01-05 00:00 UTC (weekly landmarks are multiples of 7)."""
    if is_postgres():
        return f"(CAST(EXTRACT(EPOCH FROM ({expr})) AS DOUBLE PRECISION) / 86400.0 - 4)"
    return f"(julianday({expr}) - 2440591.5)"


def ceil_pos(expr: str) -> str:
    """Ceiling of a positive number (SQLite's CAST truncates, which floors positives)."""
    if is_postgres():
        return f"CAST(CEIL({expr}) AS BIGINT)"
    return f"(CAST(({expr}) AS INTEGER) + (({expr}) > CAST(({expr}) AS INTEGER)))"


def floor_pos(expr: str) -> str:
    """Floor of a non-negative number (SQLite's CAST truncates, which floors it)."""
    if is_postgres():
        return f"CAST(FLOOR({expr}) AS BIGINT)"
    return f"CAST(({expr}) AS INTEGER)"


def greatest(*args: str) -> str:
    """The largest of the arguments (none may be NULL: SQLite's MAX() would return NULL)."""
    return f"{'GREATEST' if is_postgres() else 'MAX'}({', '.join(args)})"


def least(*args: str) -> str:
    """The smallest of the arguments (none may be NULL, as for greatest)."""
    return f"{'LEAST' if is_postgres() else 'MIN'}({', '.join(args)})"


def json_rows(columns: Sequence[tuple[str, str]]) -> str:
    """A row source from one JSON parameter: a list of lists, columns (name, "int"|"float")."""
    if is_postgres():
        kinds = {"int": "BIGINT", "float": "DOUBLE PRECISION"}
        cols = ", ".join(
            f"CAST(j.value->>{i} AS {kinds[kind]}) AS {name}"
            for i, (name, kind) in enumerate(columns)
        )
        return f"SELECT {cols} FROM jsonb_array_elements(CAST(%s AS JSONB)) AS j(value)"
    cols = ", ".join(
        f"json_extract(j.value, '$[{i}]') AS {name}" for i, (name, _) in enumerate(columns)
    )
    return f"SELECT {cols} FROM json_each(%s) AS j"


def timestamp_param(moment: datetime) -> Any:
    """A datetime as the backend stores it (naive UTC text on SQLite)."""
    return connection.ops.adapt_datetimefield_value(moment)


def _fast_timestamps(cursor: Any) -> None:
    """On PostgreSQL with the session in UTC (Django's, with USE_TZ), read timestamps with
    psycopg's own loader, compiled, instead of Django's, which parses each value in Python to
    set the same UTC tzinfo: the same datetimes with the same tzinfo (a test holds them
    equal), at a tenth of the CPU. The recompute's benchmarks read 367,647 of them at
    100,000 deals (about 3 s of CPU on a busy machine, issue 16)."""
    if not is_postgres() or connection.timezone_name != "UTC":
        return
    from psycopg.types.datetime import TimestamptzLoader

    raw = cursor.cursor
    if raw.connection.info.parameter_status("TimeZone") == "UTC":
        # psycopg puts its compiled version of the loader in place of this Python class.
        raw.adapters.register_loader("timestamptz", TimestamptzLoader)


def table(model: type[models.Model]) -> str:
    """A model's table name quoted for a statement written out."""
    return connection.ops.quote_name(model._meta.db_table)


@overload
def aware(moment: datetime) -> datetime: ...
@overload
def aware(moment: None) -> None: ...
def aware(moment: datetime | None) -> datetime | None:
    """A timestamp read by written SQL as the ORM hands it over: aware, in UTC (SQLite's
    columns come back naive, in UTC; PostgreSQL's aware already)."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def fetch_dicts(sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        _fast_timestamps(cursor)
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def fetch_fields(
    sql: str, params: Sequence[Any], fields: Sequence[models.Field[Any, Any] | None]
) -> list[tuple[Any, ...]]:
    """The rows of a statement written out, each column converted as the ORM converts the
    values of the model field given for it (`fields`, one per column, None for a value as
    the driver gives it): decimals, JSON, datetimes on SQLite. A page reads its rows as
    `values()` would have given them, without building and compiling the query (about 2 ms
    of CPU for the queue's page, issue 16)."""
    converters = []
    for i, field in enumerate(fields):
        if field is None:
            continue
        col = field.get_col(field.model._meta.db_table)
        # The field's own converters (from_db_value); the stubs do not declare the method.
        own = cast(Any, field).get_db_converters(connection)
        found = connection.ops.get_db_converters(col) + own
        if found:
            converters.append((i, found, col))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not converters:
        return [tuple(row) for row in rows]
    out = []
    for row in rows:
        values = list(row)
        for i, found, col in converters:
            value = values[i]
            for convert in found:
                value = convert(value, col, connection)
            values[i] = value
        out.append(tuple(values))
    return out


def _json_text(value: Any, *, encoder: type[json.JSONEncoder] | None) -> str | None:
    return None if value is None else json.dumps(value, cls=encoder)


def insert_rows(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert many rows of `model` (one value per field of `fields`, in Python's form: JSON
    fields as lists and dicts, datetimes aware) in the caller's transaction; returns the rows.

    PostgreSQL: COPY ... FROM STDIN, one stream of rows with no statement compiled per row
    (Django's bulk_create builds and binds every row's SQL: most of the 4-6 s of process CPU
    that writing a full recompute's 30,612 assessments took at 100,000 deals, issue 16).
    SQLite: one INSERT run by executemany. Values are stored as bulk_create stores them (JSON
    as json.dumps gives it with the field's encoder, datetimes as the backend adapts them);
    field defaults and save() are not applied, so every column not listed must be nullable or
    have a database default.
    """
    opts = model._meta
    convert: list[Callable[[Any], Any] | None] = []
    columns = []
    for name in fields:
        field = opts.get_field(name)
        assert isinstance(field, models.Field), name
        columns.append(connection.ops.quote_name(field.column))
        if isinstance(field, models.JSONField):
            convert.append(functools.partial(_json_text, encoder=field.encoder))
        elif isinstance(field, models.DateTimeField) and not is_postgres():
            convert.append(connection.ops.adapt_datetimefield_value)
        else:
            convert.append(None)
    prepared = (
        [value if f is None else f(value) for value, f in zip(row, convert, strict=True)]
        for row in rows
    )
    table = connection.ops.quote_name(opts.db_table)
    count = 0
    with connection.cursor() as cursor:
        if is_postgres():
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for values in prepared:
                    copy.write_row(values)
                    count += 1
        else:
            batch = list(prepared)
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch
            )
            count = len(batch)
    return count


def refresh_statistics(*tables: str) -> None:
    """Fresh planner statistics, and a fresh visibility map, for tables the app has just
    rewritten in bulk (PostgreSQL).

    Autovacuum would analyse them only after a delay, and until then the planner works from
    the old row counts and values: the queue page took 400-750 ms at 100,000 deals after a
    recompute, 130-160 ms once analysed (issue 16). ANALYZE alone still left the queue's
    summary reading the whole table (3,000 pages of signals and factors) instead of its
    covering index: an index-only scan needs the rows marked all-visible, which only VACUUM
    does. So outside a transaction this runs VACUUM (ANALYZE): 0.8 s after a full recompute
    at 100,000 deals on a busy machine, and the summary's statement went from 90-130 ms to
    20-30 ms (2026-11-30, load 8-9). Inside a transaction (VACUUM cannot run there), ANALYZE.

    SQLite keeps no statistics unless ANALYZE has run once, and then keeps them, stale, until
    it runs again: left as it is, since at 100,000 deals the queue's plans were the same with
    and without statistics for the rewritten table (checked 2026-11-30).
    """
    if not is_postgres():
        return
    verb = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"{verb} {connection.ops.quote_name(table)}")


@contextlib.contextmanager
def analytic_transaction(*, jit: bool = False) -> Iterator[None]:
    """A transaction for a statement over a whole workspace's history (diagnose, the
    recompute), with the plans such a statement needs on PostgreSQL.

    The statement's many aggregates make the planner expect tens of times too few rows
    (2,000 for 100,000 deals), and on such a guess it picks nested loops that then run for
    minutes; hash and merge joins are right at every size here. A cursor would also be
    planned for its first rows (cursor_tuple_fraction 0.1), while every row is read.
    JIT compilation is off: at 1,000,000 open deals the signal statement's plan is far above
    the default cost thresholds, and compiling, inlining and optimising its 222 expressions
    took 13.6 s of the statement's wall time (EXPLAIN ANALYZE, load 13) for no measurable
    gain in CPU (45 s without JIT against 46-47 s with it, issue 16); the stall score's twelve
    landmarks in one statement (1,774 functions to compile) took 12.3 s of backend CPU with it
    and 5.2 s without at 100,000 deals, the same rows (2026-12-01).
    jit=True (the signal statement for one moment: diagnose, the recompute's scoring, the win
    model's snapshots) compiles with JIT but never inlines: the server's cost thresholds still
    decide whether to compile and whether to optimise, so a small workspace's statement is
    not compiled at all. Inlining was what had made compiling cost more than it saved; without
    it the signal statement at 1,000,000 open deals took 10.4-10.7 s of backend CPU against
    11.8-13.4 s interpreted, the same rows (2026-12-01, load 7-8; docs/investigate.md). The
    twelve landmarks' statement stays interpreted: compiled without inlining it still took
    more (11.2-11.3 s of backend CPU against 10.5-10.6 s for 842,500 rows, load 6-7.5).
    The settings end with the transaction; inside a caller's, they are put back after.
    """
    settings = {"enable_nestloop": "off", "cursor_tuple_fraction": "1.0"}
    settings.update({"jit": "on", "jit_inline_above_cost": "-1"} if jit else {"jit": "off"})
    nested = connection.in_atomic_block
    with transaction.atomic():
        if not is_postgres():
            yield
            return
        with connection.cursor() as cursor:
            before = {}
            for name, value in settings.items():
                cursor.execute(f"SELECT current_setting('{name}')")
                before[name] = cursor.fetchone()[0]
                cursor.execute(f"SET LOCAL {name} = {value}")
        yield
        # SET LOCAL outlives the release of a savepoint (a rollback, on an error, undoes it).
        if nested:
            with connection.cursor() as cursor:
                for name, value in before.items():
                    cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
