"""Authentication: the sign-in throttle, and the API's personal token (Bearer) or the
browser's signed-in session."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja.security import APIKeyCookie, HttpBearer

from unstuck.core.services import api_token_authenticate


class TokenAuth(HttpBearer):
    openapi_description = "A personal API token from Account → API tokens: `Bearer unst_…`."

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The signed-in browser session, with Django's CSRF check on unsafe methods."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        # A request that brings a token (valid or not) or no session at all is not a browser
        # session: no CSRF check, so a bad token answers 401 rather than "CSRF check Failed".
        if "HTTP_AUTHORIZATION" in request.META or self.param_name not in request.COOKIES:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if key is None:
            return None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


class SignInThrottleBackend(AxesStandaloneBackend):
    """django-axes' lockout for the sign-in form (per account and address, see settings).

    A password checked without a request (the CLI, `unstuck shell`) has no address to count
    against, and is left to the next backend unthrottled.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """What the sign-in form answers while an account is locked out from an address (429):
    the form again, with a message saying why and for how long."""
    from unstuck.core.forms import SignInForm

    return render(
        request,
        "core/sign_in.html",
        {
            "form": SignInForm(request),
            "locked": {
                "username": (credentials or {}).get("username", ""),
                "failure_limit": settings.AXES_FAILURE_LIMIT,
                "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
            },
        },
        status=429,
    )
