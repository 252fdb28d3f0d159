"""Template tags that let the deal page include Investigate's cards with one line each."""

from __future__ import annotations

from typing import Any

from django import template

from unstuck.deals.models import Deal
from unstuck.investigate import selectors
from unstuck.investigate.models import Factor, ObstacleKind, StepStatus

register = template.Library()


@register.simple_tag
def deal_stall(deal: Deal) -> dict[str, Any] | None:
    return selectors.deal_stall(deal)


@register.simple_tag
def deal_investigation(
    deal: Deal, reads: selectors.DealReads | None = None
) -> selectors.Investigation:
    return selectors.deal_investigation(deal, reads)


@register.simple_tag
def investigation_choices() -> dict[str, Any]:
    return {
        "factors": Factor.choices,
        "obstacle_kinds": ObstacleKind.choices,
        "step_statuses": StepStatus.choices,
    }


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)} %"


@register.filter
def version(row: object | None) -> str:
    """The version an edit form carries back (core.services.row_version)."""
    from unstuck.core.services import row_version

    return row_version(row)
