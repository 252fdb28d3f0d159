"""The one way a view turns a form into a service call: validate, call the service with the
cleaned data, and turn any refusal (the form's or the domain's) into one UnstuckError.

Views only decide how to answer: the refreshed partial, a message and a redirect, or the
form again with its errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms

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


def submit(form: forms.BaseForm | None, action: Callable[[dict[str, Any]], T]) -> T:
    """Call action(form.cleaned_data) if the form is valid (action({}) without a form).

    Raises FormInvalid for an invalid form (nothing is called) and lets the service's
    UnstuckError through, after adding it to the form so a re-rendered form shows it by its
    field."""
    if form is not None and not form.is_valid():
        raise form_error(form)
    try:
        return action(dict(form.cleaned_data) if form is not None else {})
    except UnstuckError as exc:
        if form is not None:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        raise
