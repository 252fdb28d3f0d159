"""API authentication: a personal token (Bearer) or the browser's signed-in session."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
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

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None
