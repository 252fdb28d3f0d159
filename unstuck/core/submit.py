"""The one way a view turns a form into a service call: validate, call the service with the
cleaned data, and turn any refusal (the form's or the domain's) into one UnstuckError.

Views only decide how to answer: the refreshed partial (htmx, kept in the view), a message
and a redirect back (`submit_and_redirect`), or the form again with its errors
(`submit_page`). Either way a refusal of who may (`NotAllowed`, 403) is a 403 (`forbid`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from unstuck.core.errors import UnstuckError

T = TypeVar("T")


class FormInvalid(UnstuckError):
    """The form did not validate; its errors are on the form and in the message."""


def form_error(form: forms.BaseForm) -> FormInvalid:
    labels = {name: str(f.label or name.replace("_", " ")) for name, f in form.fields.items()}
    parts = [
        (f"{labels[name]}: " if name in labels else "") + " ".join(str(m) for m in messages)
        for name, messages in form.errors.items()
    ]
    first = next(iter(form.errors), None)
    return FormInvalid(f"Not saved — {'; '.join(parts)}", field=first)


def submit(
    form: forms.BaseForm | None,
    action: Callable[[dict[str, Any]], T],
    *,
    check: Callable[[], object] | None = None,
) -> T:
    """Call action(form.cleaned_data) if the form is valid (action({}) without a form).

    `check` (the service's own check of who may) runs before the form is read, so that a
    person who may not is refused whatever they sent. Raises FormInvalid for an invalid form
    (nothing is called) and lets the service's UnstuckError through, after adding it to the
    form so a re-rendered form shows it by its field."""
    if check is not None:
        check()
    if form is not None and not form.is_valid():
        raise form_error(form)
    try:
        return action(dict(form.cleaned_data) if form is not None else {})
    except UnstuckError as exc:
        if form is not None:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        raise


def forbid(exc: UnstuckError) -> None:
    """A refusal of who may (a service's NotAllowed, 403) answers 403 on every page; the
    caller shows any other refusal its own way."""
    if exc.status_code == 403:
        raise PermissionDenied(exc.message) from exc


def posted_next(request: HttpRequest, fallback: str) -> str:
    """Where to go back to: the form's `next` when it is a path on this site, else
    `fallback`."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def submit_and_redirect(
    request: HttpRequest,
    form: forms.BaseForm | None,
    action: Callable[[dict[str, Any]], T],
    *,
    done: str | Callable[[T], str],
    back: str,
    check: Callable[[], object] | None = None,
) -> HttpResponse:
    """A posted action that answers with a redirect: submit(); the outcome as a message
    (`done`, or `done(result)`), the refusal's message otherwise (a 403 stays a 403); then
    back to `back`."""
    try:
        result = submit(form, action, check=check)
    except UnstuckError as exc:
        forbid(exc)
        messages.error(request, exc.message)
    else:
        messages.success(request, done(result) if callable(done) else done)
    return redirect(back)


def submit_page(
    request: HttpRequest,
    form: forms.BaseForm,
    action: Callable[[dict[str, Any]], T],
    *,
    done: str | Callable[[T], str] | None,
    then: str | Callable[[T], str],
    check: Callable[[], object] | None = None,
) -> HttpResponse | None:
    """A page with a form: on POST, submit(); on success the message `done` (or
    `done(result)`, if any) and a redirect to `then` (or `then(result)`). None when there is
    nothing to redirect to (a GET, or a refusal now shown on the form by its field): the view
    renders the page, answering 400 when the form has errors. A 403 stays a 403."""
    if request.method != "POST":
        return None
    try:
        result = submit(form, action, check=check)
    except UnstuckError as exc:
        forbid(exc)
        return None
    if done:
        messages.success(request, done(result) if callable(done) else done)
    return redirect(then(result) if callable(then) else then)
