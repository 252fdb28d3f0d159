"""What every API operation documents about its answers: the success shape and each error
status it can return, all in one error shape.

Use `responses({200: DealOut}, 403, 404, 422)` as an operation's `response=`. Three errors are
added to every operation, since any of them can answer them: 400 (a NUL character anywhere in
the request, or a query parameter given twice, refused by `core.middleware` before the
operation runs), 401 (no or a bad token)
and 503 (the database is busy or unreachable). The schemathesis run in CI
(tests/api/test_openapi_fuzz.py) fails on any status an operation answers without listing it.
"""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field

ALWAYS = (400, 401, 503)
ERROR_CODES = frozenset({400, 401, 403, 404, 409, 422, 503})


class ErrorOut(Schema):
    """Every error: a message for a person (or, for 422, the list of invalid fields)."""

    detail: str | list[dict[str, Any]] = Field(
        ..., description="What was wrong; for 422 a list of {loc, msg, type} per invalid input."
    )
    field: str | None = Field(None, description="The input field at fault, when there is one.")


def responses(ok: dict[int, Any], *errors: int) -> dict[int, Any]:
    """The operation's documented responses: `ok` plus `errors` and the ones every operation
    can answer, each an `ErrorOut`."""
    unknown = set(errors) - ERROR_CODES
    if unknown:
        raise ValueError(f"Undocumented error statuses: {sorted(unknown)}")
    return {**ok, **dict.fromkeys(sorted({*errors, *ALWAYS}), ErrorOut)}
