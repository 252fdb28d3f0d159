"""Every CSV Unstuck writes goes through here, so that no cell can run as a spreadsheet formula.

Cells come from CRM exports and from what people typed; a cell such as `=HYPERLINK(…)`,
`+cmd|…` or `@SUM(…)` would be evaluated by Excel, LibreOffice or Google Sheets when the file
is opened (CSV injection, OWASP). Such a cell is written with a leading apostrophe, which
spreadsheets show as text. Numbers, including negative ones, are left as they are.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, Protocol

# What a spreadsheet may read as the start of a formula, after any leading blanks.
_FORMULA_START = frozenset("=+-@\t\r\n")
_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def safe_cell(value: Any) -> Any:
    """The value as it may be written to a CSV cell: formula-looking text is neutralised."""
    if not isinstance(value, str) or not value:
        return value
    stripped = value.lstrip(" ")
    if stripped[:1] in _FORMULA_START and not _NUMBER.match(value):
        return "'" + value
    return value


class Writable(Protocol):
    """A file, a stream or a management command's stdout: anything with write(str)."""

    def write(self, text: str, /) -> Any: ...


class SafeWriter:
    """`csv.writer` with every cell passed through `safe_cell`."""

    def __init__(self, fh: Writable, **kwargs: Any) -> None:
        self._writer = csv.writer(fh, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(fh: Writable, **kwargs: Any) -> SafeWriter:
    """A CSV writer for files people will open in a spreadsheet."""
    return SafeWriter(fh, **kwargs)
