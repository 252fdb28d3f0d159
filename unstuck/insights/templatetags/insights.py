"""Small filters for the insights page."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def get(mapping: dict[str, Any] | None, key: str) -> Any:
    return None if mapping is None else mapping.get(key)


@register.filter
def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


@register.filter
def week_label(value: str) -> str:
    d = date.fromisoformat(value)
    return f"{d:%b} {d.day}"


@register.filter
def minutes_total(values: dict[str, int]) -> int:
    return sum(values.values())


@register.filter
def days_or_dash(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.0f} days"


@register.filter
def iso_time(value: str) -> str:
    moment = timezone.localtime(datetime.fromisoformat(value))
    return f"{moment:%b} {moment.day}, {moment:%H:%M}"
