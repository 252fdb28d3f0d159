"""The one loader under every import: staged rows become deals and history, set-based.

Idempotent by (workspace, source, external id): a deal whose fields did not change is left
alone, history rows already present (same deal, stage and time) are not added again. The whole
import runs in one transaction, so a killed import leaves nothing behind and running it again
completes it. Strict by default: any invalid row and nothing is written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Max

from unstuck.core.models import Membership, Workspace
from unstuck.deals.models import Account, Pipeline, Stage
from unstuck.imports import staging
from unstuck.imports.mapping import kind_from_name
from unstuck.imports.parsing import at_midnight
from unstuck.imports.records import AccountRow, DealRow, HistoryRow, Report

DEFAULT_PIPELINE = "Sales pipeline"
STAGING_TABLES = (
    "stg_deal",
    "stg_hist",
    "stg_stage",
    "stg_deal_r",
    "stg_hist_r",
    "stg_last",
    "stg_seq",
    "stg_entered",
    "stg_final",
)
Progress = Callable[[int], None]


log = logging.getLogger(__name__)


@contextlib.contextmanager
def _timed(step: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    log.debug("import step %s: %.2fs", step, time.perf_counter() - started)


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
    related: dict[str, int] = field(default_factory=dict)  # contacts, stakeholders, activities
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
        for m in Membership.objects.filter(workspace=workspace).select_related("user"):
            entry = (m.user_id, m.team_id)
            self.by_email[m.user.email.lower()] = entry
            if m.user.name:
                self.by_name.setdefault(m.user.name.strip().lower(), entry)
        self.assign = {k.strip().lower(): v.strip().lower() for k, v in assign.items()}
        self.unknown: Counter[str] = Counter()
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


def _row_hash(row: dict[str, str]) -> str:
    return hashlib.md5("\x1f".join(row.values()).encode(), usedforsecurity=False).hexdigest()


class Loader:
    def __init__(
        self,
        *,
        workspace: Workspace,
        options: LoadOptions,
        report: Report,
        now: datetime | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.workspace = workspace
        self.options = options
        self.report = report
        self.now = now or datetime.now(UTC)
        self.progress = progress or (lambda n: None)
        self.d = staging.Dialect()
        self.result = LoadResult()
        default = Pipeline.objects.filter(workspace=workspace).order_by("-is_default").first()
        self.default_pipeline = default.name if default else DEFAULT_PIPELINE

    # --- the whole import -------------------------------------------------------------------
    def load(
        self,
        *,
        deals: Iterable[DealRow],
        history: Iterable[HistoryRow] = (),
        accounts: Iterable[AccountRow] = (),
        after: Callable[[], dict[str, int]] | None = None,
    ) -> LoadResult:
        """Stage, validate and upsert in one transaction; raise ImportRejected in strict mode."""
        try:
            with transaction.atomic():
                with _timed("stage deals"):
                    self._stage_deals(deals)
                with _timed("stage history"):
                    self._stage_history(history)
                with _timed("check"):
                    self._check_history_ids()
                    self._merge_duplicates()
                if self.report.errors and self.options.strict:
                    raise ImportRejected
                with _timed("accounts and stages"):
                    self._upsert_accounts(accounts)
                    self._ensure_stages()
                self._upsert()
                if after is not None:
                    with _timed("related files"):
                        self.result.related = after()
                    if self.report.errors and self.options.strict:
                        raise ImportRejected
                self.result.written = True
        finally:
            # Temporary tables vanish with the connection; dropped now for the next import.
            staging.drop(*STAGING_TABLES)
        self.result.rejected = self.report.rejected_count
        return self.result

    # --- staging ----------------------------------------------------------------------------
    def _stage_deals(self, deals: Iterable[DealRow]) -> None:
        owners = OwnerDirectory(self.workspace, self.options.assign_owners)
        self.owners = owners
        writer = staging.StagingWriter("stg_deal", staging.DEAL_COLUMNS, self.d)
        self.account_names: dict[str, str] = {}
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
                        _row_hash(row.raw),
                    )
                )
            writer.close()
        except BaseException:
            writer.abort()
            raise
        self.progress(n)
        self.result.unknown_owners = dict(owners.unknown.most_common())
        if self.d.pg:
            staging.execute("CREATE INDEX ON stg_deal (external_id)")
        else:
            staging.execute("CREATE INDEX stg_deal_ext ON stg_deal (external_id)")

    def _stage_history(self, history: Iterable[HistoryRow]) -> None:
        writer = staging.StagingWriter("stg_hist", staging.HISTORY_COLUMNS, self.d)
        n = 0
        try:
            for h in history:
                n += 1
                if n % 50_000 == 0:
                    self.progress(n)
                if self.options.strict and self.report.errors:
                    continue
                writer.write(
                    (h.line, h.deal_external_id, h.stage, h.changed_at, h.amount, h.close_date)
                )
            writer.close()
        except BaseException:
            writer.abort()
            raise

    def _check_history_ids(self) -> None:
        """History rows must belong to a deal in the deals file."""
        rejected_ids = self.report.rejected_ids
        orphans = staging.fetchall(
            "SELECT h.line, h.deal_ext FROM stg_hist h "
            "WHERE NOT EXISTS (SELECT 1 FROM stg_deal s WHERE s.external_id = h.deal_ext) "
            "ORDER BY h.line"
        )
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
            "SELECT external_id, COUNT(*), COUNT(DISTINCT row_hash), MIN(line), MAX(line) "
            "FROM stg_deal GROUP BY external_id HAVING COUNT(*) > 1 ORDER BY MIN(line)"
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
            marks = ", ".join(["%s"] * len(drop_ids))
            staging.execute(f"DELETE FROM stg_deal WHERE external_id IN ({marks})", drop_ids)

    # --- accounts and stages ----------------------------------------------------------------
    def _upsert_accounts(self, accounts: Iterable[AccountRow]) -> None:
        rows: dict[str, AccountRow] = {}
        for key, name in self.account_names.items():
            rows[key] = AccountRow(key[:100], name[:255])
        for a in accounts:
            rows[a.external_id[:100]] = a
        if not rows:
            return
        source = self.options.source
        existing = {
            a.external_id: a
            for a in Account.objects.filter(workspace=self.workspace, source=source)
        }
        new, changed = [], []
        for key, a in rows.items():
            fields = {
                "name": a.name[:255] or key,
                "industry": a.industry[:100],
                "employees": a.employees,
                "country": a.country[:100],
                "custom": a.custom,
            }
            found = existing.get(key)
            if found is None:
                new.append(
                    Account(workspace=self.workspace, source=source, external_id=key, **fields)
                )
            elif any(getattr(found, f) != v for f, v in fields.items()):
                for f, v in fields.items():
                    setattr(found, f, v)
                changed.append(found)
        Account.objects.bulk_create(new, batch_size=2000)
        Account.objects.bulk_update(
            changed, ["name", "industry", "employees", "country", "custom"], batch_size=2000
        )
        self.result.accounts_created = len(new)
        self.result.accounts_updated = len(changed)

    def _ensure_stages(self) -> None:
        """Create the pipelines and stages the data names and the workspace lacks."""
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        for pipeline, stage, kind, count, prob, first in staging.fetchall(
            "SELECT pipeline, stage, kind, COUNT(*), AVG(probability), MIN(line) "
            "FROM stg_deal GROUP BY pipeline, stage, kind"
        ):
            entry = seen.setdefault(
                (pipeline, stage), {"kinds": Counter(), "prob": prob, "first": first}
            )
            if kind:
                entry["kinds"][kind] += count
            entry["first"] = min(entry["first"], first)
        for pipeline, stage, first in staging.fetchall(
            "SELECT s.pipeline, h.stage, MIN(h.line) FROM stg_hist h "
            "JOIN stg_deal s ON s.external_id = h.deal_ext GROUP BY s.pipeline, h.stage"
        ):
            seen.setdefault(
                (pipeline, stage), {"kinds": Counter(), "prob": None, "first": 10**9 + first}
            )
        by_pipeline: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        for (pipeline, stage), info in seen.items():
            by_pipeline[pipeline].append((stage, info))
        order_hint = {name: i for i, name in enumerate(self.options.stage_order)}
        mapping_rows: list[tuple[str, str, int, int, str]] = []
        for pipeline_name, stages in by_pipeline.items():
            pipeline, _ = Pipeline.objects.get_or_create(
                workspace=self.workspace,
                name=pipeline_name,
                defaults={"is_default": not Pipeline.objects.filter(workspace=self.workspace)},
            )
            existing = {s.name: s for s in pipeline.stages.all()}
            missing = []
            for stage, info in stages:
                if stage in existing:
                    continue
                kinds: Counter[str] = info["kinds"]
                kind = (
                    kinds.most_common(1)[0][0]
                    if kinds
                    else self.options.stage_kinds.get(stage) or kind_from_name(stage)
                )
                missing.append((stage, kind, info))
            rank = {"open": 0, "won": 1, "lost": 2}
            missing.sort(
                key=lambda m: (
                    order_hint.get(m[0], 10**6),
                    rank[m[1]],
                    m[2]["prob"] if m[2]["prob"] is not None else 101,
                    m[2]["first"],
                )
            )
            top = pipeline.stages.aggregate(top=Max("order"))["top"]
            next_order = 0 if top is None else top + 1
            for stage, kind, info in missing:
                prob = info["prob"]
                probability = (
                    round(prob) if prob is not None else {"won": 100, "lost": 0}.get(kind, 0)
                )
                existing[stage] = Stage.objects.create(
                    pipeline=pipeline,
                    name=stage,
                    order=next_order,
                    kind=kind,
                    probability=max(0, min(100, probability)),
                )
                next_order += 1
                self.result.stages_created.append(f"{pipeline_name}: {stage} ({kind})")
            for stage, _info in stages:
                s = existing[stage]
                mapping_rows.append((pipeline_name, stage, pipeline.pk, s.pk, s.kind))
        staging.create(
            "stg_stage",
            [
                ("pipeline", "text"),
                ("stage", "text"),
                ("pipeline_id", "bigint"),
                ("stage_id", "bigint"),
                ("kind", "text"),
            ],
            self.d,
        )
        with staging.connection.cursor() as cursor:
            cursor.executemany("INSERT INTO stg_stage VALUES (%s, %s, %s, %s, %s)", mapping_rows)

    # --- the set-based upsert ---------------------------------------------------------------
    def _upsert(self) -> None:
        d = self.d
        ws, src = self.workspace.pk, self.options.source
        now = d.value(self.now)
        temp = d.temp
        idx = (
            (lambda t, c: f"CREATE INDEX ON {t} ({c})")
            if d.pg
            else (lambda t, c: f"CREATE INDEX {t}_{c.replace(', ', '_')} ON {t} ({c})")
        )

        def run(sql: str, params: Any = ()) -> int:
            with _timed(sql[:60]):
                return staging.execute(sql, params)

        if d.pg:
            # Check foreign keys statement by statement rather than queueing millions of
            # deferred checks until COMMIT.
            run("SET CONSTRAINTS ALL IMMEDIATE")
            # Fresh statistics: after a big import the tables are far larger than the planner
            # last saw, and a stale estimate turns these joins into nested loops.
            for table in ("stg_stage", "deals_deal", "deals_account", "deals_stagechange"):
                run(f"ANALYZE {table}")
        run(
            f"{temp('stg_deal_r')} AS "
            "SELECT s.line, s.external_id, s.name, s.owner_id, s.team_id, s.amount, s.currency, "
            "s.close_date, s.created_at, s.entered_hint, s.last_activity_at, s.next_step, "
            "s.custom, m.pipeline_id, m.stage_id, m.kind, a.id AS account_id, d.id AS deal_id, "
            "COALESCE(s.created_at, d.created_at) AS created0 "
            "FROM stg_deal s JOIN stg_stage m ON m.pipeline = s.pipeline AND m.stage = s.stage "
            "LEFT JOIN deals_account a ON a.workspace_id = %s AND a.source = %s "
            "AND a.external_id = s.account_key AND a.external_id <> '' AND s.account_key <> '' "
            "LEFT JOIN deals_deal d ON d.workspace_id = %s AND d.source = %s "
            "AND d.external_id = s.external_id",
            [ws, src, ws, src],
        )
        run(idx("stg_deal_r", "external_id"))
        run(idx("stg_deal_r", "deal_id"))
        # New history rows: resolved to stages, minus those already recorded.
        run(
            f"{temp('stg_hist_r')} AS "
            "SELECT h.line, h.deal_ext, m.stage_id, h.changed_at, h.amount, h.close_date "
            "FROM stg_hist h JOIN stg_deal_r r ON r.external_id = h.deal_ext "
            "JOIN stg_stage m ON m.pipeline_id = r.pipeline_id AND m.stage = h.stage "
            "WHERE r.deal_id IS NULL OR NOT EXISTS (SELECT 1 FROM deals_stagechange sc "
            "WHERE sc.deal_id = r.deal_id AND sc.changed_at = h.changed_at "
            "AND sc.to_stage_id = m.stage_id)"
        )
        existing_rows = (
            "SELECT r.external_id AS deal_ext, sc.id AS sc_id, sc.to_stage_id AS stage_id, "
            "sc.changed_at, sc.amount, sc.close_date, 0 AS is_new, sc.id AS ord, "
            "sc.from_stage_id AS old_from "
            "FROM deals_stagechange sc JOIN stg_deal_r r ON r.deal_id = sc.deal_id"
        )
        new_rows = (
            f"SELECT deal_ext, {d.null('bigint')} AS sc_id, stage_id, changed_at, amount, "
            f"close_date, 1 AS is_new, line AS ord, {d.null('bigint')} AS old_from "
            "FROM stg_hist_r"
        )
        # Each deal's first and last step so far, to date a missing entry into its stage.
        run(
            f"{temp('stg_last')} AS SELECT deal_ext, first_at, changed_at AS last_at, "
            "stage_id AS last_stage FROM (SELECT deal_ext, stage_id, changed_at, "
            "MIN(changed_at) OVER (PARTITION BY deal_ext) AS first_at, "
            "ROW_NUMBER() OVER (PARTITION BY deal_ext ORDER BY changed_at DESC, is_new DESC, "
            f"ord DESC) AS rn FROM ({existing_rows} UNION ALL {new_rows}) u) x WHERE rn = 1"
        )
        run(idx("stg_last", "deal_ext"))
        # Where the history does not end in the deal's current stage, add the step into it.
        start = f"COALESCE(r.entered_hint, r.created0, {'%s'})"
        sql = (
            "INSERT INTO stg_hist_r (line, deal_ext, stage_id, changed_at, amount, close_date) "
            f"SELECT 2147483647, r.external_id, r.stage_id, CASE WHEN l.deal_ext IS NULL "
            f"THEN {d.greatest(start, 'COALESCE(r.created0, ' + start + ')')} "
            f"ELSE {d.greatest('COALESCE(r.entered_hint, l.last_at)', 'l.last_at')} END, "
            "r.amount, r.close_date FROM stg_deal_r r "
            "LEFT JOIN stg_last l ON l.deal_ext = r.external_id "
            "WHERE l.deal_ext IS NULL OR l.last_stage <> r.stage_id"
        )
        run(sql, [now] * sql.count("%s"))
        run(
            f"{temp('stg_seq')} AS SELECT deal_ext, sc_id, stage_id, changed_at, amount, "
            "close_date, is_new, old_from, LAG(stage_id) OVER (PARTITION BY deal_ext "
            f"ORDER BY changed_at, is_new, ord) AS prev FROM ({existing_rows} UNION ALL "
            f"{new_rows}) u"
        )
        run(
            f"{temp('stg_entered')} AS SELECT s.deal_ext, MAX(s.changed_at) AS entered, "
            "MIN(s.changed_at) AS first_at FROM stg_seq s "
            "JOIN stg_deal_r r ON r.external_id = s.deal_ext AND r.stage_id = s.stage_id "
            "WHERE s.prev IS NULL OR s.prev <> s.stage_id GROUP BY s.deal_ext"
        )
        run(idx("stg_entered", "deal_ext"))
        run(
            f"{temp('stg_final')} AS SELECT r.*, "
            "COALESCE(r.created0, l.first_at, e.first_at, %s) AS created_eff, "
            "e.entered AS stage_entered_at, "
            "CASE WHEN r.kind = 'open' THEN NULL ELSE e.entered END AS closed_at "
            "FROM stg_deal_r r JOIN stg_entered e ON e.deal_ext = r.external_id "
            "LEFT JOIN stg_last l ON l.deal_ext = r.external_id",
            [now],
        )
        if d.pg:
            run("ANALYZE stg_final")
            run("ANALYZE stg_seq")
        self.result.created = run(
            "INSERT INTO deals_deal (workspace_id, name, account_id, owner_id, team_id, "
            "pipeline_id, stage_id, status, amount, currency, close_date, created_at, closed_at, "
            "stage_entered_at, last_activity_at, next_step, source, external_id, custom, "
            "updated_at) SELECT %s, name, account_id, owner_id, team_id, pipeline_id, stage_id, "
            "kind, COALESCE(amount, 0), currency, close_date, created_eff, closed_at, "
            "stage_entered_at, last_activity_at, next_step, %s, external_id, custom, %s "
            "FROM stg_final WHERE deal_id IS NULL",
            [ws, src, now],
        )
        fields = {
            "name": "f.name",
            "account_id": "f.account_id",
            "owner_id": "f.owner_id",
            "team_id": "f.team_id",
            "pipeline_id": "f.pipeline_id",
            "stage_id": "f.stage_id",
            "status": "f.kind",
            "amount": "COALESCE(f.amount, 0)",
            "currency": "f.currency",
            "close_date": "f.close_date",
            "created_at": "f.created_eff",
            "closed_at": "f.closed_at",
            "stage_entered_at": "f.stage_entered_at",
            "last_activity_at": "f.last_activity_at",
            "next_step": "f.next_step",
            "custom": "f.custom",
        }
        changed = " OR ".join(d.distinct(f"d.{col}", expr) for col, expr in fields.items())
        sets = ", ".join(f"{col} = {expr}" for col, expr in fields.items())
        self.result.updated = run(
            f"UPDATE deals_deal AS d SET {sets}, updated_at = %s FROM stg_final f "
            f"WHERE d.id = f.deal_id AND ({changed})",
            [now],
        )
        total = staging.fetchall("SELECT COUNT(*) FROM stg_final")[0][0]
        self.result.unchanged = total - self.result.created - self.result.updated
        self.result.history_added = run(
            "INSERT INTO deals_stagechange (deal_id, from_stage_id, to_stage_id, changed_at, "
            "amount, close_date, source) SELECT d.id, s.prev, s.stage_id, s.changed_at, "
            "s.amount, s.close_date, %s FROM stg_seq s JOIN deals_deal d "
            "ON d.workspace_id = %s AND d.source = %s AND d.external_id = s.deal_ext "
            "WHERE s.is_new = 1",
            [src, ws, src],
        )
        # A step added in the middle of known history changes what the next step came from.
        run(
            "UPDATE deals_stagechange AS sc SET from_stage_id = s.prev FROM stg_seq s "
            f"WHERE s.is_new = 0 AND sc.id = s.sc_id AND {d.distinct('s.old_from', 's.prev')}"
        )
