"""A mapping says how one CRM's columns become Unstuck's deal fields.

The mapped-CSV format reads it from TOML (`--mapping mapping.toml`); the Salesforce and HubSpot
readers build theirs from the headers they find; the web wizard edits and saves one. The same
`Mapping.deal_row` turns a row into a DealRow for all of them.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from unstuck.core.errors import UnstuckError
from unstuck.imports.parsing import (
    FileProblem,
    ValueProblem,
    fast_date,
    fast_datetime,
    parse_amount,
    parse_bool,
    parse_date,
    parse_datetime,
)
from unstuck.imports.records import DealRow, HistoryRow, Report

# field → what it means, in the order the wizard shows them
DEAL_FIELDS = {
    "external_id": "The deal's id in the CRM (required)",
    "name": "Deal name",
    "stage": "Stage (required)",
    "pipeline": "Pipeline",
    "amount": "Amount",
    "currency": "Currency code",
    "close_date": "Close date",
    "created_at": "Created date",
    "owner": "Owner (email or name)",
    "account": "Account (id or name)",
    "next_step": "Next step",
    "probability": "Probability (%)",
    "last_activity_at": "Last activity date",
    "stage_entered_at": "Date the current stage began",
    "is_won": "Won? (true/false)",
    "is_closed": "Closed? (true/false)",
}
REQUIRED = ("external_id", "stage")
HISTORY_FIELDS = ("deal", "stage", "entered_at", "amount", "close_date")
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(\.[\w-]+)+")
_TEMPLATE = re.compile(r"\{([^{}]+)\}")
_WON = re.compile(r"\b(closed[\s_-]*)?won\b|^won$", re.I)
_LOST = re.compile(r"\b(closed[\s_-]*)?lost\b|^lost$|^loss$", re.I)


@functools.lru_cache(maxsize=4096)
def _person(owner: str) -> tuple[str, str]:
    """(email, name) from "Jane Doe <jane@x.com>", "Jane Doe (jane@x.com)", an address or a name."""
    email = _EMAIL.search(owner)
    if email:
        return email.group(0).lower(), owner[: email.start()].strip(" <(\t")
    return "", owner


@functools.lru_cache(maxsize=4096)
def kind_from_name(stage: str) -> str:
    """A guess for stages the export does not classify: 'Closed Won' is won, and so on."""
    if _WON.search(stage):
        return "won"
    if _LOST.search(stage):
        return "lost"
    return "open"


@dataclass
class Companion:
    """A file beside the deals file joined on a key: accounts, owners, or a lookup table."""

    path: str
    key: str  # column in the companion
    join: str  # column in the deals file
    columns: dict[str, str] = field(default_factory=dict)  # field → column (accounts)
    custom: list[str] = field(default_factory=list)  # copied into custom attributes
    replace: dict[str, str] = field(default_factory=dict)  # deals-file value → companion key


@dataclass
class Mapping:
    source: str
    columns: dict[str, str]  # field → column or "{template}"
    pipeline: str = ""  # the one pipeline, when no column names it
    currency: str = ""
    stage_order: list[str] = field(default_factory=list)
    stage_rename: dict[str, str] = field(default_factory=dict)
    won: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    strict_stages: bool = False  # only the listed stages are allowed
    stage_dates: list[tuple[str, str, str]] = field(default_factory=list)  # stage, pipeline, col
    date_formats: tuple[str, ...] = ()
    dayfirst: bool = False
    decimal: str | None = None
    custom: list[str] = field(default_factory=list)
    history: dict[str, str] = field(default_factory=dict)  # HISTORY_FIELDS → column
    accounts: Companion | None = None
    owners: Companion | None = None
    lookups: list[Companion] = field(default_factory=list)
    on_conflict: str = "reject"  # conflicting duplicate ids: reject, first or last
    optional_columns: bool = False  # built-in mappings skip fields whose column is absent

    # --- building -------------------------------------------------------------------------
    @classmethod
    def from_toml(cls, path: Path) -> Mapping:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UnstuckError(f"The mapping file {path} does not exist.") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UnstuckError(f"The mapping file {path} is not valid TOML: {exc}") from None
        return cls.from_dict(data, where=str(path))

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "the mapping") -> Mapping:
        def fail(message: str) -> UnstuckError:
            return UnstuckError(f"{where}: {message}")

        columns = dict(data.get("columns", {}))
        unknown = sorted(set(columns) - set(DEAL_FIELDS))
        if unknown:
            raise fail(
                f"unknown field(s) {', '.join(unknown)} in [columns]; use {', '.join(DEAL_FIELDS)}."
            )
        missing = [f for f in REQUIRED if not columns.get(f)]
        if missing:
            raise fail(f"[columns] must name the column for {', '.join(missing)}.")
        stages = data.get("stages", {})
        dates = data.get("dates", {})
        amounts = data.get("amounts", {})
        history = dict(data.get("history", {}))
        if history and not {"deal", "stage", "entered_at"} <= set(history):
            raise fail("[history] needs the columns deal, stage and entered_at.")
        on_conflict = data.get("duplicates", {}).get("on_conflict", "reject")
        if on_conflict not in {"reject", "first", "last"}:
            raise fail("[duplicates] on_conflict is one of reject, first, last.")
        companions = data.get("files", {})

        def companion(spec: dict[str, Any]) -> Companion:
            for key in ("path", "key", "join"):
                if key not in spec:
                    raise fail(f"a companion file needs '{key}'.")
            return Companion(
                path=spec["path"],
                key=spec["key"],
                join=spec["join"],
                columns=dict(spec.get("columns", {})),
                custom=list(spec.get("custom", [])),
                replace=dict(spec.get("replace", {})),
            )

        return cls(
            source=str(data.get("source", "csv"))[:30],
            columns=columns,
            pipeline=str(data.get("pipeline", "")),
            currency=str(amounts.get("currency", data.get("currency", ""))),
            stage_order=list(stages.get("order", [])),
            stage_rename=dict(stages.get("rename", {})),
            won=list(stages.get("won", [])),
            lost=list(stages.get("lost", [])),
            strict_stages=bool(stages.get("only_these", bool(stages.get("order")))),
            stage_dates=[(s, "", c) for s, c in data.get("stage_dates", {}).items()],
            date_formats=tuple(dates.get("formats", ())),
            dayfirst=bool(dates.get("dayfirst", False)),
            decimal=amounts.get("decimal"),
            custom=list(data.get("custom", {}).get("columns", [])),
            history=history,
            accounts=companion(companions["accounts"]) if "accounts" in companions else None,
            owners=companion(companions["owners"]) if "owners" in companions else None,
            lookups=[companion(spec) for spec in companions.get("lookups", [])],
            on_conflict=on_conflict,
        )

    def to_dict(self) -> dict[str, Any]:
        """The TOML-shaped form, for saving a wizard's mapping."""
        return {
            "source": self.source,
            "pipeline": self.pipeline,
            "columns": self.columns,
            "stages": {
                "order": self.stage_order,
                "rename": self.stage_rename,
                "won": self.won,
                "lost": self.lost,
            },
            "dates": {"formats": list(self.date_formats), "dayfirst": self.dayfirst},
            "amounts": {
                "currency": self.currency,
                **({"decimal": self.decimal} if self.decimal else {}),
            },
            "custom": {"columns": self.custom},
            "duplicates": {"on_conflict": self.on_conflict},
            **({"history": self.history} if self.history else {}),
        }

    # --- checking headers -----------------------------------------------------------------
    def referenced(self, spec: str) -> list[str]:
        found = _TEMPLATE.findall(spec)
        return found if found else [spec]

    def check_headers(self, headers: list[str], *, file: str) -> None:
        """Missing columns: one message naming them and the headers found."""
        present = set(headers)
        needed: list[str] = []
        for fld, spec in self.columns.items():
            if not spec:
                continue
            cols = self.referenced(spec)
            if self.optional_columns and fld not in REQUIRED:
                continue
            needed += [c for c in cols if c not in present]
        needed += [c for _, _, c in self.stage_dates if c not in present]
        needed += [c for c in self.custom if c not in present and not self.optional_columns]
        for comp in [self.accounts, self.owners, *self.lookups]:
            if comp and comp.join not in present:
                needed.append(comp.join)
        if needed:
            missing = list(dict.fromkeys(needed))
            raise FileProblem(
                f"{file}: missing required column(s): {', '.join(missing)}. "
                f"Headers found: {', '.join(headers) or '(none)'}."
            )
        if self.optional_columns:
            self.columns = {
                f: s
                for f, s in self.columns.items()
                if all(c in present for c in self.referenced(s))
            }
            self.custom = [c for c in self.custom if c in present]

    def check_history_headers(self, headers: list[str], *, file: str) -> None:
        missing = [c for f, c in self.history.items() if c and c not in headers]
        if missing:
            raise FileProblem(
                f"{file}: missing required column(s): {', '.join(missing)}. "
                f"Headers found: {', '.join(headers) or '(none)'}."
            )

    # --- rows -----------------------------------------------------------------------------
    def value(self, fld: str, row: dict[str, str]) -> str:
        spec = self.columns.get(fld)
        if not spec:
            return ""
        if spec in row:
            return row[spec].strip()
        if "{" in spec:
            text = _TEMPLATE.sub(lambda m: row.get(m.group(1), "").strip(), spec)
            return text.strip(" -/|,\u2014\u2013")
        return row.get(spec, "").strip()

    def stage_name(self, raw: str) -> str:
        return self.stage_rename.get(raw, raw)

    def stage_kind(self, stage: str) -> str:
        if stage in self.won:
            return "won"
        if stage in self.lost:
            return "lost"
        if self.won or self.lost:
            return "open"
        return ""

    def deal_row(
        self,
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
            column = self.columns.get(fld, fld)
            report.problem(file=file, line=line, column=column, value=value, reason=reason, row=row)

        def dt(fld: str, raw: str | None = None) -> Any:
            raw = self.value(fld, row) if raw is None else raw
            try:
                return parse_datetime(raw, formats=self.date_formats, dayfirst=self.dayfirst)
            except ValueProblem as exc:
                problem(fld, raw, str(exc))
                return None

        def day(fld: str) -> Any:
            raw = self.value(fld, row)
            try:
                return parse_date(raw, formats=self.date_formats, dayfirst=self.dayfirst)
            except ValueProblem as exc:
                problem(fld, raw, str(exc))
                return None

        external_id = self.value("external_id", row)
        if not external_id:
            problem("external_id", "", "the id is empty")
        elif len(external_id) > 100:
            problem("external_id", external_id, "the id is longer than 100 characters")
        raw_stage = self.value("stage", row)
        stage = self.stage_name(raw_stage)
        if not stage:
            problem("stage", "", "the stage is empty")
        elif self.strict_stages and stage not in self.stage_order:
            problem(
                "stage",
                raw_stage,
                f"unknown stage; the mapping knows {', '.join(self.stage_order)}",
            )
        elif len(stage) > 100:
            problem("stage", raw_stage, "the stage name is longer than 100 characters")
        kind = self.stage_kind(stage)
        won_raw, closed_raw = self.value("is_won", row), self.value("is_closed", row)
        if "is_closed" in self.columns or "is_won" in self.columns:
            try:
                won = parse_bool(won_raw) if won_raw else False
                closed = parse_bool(closed_raw) if closed_raw else won
                kind = ("won" if won else "lost") if closed else "open"
            except ValueProblem as exc:
                problem("is_won" if won_raw else "is_closed", won_raw or closed_raw, str(exc))
        amount_raw = self.value("amount", row)
        try:
            amount = parse_amount(amount_raw, decimal_sep=self.decimal)
        except ValueProblem as exc:
            problem("amount", amount_raw, str(exc))
            amount = None
        probability = None
        if prob_raw := self.value("probability", row).rstrip("%").strip():
            try:
                probability = round(float(prob_raw.replace(",", ".")))
                if not 0 <= probability <= 100:
                    raise ValueError
            except ValueError:
                problem("probability", prob_raw, "not a percentage between 0 and 100")
                probability = None
        currency = (self.value("currency", row) or self.currency).upper()
        if currency and not re.fullmatch(r"[A-Z]{3}", currency):
            problem("currency", currency, "not a three-letter currency code")
        close_date = day("close_date")
        created_at = dt("created_at")
        entered = dt("stage_entered_at")
        last_activity = dt("last_activity_at")
        name = self.value("name", row) or external_id
        deal_history: list[HistoryRow] = history if history is not None else []
        deal_pipeline = self.value("pipeline", row) or self.pipeline
        for stage_name, pipeline, column in self.stage_dates:
            raw = row.get(column, "").strip()
            if not raw or (pipeline and deal_pipeline and pipeline != deal_pipeline):
                continue
            at = dt(column, raw)
            if at is None:
                continue
            # A won/lost date column only applies to deals that ended in that stage.
            if self.stage_kind(stage_name) in {"won", "lost"} and stage_name != stage:
                continue
            deal_history.append(HistoryRow(line, external_id, stage_name, at, None, None))
        if bad:
            if external_id:
                report.rejected_ids.add(external_id)
            return None
        deal_custom = {c: row[c].strip() for c in self.custom if row.get(c, "").strip()}
        if custom:
            deal_custom.update(custom)
        person = _person(self.value("owner", row))
        return DealRow(
            line=line,
            external_id=external_id,
            name=name[:255],
            account_key=self.value("account", row)[:100],
            owner=person,
            pipeline=(self.value("pipeline", row) or self.pipeline)[:100],
            stage=stage,
            kind=kind,
            probability=probability,
            amount=amount,
            currency=currency,
            close_date=close_date,
            created_at=created_at,
            stage_entered_hint=entered,
            last_activity_at=last_activity,
            next_step=self.value("next_step", row)[:500],
            custom=deal_custom,
            raw=row,
        )

    def history_row(
        self, line: int, row: dict[str, str], *, file: str, report: Report
    ) -> HistoryRow | None:
        """One long-form history row; the common clean row takes a fast path (a history file
        has five rows per deal, so this is the hot loop of a large import)."""
        h = self.history
        if not self.date_formats:
            try:
                deal = row[h["deal"]].strip()
                raw_stage = row[h["stage"]].strip()
                stage = self.stage_rename.get(raw_stage, raw_stage)
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
                    and (not self.strict_stages or stage in self.stage_order)
                ):
                    return HistoryRow(line, deal, stage, at, amount, close)
            except (KeyError, ValueError):
                pass
        return self._history_row_checked(line, row, file=file, report=report)

    def _history_row_checked(
        self, line: int, row: dict[str, str], *, file: str, report: Report
    ) -> HistoryRow | None:
        bad = False

        def problem(fld: str, value: str, reason: str) -> None:
            nonlocal bad
            bad = True
            report.problem(
                file=file,
                line=line,
                column=self.history.get(fld, fld),
                value=value,
                reason=reason,
                row=row,
            )

        def col(fld: str) -> str:
            column = self.history.get(fld)
            return row.get(column, "").strip() if column else ""

        deal = col("deal")
        if not deal:
            problem("deal", "", "the deal id is empty")
        stage = self.stage_name(col("stage"))
        if not stage:
            problem("stage", "", "the stage is empty")
        elif self.strict_stages and stage not in self.stage_order:
            problem("stage", col("stage"), "unknown stage")
        at = None
        try:
            at = parse_datetime(
                col("entered_at"), formats=self.date_formats, dayfirst=self.dayfirst
            )
            if at is None:
                problem("entered_at", "", "the date is empty")
        except ValueProblem as exc:
            problem("entered_at", col("entered_at"), str(exc))
        amount = close_date = None
        try:
            amount = parse_amount(col("amount"), decimal_sep=self.decimal)
        except ValueProblem as exc:
            problem("amount", col("amount"), str(exc))
        try:
            close_date = parse_date(
                col("close_date"), formats=self.date_formats, dayfirst=self.dayfirst
            )
        except ValueProblem as exc:
            problem("close_date", col("close_date"), str(exc))
        if bad or at is None:
            return None
        return HistoryRow(line, deal, stage, at, amount, close_date)
