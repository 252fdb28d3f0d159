"""View decorators that resolve the workspace in the URL through the access rules."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from unstuck.core.access import membership_for, require_role
from unstuck.core.http import AppRequest

View = Callable[..., HttpResponse]


def workspace_view(*roles: str) -> Callable[[View], View]:
    """Require sign-in and membership of the URL's workspace (404 otherwise).

    With roles given, other roles get 403. The membership is passed as the view's second
    argument and set on the request for templates.
    """

    def decorator(view: View) -> View:
        @login_required
        @functools.wraps(view)
        def wrapper(request: HttpRequest, slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            # login_required has run, and our middleware adds htmx: from here the request is
            # the AppRequest every view declares.
            app_request = cast(AppRequest, request)
            membership = membership_for(app_request.user, slug)
            if roles:
                require_role(membership, *roles)
            app_request.membership = membership
            return view(app_request, membership, *args, **kwargs)

        return wrapper

    return decorator
