"""The one loader under every import: it stages, checks and hands over to upsert.py.

Idempotent by (workspace, source, external id): a deal whose fields did not change is left
alone, history rows already present (same deal, stage and time) are not added again. All an
import writes is written in one transaction, so a killed import leaves nothing behind and
running it again completes it (on SQLite the files are read and checked before that
transaction, without the write lock). Strict by default: any invalid row and nothing is
written.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from unstuck.core.models import Membership, Workspace
from unstuck.deals.models import Pipeline
from unstuck.imports import copy_stage, fingerprint, lines, staging
from unstuck.imports.copy_stage import CopySource
from unstuck.imports.dimensions import ensure_stages, upsert_accounts
from unstuck.imports.mapping import kind_from_name
from unstuck.imports.parsing import at_midnight
from unstuck.imports.records import AccountRow, DealRow, HistoryRow, Report
from unstuck.imports.staging import timed as _timed
from unstuck.imports.upsert import upsert_staged
from unstuck.investigate.tally import tally_rewrite

DEFAULT_PIPELINE = "Sales pipeline"
STAGING_TABLES = (
    "stg_deal",
    "stg_hist",
    "stg_stage",
    "stg_deal_r",
    "stg_seq",
    "stg_sum",
    "stg_final",
    "stg_account",
    "stg_acc",
)
Progress = Callable[[int], None]
# What a long import is doing once the files are read, in the order it does it; shown in the
# CLI's bar, on the import page and by the API.
PHASE_READING = "Reading the files"
PHASE_CHECKING = "Checking the rows"
PHASE_MATCHING = "Matching accounts, owners and stages"
PHASE_RELATED = "Reading the related files"


log = logging.getLogger(__name__)


class ImportRejected(Exception):
    """Strict mode found invalid rows; the transaction is rolled back and nothing is written."""


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    merged_duplicates: int = 0
    history_added: int = 0
    accounts_created: int = 0
    accounts_updated: int = 0
    stages_created: list[str] = field(default_factory=list)
    unknown_owners: dict[str, int] = field(default_factory=dict)
    # The email the export gave each unknown owner (by the same label), to invite them.
    unknown_owner_emails: dict[str, str] = field(default_factory=dict)
    related: dict[str, int] = field(default_factory=dict)  # contacts, stakeholders, activities
    conflicting_ids: int = 0  # ids on rows with different values, rejected (on_conflict=reject)
    # Deals known unchanged by their fingerprints, never staged (counted as unchanged), and
    # what the next import checks before it trusts them (fingerprint.remember), if stored.
    skipped: int = 0
    fingerprints: dict[str, Any] = field(default_factory=dict)
    staged_by: str = ""  # "copy" when PostgreSQL read the files itself, else "rows"
    written: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class LoadOptions:
    source: str
    strict: bool = True
    on_conflict: str = "reject"  # conflicting duplicate ids: reject, first, last
    stage_order: list[str] = field(default_factory=list)
    stage_kinds: dict[str, str] = field(default_factory=dict)
    accounts_from_names: bool = False  # the deals name their accounts; no accounts file
    assign_owners: dict[str, str] = field(default_factory=dict)  # CRM owner → member email
    id_label: str = "id"  # what the CRM calls a deal id, for messages
    deals_file: str = "deals"
    history_file: str = "history"


class OwnerDirectory:
    """Members of the workspace by email and by name, for matching CRM owners."""

    def __init__(self, workspace: Workspace, assign: dict[str, str]) -> None:
        self.by_email: dict[str, tuple[int, int | None]] = {}
        self.by_name: dict[str, tuple[int, int | None]] = {}
        # Deactivated members too: their deals stay theirs when the next export comes in.
        for m in Membership.everyone.filter(workspace=workspace).select_related("user"):
            entry = (m.user_id, m.team_id)
            self.by_email[m.user.email.lower()] = entry
            if m.user.name:
                self.by_name.setdefault(m.user.name.strip().lower(), entry)
        self.assign = {k.strip().lower(): v.strip().lower() for k, v in assign.items()}
        self.unknown: Counter[str] = Counter()
        self.unknown_emails: dict[str, str] = {}
        self._cache: dict[tuple[str, str], tuple[int | None, int | None]] = {}

    def resolve(self, owner: tuple[str, str]) -> tuple[int | None, int | None]:
        hit = self._cache.get(owner)
        if hit is not None:
            return hit
        email, name = owner[0].strip().lower(), owner[1].strip().lower()
        found = None
        for key in (email, name):
            if key and key in self.assign:
                found = self.by_email.get(self.assign[key])
                break
        if found is None and email:
            found = self.by_email.get(email)
        if found is None and name:
            found = self.by_name.get(name)
        result: tuple[int | None, int | None] = found or (None, None)
        self._cache[owner] = result
        return result

    def note(self, owner: tuple[str, str]) -> None:
        label = owner[1] or owner[0]
        if label:
            self.unknown[label] += 1
            if owner[0]:
                self.unknown_emails.setdefault(label, owner[0].strip().lower())


class Loader:
    def __init__(
        self,
        *,
        workspace: Workspace,
        options: LoadOptions,
        report: Report,
        now: datetime | None = None,
        progress: Progress | None = None,
        phase: Callable[[str], None] | None = None,
    ) -> None:
        self.workspace = workspace
        self.options = options
        self.report = report
        self.now = now or datetime.now(UTC)
        self.progress = progress or (lambda n: None)
        self.phase = phase or (lambda name: None)
        self.d = staging.Dialect()
        self.result = LoadResult()
        default = Pipeline.objects.filter(workspace=workspace).order_by("-is_default").first()
        self.default_pipeline = default.name if default else DEFAULT_PIPELINE
        self.owners = OwnerDirectory(workspace, options.assign_owners)
        self.orphan_history = True  # until the check has looked
        # Run after the import's transaction, whatever its end (shared tables to drop).
        self.cleanups: list[Callable[[], None]] = []
        self.account_names: dict[str, str] = {}
        # The lines this import leaves for the next one to compare with (COPY path).
        self.line_index: lines.Pending | None = None
        self._deal_rows = 0

    # --- the whole import -------------------------------------------------------------------
    def load(
        self,
        *,
        deals: Iterable[DealRow],
        history: Iterable[HistoryRow] = (),
        accounts: Iterable[AccountRow] = (),
        after: Callable[[], dict[str, int]] | None = None,
        copy_from: CopySource | None = None,
    ) -> LoadResult:
        """Stage, validate and upsert; raise ImportRejected in strict mode.

        copy_from, when given, lets PostgreSQL read the files itself (copy_stage.py); the
        rows in deals and history are read only if it hands the files back.
        """
        # PostgreSQL: one transaction, so a kill leaves nothing (its readers never wait for a
        # writer). SQLite has one writer at a time: the files are read and checked into TEMP
        # tables without the database's write lock, which is taken only for the final write,
        # so other writes and sign-ins wait seconds, not the whole import.
        whole = transaction.atomic() if self.d.pg else contextlib.nullcontext()
        reading = contextlib.nullcontext() if self.d.pg else staging.sqlite_read_transaction()
        try:
            with whole:
                with reading:
                    self._read_and_check(deals, history, copy_from)
                with transaction.atomic():
                    self._write(accounts, after)
        finally:
            # Temporary tables vanish with the connection; dropped now for the next import.
            staging.drop(*STAGING_TABLES, *copy_stage.TABLES)
            for cleanup in self.cleanups:
                cleanup()
        self.result.rejected = self.report.rejected_count
        return self.result

    def _read_and_check(
        self,
        deals: Iterable[DealRow],
        history: Iterable[HistoryRow],
        copy_from: CopySource | None,
    ) -> None:
        """Stage the rows and check them; writes only staging tables."""
        self.phase(PHASE_READING)
        with _timed("stage by COPY"):
            copied = copy_from is not None and copy_stage.stage(self, copy_from)
        self.result.staged_by = "copy" if copied else "rows"
        if not copied:
            with _timed("stage deals"):
                self._stage_deals(deals)
            with _timed("stage history"):
                self._stage_history(history)
        self.phase(PHASE_CHECKING)
        with _timed("check"):
            self._check_history_ids()
            self._merge_duplicates()
        if self.report.errors and self.options.strict:
            raise ImportRejected

    def _write(
        self, accounts: Iterable[AccountRow], after: Callable[[], dict[str, int]] | None
    ) -> None:
        """Accounts, stages, deals and history, then the related files: the writing step."""
        self.phase(PHASE_MATCHING)
        with _timed("accounts"):
            upsert_accounts(
                workspace=self.workspace,
                source=self.options.source,
                accounts=accounts,
                named=self.account_names,
                result=self.result,
            )
        with _timed("stages"):
            ensure_stages(
                workspace=self.workspace,
                stage_order=self.options.stage_order,
                stage_kinds=self.options.stage_kinds,
                result=self.result,
                orphan_history=self.orphan_history,
            )
        upsert_staged(
            workspace_id=self.workspace.pk,
            source=self.options.source,
            now=self.now,
            result=self.result,
            phase=self.phase,
        )
        if self.result.updated:
            # Known deals may have closed or changed owner or team: the queue's stored summary
            # is counted again (new deals have no assessment until they are scored).
            tally_rewrite(workspace_id=self.workspace.pk)
        if after is not None:
            self.phase(PHASE_RELATED)
            with _timed("related files"):
                self.result.related = after()
            if self.report.errors and self.options.strict:
                raise ImportRejected
        if self.result.staged_by == "copy":
            if self.line_index is not None:
                lines.store(self, self.line_index)
            # What the next import checks before it trusts these fingerprints.
            fingerprint.remember(self.result.fingerprints, self.workspace.pk)
        self.result.written = True

    # --- staging ----------------------------------------------------------------------------
    def _stage_deals(self, deals: Iterable[DealRow]) -> None:
        owners = self.owners
        writer = staging.StagingWriter("stg_deal", staging.DEAL_COLUMNS, self.d)
        strict_failed = False
        n = 0
        try:
            for row in deals:
                n += 1
                if n % 10_000 == 0:
                    self.progress(n)
                if strict_failed or (self.options.strict and self.report.errors):
                    # Keep reading to report every problem, but stage nothing more.
                    strict_failed = True
                    continue
                owner_id, team_id = owners.resolve(row.owner)
                if owner_id is None:
                    owners.note(row.owner)
                kind = row.kind or self.options.stage_kinds.get(row.stage, "")
                closed = (kind or kind_from_name(row.stage)) != "open"
                hint = row.stage_entered_hint
                if hint is None and closed and row.close_date:
                    hint = at_midnight(row.close_date)
                if self.options.accounts_from_names and row.account_key:
                    self.account_names.setdefault(row.account_key, row.account_key)
                writer.write(
                    (
                        row.line,
                        row.external_id,
                        row.name,
                        row.account_key,
                        owner_id,
                        team_id,
                        row.pipeline or self.default_pipeline,
                        row.stage,
                        kind,
                        row.probability,
                        row.amount,
                        row.currency or self.workspace.default_currency,
                        row.close_date,
                        row.created_at,
                        hint,
                        row.last_activity_at,
                        row.next_step,
                        json.dumps(row.custom),
                        None,  # row_hash: only the COPY path fingerprints rows
                    )
                )
            writer.close()
        except BaseException:
            writer.abort()
            raise
        self.progress(n)
        self._deal_rows = n  # the history's rows count on from here
        self.result.unknown_owners = dict(owners.unknown.most_common())
        self.result.unknown_owner_emails = dict(owners.unknown_emails)
        staging.execute(self.d.index("stg_deal", "external_id"))
        staging.execute("ANALYZE stg_deal")

    def _stage_history(self, history: Iterable[HistoryRow]) -> None:
        writer = staging.StagingWriter("stg_hist", staging.HISTORY_COLUMNS, self.d)
        n = 0
        try:
            for h in history:
                n += 1
                if n % 50_000 == 0:
                    self.progress(self._deal_rows + n)
                if self.options.strict and self.report.errors:
                    continue
                writer.write(
                    (h.line, h.deal_external_id, h.stage, h.changed_at, h.amount, h.close_date)
                )
            writer.close()
        except BaseException:
            writer.abort()
            raise
        self.progress(self._deal_rows + n)
        staging.execute(self.d.index("stg_hist", "deal_ext"))
        staging.execute("ANALYZE stg_hist")

    def _check_history_ids(self) -> None:
        """History rows must belong to a deal in the deals file."""
        rejected_ids = self.report.rejected_ids
        orphans = staging.fetchall(
            "SELECT h.line, h.deal_ext FROM stg_hist h "
            "WHERE NOT EXISTS (SELECT 1 FROM stg_deal s WHERE s.external_id = h.deal_ext) "
            "ORDER BY h.line"
        )
        self.orphan_history = bool(orphans)
        for line, deal_ext in orphans:
            if deal_ext in rejected_ids:
                continue
            self.report.problem(
                file=self.options.history_file,
                line=line,
                column="",
                value=deal_ext,
                reason=f"no deal with this {self.options.id_label} in {self.options.deals_file}",
            )

    def _merge_duplicates(self) -> None:
        """Identical rows with one id merge silently (counted); conflicting ones are reported."""
        dups = staging.fetchall(
            f"SELECT external_id, COUNT(*), COUNT(DISTINCT {self.d.row_key()}), MIN(line), "
            "MAX(line) FROM stg_deal WHERE external_id IN (SELECT external_id FROM stg_deal "
            "GROUP BY external_id HAVING COUNT(*) > 1) GROUP BY external_id ORDER BY MIN(line)"
        )
        if not dups:
            return
        lines_by_id: dict[str, list[int]] = defaultdict(list)
        for ext, line in staging.fetchall(
            "SELECT external_id, line FROM stg_deal WHERE external_id IN "
            "(SELECT external_id FROM stg_deal GROUP BY external_id HAVING COUNT(*) > 1) "
            "ORDER BY line"
        ):
            lines_by_id[ext].append(line)
        policy = self.options.on_conflict
        label = self.options.id_label
        file = self.options.deals_file
        drop_ids: list[str] = []
        for ext, count, distinct, first, last in dups:
            lines = ", ".join(str(x) for x in lines_by_id[ext])
            if distinct == 1:
                self.result.merged_duplicates += count - 1
                self.report.warning(
                    file=file,
                    line=first,
                    column=label,
                    value=ext,
                    reason=f"repeated on lines {lines} with identical values; merged into one deal",
                )
            elif policy == "reject":
                for line in lines_by_id[ext]:
                    self.report.problem(
                        file=file,
                        line=line,
                        column=label,
                        value=ext,
                        reason=f"the same {label} is on lines {lines} with different values",
                    )
                drop_ids.append(ext)
                self.report.rejected_ids.add(ext)
            else:
                kept = first if policy == "first" else last
                self.result.merged_duplicates += count - 1
                self.report.warning(
                    file=file,
                    line=first,
                    column=label,
                    value=ext,
                    reason=(
                        f"repeated on lines {lines} with different values; "
                        f"kept line {kept} ({policy} wins, as the mapping says)"
                    ),
                )
        keep = "MIN(line)" if policy == "first" else "MAX(line)"
        staging.execute(
            "DELETE FROM stg_deal WHERE external_id IN (SELECT external_id FROM stg_deal "
            "GROUP BY external_id HAVING COUNT(*) > 1) AND line NOT IN "
            f"(SELECT {keep} FROM stg_deal GROUP BY external_id HAVING COUNT(*) > 1)"
        )
        if drop_ids:
            n = self.result.conflicting_ids = len(drop_ids)
            self.report.notes.append(
                f"{n} {label} value{'s are' if n != 1 else ' is'} on rows with different "
                "values, and those rows were rejected. To keep one row of each instead, say "
                "which row wins: “The same id on rows with different values” on the wizard's "
                'Columns step, or on_conflict = "first" (or "last") under [duplicates] in a '
                "mapping file."
            )
            self.orphan_history = True  # the history of the dropped ids names no deal now
            marks = ", ".join(["%s"] * len(drop_ids))
            staging.execute(f"DELETE FROM stg_deal WHERE external_id IN ({marks})", drop_ids)
