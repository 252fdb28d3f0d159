"""`{% gentle_note %}`: put the bias note beside any textarea, in any app.

    {% load thinking %}
    <textarea id="id_reason" name="reason"></textarea>
    {% gentle_note field_id="id_reason" field_name="reason" about="session_option"
                   situation="rejecting" deal=deal %}

Place it inside the textarea's form: it adds a hidden `draft_key` input. The note checks the
draft and stores nothing; the service that saves the text passes that key to
`services.text_check`, which stores the saved text's flags and records which notes the writer
set aside or wrote out while typing.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from django import template
from django.urls import reverse

from unstuck.core.access import can_edit_deal
from unstuck.thinking.biases import bias_name as _bias_name

register = template.Library()


@register.inclusion_tag("thinking/_partials/gentle_note_slot.html", takes_context=True)
def gentle_note(
    context: template.Context,
    field_id: str,
    field_name: str,
    about: str = "",
    situation: str = "",
    deal: Any = None,
) -> dict[str, Any]:
    workspace = context.get("workspace")
    membership = context.get("membership")
    if deal is not None and (membership is None or not can_edit_deal(membership, deal)):
        deal = None  # a reader's flags stay their own (the check refuses to attach them)
    draft = secrets.token_urlsafe(12)
    values = {
        "field": field_name,
        "context": about,
        "situation": situation,
        "draft_key": draft,
        "deal": getattr(deal, "pk", "") or "",
    }
    return {
        "draft_key": draft,
        "field_id": field_id,
        "url": reverse("thinking:check", kwargs={"slug": workspace.slug}) if workspace else "",
        "vals": json.dumps(values),
    }


@register.filter
def bias_name(key: str) -> str:
    return _bias_name(key)
