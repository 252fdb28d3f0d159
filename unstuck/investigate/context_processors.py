"""The count of open requests beside "My requests" in the navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject


def requests(request: HttpRequest) -> dict[str, Any]:
    """Counted only when a page shows the navigation (htmx partials never ask), in one query."""
    membership = getattr(request, "membership", None)
    if membership is None or membership.is_partner:
        return {}

    def count() -> int:
        from unstuck.investigate.selectors import open_requests_count

        return open_requests_count(membership)

    return {"my_open_requests": SimpleLazyObject(count)}
