"""Staging by COPY on PostgreSQL: the database itself parses machine-written exports.

A Salesforce Data Export or a mapped CSV with ISO dates and plain numbers is streamed as it
is into a text table, then turned into the loader's staging rows in SQL: trimmed, checked,
cast, stages renamed, owners matched, kinds set. That skips the Python row loop, the slow
part of a million-row import.

The Python path stays the reference: any file this path does not cover (another encoding,
mapping date formats, templates, stage-date columns), any row COPY cannot read, and any row
a check below would reject goes back to it, inside a savepoint, so nothing staged here
survives. The Python path then reports every problem by row and column.
"""

from __future__ import annotations

import csv
import logging
import queue
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from django.db import DatabaseError, connection, transaction

from unstuck.imports import fingerprint, lines, staging
from unstuck.imports.mapping import Mapping, kind_from_name, person_of
from unstuck.imports.parsing import FIELD_LIMIT, SniffedFile
from unstuck.imports.staging import timed

if TYPE_CHECKING:
    from unstuck.imports.loader import Loader
    from unstuck.imports.readers.base import ImportPlan

log = logging.getLogger("unstuck.imports.loader")

ENCODINGS = {"utf-8": "UTF8", "utf-8-sig": "UTF8", "cp1252": "WIN1252"}
# The fields this path turns from text into typed values.
DEAL_TYPES = {
    "amount": "numeric",
    "probability": "numeric",
    "close_date": "date",
    "created_at": "timestamptz",
    "stage_entered_at": "timestamptz",
    "last_activity_at": "timestamptz",
    "is_won": "boolean",
    "is_closed": "boolean",
}
HISTORY_TYPES = {"entered_at": "timestamptz", "amount": "numeric", "close_date": "date"}
BLOCK = 1 << 20
WS = "E' \\t\\r\\n'"  # what Python's str.strip() removes from a CSV cell, near enough


class Fallback(Exception):
    """This file takes the Python path; the message says why (logged, not shown)."""


@dataclass
class CopySource:
    """What the COPY path needs from an import plan."""

    mapping: Mapping
    deals: SniffedFile
    history: SniffedFile | None
    skip_deleted: bool
    owners: dict[str, tuple[str, str]]  # owner column value → (email, name), from a users file
    accounts_from_names: bool
    companion_sha256: list[str] = field(default_factory=list)  # the other files, as read


def copy_source(plan: ImportPlan) -> CopySource | None:
    """The plan's files as a CopySource, or None when this path cannot read them."""
    if not staging.is_postgres():
        return None
    m = plan.mapping
    if m.date_formats or m.dayfirst or m.decimal not in (None, ".") or m.stage_dates:
        return None
    if plan._enrich:
        return None
    files = [plan.deals] + ([plan.history] if plan.history else [])
    for f in files:
        if f.encoding not in ENCODINGS or not _header_first(f):
            return None
    if any(s and s not in plan.deals.headers for s in m.columns.values()):
        return None  # "{template}" columns are composed in Python
    if plan.history and any(c not in plan.history.headers for c in m.history.values() if c):
        return None
    return CopySource(
        mapping=m,
        deals=plan.deals,
        history=plan.history,
        skip_deleted=plan.skip_deleted,
        owners=dict(plan._owners),
        accounts_from_names=plan.accounts_from_names,
        companion_sha256=[x.sha256 for x in plan.files if x not in files],
    )


def _header_first(f: SniffedFile) -> bool:
    """COPY skips exactly one line as the header; the sniffed header must be that line."""
    with f.path.open(encoding=f.encoding, newline="") as fh:
        first = fh.readline()
    try:
        row = next(csv.reader([first], delimiter=f.delimiter))
    except (csv.Error, StopIteration):
        return False
    return [c.strip().lstrip("\ufeff") for c in row] == f.headers


def _run(sql: str, params: Any = ()) -> int:
    with timed(sql[:70]):
        return staging.execute(sql, params)


def _fetch(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with timed(sql[:70]):
        return staging.fetchall(sql, params)


# --- COPY ------------------------------------------------------------------------------------


def _copy_file(
    f: SniffedFile,
    table: str,
    progress: Callable[[int], None],
    *,
    chosen: list[tuple[int, bytes]] | None = None,
    header: bytes = b"",
    hasher: lines.Streamed | None = None,
) -> tuple[int, str]:
    """COPY the file as text into a new temp table with one column per header (c0, c1, …)
    plus line, the record's number; returns the number of records and the SQL for each
    record's physical line. chosen: only these lines (line number, bytes), each with its
    own number (lines.py); hasher: hashes every line as it is sent."""
    cols = [f"c{i}" for i in range(len(f.headers))]
    staging.drop(table)
    if chosen is not None:
        return _copy_lines(f, table, cols, chosen, header), "r.line"
    _run(
        f"CREATE TEMP TABLE {table} (line bigint GENERATED ALWAYS AS IDENTITY, "
        + ", ".join(f"{c} text" for c in cols)
        + ")"
    )
    options = [
        "FORMAT csv",
        "HEADER true",
        f"DELIMITER '{f.delimiter}'",
        f"ENCODING '{ENCODINGS[f.encoding]}'",
    ]
    rows = 0
    last = b""
    since_break = 0  # bytes since the last line break
    with connection.cursor() as cursor, f.path.open("rb") as fh:
        if f.encoding == "utf-8-sig":
            fh.read(3)
        copy_sql = f"COPY {table} ({', '.join(cols)}) FROM STDIN WITH ({', '.join(options)})"
        with timed(f"COPY {f.name}"), cursor.cursor.copy(copy_sql) as copy:
            while block := fh.read(BLOCK):
                first = block.find(b"\n")
                since_break += len(block) if first < 0 else first
                if since_break > FIELD_LIMIT:
                    # The row path refuses fields this long, with a message; COPY would not.
                    raise Fallback("a line longer than the field limit")
                if first >= 0:
                    since_break = len(block) - block.rfind(b"\n") - 1
                copy.write(block)
                if hasher is not None:
                    hasher.feed(block)
                rows += block.count(b"\n")
                last = block[-1:]
                progress(rows)
        # COPY says how many records it read: no second pass over the table to count them.
        count = cursor.cursor.rowcount
    _run(f"ANALYZE {table}")
    physical = rows + (1 if last not in (b"\n", b"") else 0)
    if physical == count + 1:
        # One line per record (COPY refuses blank lines): the header is line 1.
        return count, "r.line + 1"
    return count, _line_counting_breaks(cols)


def _copy_lines(
    f: SniffedFile, table: str, cols: list[str], chosen: list[tuple[int, bytes]], header: bytes
) -> int:
    """COPY only the chosen lines, each after its line number (its own first column)."""
    _run(f"CREATE TEMP TABLE {table} (line bigint, {', '.join(f'{c} text' for c in cols)})")
    options = [
        "FORMAT csv",
        "HEADER true",
        f"DELIMITER '{f.delimiter}'",
        f"ENCODING '{ENCODINGS[f.encoding]}'",
    ]
    delimiter = f.delimiter.encode()
    copy_sql = f"COPY {table} (line, {', '.join(cols)}) FROM STDIN WITH ({', '.join(options)})"
    with (
        connection.cursor() as cursor,
        timed(f"COPY {f.name}, {len(chosen)} lines"),
        cursor.cursor.copy(copy_sql) as copy,
    ):
        # The header as the file has it, so that its line break is the one of every line.
        copy.write(b"line" + delimiter + header + b"\n")
        for start in range(0, len(chosen), 10_000):
            copy.write(
                b"".join(
                    b"%d%s%s\n" % (n, delimiter, line) for n, line in chosen[start : start + 10_000]
                )
            )
    _run(f"ANALYZE {table}")
    return len(chosen)


def _raw_cells(f: SniffedFile) -> list[str]:
    """Every column of a raw table (the line number aside), as read."""
    return [f"r.c{i}" for i in range(len(f.headers))]


def _col(f: SniffedFile, header: str) -> str:
    return f"c{f.headers.index(header)}"


# What this path reads: ISO-style dates and datetimes, plain unsigned numbers, and the
# true/false words the row path knows. PostgreSQL would accept more ('tomorrow', 'epoch',
# '-300', 'NaN', '1e5', 'tr'); the row path decides those. A cell must start with a digit
# (numbers must also have no exponent), and an impossible date such as 2025-02-30 fails its
# cast; either sends the files to the row path. Casts ignore surrounding spaces, so typed
# cells need no trimming. (Regular expressions and translate() cost 5-15 s per million rows.)
TRUE = ("true", "1", "yes", "y", "t", "x", "won")
FALSE = ("false", "0", "no", "n", "f")


class _Columns:
    """SQL for the mapped fields of one raw table: trimmed text (computed once per row in the
    source subquery), a check that a cell is of the form this path reads, the typed value."""

    def __init__(self, f: SniffedFile, spec: dict[str, str], types: dict[str, str]) -> None:
        self.f, self.spec, self.types = f, spec, types

    def has(self, fld: str) -> bool:
        return bool(self.spec.get(fld))

    def raw(self, fld: str) -> str:
        return f"r.{_col(self.f, self.spec[fld])}"

    def trim(self, fld: str) -> str:
        """The trimmed text as an expression over the raw table."""
        if not self.has(fld):
            return "''"
        return f"COALESCE(btrim({self.raw(fld)}, {WS}), '')"

    def _trimmed(self) -> list[str]:
        return [
            fld
            for fld in self.spec
            if self.has(fld) and self.types.get(fld, "boolean") == "boolean"
        ]

    def source(self, table: str, where: str = "TRUE") -> str:
        """The raw table (its rows where `where` holds) with each mapped text field trimmed
        once, as t_<field>; OFFSET 0 keeps PostgreSQL from inlining the expressions again
        wherever they are used."""
        trimmed = ", ".join(f"{self.trim(fld)} AS t_{fld}" for fld in self._trimmed())
        return f"(SELECT r.*, {trimmed} FROM {table} r WHERE {where} OFFSET 0) r"

    def text(self, fld: str) -> str:
        """Trimmed text, '' when the field is unmapped; only inside source()."""
        return f"r.t_{fld}" if self.has(fld) else "''"

    def unreadable(self, fld: str) -> str | None:
        """SQL true where the field holds text this path does not read; None if unmapped."""
        if not self.has(fld) or fld not in self.types:
            return None
        kind = self.types[fld]
        if kind == "boolean":
            text = self.text(fld)
            words = ", ".join(f"'{w}'" for w in (*TRUE, *FALSE))
            return f"({text} <> '' AND lower({text}) NOT IN ({words}))"
        raw = self.raw(fld)
        check = f"left({raw}, 1) NOT BETWEEN '0' AND '9'"
        if kind == "numeric":
            check += f" OR strpos({raw}, 'e') > 0 OR strpos({raw}, 'E') > 0"
        return f"({raw} <> '' AND ({check}))"

    def typed(self, fld: str) -> str:
        if not self.has(fld):
            return "NULL"
        kind = self.types[fld]
        if kind == "boolean":
            text = self.text(fld)
            words = ", ".join(f"'{w}'" for w in TRUE)
            return f"CASE WHEN {text} = '' THEN NULL ELSE lower({text}) IN ({words}) END"
        return f"CAST(NULLIF({self.raw(fld)}, '') AS {kind})"


def _keep(f: SniffedFile, skip_deleted: bool) -> str:
    """SQL true for rows to load: Salesforce exports may list deleted records."""
    if not (skip_deleted and "IsDeleted" in f.headers):
        return "TRUE"
    col = f"r.{_col(f, 'IsDeleted')}"
    # The usual 'false' settles most rows before the trimmed, lower-cased comparison.
    return (
        f"({col} IS NULL OR {col} IN ('false', '0', '') "
        f"OR lower(btrim({col}, {WS})) NOT IN ('1', 'true'))"
    )


def _refused_or(checks: list[str], line: str) -> str:
    """The record's line, or, where any check holds, an error that stops the statement (and
    sends the files to the row path) naming the record: checking while staging costs one pass
    over the rows instead of two."""
    refuse = "CAST('record ' || r.line || ' is for the row path' AS integer)"
    return f"CASE WHEN {' OR '.join(checks)} THEN {refuse} ELSE {line} END"


def _unreadable(c: _Columns) -> list[str]:
    return [cond for fld in c.types if (cond := c.unreadable(fld))]


def _line_counting_breaks(text_cols: list[str]) -> str:
    """The physical line where each record ends, as the Python reader reports it, when some
    cells hold line breaks and push later rows down."""
    counted = " + ".join(
        f"COALESCE(length(r.{c}) - length(replace(r.{c}, E'\\n', '')), 0)" for c in text_cols
    )
    return f"r.line + 1 + SUM({counted or '0'}) OVER (ORDER BY r.line)"


# --- deals -----------------------------------------------------------------------------------


def _stages(m: Mapping, distinct_sql: str) -> list[tuple[str, str]]:
    """(cell, stage name after renaming) for each distinct stage cell; a stage the row path
    would reject (empty, too long, not in the mapping's list) sends the files back to it."""
    out = []
    for (raw,) in _fetch(distinct_sql):
        stage = m.stage_rename.get(raw, raw)
        if not stage or len(stage) > 100 or (m.strict_stages and stage not in m.stage_order):
            raise Fallback(f"stage {raw!r} is not valid")
        out.append((raw, stage))
    return out


def _values_table(
    name: str, columns: list[tuple[str, str]], rows: Iterable[tuple[Any, ...]]
) -> None:
    staging.create(name, columns, staging.Dialect())
    rows = list(rows)
    if rows:
        marks = ", ".join(["%s"] * len(columns))
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
    _run(f"ANALYZE {name}")


def _stage_deals(
    loader: Loader,
    src: CopySource,
    job: _HistoryJob | None,
    seed: int,
    chosen: lines.Selection | None,
    pending: lines.Pending | None,
) -> None:
    """job: the history's connection, whose lines sent count into the progress reported
    while the deals are read, and which waits to hear whose history to stage. chosen: the
    lines to copy (lines.py), None for all; pending: the line index this import leaves."""
    m, f = src.mapping, src.deals
    hasher = lines.Streamed(f, m.columns["external_id"]) if pending and not chosen else None
    count, line = _copy_file(
        f,
        "raw_deal",
        lambda n: loader.progress(n + (job.lines if job is not None else 0)),
        chosen=chosen.deals if chosen else None,
        header=chosen.headers[0] if chosen else b"",
        hasher=hasher,
    )
    if chosen is not None:
        count = chosen.deal_lines
    if count == 0:
        raise Fallback("no data rows")
    loader.report.rows_read += count
    if hasher is not None and pending is not None and line == "r.line + 1":
        pending.deal_h, pending.deal_e = hasher.finish()
    c = _Columns(f, m.columns, DEAL_TYPES)
    keep = _keep(f, src.skip_deleted)
    # Stage names after renaming, with the kind each one implies.
    distinct = f"SELECT DISTINCT {c.trim('stage')} FROM raw_deal r WHERE {keep}"
    known = loader.options.stage_kinds
    stage_rows = [
        (raw, stage, m.stage_kind(stage) or known.get(stage, ""), kind_from_name(stage))
        for raw, stage in _stages(m, distinct)
    ]
    _values_table(
        "cp_stage",
        [("raw", "text"), ("stage", "text"), ("known", "text"), ("guess", "text")],
        stage_rows,
    )
    # Owners: each distinct owner value matched once, by email, then name.
    owner_rows = []
    unknown: Counter[str] = Counter()
    unknown_cells = []
    emails: dict[str, str] = {}
    owner_sql = f"SELECT {c.trim('owner')}, COUNT(*) FROM raw_deal r WHERE {keep} GROUP BY 1"
    owner_counts = Counter(dict(_fetch(owner_sql)))
    copied_owners = set(owner_counts)
    if chosen is not None:
        owner_counts.update(chosen.clean_owners)  # the lines not copied count too
    for raw, n in owner_counts.items():
        person = src.owners.get(raw, ("", raw)) if src.owners else person_of(raw)
        user_id, team_id = loader.owners.resolve(person)
        if user_id is None and (person[1] or person[0]):
            unknown[person[1] or person[0]] += n
            unknown_cells.append(raw)
            if person[0]:
                emails.setdefault(person[1] or person[0], person[0].strip().lower())
        if raw in copied_owners:
            owner_rows.append((raw, user_id, team_id))
    _values_table(
        "cp_owner", [("raw", "text"), ("owner_id", "bigint"), ("team_id", "bigint")], owner_rows
    )
    loader.result.unknown_owners = dict(unknown.most_common())
    loader.result.unknown_owner_emails = emails
    if pending is not None and line in ("r.line + 1", "r.line"):
        # Which lines read had an owner who is no member, or are marked deleted: what the
        # lines the next import does not copy will count for.
        if unknown_cells:
            pending.add_owner_lines(
                _fetch(
                    f"SELECT {line}, {c.trim('owner')} FROM raw_deal r WHERE {keep} "
                    f"AND {c.trim('owner')} = ANY(%s)",
                    [unknown_cells],
                )
            )
        if keep != "TRUE":
            pending.add_dropped_lines(
                n for (n,) in _fetch(f"SELECT {line} FROM raw_deal r WHERE NOT ({keep})")
            )

    ext = c.text("external_id")
    checks = [f"{ext} = ''", f"length({ext}) > 100", *_unreadable(c)]
    if c.has("probability"):
        checks.append(f"NOT ({c.typed('probability')} BETWEEN 0 AND 100)")
    if c.has("currency"):
        # Few distinct codes: checked here, as the row path checks them.
        for (code,) in _fetch(f"SELECT DISTINCT upper({c.trim('currency')}) FROM raw_deal r"):
            if code and not (len(code) == 3 and code.isascii() and code.isalpha()):
                raise Fallback(f"currency {code!r} is not a three-letter code")

    if "is_closed" in m.columns or "is_won" in m.columns:
        won = f"COALESCE({c.typed('is_won')}, FALSE)"
        closed = f"COALESCE({c.typed('is_closed')}, {won})"
        kind = f"CASE WHEN {closed} THEN CASE WHEN {won} THEN 'won' ELSE 'lost' END ELSE 'open' END"
    else:
        kind = "s.known"
    closed_kind = f"COALESCE(NULLIF({kind}, ''), s.guess)"
    hint = c.typed("stage_entered_at")
    if c.has("close_date"):
        hint = (
            f"COALESCE({hint}, CASE WHEN {closed_kind} <> 'open' "
            f"THEN {c.typed('close_date')}::timestamp AT TIME ZONE 'UTC' END)"
        )
    custom_pairs = ", ".join(
        f"'{h.replace(chr(39), chr(39) * 2)}', NULLIF(btrim(r.{_col(f, h)}, {WS}), '')"
        for h in m.custom
    )
    custom = f"jsonb_strip_nulls(jsonb_build_object({custom_pairs}))" if m.custom else "'{}'"
    pipeline = f"NULLIF({c.text('pipeline')}, '')" if c.has("pipeline") else "NULL"
    default_pipeline = (m.pipeline or "")[:100] or loader.default_pipeline
    currency = f"upper({c.text('currency')})" if c.has("currency") else "''"
    default_currency = m.currency.upper() or loader.workspace.default_currency
    # Which rows need staging at all: their fingerprints against the deals'. The rows' own
    # hashes are taken while the other connection digests the history.
    with timed("row hashes"):
        fingerprint.row_hashes(
            f"SELECT r.line, {c.trim('external_id')} AS ext, "
            f"{fingerprint.cells_hash(_raw_cells(f), seed)} AS h FROM raw_deal r WHERE {keep}",
            workspace_id=loader.workspace.pk,
            source=m.source,
            # Where cells span lines, each row's line number counts the rows before it:
            # every row is staged, so that problems name the right line.
            trust=line in ("r.line + 1", "r.line"),
        )
    if job is not None:
        with timed("waiting for the history's fingerprints"):
            while not job.digests_ready.wait(0.5):
                loader.progress(count + job.lines)
        if job.error is not None:
            raise job.error
    with timed("fingerprints"):
        found = fingerprint.unchanged_rows(
            digests=job.digests if job is not None else None, seed=seed
        )
    loader.result.skipped = found.skipped + (chosen.clean_deals if chosen else 0)
    log.debug("import: %d deal rows unchanged by their fingerprints, not staged", found.skipped)
    if job is not None:
        job.wanted.put(found.wanted)
    staging.create("stg_deal", staging.DEAL_COLUMNS, staging.Dialect())
    names = ", ".join(name for name, _ in staging.DEAL_COLUMNS)
    sql = (
        f"INSERT INTO stg_deal ({names}) SELECT {_refused_or(checks, line)}, {ext}, "
        f"left(COALESCE(NULLIF({c.text('name')}, ''), {ext}), 255), "
        f"left({c.text('account')}, 100), o.owner_id, o.team_id, "
        f"left(COALESCE({pipeline}, %s), 100), s.stage, {kind}, "
        f"round({c.typed('probability')}), {c.typed('amount')}, "
        f"COALESCE(NULLIF({currency}, ''), %s), {c.typed('close_date')}, "
        f"{c.typed('created_at')}, {hint}, {c.typed('last_activity_at')}, "
        f"left({c.text('next_step')}, 500), {custom}, fp.fp "
        f"FROM {c.source('raw_deal', fingerprint.CHANGED if found.skipped else 'TRUE')} "
        "JOIN cp_stage s "
        f"ON s.raw = {c.text('stage')} JOIN cp_owner o ON o.raw = {c.text('owner')} "
        f"JOIN {fingerprint.ROWS} fp ON fp.line = r.line WHERE {keep} AND NOT fp.same"
    )
    if found.staged:
        _run(sql, [default_pipeline, default_currency])
    _run(staging.Dialect().index("stg_deal", "external_id"))
    _run("ANALYZE stg_deal")
    if src.accounts_from_names:
        for (key,) in _fetch("SELECT DISTINCT account_key FROM stg_deal WHERE account_key <> ''"):
            loader.account_names.setdefault(key, key)


# --- history ---------------------------------------------------------------------------------


def _stage_history(job: _HistoryJob) -> int:
    """COPY the history file, fingerprint each deal's lines (job.digests), then, once the
    deals' side says which deals need it (job.wanted), stage their lines, checked and typed,
    into the table named job.shared (a regular unlogged table: this runs on a connection of
    its own, beside the deals); returns the number of records read."""
    src, shared, chosen = job.src, job.shared, job.chosen
    assert src.history is not None
    m, f = src.mapping, src.history
    hasher = lines.Streamed(f, m.history["deal"]) if job.pending and not chosen else None
    count, line = _copy_file(
        f,
        "raw_hist",
        job.sent,
        chosen=chosen.history if chosen else None,
        header=chosen.headers[1] if chosen else b"",
        hasher=hasher,
    )
    if chosen is not None:
        count = chosen.history_lines
    if hasher is not None and line == "r.line + 1":
        job.hashed = hasher.finish()
    c = _Columns(f, m.history, HISTORY_TYPES)
    keep = _keep(f, src.skip_deleted)
    deal = c.text("deal")
    with timed("history fingerprints"):
        fingerprint.history_digests(
            job.digests, c.source("raw_hist"), deal, _raw_cells(f), keep, job.seed
        )
    job.digests_ready.set()
    # The history's stage names are needed only to stage its lines: read while the deals'
    # side compares the fingerprints, not before it can start.
    stage_rows = _stages(m, f"SELECT DISTINCT {c.trim('stage')} FROM raw_hist r")
    _values_table("cp_hstage", [("raw", "text"), ("stage", "text")], stage_rows)
    wanted = job.wanted.get()
    if wanted is STOP:
        return count
    if line not in ("r.line + 1", "r.line"):
        wanted = None  # cells span lines: line numbers count every row before, so stage all
    only = "" if wanted is None else f" AND {deal} = ANY(%s)"
    checks = [f"{deal} = ''", f"COALESCE({c.raw('entered_at')}, '') = ''", *_unreadable(c)]
    d = staging.Dialect()
    cols = ", ".join(f"{name} {d.type(t)}" for name, t in staging.HISTORY_COLUMNS)
    _run(f"CREATE UNLOGGED TABLE {shared} ({cols})")
    names = ", ".join(name for name, _ in staging.HISTORY_COLUMNS)
    if wanted != []:  # [] when every deal's history is known: nothing to read
        _run(
            f"INSERT INTO {shared} ({names}) SELECT {_refused_or(checks, line)}, {deal}, s.stage, "
            f"{c.typed('entered_at')}, {c.typed('amount')}, {c.typed('close_date')} "
            f"FROM {c.source('raw_hist')} JOIN cp_hstage s ON s.raw = {c.text('stage')} "
            f"WHERE {keep}{only}",
            [] if wanted is None else [wanted],
        )
    _run(f"ANALYZE {shared}")
    return count


STOP: Any = object()  # sent instead of the deals to stage when the import gives up


class _HistoryJob(threading.Thread):
    """Stages the history file on a second database connection while the first stages the
    deals: the two largest steps of a big import then use both cores. In between, the deals'
    side waits for this side's fingerprints (digests_ready) and answers with the deals whose
    history to stage (wanted: a list of ids, None for all, or STOP)."""

    def __init__(
        self,
        src: CopySource,
        shared: str,
        digests: str,
        seed: int,
        chosen: lines.Selection | None,
        pending: lines.Pending | None,
    ) -> None:
        super().__init__(name="import-history", daemon=True)
        self.src, self.shared, self.digests, self.seed = src, shared, digests, seed
        self.chosen, self.pending = chosen, pending
        self.hashed: tuple[lines.Hashes, lines.Hashes] | None = None  # the history's lines
        self.count = 0
        self.lines = 0  # lines of the file sent so far; the importing thread reports them
        self.error: BaseException | None = None
        self.digests_ready = threading.Event()
        self.wanted: queue.Queue[Any] = queue.Queue()

    def run(self) -> None:
        # Django gives this thread a connection of its own, in autocommit.
        try:
            # The fingerprints group millions of lines by deal: in memory, not in temp files.
            staging.execute("SET work_mem = '256MB'")
            self.count = _stage_history(self)
        except BaseException as exc:  # reported by the importing thread
            self.error = exc
        finally:
            self.digests_ready.set()
            connection.close()

    def sent(self, lines: int) -> None:
        self.lines = lines


SHARED_PREFIX = "unstuck_import_hist_"
DIGESTS_PREFIX = "unstuck_import_dig_"


def _drop_abandoned() -> None:
    """Drop history and fingerprint tables left by imports that died: each import holds an
    advisory lock named by its tables' number for as long as they are in use."""
    for (name,) in staging.fetchall(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND (relname LIKE %s OR relname LIKE %s)",
        [p.replace("_", "\\_") + "%" for p in (SHARED_PREFIX, DIGESTS_PREFIX)],
    ):
        key = int(name.rsplit("_", 1)[1])
        if staging.fetchall("SELECT pg_try_advisory_lock(%s)", [key])[0][0]:
            staging.execute(f"DROP TABLE IF EXISTS {name}")
            staging.execute("SELECT pg_advisory_unlock(%s)", [key])


# --- entry point -----------------------------------------------------------------------------

# Dropped with the loader's staging tables when the import ends (stg_hist reads raw_hist).
TABLES = (
    "raw_deal",
    "raw_hist",
    "cp_stage",
    "cp_hstage",
    "cp_owner",
    fingerprint.ROWS,
    fingerprint.HASHES,
)


def stage(loader: Loader, src: CopySource) -> bool:
    """Fill stg_deal and stg_hist by COPY; False (with nothing staged) when the Python path
    must read these files instead. Deals whose fingerprints match (fingerprint.py) are left
    out, with their history."""
    rows_before = loader.report.rows_read
    job = None
    try:
        with transaction.atomic():
            # The owners' and stages' groupings and the fingerprints' joins over a million
            # rows stay in memory, not in temp files (until the import's transaction ends;
            # the history's connection sets its own).
            staging.execute("SET LOCAL work_mem = '256MB'")
            seed = fingerprint.context_seed(loader, src)
            facts = {
                "source": src.mapping.source,
                "seed": seed,
                "deals_sha256": src.deals.sha256,
                "history_sha256": src.history.sha256 if src.history is not None else "",
            }
            loader.result.fingerprints = dict(facts)
            if _nothing_to_read(loader, facts):
                return True
            # The lines the last import read need not be copied again (lines.py).
            with timed("line index"):
                chosen = lines.select(loader, src, facts)
            pending = loader.line_index = chosen.pending if chosen else lines.Pending()
            if chosen is not None:
                log.debug(
                    "import: line index: %d of %d lines copied (%d deals touched)",
                    len(chosen.deals) + len(chosen.history or []),
                    chosen.deal_lines + chosen.history_lines,
                    chosen.touched,
                )
            if src.history is not None:
                _drop_abandoned()
                key = secrets.randbits(62)
                shared, digests = f"{SHARED_PREFIX}{key}", f"{DIGESTS_PREFIX}{key}"
                staging.execute("SELECT pg_advisory_lock(%s)", [key])
                loader.cleanups.append(lambda: _drop_shared(shared, key, digests))
                job = _HistoryJob(src, shared, digests, seed, chosen, pending)
                job.start()
            _stage_deals(loader, src, job, seed, chosen, pending)
            if job is None:
                staging.create("stg_hist", staging.HISTORY_COLUMNS, staging.Dialect())
            else:
                deal_lines = loader.report.rows_read - rows_before
                with timed("waiting for the history"):
                    # Progress is reported from this thread only (its callers may touch the
                    # database, which in the other thread would be another connection).
                    while True:
                        job.join(0.5)
                        loader.progress(deal_lines + job.lines)
                        if not job.is_alive():
                            break
                if job.error is not None:
                    raise job.error
                if chosen is None:
                    if job.hashed is None:
                        loader.line_index = None  # records span lines: no index
                    else:
                        pending.hist_h, pending.hist_e = job.hashed
                loader.report.rows_read += job.count
                staging.execute(f"CREATE TEMP VIEW stg_hist AS SELECT * FROM {job.shared}")
    except (Fallback, DatabaseError, psycopg.Error) as exc:
        # The savepoint's rollback took this connection's tables with it; the history table
        # of the second connection goes with the loader's cleanups. psycopg's own errors
        # come from COPY, which runs on the raw cursor.
        log.info("import: reading the files row by row (%s)", str(exc).splitlines()[0])
        loader.report.rows_read = rows_before
        loader.result.unknown_owners = {}
        loader.result.unknown_owner_emails = {}
        loader.result.skipped = 0
        loader.result.fingerprints = {}
        loader.line_index = None
        loader.account_names.clear()
        return False
    finally:
        if job is not None:
            job.wanted.put(STOP)  # unless it already has its answer, it is waiting for one
            job.join()
    return True


def _nothing_to_read(loader: Loader, facts: dict[str, Any]) -> bool:
    """The very files of the last fingerprinting import, read in the same context, and every
    deal it left as it left it: stage nothing (and say so) instead of reading them again."""
    reference = fingerprint.files_unchanged(facts, loader.workspace.pk)
    if reference is None:
        return False
    d = staging.Dialect()
    staging.create("stg_deal", staging.DEAL_COLUMNS, d)
    staging.create("stg_hist", staging.HISTORY_COLUMNS, d)
    loader.result.skipped = reference["fingerprints"]["deals"]
    loader.result.unknown_owners = reference.get("unknown_owners") or {}
    loader.result.unknown_owner_emails = reference.get("unknown_owner_emails") or {}
    loader.report.rows_read += reference["rows_read"]
    if reference["fingerprints"].get("lines"):
        # The index of the lines that import read still says what these files hold.
        loader.result.fingerprints["lines"] = reference["fingerprints"]["lines"]
    loader.report.notes.append(
        f"These are the files import {reference['run']} read, and the deals it wrote have not "
        "changed since: nothing to import."
    )
    log.debug("import: the files of import %s again, nothing changed", reference["run"])
    return True


def _drop_shared(shared: str, key: int, digests: str) -> None:
    staging.execute(f"DROP TABLE IF EXISTS {shared}")
    staging.execute(f"DROP TABLE IF EXISTS {digests}")
    staging.execute("SELECT pg_advisory_unlock(%s)", [key])
