"""Template tags that let the deal page include Investigate's cards with one line each."""

from __future__ import annotations

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


# One queue row: the markup the queue page repeats 50 times, filled in Python with every value
# escaped (html.escape, which Django's escape filter applies too) rather than by the template
# engine's ~1,400 node renders for 50 rows (issue 16).
_QUEUE_ROW = (
    '  <li class="card queue-item">\n'
    '    <div class="rank">{rank}</div>\n'
    '    <div class="what">\n'
    '      <div><a class="deal-name" href="{url}">{name}</a> '
    '<span class="chip">{stage}</span>{requests}</div>\n'
    '      <div class="muted small">{byline}</div>\n'
    '      <ul class="plain reasons">\n'
    "        {reasons}\n"
    "        {more}\n"
    "      </ul>\n"
    "    </div>\n"
    '    <div class="why-number">\n'
    "      {payoff}\n"
    '      <div class="odds-line small">{odds} '
    '<span class="muted">if it moved like healthy deals</span></div>\n'
    '      <div class="score-pill {score_class}">stall {stall_score}</div>\n'
    "      {start}\n"
    "    </div>\n"
    "  </li>\n"
)
_REQUESTS = ' <span class="chip warn">{}</span>'
_REASON = '<li><span class="chip {}">{}</span> {}</li>'
_MORE = '<li class="muted small">+ {} more on the deal page</li>'
_PAYOFF = """<div class="payoff">{}</div>
      <div class="muted small">payoff of innovating</div>"""
_NO_PAYOFF = """<div class="payoff muted">—</div>
      <div class="muted small">comparable healthy deals win no more often</div>"""
_START = '<div><a class="btn small start-session" href="{}">Start a session</a></div>'


@register.simple_tag
def queue_rows(rows: list[selectors.QueueRow], is_manager: bool) -> SafeString:
    """The queue's rows (selectors.QueueRow) as list items; a manager's carry a link to start
    a session on the deal."""
    out = []
    for r in rows:
        reasons = "".join(
            _REASON.format(_e(s.get("severity", "")), _e(s.get("label", "")), _e(s.get("text", "")))
            for s in r.reasons
        )
        out.append(
            _QUEUE_ROW.format(
                rank=r.rank,
                url=_e(r.url),
                name=_e(r.name),
                stage=_e(r.stage),
                requests=_REQUESTS.format(_e(r.open_requests)) if r.open_requests else "",
                byline=_e(r.byline),
                reasons=reasons,
                more=_MORE.format(r.more) if r.more else "",
                payoff=_PAYOFF.format(_e(r.payoff)) if r.payoff else _NO_PAYOFF,
                odds=_e(r.odds),
                score_class=_e(r.score_class),
                stall_score=int(r.stall_score),
                start=_START.format(_e(r.start_url)) if is_manager else "",
            )
        )
    return mark_safe("".join(out))  # every value escaped above
