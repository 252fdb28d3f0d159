"""An import plan: the sniffed files, the mapping that reads them, and the rows they yield.

Salesforce, HubSpot and mapped CSV differ only in how their plan is built (readers/*.py);
reading rows, joining companion files and handing rows to the loader is shared here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from unstuck.core.models import Workspace
from unstuck.imports.loader import LoadOptions
from unstuck.imports.mapping import Companion, Mapping
from unstuck.imports.parsing import FileProblem, SniffedFile, file_sha256, iter_rows, sniff
from unstuck.imports.records import AccountRow, DealRow, HistoryRow, Report
from unstuck.imports.rows import deal_row, history_row


def open_file(path: Path | str, *, role: str, name: str | None = None) -> SniffedFile:
    sniffed = sniff(Path(path), name=name)
    sniffed.sha256 = file_sha256(sniffed.path)
    sniffed.notes.append(role)
    return sniffed


def _read_companion(
    comp: Companion, sniffed: SniffedFile, report: Report
) -> dict[str, dict[str, str]]:
    needed = [comp.key, *comp.columns.values(), *comp.custom]
    missing = [c for c in dict.fromkeys(needed) if c and c not in sniffed.headers]
    if missing:
        raise FileProblem(
            f"{sniffed.name}: missing required column(s): {', '.join(missing)}. "
            f"Headers found: {', '.join(sniffed.headers)}."
        )
    table: dict[str, dict[str, str]] = {}
    for row in iter_rows(sniffed, report=report):
        key = row.values.get(comp.key, "").strip()
        if key:
            table[key] = {k: v.strip() for k, v in row.values.items()}
    return table


def _int(text: str) -> int | None:
    try:
        return int(float(text.replace(",", ""))) if text else None
    except ValueError:
        return None


@dataclass
class ImportPlan:
    kind: str  # salesforce / hubspot / csv
    mapping: Mapping
    deals: SniffedFile
    history: SniffedFile | None = None
    format_label: str = ""
    companions: list[tuple[Companion, SniffedFile]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    accounts_from_names: bool = False
    skip_deleted: bool = False
    _accounts: list[AccountRow] = field(default_factory=list)
    _owners: dict[str, tuple[str, str]] = field(default_factory=dict)
    _enrich: list[tuple[Companion, dict[str, dict[str, str]]]] = field(default_factory=list)
    _stage_history: list[HistoryRow] = field(default_factory=list)
    contacts: SniffedFile | None = None
    contact_roles: SniffedFile | None = None
    activities: SniffedFile | None = None

    @property
    def files(self) -> list[SniffedFile]:
        out = [self.deals]
        if self.history:
            out.append(self.history)
        out += [f for _, f in self.companions]
        out += [f for f in (self.contacts, self.contact_roles, self.activities) if f]
        return out

    def load_related(self, workspace: Workspace, report: Report) -> dict[str, int]:
        """Contacts, contact roles and activities, once the deals are in."""
        from unstuck.imports.related import load_activities, load_contacts

        counts: dict[str, int] = {}
        if self.contacts is not None:
            counts |= load_contacts(
                workspace=workspace,
                source=self.mapping.source,
                contacts=self.contacts,
                roles=self.contact_roles,
                report=report,
            )
        if self.activities is not None:
            counts |= load_activities(
                workspace=workspace,
                source=self.mapping.source,
                tasks=self.activities,
                report=report,
                set_last_activity="last_activity_at" not in self.mapping.columns,
            )
        return counts

    @property
    def has_related(self) -> bool:
        return self.contacts is not None or self.activities is not None

    def check(self) -> None:
        """Header checks for every file; raises FileProblem with one clear message."""
        self.mapping.check_headers(self.deals.headers, file=self.deals.name)
        if self.history is not None:
            self.mapping.check_history_headers(self.history.headers, file=self.history.name)

    def prepare(self, report: Report) -> None:
        """Read the small companion files (accounts, owners, lookups) into memory."""
        mapping = self.mapping
        for comp, sniffed in self.companions:
            table = _read_companion(comp, sniffed, report)
            if comp is mapping.accounts:
                cols = comp.columns
                for key, row in table.items():
                    self._accounts.append(
                        AccountRow(
                            external_id=key[:100],
                            name=row.get(cols.get("name", comp.key), key)[:255],
                            industry=row.get(cols.get("industry", ""), "")[:100],
                            employees=_int(row.get(cols.get("employees", ""), "")),
                            country=row.get(cols.get("country", ""), "")[:100],
                            custom={c: row[c] for c in comp.custom if row.get(c)},
                        )
                    )
            if comp is mapping.owners:
                email_col, name_col = comp.columns.get("email", ""), comp.columns.get("name", "")
                for key, row in table.items():
                    self._owners[key] = (
                        row.get(email_col, "").lower() if email_col else "",
                        row.get(name_col, "") if name_col else key,
                    )
            if comp.custom and comp is not mapping.accounts:
                self._enrich.append((comp, table))

    def load_options(self, *, strict: bool, assign_owners: dict[str, str]) -> LoadOptions:
        m = self.mapping
        kinds = dict.fromkeys(m.won, "won") | dict.fromkeys(m.lost, "lost")
        if m.won or m.lost:
            kinds |= {s: "open" for s in m.stage_order if s not in kinds}
        return LoadOptions(
            source=m.source,
            strict=strict,
            on_conflict=m.on_conflict,
            stage_order=m.stage_order,
            stage_kinds=kinds,
            accounts_from_names=self.accounts_from_names,
            assign_owners=assign_owners,
            id_label=m.columns.get("external_id", "id"),
            deals_file=self.deals.name,
            history_file=self.history.name if self.history else "history",
        )

    @property
    def accounts(self) -> list[AccountRow]:
        return self._accounts

    def deal_rows(self, report: Report) -> Iterator[DealRow]:
        mapping = self.mapping
        owner_column = mapping.columns.get("owner", "")
        unmatched: set[tuple[str, str]] = set()
        rows = 0
        for row in iter_rows(self.deals, report=report):
            rows += 1
            report.rows_read += 1
            values = row.values
            if self.skip_deleted and values.get("IsDeleted", "").strip().lower() in {"1", "true"}:
                continue
            custom: dict[str, str] = {}
            for comp, table in self._enrich:
                key = values.get(comp.join, "").strip()
                key = comp.replace.get(key, key)
                hit = table.get(key)
                if hit is not None:
                    custom.update({c: hit[c] for c in comp.custom if hit.get(c)})
                elif key and (comp.path, key) not in unmatched:
                    unmatched.add((comp.path, key))
                    report.warning(
                        file=self.deals.name,
                        line=row.line,
                        column=comp.join,
                        value=key,
                        reason=f"not found in {comp.path}; its attributes are left out",
                    )
            deal = deal_row(
                mapping,
                row.line,
                values,
                file=self.deals.name,
                report=report,
                custom=custom,
                history=self._stage_history,
            )
            if deal is None:
                continue
            if self._owners and owner_column:
                raw_owner = values.get(owner_column, "").strip()
                deal = deal._replace(owner=self._owners.get(raw_owner, ("", raw_owner)))
            yield deal
        if rows == 0 and not report.errors:
            raise FileProblem(f"{self.deals.name}: there are no data rows below the header.")

    def history_rows(self, report: Report) -> Iterator[HistoryRow]:
        # Rows rebuilt from stage-date columns were gathered while the deals streamed.
        yield from self._stage_history
        self._stage_history = []
        if self.history is None:
            return
        for row in iter_rows(self.history, report=report):
            report.rows_read += 1
            if self.skip_deleted and row.values.get("IsDeleted", "").strip().lower() in {
                "1",
                "true",
            }:
                continue
            h = history_row(
                self.mapping, row.line, row.values, file=self.history.name, report=report
            )
            if h is not None:
                yield h
