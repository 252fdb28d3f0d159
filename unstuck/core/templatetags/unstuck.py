"""Small formatting helpers shared by every page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django import template
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

register = template.Library()

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "AUD": "A$", "CAD": "C$"}


def format_money(
    amount: Decimal | float | int | None, currency: str = "USD", *, compact: bool = True
) -> str:
    """$48,500 in whole units; compact ($1.2M) past a million unless told otherwise.

    The one formatter for amounts, in pages and in generated sentences alike.
    """
    if amount is None:
        return "—"
    value = float(amount)
    symbol = SYMBOLS.get(currency or "USD")
    big = compact and abs(value) >= 1_000_000
    text = f"{value / 1_000_000:,.1f}M" if big else f"{value:,.0f}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


@register.filter
def money(amount: Decimal | float | int | None, currency: str = "USD") -> str:
    return format_money(amount, currency)


def whole_days(start: datetime, end: datetime | None = None) -> int:
    """Whole days elapsed from `start` to `end` (default now), never negative: the one
    definition of "days in stage" and "days ago" (the stall signals' SQL floors the same way),
    so the deal header, the timeline and the signals agree."""
    return max(((end or timezone.now()) - start).days, 0)


@register.filter
def days_since(moment: datetime | date | None) -> int | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return whole_days(moment)
    return (timezone.localdate() - moment).days


@register.filter
def is_past(day: date | None) -> bool:
    return day is not None and day < timezone.localdate()


@register.simple_tag(takes_context=True)
def url_with(context: template.Context, **changes: object) -> str:
    """The current query string with some parameters replaced (for sort and page links)."""
    request: HttpRequest = context["request"]
    query = request.GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = str(value)
    return "?" + query.urlencode()


# Reversed in the id's place by row_url; its digits appear in no route of ours.
_ROW_ID = 918273645546372819


@dataclass(frozen=True)
class RowUrl:
    """A route reversed once with the row's id left open: the text before and after it."""

    before: str
    after: str

    def for_id(self, pk: int) -> str:
        return f"{self.before}{int(pk)}{self.after}"


@register.simple_tag
def row_url(viewname: str, id_kwarg: str, **kwargs: object) -> RowUrl:
    """One route for every row of a list, reversed once: `{% row_url 'deals:detail' 'pk'
    slug=workspace.slug as deal_url %}` then `{{ deal_url|for_id:deal.pk }}` per row gives
    what `{% url 'deals:detail' slug=workspace.slug pk=deal.pk %}` would, without a reverse()
    per row (the queue's and the pipeline's rows spent most of their links' time there)."""
    url = reverse(viewname, kwargs={**kwargs, id_kwarg: _ROW_ID})
    before, found, after = url.partition(str(_ROW_ID))
    if not found or str(_ROW_ID) in after:
        raise ValueError(f"{viewname} does not place {id_kwarg} once in its path")
    return RowUrl(before, after)


@register.filter
def for_id(url: RowUrl, pk: int) -> str:
    return url.for_id(pk)


@register.filter
def label(key: str) -> str:
    """'lead_source' → 'Lead source', for CRM attribute names."""
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@register.simple_tag(takes_context=True)
def background_failures(context: template.Context, *kinds: str) -> str:
    """The workspace's background failures (of these kinds, or all), each with its reason and
    a retry, for leaders and managers; nothing for anyone else. One notice for every page that
    depends on background work (core.background). The partial is rendered only when there is
    a failure to show: nearly always there is none, and rendering it empty on every view of
    the queue cost a quarter of a millisecond (issue 16.2)."""
    from unstuck.core.selectors import task_failures

    membership = context.get("membership")
    if membership is None or membership.role not in {"leader", "manager"}:
        return ""
    failures = task_failures(membership.workspace, kinds=kinds)
    if not failures:
        return ""
    request = context.get("request")
    assert context.template is not None  # a tag renders within a template
    partial = context.template.engine.get_template("core/_partials/task_failures.html")
    shown = {
        "failures": failures,
        "workspace": membership.workspace,
        "next": request.get_full_path() if request is not None else "",
        "csrf_token": context.get("csrf_token"),
    }
    return partial.render(context.new(shown))


@register.simple_tag(takes_context=True)
def main_nav(context: template.Context) -> str:
    """The layout's navigation for the page's member and route (see core.nav)."""
    from unstuck.core.nav import nav_html

    membership = context.get("membership")
    if membership is None:
        return ""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    app = (match.app_name if match else "") or ""
    name = (match.url_name if match else "") or ""
    # A rep's open requests: a function (investigate's context processor), called only here.
    count = context.get("my_open_requests")
    open_requests = count() if callable(count) else 0
    return nav_html(membership.workspace.slug, membership.role, app, name, open_requests)
