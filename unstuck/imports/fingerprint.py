"""Fingerprints that let a re-import leave unchanged deals alone (PostgreSQL, COPY path).

A weekly refresh of a large CRM brings mostly the rows of last week. Each deal imported by
COPY keeps two numbers (deals_deal.import_hash, import_state):

- import_hash: its CRM row and its lines of history as read, cell by cell, mixed with the
  *context* they were read in (`context_seed`: the mapping and options, the files' layout,
  the workspace's members, stages, pipelines and accounts of this source, the companion
  files): the same row read in a different context hashes differently.
- import_state: the fields an import controls, as the import wrote them.

A deal whose row, history and context hash as stored, and whose fields still hash to the
stored state (nobody moved it in the app since), is exactly what the import would write
again: its rows are not staged. Everything else (new deals, changed rows, repeated ids, the
history of deals missing from the deals file) takes the loader's usual path, which then
stores fresh fingerprints. A mismatch only ever costs time, never correctness: the hashes
are compared, not trusted to say what changed. 64-bit hashes: two different rows collide
with a chance of 2^-64.

Before any of this, lines.py compares the files' raw lines with the last import's and
copies only the lines of the deals they touch (when it may): these fingerprints are then
taken over those lines only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import Count, Field, Max, Sum

from unstuck.deals.models import Account, Deal, Stage
from unstuck.imports import staging

if TYPE_CHECKING:
    from unstuck.imports.copy_stage import CopySource
    from unstuck.imports.loader import Loader

# Bump when what goes into a fingerprint changes: every stored one then mismatches once.
VERSION = 1
# The deal fields an import writes; import_state hashes them as stored.
STATE_FIELDS = (
    "name",
    "account_id",
    "owner_id",
    "team_id",
    "pipeline_id",
    "stage_id",
    "status",
    "amount",
    "currency",
    "close_date",
    "created_at",
    "closed_at",
    "stage_entered_at",
    "last_activity_at",
    "next_step",
    "custom",
)


def context_seed(loader: Loader, src: CopySource) -> int:
    """What, besides a row's own cells, decides what the import makes of it and that the
    import itself does not change, as one number (the seed of every row hash)."""
    ws = loader.workspace
    facts: dict[str, Any] = {
        "version": VERSION,
        "workspace": [ws.pk, ws.default_currency],
        "options": dataclasses.asdict(loader.options),
        "default_pipeline": loader.default_pipeline,
        # Where the files lie does not matter (uploads land in a new folder each time).
        "mapping": _without_paths(dataclasses.asdict(src.mapping)),
        "skip_deleted": src.skip_deleted,
        "accounts_from_names": src.accounts_from_names,
        "owners_file": sorted(src.owners.items()),
        "members": [sorted(loader.owners.by_email.items()), sorted(loader.owners.by_name.items())],
        "files": [
            [f.encoding, f.delimiter, f.headers] for f in (src.deals, src.history) if f is not None
        ],
        "companions": src.companion_sha256,
    }
    text = json.dumps(facts, sort_keys=True, default=str)
    # Room above it for the per-column offsets added to the seed.
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True) >> 8


def _without_paths(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_paths(v) for k, v in value.items() if k != "path"}
    if isinstance(value, list | tuple):
        return [_without_paths(v) for v in value]
    return value


def world(workspace_id: int, source: str) -> str:
    """What an import both reads and writes: the workspace's pipelines and stages, and the
    accounts of this source. Taken when a fingerprinting import ends and compared when the
    next one starts: fingerprints are trusted only if nothing here changed in between."""
    facts = {
        "stages": list(
            Stage.objects.filter(pipeline__workspace_id=workspace_id)
            .order_by("pk")
            .values_list("pk", "pipeline_id", "pipeline__name", "name", "kind", "order")
        ),
        "accounts": Account.objects.filter(workspace_id=workspace_id, source=source).aggregate(
            n=Count("pk"), top=Max("pk"), total=Sum("pk")
        ),
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()


def _reference(workspace_id: int, source: str) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """The last finished import that stored fingerprints for this source: (its id, what it
    remembered, its summary); (0, {}, {}) if there is none."""
    from unstuck.imports.models import ImportRun, RunStatus

    for pk, summary in (
        ImportRun.objects.filter(workspace_id=workspace_id, status=RunStatus.DONE)
        .order_by("-finished_at", "-pk")
        .values_list("pk", "summary")
    ):
        stored = (summary or {}).get("fingerprints") or {}
        if stored.get("source") == source:
            return pk, stored, summary
    return 0, {}, {}


def world_unchanged(workspace_id: int, source: str) -> bool:
    """Whether the world is as the last import that stored fingerprints for this source left
    it (its run keeps it in summary["fingerprints"])."""
    _, stored, _ = _reference(workspace_id, source)
    return bool(stored) and stored.get("world") == world(workspace_id, source)


def remember(facts: dict[str, Any], workspace_id: int) -> None:
    """Complete what an import that stored fingerprints leaves for the next one (facts holds
    source, seed and the files' sha256 already): the world as it ends, and how many deals of
    the source carry fingerprints."""
    source = facts["source"]
    facts["world"] = world(workspace_id, source)
    facts["deals"] = Deal.objects.filter(
        workspace_id=workspace_id, source=source, import_hash__isnull=False
    ).count()


def files_unchanged(facts: dict[str, Any], workspace_id: int) -> dict[str, Any] | None:
    """The summary of the last fingerprinting import when this one reads the very same files
    in the same context, that import reported no problem, and every deal it fingerprinted is
    still there and as it left it: then there is nothing to read. None otherwise."""
    source = facts["source"]
    pk, stored, summary = _reference(workspace_id, source)
    same = {k: stored.get(k) for k in facts} == facts
    if not same or summary.get("errors") or summary.get("warnings"):
        return None
    if stored.get("world") != world(workspace_id, source):
        return None
    counts = staging.fetchall(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE d.import_state IS NOT DISTINCT FROM "
        f"{stored_state('d')}) FROM deals_deal d WHERE d.workspace_id = %s AND d.source = %s "
        "AND d.import_hash IS NOT NULL",
        [workspace_id, source],
    )[0]
    if tuple(counts) != (stored.get("deals"), stored.get("deals")):
        return None
    from unstuck.imports.models import ImportRun

    rows_read = ImportRun.objects.filter(pk=pk).values_list("rows_read", flat=True).first()
    return {**summary, "run": pk, "rows_read": rows_read or 0}


def cells_hash(columns: list[str], seed: int) -> str:
    """SQL for one 64-bit hash of a raw row's text cells: each cell hashed with a seed of its
    own column (a value moving to another column changes it), combined by XOR. Cheaper than
    hashing the row as one text (ROW(...)::text costs ~2 µs a row)."""
    parts = [f"hashtextextended(COALESCE({c}, ''), {seed + i})" for i, c in enumerate(columns)]
    return " # ".join(parts)


def state_hash(values: dict[str, str]) -> str:
    """SQL for the hash of a deal's imported fields, each cast to its column's type (so the
    hash of the values written equals the hash of the row read back), hashed by type, not
    as text (PostgreSQL 14+)."""
    cols = []
    for name in STATE_FIELDS:
        field = Deal._meta.get_field(name.removesuffix("_id"))
        assert isinstance(field, Field)
        cols.append(f"CAST({values[name]} AS {field.db_type(connection)})")
    return f"hash_record_extended(ROW({', '.join(cols)}), 0)"


def stored_state(alias: str) -> str:
    """state_hash over a deals_deal row as stored."""
    return state_hash({name: f"{alias}.{name}" for name in STATE_FIELDS})


def history_digests(
    table: str, source: str, ext: str, cells: list[str], keep: str, seed: int
) -> None:
    """One number per deal for its lines in the raw history table: the same lines in any
    order give the same number (the loader orders history by time itself). Creates table
    (ext, h), a regular unlogged one: it is built on the history's own connection."""
    line = cells_hash(cells, seed)
    staging.execute(
        f"CREATE UNLOGGED TABLE {table} AS SELECT ext, hashtextextended(COUNT(*)::text || ':' "
        "|| SUM((h >> 33)::int)::text || ':' || SUM((h & 2147483647)::int)::text, "
        f"{seed}) AS h FROM (SELECT {ext} AS ext, {line} AS h FROM {source} WHERE {keep}) x "
        "GROUP BY ext"
    )
    staging.execute(f"ANALYZE {table}")


ROWS = "cp_fp"  # line, ext, fp, same: each raw deal row's fingerprint and whether it matches
HASHES = "cp_rowhash"  # line, ext, h: each kept raw deal row's own hash
# Raw deal rows still to stage (a condition on the raw table r).
CHANGED = f"r.line IN (SELECT line FROM {ROWS} WHERE NOT same)"
# Above this share of changed rows, the history is staged whole rather than by a list of ids.
WANTED_SHARE = 0.2


@dataclass
class Unchanged:
    skipped: int  # rows whose deals are as the import would leave them
    staged: int  # rows still to stage
    wanted: list[str] | None  # ids whose history to stage; None: all of it


def row_hashes(select: str, *, workspace_id: int, source: str, trust: bool = True) -> None:
    """Keep each kept raw deal row's hash (select: SQL giving line, ext, h) beside its deal as
    stored: the fingerprint the deal keeps (stored) and whether its fields are still as the
    import wrote them (kept). Done before the history's digests are ready (the deals' side
    would only wait for them), so that only the digests are left to join afterwards. Nothing
    is matched (stored NULL) unless the world is as the last fingerprinting import left it,
    or without trust (cells that span lines: every row is staged)."""
    staging.drop(HASHES)
    if trust and world_unchanged(workspace_id, source):
        staging.execute(
            f"CREATE TEMP TABLE {HASHES} AS SELECT r.line, r.ext, r.h, d.import_hash AS stored, "
            f"COALESCE(d.import_state = {stored_state('d')}, FALSE) AS kept FROM ({select}) r "
            "LEFT JOIN deals_deal d ON d.workspace_id = %s AND d.source = %s "
            "AND d.external_id = r.ext",
            [workspace_id, source],
        )
        # An id on several rows is the loader's to decide (merge, refuse or pick): all staged.
        staging.execute(
            f"UPDATE {HASHES} SET kept = FALSE WHERE kept AND ext IN (SELECT ext FROM {HASHES} "
            "GROUP BY ext HAVING COUNT(*) > 1)"
        )
    else:
        staging.execute(
            f"CREATE TEMP TABLE {HASHES} AS SELECT r.line, r.ext, r.h, NULL::bigint AS stored, "
            f"FALSE AS kept FROM ({select}) r"
        )


def _execute(sql: str, params: Any = ()) -> int:
    with staging.timed(sql[:60]):
        return staging.execute(sql, params)


def _fetchall(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with staging.timed(sql[:60]):
        return staging.fetchall(sql, params)


def unchanged_rows(*, digests: str | None, seed: int) -> Unchanged:
    """Fill ROWS from the rows' hashes and their deals as stored (HASHES) and the history's
    digests (a table of ext, h, or None without a history file), and say which deals'
    history the import still needs."""
    history = f"LEFT JOIN {digests} g ON g.ext = r.ext" if digests else ""
    digest = "COALESCE(g.h, 0)" if digests else "0"
    staging.drop(ROWS)
    _execute(
        f"CREATE TEMP TABLE {ROWS} AS SELECT x.line, x.ext, x.fp, "
        "COALESCE(x.stored = x.fp AND x.kept, FALSE) AS same FROM "
        f"(SELECT r.line, r.ext, r.stored, r.kept, hashtextextended(r.h::text || ':' || "
        f"{digest}::text, {seed}) AS fp FROM {HASHES} r {history}) x"
    )
    _execute(f"CREATE INDEX ON {ROWS} (line)")
    _execute(f"ANALYZE {ROWS}")
    total, skipped = _fetchall(f"SELECT COUNT(*), COUNT(*) FILTER (WHERE same) FROM {ROWS}")[0]
    staged = total - skipped
    if not skipped or staged > WANTED_SHARE * total:
        return Unchanged(skipped=skipped, staged=staged, wanted=None)
    # The history of the deals staged, and of ids the deals file does not have (the loader
    # reports those lines).
    orphans = (
        f" UNION SELECT g.ext FROM {digests} g WHERE NOT EXISTS "
        f"(SELECT 1 FROM {ROWS} f WHERE f.ext = g.ext)"
        if digests
        else ""
    )
    wanted = [e for (e,) in _fetchall(f"SELECT ext FROM {ROWS} WHERE NOT same{orphans}")]
    return Unchanged(skipped=skipped, staged=staged, wanted=wanted)
