"""The few SQL spellings that differ between SQLite and PostgreSQL, so the analytics can be
written once as plain set-based SQL (CTEs, aggregates, window functions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def days_between(start: str, end: str) -> str:
    """Fractional days from `start` to `end` (both timestamp expressions)."""
    if is_postgres():
        return f"(EXTRACT(EPOCH FROM (({end}) - ({start}))) / 86400.0)"
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


def as_timestamp(param: str = "%s") -> str:
    """A timestamp parameter, typed so PostgreSQL can compare and subtract it."""
    return f"CAST({param} AS TIMESTAMPTZ)" if is_postgres() else param


def between_fraction(start: str, end: str, fraction: str) -> str:
    """The moment `fraction` of the way from `start` to `end`."""
    if is_postgres():
        return f"(({start}) + (({end}) - ({start})) * ({fraction}))"
    return f"datetime(julianday({start}) + (julianday({end}) - julianday({start})) * ({fraction}))"


def timestamp_param(moment: datetime) -> Any:
    """A datetime as the backend stores it (naive UTC text on SQLite)."""
    return connection.ops.adapt_datetimefield_value(moment)


def fetch_dicts(sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
