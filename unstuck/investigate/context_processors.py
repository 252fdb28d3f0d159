"""The count of open requests beside "My requests" in the navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from unstuck.core.models import Role


def requests(request: HttpRequest) -> dict[str, Any]:
    """Counted for reps (whom managers ask) only when a page shows the navigation (htmx
    partials never ask), in one query: `my_open_requests` is a function the navigation
    (core.nav) calls; managers and leaders have the link without a count, so their pages
    cost no extra query."""
    membership = getattr(request, "membership", None)
    if membership is None or membership.role != Role.REP:
        return {}

    def count() -> int:
        from unstuck.investigate.selectors import open_requests_count

        return open_requests_count(membership)

    return {"my_open_requests": count}
