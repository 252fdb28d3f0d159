"""What readers hand the loader: normalised deal, history and account rows, and the report.

Every reader (Salesforce, HubSpot, mapped CSV) turns its files into these, so one loader
writes them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple


class DealRow(NamedTuple):
    line: int
    external_id: str
    name: str
    account_key: str  # the account's external id in this source ('' for none)
    owner: tuple[str, str]  # (email, name) as the CRM knows the owner; either may be ''
    pipeline: str
    stage: str
    kind: str  # 'open' / 'won' / 'lost' when the export says so, else ''
    probability: int | None
    amount: Decimal | None
    currency: str
    close_date: date | None
    created_at: datetime | None
    stage_entered_hint: datetime | None  # when the export says the current stage began
    last_activity_at: datetime | None
    next_step: str
    custom: dict[str, Any]
    raw: dict[str, str]  # the row as read, for comparing duplicates and for reports


class HistoryRow(NamedTuple):
    line: int
    deal_external_id: str
    stage: str
    changed_at: datetime
    amount: Decimal | None
    close_date: date | None


class AccountRow(NamedTuple):
    external_id: str
    name: str
    industry: str = ""
    employees: int | None = None
    country: str = ""
    custom: dict[str, Any] = {}


@dataclass
class Problem:
    file: str
    line: int
    column: str
    value: str
    reason: str
    severity: str = "error"  # 'error' rejects the row; 'warning' is reported only
    row: dict[str, str] | None = None

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        if self.column:
            where += f", column {self.column!r}"
        value = f" {self.value!r}:" if self.value else ""
        return f"{where}:{value} {self.reason}"


@dataclass
class Report:
    """Everything an import found: problems row by row, and notes for the person importing."""

    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rejected: set[tuple[str, int]] = field(default_factory=set)
    rejected_ids: set[str] = field(default_factory=set)  # deals whose row was rejected
    rows_read: int = 0

    def problem(
        self,
        *,
        file: str,
        line: int,
        column: str,
        value: str,
        reason: str,
        row: dict[str, str] | None = None,
    ) -> None:
        self.problems.append(Problem(file, line, column, str(value)[:200], reason, "error", row))
        self.rejected.add((file, line))

    def warning(self, *, file: str, line: int, column: str, value: str, reason: str) -> None:
        self.problems.append(Problem(file, line, column, str(value)[:200], reason, "warning"))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def rejected_count(self) -> int:
        return len(self.rejected)
