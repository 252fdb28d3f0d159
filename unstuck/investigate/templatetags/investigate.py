"""Template tags that let the deal page include Investigate's cards with one line each."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from unstuck.deals.models import Deal
from unstuck.investigate import selectors
from unstuck.investigate.models import Factor, ObstacleKind, StepStatus

register = template.Library()


def _e(value: object) -> str:
    return escape(str(value))


@register.simple_tag
def deal_stall(deal: Deal, reads: selectors.DealReads | None = None) -> dict[str, Any] | None:
    return selectors.deal_stall(deal, reads)


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


_FACTOR_BOX = '<label class="small"><input type="checkbox" name="factors" value="{}" {}> {}</label>'
_FACTOR_BOXES = [(_e(code), _e(label), code) for code, label in Factor.choices]


@register.filter
def factor_boxes(chosen: object) -> SafeString:
    """The committee member's factor checkboxes, those they weigh ticked: one string rather
    than a loop of template nodes per member (the deal page repeats it per member)."""
    ticked = chosen if isinstance(chosen, list | tuple | set) else ()
    return mark_safe(  # every value escaped above
        "".join(
            _FACTOR_BOX.format(code, "checked" if raw in ticked else "", label)
            for code, label, raw in _FACTOR_BOXES
        )
    )


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)} %"


@register.filter
def version(row: object | None) -> str:
    """The version an edit form carries back (core.services.row_version)."""
    from unstuck.core.services import row_version

    return row_version(row)


# The queue's rows: the markup the queue page repeats 50 times, filled in Python with every
# text escaped (html.escape, which Django's escape filter applies too) rather than by the
# template engine's ~1,400 node renders for 50 rows (issue 16).
_NO_PAYOFF = """<div class="payoff muted">—</div>
      <div class="muted small">comparable healthy deals win no more often</div>"""


def _queue_row(r: selectors.QueueRow, once: Callable[[object], str], is_manager: bool) -> str:
    reasons = "".join(
        f'<li><span class="chip {once(s.get("severity", ""))}">{once(s.get("label", ""))}</span> '
        f"{_e(s.get('text', ''))}</li>"
        for s in r.reasons
    )
    requests = f' <span class="chip warn">{_e(r.open_requests)}</span>' if r.open_requests else ""
    more = f'<li class="muted small">+ {int(r.more)} more on the deal page</li>' if r.more else ""
    payoff = (
        f'<div class="payoff">{_e(r.payoff)}</div>\n'
        '      <div class="muted small">payoff of innovating</div>'
        if r.payoff
        else _NO_PAYOFF
    )
    start = (
        f'<div><a class="btn small start-session" href="{_e(r.start_url)}">Start a session</a>'
        "</div>"
        if is_manager
        else ""
    )
    return (
        '  <li class="card queue-item">\n'
        f'    <div class="rank">{int(r.rank)}</div>\n'
        '    <div class="what">\n'
        f'      <div><a class="deal-name" href="{_e(r.url)}">{_e(r.name)}</a> '
        f'<span class="chip">{once(r.stage)}</span>{requests}</div>\n'
        f'      <div class="muted small">{_e(r.byline)}</div>\n'
        '      <ul class="plain reasons">\n'
        f"        {reasons}\n"
        f"        {more}\n"
        "      </ul>\n"
        "    </div>\n"
        '    <div class="why-number">\n'
        f"      {payoff}\n"
        f'      <div class="odds-line small">{once(r.odds)} '
        '<span class="muted">if it moved like healthy deals</span></div>\n'
        f'      <div class="score-pill {once(r.score_class)}">stall {int(r.stall_score)}</div>\n'
        f"      {start}\n"
        "    </div>\n"
        "  </li>\n"
    )


@register.simple_tag
def queue_rows(rows: list[selectors.QueueRow], is_manager: bool) -> SafeString:
    """The queue's rows (selectors.QueueRow) as list items; a manager's carry a link to start
    a session on the deal."""
    seen: dict[object, str] = {}

    def once(value: object) -> str:
        """Escaped once a page: stages, signal labels and severities repeat on most rows."""
        found = seen.get(value)
        if found is None:
            found = seen[value] = _e(value)
        return found

    out = [_queue_row(r, once, is_manager) for r in rows]
    return mark_safe("".join(out))  # every value escaped above


@register.simple_tag
def overdue_items(overdue: list[selectors.OverdueRequest], slug: str) -> SafeString:
    """The queue's overdue requests as list items, each linking to its deal's investigation:
    what `{% for %}` with the date, truncatechars and default filters wrote, without the
    template engine's node renders per item (issue 16.2)."""
    from django.utils.formats import date_format
    from django.utils.text import Truncator

    from unstuck.core.templatetags.unstuck import row_url

    deal_url = row_url("deals:detail", "pk", slug=slug)
    return mark_safe(  # every value escaped
        "".join(
            f'<li><span class="late">due {_e(date_format(r.due_date, "M j"))}</span> · '
            f'<a href="{_e(deal_url.for_id(r.deal_id))}#investigation">{_e(r.deal_name)}</a> — '
            f"{_e(Truncator(r.question).chars(90))} "
            f'<span class="muted small">({_e(r.assignee or "—")})</span></li>'
            for r in overdue
        )
    )
