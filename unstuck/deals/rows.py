"""The pipeline table's rows as HTML, written once per page in Python.

Each row was a dozen template variables and conditions (resolved, localised and escaped one
by one by the template engine, 50 rows a page): about two thirds of the table's rendering
time. The rows are `PipelineRow`s with every cell already formatted, so all that is left is
escaping the text and placing it in the markup below.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from unstuck.deals.selectors import PipelineRow

CLOSED = '<span class="muted">closed</span>'
NO_ACTIVITY = '<span class="muted">none</span>'


def row_html(row: PipelineRow) -> str:
    in_stage = f"{row.in_stage} d" if row.is_open else CLOSED
    if row.last_activity is None:
        activity = NO_ACTIVITY
    else:
        activity = f'<span class="{"late" if row.quiet else ""}">{row.last_activity} d ago</span>'
    return (
        "  <tr>\n"
        f'    <td class="first"><a class="deal-name" href="{escape(row.url)}">{escape(row.name)}'
        f'</a><div class="muted small">{escape(row.account)}</div></td>\n'
        f'    <td data-label="Owner">{escape(row.owner)}</td>\n'
        f'    <td data-label="Stage"><span class="chip {escape(row.status)}">{escape(row.stage)}'
        "</span></td>\n"
        f'    <td data-label="Amount" class="num">{escape(row.amount)}</td>\n'
        f'    <td data-label="Close date" class="{"late" if row.late else ""}">'
        f"{escape(row.close_date)}</td>\n"
        f'    <td data-label="In stage" class="num">{in_stage}</td>\n'
        f'    <td data-label="Last activity" class="num">{activity}</td>\n'
        "  </tr>\n"
    )


def rows_html(rows: Iterable[PipelineRow]) -> SafeString:
    """The table body's rows; every text from the database is escaped."""
    return mark_safe("".join(row_html(row) for row in rows))
