"""The request type our views see (signed in, with htmx details and the current membership),
and absolute links for what leaves the browser (emails)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from unstuck.core.models import Membership, User


class AppRequest(HttpRequest):
    htmx: HtmxDetails
    membership: Membership
    user: User


def absolute_url(path: str) -> str:
    """A link that works outside the app, e.g. in an email: the site URL (`UNSTUCK_SITE_URL`)
    followed by the path that `reverse()` gave."""
    if not path.startswith("/"):
        raise ValueError(f"Expected a path from reverse(), got {path!r}")
    return f"{settings.SITE_URL}{path}"
