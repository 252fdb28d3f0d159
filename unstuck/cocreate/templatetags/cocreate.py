"""Template helpers of co-creation: term labels, and a deal's sessions for its history."""

from __future__ import annotations

from typing import Any

from django import template

from unstuck.cocreate.models import Clause, Outcome, PaymentTerms

register = template.Library()

CLAUSES = dict(Clause.choices)
PAYMENT_TERMS = dict(PaymentTerms.choices)
OUTCOMES = dict(Outcome.choices)


@register.filter
def clause_label(key: str) -> str:
    return CLAUSES.get(key, key)


@register.filter
def payment_label(key: str) -> str:
    return PAYMENT_TERMS.get(key, key)


@register.filter
def item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key)


@register.simple_tag(takes_context=True)
def deal_sessions(context: template.Context, deal: Any) -> list[Any]:
    """The sessions on this deal that the viewer may see (for the deal's history)."""
    from unstuck.cocreate.access import sessions_visible_to
    from unstuck.cocreate.selectors import deal_sessions as sessions_of
    from unstuck.core.access import can_see_deal
    from unstuck.core.models import Role

    membership = context.get("membership")
    if membership is None:
        return []
    if membership.role != Role.PARTNER and can_see_deal(membership, deal):
        # Whoever sees the deal (other than a partner) sees every session on it.
        return sessions_of(deal.pk)
    visible = set(
        sessions_visible_to(membership).filter(deal_id=deal.pk).values_list("pk", flat=True)
    )
    return [s for s in sessions_of(deal.pk) if s.pk in visible]


@register.simple_tag(takes_context=True)
def may_start_session(context: template.Context, deal: Any) -> bool:
    from unstuck.cocreate.access import can_start_session

    membership = context.get("membership")
    return membership is not None and deal.is_open and can_start_session(membership, deal)


@register.simple_tag
def outcome_proposal(session: Any) -> Any:
    """What the deal's stage moves since the decision propose as the session's outcome."""
    from unstuck.cocreate.selectors import outcome_proposal as propose

    return propose(session)


@register.filter
def outcome_label(key: str) -> str:
    return OUTCOMES.get(key, key)


@register.simple_tag
def outcome_choices() -> list[tuple[str, str]]:
    return list(Outcome.choices)
