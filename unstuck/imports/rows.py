"""Rows through a mapping: a deals-file row becomes a DealRow (with the history its stage-date
columns tell), a history-file row a HistoryRow; every problem is reported with its row, column,
value and reason."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from unstuck.imports.mapping import Mapping, person_of
from unstuck.imports.parsing import (
    ValueProblem,
    fast_date,
    fast_datetime,
    parse_amount,
    parse_bool,
    parse_date,
    parse_datetime,
)
from unstuck.imports.records import DealRow, HistoryRow, Report

_CURRENCY = re.compile(r"[A-Z]{3}")


def deal_row(
    m: Mapping,
    line: int,
    row: dict[str, str],
    *,
    file: str,
    report: Report,
    custom: dict[str, Any] | None = None,
    history: list[HistoryRow] | None = None,
) -> DealRow | None:
    """One row → a DealRow, or None with every problem of the row reported."""
    bad = False

    def problem(fld: str, value: str, reason: str) -> None:
        nonlocal bad
        bad = True
        column = m.columns.get(fld, fld)
        report.problem(file=file, line=line, column=column, value=value, reason=reason, row=row)

    def dt(fld: str, raw: str | None = None) -> Any:
        raw = m.value(fld, row) if raw is None else raw
        try:
            return parse_datetime(raw, formats=m.date_formats, dayfirst=m.dayfirst)
        except ValueProblem as exc:
            problem(fld, raw, str(exc))
            return None

    def day(fld: str) -> Any:
        raw = m.value(fld, row)
        try:
            return parse_date(raw, formats=m.date_formats, dayfirst=m.dayfirst)
        except ValueProblem as exc:
            problem(fld, raw, str(exc))
            return None

    external_id = m.value("external_id", row)
    if not external_id:
        problem("external_id", "", "the id is empty")
    elif len(external_id) > 100:
        problem("external_id", external_id, "the id is longer than 100 characters")
    raw_stage = m.value("stage", row)
    stage = m.stage_name(raw_stage)
    if not stage:
        problem("stage", "", "the stage is empty")
    elif m.strict_stages and stage not in m.stage_order:
        problem(
            "stage",
            raw_stage,
            f"unknown stage; the mapping knows {', '.join(m.stage_order)}",
        )
    elif len(stage) > 100:
        problem("stage", raw_stage, "the stage name is longer than 100 characters")
    kind = m.stage_kind(stage)
    won_raw, closed_raw = m.value("is_won", row), m.value("is_closed", row)
    if "is_closed" in m.columns or "is_won" in m.columns:
        try:
            won = parse_bool(won_raw) if won_raw else False
            closed = parse_bool(closed_raw) if closed_raw else won
            kind = ("won" if won else "lost") if closed else "open"
        except ValueProblem as exc:
            problem("is_won" if won_raw else "is_closed", won_raw or closed_raw, str(exc))
    amount_raw = m.value("amount", row)
    try:
        amount = parse_amount(amount_raw, decimal_sep=m.decimal)
    except ValueProblem as exc:
        problem("amount", amount_raw, str(exc))
        amount = None
    probability = None
    if prob_raw := m.value("probability", row).rstrip("%").strip():
        try:
            probability = round(float(prob_raw.replace(",", ".")))
            if not 0 <= probability <= 100:
                raise ValueError
        except ValueError:
            problem("probability", prob_raw, "not a percentage between 0 and 100")
            probability = None
    currency = (m.value("currency", row) or m.currency).upper()
    if currency and not _CURRENCY.fullmatch(currency):
        problem("currency", currency, "not a three-letter currency code")
    close_date = day("close_date")
    created_at = dt("created_at")
    entered = dt("stage_entered_at")
    last_activity = dt("last_activity_at")
    name = m.value("name", row) or external_id
    deal_history: list[HistoryRow] = history if history is not None else []
    deal_pipeline = m.value("pipeline", row) or m.pipeline
    for stage_name, pipeline, column in m.stage_dates:
        raw = row.get(column, "").strip()
        if not raw or (pipeline and deal_pipeline and pipeline != deal_pipeline):
            continue
        at = dt(column, raw)
        if at is None:
            continue
        # A won/lost date column only applies to deals that ended in that stage.
        if m.stage_kind(stage_name) in {"won", "lost"} and stage_name != stage:
            continue
        deal_history.append(HistoryRow(line, external_id, stage_name, at, None, None))
    if bad:
        if external_id:
            report.rejected_ids.add(external_id)
        return None
    deal_custom = {c: row[c].strip() for c in m.custom if row.get(c, "").strip()}
    if custom:
        deal_custom.update(custom)
    person = person_of(m.value("owner", row))
    return DealRow(
        line=line,
        external_id=external_id,
        name=name[:255],
        account_key=m.value("account", row)[:100],
        owner=person,
        pipeline=(m.value("pipeline", row) or m.pipeline)[:100],
        stage=stage,
        kind=kind,
        probability=probability,
        amount=amount,
        currency=currency,
        close_date=close_date,
        created_at=created_at,
        stage_entered_hint=entered,
        last_activity_at=last_activity,
        next_step=m.value("next_step", row)[:500],
        custom=deal_custom,
        raw=row,
    )


def history_row(
    m: Mapping, line: int, row: dict[str, str], *, file: str, report: Report
) -> HistoryRow | None:
    """One long-form history row; the common clean row takes a fast path (a history file
    has five rows per deal, so this is the hot loop of a large import)."""
    h = m.history
    if not m.date_formats:
        try:
            deal = row[h["deal"]].strip()
            raw_stage = row[h["stage"]].strip()
            stage = m.stage_rename.get(raw_stage, raw_stage)
            at = fast_datetime(row[h["entered_at"]])
            raw_amount = row[h["amount"]].strip() if "amount" in h else ""
            amount = Decimal(raw_amount) if raw_amount.isdigit() else None
            raw_close = row[h["close_date"]].strip() if "close_date" in h else ""
            close = fast_date(raw_close) if raw_close else None
            if (
                deal
                and stage
                and len(stage) <= 100
                and (amount is not None or not raw_amount)
                and (not m.strict_stages or stage in m.stage_order)
            ):
                return HistoryRow(line, deal, stage, at, amount, close)
        except (KeyError, ValueError):
            pass
    return _history_row_checked(m, line, row, file=file, report=report)


def _history_row_checked(
    m: Mapping, line: int, row: dict[str, str], *, file: str, report: Report
) -> HistoryRow | None:
    bad = False

    def problem(fld: str, value: str, reason: str) -> None:
        nonlocal bad
        bad = True
        report.problem(
            file=file,
            line=line,
            column=m.history.get(fld, fld),
            value=value,
            reason=reason,
            row=row,
        )

    def col(fld: str) -> str:
        column = m.history.get(fld)
        return row.get(column, "").strip() if column else ""

    deal = col("deal")
    if not deal:
        problem("deal", "", "the deal id is empty")
    stage = m.stage_name(col("stage"))
    if not stage:
        problem("stage", "", "the stage is empty")
    elif m.strict_stages and stage not in m.stage_order:
        problem("stage", col("stage"), "unknown stage")
    at = None
    try:
        at = parse_datetime(col("entered_at"), formats=m.date_formats, dayfirst=m.dayfirst)
        if at is None:
            problem("entered_at", "", "the date is empty")
    except ValueProblem as exc:
        problem("entered_at", col("entered_at"), str(exc))
    amount = close_date = None
    try:
        amount = parse_amount(col("amount"), decimal_sep=m.decimal)
    except ValueProblem as exc:
        problem("amount", col("amount"), str(exc))
    try:
        close_date = parse_date(col("close_date"), formats=m.date_formats, dayfirst=m.dayfirst)
    except ValueProblem as exc:
        problem("close_date", col("close_date"), str(exc))
    if bad or at is None:
        return None
    return HistoryRow(line, deal, stage, at, amount, close_date)
