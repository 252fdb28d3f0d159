"""Template helpers of the playbook: labels, the status chip, and the playbook's parts of the
deal page and the session page."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from unstuck.cocreate.models import LeverFamily, Outcome
from unstuck.investigate.models import ObstacleKind
from unstuck.investigate.stall_signals import SIGNALS
from unstuck.share.models import Play, PlayStatus
from unstuck.share.plays_outcomes import probability_text

register = template.Library()

OBSTACLES = dict(ObstacleKind.choices)
FAMILIES = dict(LeverFamily.choices)
OUTCOMES = dict(Outcome.choices)
FIT_SHOWN = 3


@register.filter
def obstacle_label(key: str) -> str:
    return OBSTACLES.get(key, key)


@register.filter
def signal_label(key: str) -> str:
    return SIGNALS[key][1] if key in SIGNALS else key


@register.filter
def family_label(key: str) -> str:
    return FAMILIES.get(key, key)


@register.filter
def outcome_word(key: str) -> str:
    return OUTCOMES.get(key, key).lower()


@register.filter
def points(value: float | None) -> str:
    """A difference of two rates in percentage points, signed: +12, -3."""
    return "—" if value is None else f"{value * 100:+.0f}"


@register.filter
def probability(value: float | None) -> str:
    return "—" if value is None else probability_text(value)


@register.simple_tag
def play_status_chip(play: Play) -> SafeString:
    if play.status == PlayStatus.VERIFIED and play.is_due:
        return mark_safe('<span class="chip warn">Due for review</span>')
    css = {"verified": "won", "draft": "", "retired": "lost"}.get(play.status, "")
    return format_html('<span class="chip {}">{}</span>', css, play.get_status_display())


@register.simple_tag
def session_play(session: Any) -> Play | None:
    return Play.objects.filter(source_session=session).first()


@register.simple_tag(takes_context=True)
def may_promote(context: template.Context, session: Any) -> bool:
    from unstuck.cocreate.access import can_lead
    from unstuck.core.models import Role

    membership = context.get("membership")
    if membership is None or session.phase not in {"decided", "closed"}:
        return False
    return membership.role == Role.LEADER or can_lead(membership, session)


@register.simple_tag(takes_context=True)
def deal_plays(context: template.Context, deal: Any, reads: Any = None) -> dict[str, Any]:
    """The deal page's playbook card: plays applied to it, and (for people who work the
    deal, while it is open) the verified plays that fit it best, with their evidence."""
    from unstuck.cocreate.generator import deal_facts
    from unstuck.core.access import can_edit_deal
    from unstuck.share.plays_provider import PlaybookProvider
    from unstuck.share.selectors.plays import deal_play_applications

    membership = context.get("membership")
    if membership is None:
        return {}
    applications = deal_play_applications(deal)
    may_apply = deal.is_open and can_edit_deal(membership, deal)
    fitting = []
    if may_apply:
        applied = {a.play_id for a in applications}
        found = PlaybookProvider().suggest(
            deal_facts(deal, reads=reads),
            deal.workspace_id,
            signals=reads.stall_signals if reads else None,
        )
        fitting = sorted(
            (s for s in found if s.terms["play_id"] not in applied),
            key=lambda s: (-s.score, s.key),
        )[:FIT_SHOWN]
    return {"applications": applications, "fitting": fitting, "may_apply": may_apply}
