"""Input checked at the edge, the same way for the web pages and the API.

Two kinds of input reach the database unchecked unless refused here: ids larger than a
database integer (SQLite cannot even bind them: OverflowError, a 500) and text holding a NUL
character (PostgreSQL refuses it: ValueError, a 500). Ids are typed: `DbId` in API schemas,
`IdField` in forms, `parse_id` for hand-read query strings. NUL is refused for every request
at once by `core.middleware.RefuseBadInputMiddleware`, using `find_nul` below.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any

from django import forms
from pydantic import BeforeValidator, Field

# The largest value of a 64-bit signed integer column (BigAutoField, bigint).
MAX_ID = 2**63 - 1

DbId = Annotated[int, Field(ge=1, le=MAX_ID, description="An id, 1 to 9223372036854775807.")]
"""An id in an API schema: out-of-range values answer 422 instead of reaching the database."""


def _iso_date(value: Any) -> Any:
    # pydantic also reads numbers (and numeric strings) as Unix timestamps, so
    # "-2.8e-19" would be 1 January 1970; a date in Unstuck's API is written YYYY-MM-DD.
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value) if len(value) == 10 else _refuse_date(value)
        except ValueError:
            _refuse_date(value)
    return _refuse_date(value)


def _refuse_date(value: Any) -> Any:
    raise ValueError(f"{value!r} is not a date: write it as YYYY-MM-DD.")


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A date in an API schema, accepted only as YYYY-MM-DD (no timestamps)."""


class IdField(forms.IntegerField):
    """An id in a form: a positive integer that fits a database id column."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


def parse_id(raw: object) -> int:
    """An id read from a query string; ValueError when it is not one."""
    value = int(str(raw).strip())
    if not 1 <= value <= MAX_ID:
        raise ValueError(f"{raw!r} is not a valid id")
    return value


NUL = "\x00"


def find_nul(value: Any, where: str = "") -> str | None:
    """Where a NUL character sits in a (nested) value — a key path such as `body.name` — or
    None when there is none. Dict keys count as text too."""
    if isinstance(value, str):
        return where or "value" if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if isinstance(key, str) and NUL in key:
                return path
            if found := find_nul(item, path):
                return found
        return None
    if isinstance(value, Iterable) and not isinstance(value, bytes | bytearray):
        for index, item in enumerate(value):
            if found := find_nul(item, f"{where}[{index}]"):
                return found
    return None


# The default of a PATCH field: omitted means unchanged (handlers read `exclude_unset`), and
# null is refused (422) instead of reaching a column that cannot hold it.
Unset: Any = Field(None, description="Omit to leave unchanged; null is refused.")
