"""The request type our views see: signed in, with htmx details and the current membership."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from unstuck.core.models import Membership, User


class AppRequest(HttpRequest):
    htmx: HtmxDetails
    membership: Membership
    user: User
