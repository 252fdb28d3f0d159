"""Request and response rules that hold for every page and endpoint.

- `RefuseBadInputMiddleware`: a NUL character anywhere in a request's text, or an API query
  parameter given twice, answers 400 naming where, before any view runs.
- `ErrorsMiddleware`: the API answers JSON whatever goes wrong (404 and 405 from routing, a
  500), and a database that is busy (SQLite while an import commits) or unreachable answers
  503 with a clear message and Retry-After, on pages and in the API alike.
- `PrivateCacheMiddleware`: pages for a signed-in person are never kept by shared caches.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.db import DatabaseError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control

from unstuck.core.validation import NUL, find_nul

log = logging.getLogger("unstuck.errors")

API_PREFIX = "/api/"
Handler = Callable[[HttpRequest], HttpResponse]

BUSY_MESSAGE = (
    "The database is busy: an import is finishing. Try again in a moment; nothing was changed."
)
DOWN_MESSAGE = "The database cannot be reached right now. Try again in a moment."
RETRY_AFTER_SECONDS = 5


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def is_database_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked" (another process holds the write lock past the timeout)."""
    return isinstance(exc, OperationalError) and "locked" in str(exc).lower()


def error_response(
    request: HttpRequest,
    status: int,
    message: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """A refusal in the shape the caller reads: JSON under /api/, a page elsewhere."""
    if is_api(request):
        response: HttpResponse = JsonResponse({"detail": message, "field": field}, status=status)
    else:
        title = HTTPStatus(status).phrase
        html = render_to_string("error.html", {"title": title, "message": message}, request=None)
        response = HttpResponse(html, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class RefuseBadInputMiddleware:
    """Refuse, before any view runs, input no page or endpoint can take: 400, naming where.

    - A NUL character in the path, query, form fields, JSON body, Authorization header or
      cookies (PostgreSQL cannot store one; the web and the API refuse it the same way).
    - Under /api/, a query parameter given more than once: no API operation takes a list in
      its query, and django-ninja would otherwise read the last of the values silently
      (`?situation=a&situation=b`), accepting what its schema refuses.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = self._refusal(request)
        if refusal is not None:
            message, field = refusal
            return error_response(request, 400, message, field=field)
        return self.get_response(request)

    def _refusal(self, request: HttpRequest) -> tuple[str, str] | None:
        where = self._nul_outside_query(request)
        if where is None:
            api = is_api(request)
            for name, values in request.GET.lists():
                if NUL in name or any(NUL in value for value in values):
                    where = f"query.{name.replace(NUL, '')}"
                    break
                if api and len(values) > 1:
                    return (
                        f"The query parameter '{name}' is given {len(values)} times; give it once.",
                        f"query.{name}",
                    )
            else:
                where = self._nul_in_body(request)
        if where is None:
            return None
        return f"Text may not contain a NUL character (found in {where}).", where

    @staticmethod
    def _nul_outside_query(request: HttpRequest) -> str | None:
        if NUL in request.path_info:
            return "the address"
        if NUL in request.META.get("HTTP_AUTHORIZATION", ""):
            return "the Authorization header"
        for name, value in request.COOKIES.items():
            if NUL in name or NUL in value:
                return "a cookie"
        return None

    @staticmethod
    def _nul_in_body(request: HttpRequest) -> str | None:
        content_type = request.content_type or ""
        if content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            if found := _in_querydict(request.POST, "form"):
                return found
            for name, uploads in request.FILES.lists():
                if NUL in name or any(NUL in (upload.name or "") for upload in uploads):
                    return f"form.{name}"
        elif content_type.endswith("json"):
            body = request.body
            # Valid JSON spells NUL as an escape (a raw NUL byte is not JSON at all).
            if b"\\u0000" in body or b"\x00" in body:
                try:
                    data = json.loads(body)
                except ValueError:
                    return "body" if b"\x00" in body else None
                if found := find_nul(data, "body"):
                    return found
        return None


def _in_querydict(data: Any, prefix: str) -> str | None:
    for key, values in data.lists():
        if NUL in key:
            return f"{prefix}.{key.replace(NUL, '')}"
        for value in values:
            if isinstance(value, str) and NUL in value:
                return f"{prefix}.{key}"
    return None


class ErrorsMiddleware:
    """JSON errors for the API, 503 for a busy or unreachable database everywhere."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_api(request) and response.status_code >= 400 and not _is_json(response):
            # Routing's 404, the 405 of a wrong method, a CSRF refusal or an error page
            # rendered by Django: the same status, as JSON.
            json_response = error_response(
                request, response.status_code, _reason(response.status_code)
            )
            for header in ("Allow", "Retry-After", "WWW-Authenticate"):
                if header in response:
                    json_response[header] = response[header]
            return json_response
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if is_database_busy(exc):
            log.warning("Database busy on %s %s: %s", request.method, request.path, exc)
            return error_response(request, 503, BUSY_MESSAGE, headers=retry)
        if isinstance(exc, OperationalError | DatabaseError) and _is_unreachable(exc):
            log.error("Database unreachable on %s %s: %s", request.method, request.path, exc)
            return error_response(request, 503, DOWN_MESSAGE, headers=retry)
        if is_api(request):
            log.exception("Internal error on %s %s", request.method, request.path)
            return error_response(
                request, 500, "Something went wrong on our side; it has been logged."
            )
        return None


def _is_unreachable(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(
        marker in text
        for marker in ("connection", "could not connect", "server closed", "unable to open")
    )


def _is_json(response: HttpResponse) -> bool:
    return "json" in response.get("Content-Type", "")


def _reason(status: int) -> str:
    messages = {
        403: "You may not do this.",
        404: "Not found.",
        405: "This method is not allowed here.",
        500: "Something went wrong on our side; it has been logged.",
    }
    try:
        return messages.get(status) or HTTPStatus(status).phrase
    except ValueError:
        return "Error."


class PrivateCacheMiddleware:
    """A signed-in person's pages and API answers hold their data: `Cache-Control: private,
    no-store`, so neither a shared proxy nor the browser's back-forward cache keeps them."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Expires"):
            patch_cache_control(response, private=True, no_store=True)
        return response
