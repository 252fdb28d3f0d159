"""The web import wizard's steps: upload and detect, map columns, preview, queue.

Writes go through these services, each given the member who acts (`by`) and checking
itself that they may (leaders import: `imports_require_leader`); the views run them through
`core.submit` like every other form.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import re
import shutil
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from unstuck.core.errors import NotAllowed, UnstuckError
from unstuck.core.models import Membership, Role
from unstuck.core.private import open_private
from unstuck.imports import lines
from unstuck.imports.mapping import DEAL_FIELDS, ON_CONFLICT, Mapping
from unstuck.imports.models import ImportKind, ImportRun, RunStatus, SavedMapping
from unstuck.imports.parsing import FileProblem, SniffedFile, iter_rows
from unstuck.imports.readers.base import ImportPlan, open_file
from unstuck.imports.readers.crm import salesforce_flavour
from unstuck.imports.records import Report
from unstuck.imports.rows import deal_row
from unstuck.imports.services import plan_for_run

ROLES = ("deals", "history", "accounts", "users", "contacts", "contact_roles", "activities")
# Contacts, their roles on deals and tasks only have a reader for Salesforce's objects.
SALESFORCE_ONLY = ("contacts", "contact_roles", "activities")
MAX_UPLOAD = 2 * 1024 * 1024 * 1024
MAX_STAGE_DATES = 30  # rows of "stage → column of the date it began" on the mapping page
SYNONYMS = {
    "external_id": ["id", "deal id", "opportunity id", "record id", "opportunity number"],
    "name": ["name", "deal name", "opportunity name", "title", "deal"],
    "stage": ["stage", "deal stage", "stage name", "status", "opportunity result", "phase"],
    "pipeline": ["pipeline"],
    "amount": ["amount", "value", "deal value", "close value", "opportunity amount usd"],
    "currency": ["currency", "currency code", "currency iso code"],
    "close_date": ["close date", "expected close", "expected close date", "closing date"],
    "created_at": ["created", "created date", "create date", "added", "created at"],
    "owner": ["owner", "deal owner", "sales agent", "opportunity owner", "rep", "owner email"],
    "account": ["account", "company", "organisation", "organization", "account name"],
    "next_step": ["next step"],
    "probability": ["probability", "probability (%)"],
    "last_activity_at": ["last activity", "last activity date"],
}


HISTORY_SYNONYMS = {
    "deal": SYNONYMS["external_id"] + ["opportunity", "deal"],
    "stage": SYNONYMS["stage"] + ["to stage", "new stage"],
    "entered_at": ["entered", "entered at", "date entered", "date", "changed at", "created date"],
    "amount": SYNONYMS["amount"],
    "close_date": SYNONYMS["close_date"],
}


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", header.lower()).strip()


def headers_key(headers: list[str]) -> str:
    return hashlib.sha256("\x1f".join(sorted(headers)).encode()).hexdigest()


def suggest_columns(
    headers: list[str], synonyms: dict[str, list[str]] | None = None
) -> dict[str, str]:
    """A first guess of field → column from the header names."""
    by_norm = {_norm(h): h for h in headers}
    taken: set[str] = set()
    out: dict[str, str] = {}
    for fld, names in (synonyms or SYNONYMS).items():
        hit = next((by_norm[n] for n in names if n in by_norm and by_norm[n] not in taken), None)
        if hit is None:
            close = difflib.get_close_matches(names[0], list(by_norm), n=1, cutoff=0.85)
            hit = by_norm[close[0]] if close and by_norm[close[0]] not in taken else None
        if hit is not None:
            out[fld] = hit
            taken.add(hit)
    return out


def detect_kind(headers: list[str]) -> str:
    if salesforce_flavour(headers):
        return ImportKind.SALESFORCE
    if {"Record ID", "Deal Stage"} <= set(headers):
        return ImportKind.HUBSPOT
    return ImportKind.CSV


def _store(upload: UploadedFile, folder: Path) -> Path:
    name = Path(upload.name or "upload.csv").name
    path = folder / re.sub(r"[^\w.-]+", "_", name)
    with open_private(path) as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    return path


# Mappings shipped with Unstuck (examples/mappings in a checkout), offered beside saved ones.
SHIPPED_MAPPINGS = Path(settings.BASE_DIR).parent / "examples" / "mappings"
MAX_MAPPING_FILE = 256 * 1024


def mapping_choices(workspace_id: int) -> list[tuple[str, str]]:
    """The mappings the upload step offers: the workspace's saved ones, newest first, then
    the shipped ones."""
    saved = SavedMapping.objects.filter(workspace_id=workspace_id, kind=ImportKind.CSV)
    choices = [
        (f"saved:{m.pk}", f"Saved: {m.name or m.mapping.get('source', 'csv')} "
         f"({m.updated_at:%Y-%m-%d})")
        for m in saved.order_by("-updated_at")[:50]
    ]  # fmt: skip
    if SHIPPED_MAPPINGS.is_dir():
        choices += [
            (f"shipped:{p.name}", f"Shipped: {p.name}")
            for p in sorted(SHIPPED_MAPPINGS.glob("*.toml"))
        ]
    return choices


def mapping_chosen(
    *, workspace_id: int, upload: UploadedFile | None, choice: str
) -> dict[str, Any] | None:
    """The mapping the upload step was given (a TOML file, or a saved or shipped one), checked
    by the one parser the CLI uses, in its TOML shape; None when none was given."""
    if upload is not None:
        if upload.size and upload.size > MAX_MAPPING_FILE:
            raise UnstuckError("A mapping file is a few kilobytes of TOML.", field="mapping_file")
        raw = b"".join(upload.chunks())
        try:
            data = tomllib.loads(raw.decode("utf-8-sig"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UnstuckError(
                f"{upload.name} is not valid TOML: {exc}", field="mapping_file"
            ) from None
        where = Path(upload.name or "mapping.toml").name
    elif choice.startswith("saved:") and choice[6:].isdigit():
        saved = SavedMapping.objects.filter(pk=int(choice[6:]), workspace_id=workspace_id).first()
        if saved is None:
            raise UnstuckError("No such saved mapping.", field="saved_mapping")
        data, where = dict(saved.mapping), "The saved mapping"
    elif choice.startswith("shipped:"):
        path = SHIPPED_MAPPINGS / Path(choice[8:]).name
        if path.suffix != ".toml" or not path.is_file():
            raise UnstuckError("No such shipped mapping.", field="saved_mapping")
        data, where = tomllib.loads(path.read_text(encoding="utf-8")), path.name
    elif choice:
        raise UnstuckError("Choose a mapping from the list.", field="saved_mapping")
    else:
        return None
    data.pop("suggested", None)
    # "given": where it came from, for the Columns step to say (the parser ignores it).
    return {**Mapping.from_dict(data, where=where).to_dict(), "given": where}


def companion_specs(mapping: dict[str, Any]) -> list[dict[str, Any]]:
    """The companion files a mapping joins to the deals, for the mapping page."""
    files = mapping.get("files", {})
    found = []
    for what, spec in [
        ("Accounts", files.get("accounts")),
        ("Owners", files.get("owners")),
        *(("Lookup", s) for s in files.get("lookups", [])),
    ]:
        if spec:
            found.append({"what": what, **spec})
    return found


def _companion_names(mapping: dict[str, Any]) -> list[str]:
    files = mapping.get("files", {})
    specs = [files.get("accounts"), files.get("owners"), *files.get("lookups", [])]
    return [Path(spec["path"]).name for spec in specs if spec]


def _companions_beside_deals(mapping: dict[str, Any]) -> dict[str, Any]:
    """Companion files are stored beside the deals file under their own names: the mapping
    names them so (the CLI finds them the same way, beside the deals file)."""
    files = mapping.get("files")
    if not files:
        return mapping
    files = {
        k: ([{**c, "path": Path(c["path"]).name} for c in v] if k == "lookups" else
            {**v, "path": Path(v["path"]).name})
        for k, v in files.items()
    }  # fmt: skip
    return {**mapping, "files": files}


def imports_require_leader(by: Membership, run: ImportRun | None = None) -> None:
    """Who may import, map, queue, discard or repeat an import: the workspace's leaders, and
    only the imports of their own workspace."""
    if by.role != Role.LEADER:
        raise NotAllowed("Only leaders import data.")
    if run is not None and run.workspace_id != by.workspace_id:
        raise NotAllowed("This import belongs to another workspace.")


@transaction.atomic
def import_draft_create(
    *,
    by: Membership,
    kind: str,
    uploads: dict[str, UploadedFile],
    mapping: dict[str, Any] | None = None,
    companions: list[UploadedFile] | None = None,
) -> ImportRun:
    """Store the uploaded files, look at them, and start a draft run. With a mapping (as the
    CLI reads it) the files are a mapped CSV and the companion files it names come along."""
    imports_require_leader(by)
    companions = companions or []
    if mapping is not None:
        if kind not in {"auto", ImportKind.CSV}:
            raise UnstuckError("A mapping file is for a CSV export.", field="mapping_file")
        kind = ImportKind.CSV
        mapping = _companions_beside_deals(mapping)
        names = {Path(u.name or "").name for u in companions}
        missing = [n for n in _companion_names(mapping) if n not in names]
        if missing:
            raise UnstuckError(
                f"The mapping joins {', '.join(missing)} to the deals: add "
                f"{'it' if len(missing) == 1 else 'them'} as companion files.",
                field="companions",
            )
    elif companions:
        raise UnstuckError(
            "Companion files come with a mapping that names them.", field="companions"
        )
    if "deals" not in uploads:
        raise UnstuckError("Choose the file with the deals (opportunities).", field="deals")
    if "contact_roles" in uploads and "contacts" not in uploads:
        raise UnstuckError(
            "Contact roles name contacts by their Id: add the contacts file (Contact.csv) too.",
            field="contact_roles",
        )
    for upload in uploads.values():
        if upload.size and upload.size > MAX_UPLOAD:
            raise UnstuckError(f"{upload.name} is larger than 2 GB.")
    run = ImportRun.objects.create(
        workspace_id=by.workspace_id, created_by_id=by.user_id, via="web", kind=ImportKind.CSV
    )
    folder = Path(settings.MEDIA_ROOT) / run.file_dir
    try:
        return _draft_detect(
            run=run,
            folder=folder,
            kind=kind,
            uploads=uploads,
            mapping=mapping,
            companions=companions,
        )
    except BaseException:
        # The run's row goes with the rolled-back transaction; the files it stored must too.
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _draft_detect(
    *,
    run: ImportRun,
    folder: Path,
    kind: str,
    uploads: dict[str, UploadedFile],
    mapping: dict[str, Any] | None = None,
    companions: list[UploadedFile] | None = None,
) -> ImportRun:
    workspace = run.workspace
    files: list[dict[str, Any]] = []
    sniffed: dict[str, SniffedFile] = {}
    for role in ROLES:
        if role not in uploads:
            continue
        path = _store(uploads[role], folder)
        try:
            sniffed[role] = open_file(path, role=role, name=Path(uploads[role].name or "").name)
        except FileProblem as exc:
            raise UnstuckError(str(exc), field=role) from None
        f = sniffed[role]
        files.append(
            {
                "role": role,
                "name": f.name,
                "path": str(path),
                "sha256": f.sha256,
                "size": f.size,
                "encoding": f.encoding_label,
                "delimiter": f.delimiter_label,
                "headers": f.headers,
            }
        )
    deals_name = Path(files[0]["path"]).name if files else ""
    for upload in companions or []:
        name = Path(upload.name or "").name
        if name == deals_name:
            raise UnstuckError(f"{name} is the deals file, not a companion.", field="companions")
        path = _store(upload, folder)
        if path.name != name:
            # The mapping names it by its own name; keep that name (safe characters only).
            raise UnstuckError(
                f"Rename {name} to letters, digits, dots, dashes and underscores only.",
                field="companions",
            )
        try:
            f = open_file(path, role="companion", name=name)
        except FileProblem as exc:
            raise UnstuckError(str(exc), field="companions") from None
        files.append(
            {
                "role": "companion",
                "name": f.name,
                "path": str(path),
                "sha256": f.sha256,
                "size": f.size,
                "encoding": f.encoding_label,
                "delimiter": f.delimiter_label,
                "headers": f.headers,
            }
        )
    run.files = files
    run.kind = detect_kind(sniffed["deals"].headers) if kind == "auto" else kind
    if mapping is not None:
        run.kind = ImportKind.CSV
    extra = [role for role in SALESFORCE_ONLY if role in sniffed]
    if extra and run.kind != ImportKind.SALESFORCE:
        raise UnstuckError(
            "Contacts, contact roles and activities can only come with a Salesforce export; "
            f"{sniffed['deals'].name} reads as {ImportKind(run.kind).label}.",
            field=extra[0],
        )
    if mapping is not None:
        run.mapping = mapping
        if "history" in sniffed and not run.mapping.get("history"):
            run.mapping["history"] = suggest_columns(sniffed["history"].headers, HISTORY_SYNONYMS)
    elif run.kind == ImportKind.CSV:
        headers = sniffed["deals"].headers
        saved = SavedMapping.objects.filter(
            workspace=workspace, kind=run.kind, headers_key=headers_key(headers)
        ).first()
        run.mapping = (
            saved.mapping
            if saved
            else {"source": "csv", "columns": suggest_columns(headers), "suggested": True}
        )
        if "history" in sniffed and not run.mapping.get("history"):
            run.mapping["history"] = suggest_columns(sniffed["history"].headers, HISTORY_SYNONYMS)
    run.save()
    return run


def mapping_from_form(run: ImportRun, data: Any) -> dict[str, Any]:
    """Read the mapping step's fields into the TOML-shaped mapping."""
    headers = set(run.files[0]["headers"])

    def listed(name: str) -> list[str]:
        return [v.strip() for v in data.get(name, "").split(",") if v.strip()]

    # Lists of columns are picked from a multi-select, or typed one per line when the file
    # has too many columns to list (the mapping page says so).
    custom = [*data.getlist("custom"), *data.get("custom_lines", "").splitlines()]
    custom = [c.strip() for c in custom if c.strip()]
    columns = {f: data.get(f"col_{f}", "").strip() for f in DEAL_FIELDS if data.get(f"col_{f}", "")}
    columns = {f: c for f, c in columns.items() if c in headers}
    date_format = data.get("date_format", "").strip()
    decimal = data.get("decimal", "")
    mapping: dict[str, Any] = {
        "source": (data.get("source", "") or "csv").strip()[:30],
        "pipeline": data.get("pipeline", "").strip(),
        "columns": columns,
        "stages": {"won": listed("won"), "lost": listed("lost"), "order": listed("order")},
        "dates": {
            "formats": [date_format] if date_format else [],
            "dayfirst": data.get("dayfirst") == "on",
        },
        "amounts": {"currency": data.get("currency", "").strip().upper()},
        "custom": {"columns": [c for c in dict.fromkeys(custom) if c in headers]},
        "duplicates": {"on_conflict": data.get("on_conflict", "reject")},
    }
    if decimal in {".", ","}:
        mapping["amounts"]["decimal"] = decimal
    template = data.get("tpl_name", "").strip()
    if template:
        unknown = [c for c in re.findall(r"\{([^{}]+)\}", template) if c not in headers]
        if "{" not in template or unknown:
            raise UnstuckError(
                "The name template puts column names in braces, e.g. {product} — {account}"
                + (f"; not columns of this file: {', '.join(unknown)}." if unknown else "."),
                field="tpl_name",
            )
        columns["name"] = template
    # What the page shows but does not edit comes from the mapping as it was (uploaded or
    # saved): companion files, stage renames, whether only the listed stages are allowed.
    base: dict[str, Any] = run.mapping or {}
    base_stages = base.get("stages", {})
    if base_stages.get("rename"):
        mapping["stages"]["rename"] = base_stages["rename"]
    if "only_these" in base_stages and mapping["stages"]["order"]:
        mapping["stages"]["only_these"] = base_stages["only_these"]
    if base.get("files"):
        mapping["files"] = base["files"]
    if "sd_stage_0" in data:
        rows = [
            (data.get(f"sd_stage_{i}", "").strip(), data.get(f"sd_col_{i}", "").strip())
            for i in range(MAX_STAGE_DATES)
        ]
        # In the page's order (it decides which of two stages on one day came first).
        stage_dates = [[st, c] for st, c in rows if st and c]
        strays = [c for _, c in stage_dates if c not in headers]
        if strays:
            raise UnstuckError(
                f"Stage dates name columns this file does not have: {', '.join(strays)}.",
                field="stage_dates",
            )
        if stage_dates:
            mapping["stage_dates"] = stage_dates
    elif base.get("stage_dates"):
        mapping["stage_dates"] = base["stage_dates"]
    history_headers = set(next((f["headers"] for f in run.files if f["role"] == "history"), []))
    history = {
        f: data.get(f"hist_{f}", "")
        for f in HISTORY_SYNONYMS
        if data.get(f"hist_{f}", "") in history_headers
    }
    if history:
        mapping["history"] = history
    return mapping


@transaction.atomic
def import_draft_set_mapping(
    *, by: Membership, run: ImportRun, mapping: dict[str, Any]
) -> ImportRun:
    """Check and keep the mapping, and remember it for files with the same headers."""
    imports_require_leader(by, run)
    if run.status != RunStatus.DRAFT:
        raise UnstuckError("This import has already started; its mapping is fixed.")
    Mapping.from_dict(mapping, where="The mapping")  # raises a readable error
    run.mapping = mapping
    run.save(update_fields=["mapping"])
    SavedMapping.objects.update_or_create(
        workspace_id=run.workspace_id,
        kind=run.kind,
        headers_key=headers_key(run.files[0]["headers"]),
        defaults={
            "mapping": mapping,
            "name": f"{mapping.get('source') or 'csv'}, for {run.files[0]['name']}"[:200],
        },
    )
    return run


@dataclass
class PreviewRow:
    line: int
    values: dict[str, Any]
    problems: list[str] = field(default_factory=list)


@dataclass
class Preview:
    plan: ImportPlan | None
    rows: list[PreviewRow]
    error: str = ""
    fields: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)


PREVIEW_FIELDS = ["Id", "Name", "Stage", "Amount", "Close date", "Created", "Owner"]


def import_preview(run: ImportRun, *, limit: int = 20) -> Preview:
    """The first rows as the import will read them, each with its problems."""
    try:
        plan = plan_for_run(run)
        plan.check()
        report = Report()
        plan.prepare(report)
    except (FileProblem, UnstuckError) as exc:
        return Preview(plan=None, rows=[], error=str(exc))
    rows: list[PreviewRow] = []
    stages: dict[str, None] = {}
    try:
        for n, row in enumerate(iter_rows(plan.deals, report=report)):
            before = len(report.problems)
            deal = deal_row(plan.mapping, row.line, row.values, file=plan.deals.name, report=report)
            if deal is not None:
                stages.setdefault(deal.stage)
            if n >= limit:
                if n >= 2000:
                    break
                continue
            values: dict[str, Any] = {}
            if deal is not None:
                values = {
                    "external_id": deal.external_id,
                    "name": deal.name,
                    "stage": deal.stage + (f" ({deal.kind})" if deal.kind else ""),
                    "amount": deal.amount,
                    "close_date": deal.close_date,
                    "created_at": deal.created_at,
                    "owner": deal.owner[1] or deal.owner[0],
                }
            problems = [
                f"{p.column}: {p.value!r} {p.reason}" if p.column else p.reason
                for p in report.problems[before:]
            ]
            rows.append(PreviewRow(row.line, values, problems))
    except FileProblem as exc:
        return Preview(plan=plan, rows=rows, error=str(exc), fields=PREVIEW_FIELDS)
    return Preview(plan=plan, rows=rows, fields=PREVIEW_FIELDS, stages=list(stages)[:50])


@transaction.atomic
def import_run_queue(*, by: Membership, run: ImportRun, strict: bool) -> ImportRun:
    """Hand a draft to the background worker."""
    from unstuck.imports.tasks import run_import

    imports_require_leader(by, run)
    if run.status != RunStatus.DRAFT:
        raise UnstuckError("This import was already started.")
    plan = plan_for_run(run)
    run.strict = strict
    run.status = RunStatus.QUEUED
    run.format_label = plan.format_label
    run.save(update_fields=["strict", "status", "format_label"])
    run_id = run.pk
    transaction.on_commit(lambda: run_import.enqueue(run_id))
    return run


@transaction.atomic
def import_draft_discard(*, by: Membership, run: ImportRun) -> None:
    """Drop a draft and its uploaded files; started imports stay on record."""
    imports_require_leader(by, run)
    if run.status != RunStatus.DRAFT:
        raise UnstuckError("Only an import that has not started can be discarded.")
    folder = Path(settings.MEDIA_ROOT) / run.file_dir
    run.delete()
    # Once the deletion is certain: a draft that stays must keep its files.
    transaction.on_commit(lambda: shutil.rmtree(folder, ignore_errors=True))


@transaction.atomic
def import_run_repeat(
    *,
    by: Membership,
    run: ImportRun,
    assign_owners: dict[str, str] | None = None,
    strict: bool | None = None,
    on_conflict: str | None = None,
) -> ImportRun:
    """Run a finished wizard import again on the same stored files, e.g. with unknown owners
    assigned to members, or (mapped CSV files) with the first or last of the rows that share
    an id kept; unchanged deals stay unchanged."""
    from unstuck.imports.services import import_runs_mark_interrupted
    from unstuck.imports.tasks import run_import

    imports_require_leader(by, run)
    if not run.is_finished and import_runs_mark_interrupted(workspace=run.workspace):
        # Its page showed it interrupted (a read stores nothing): store that before rerunning.
        run.refresh_from_db()
    if not run.is_finished:
        raise UnstuckError("This import has not finished yet.")
    if not all(f.get("path") and Path(f["path"]).exists() for f in run.files):
        raise UnstuckError("The files of this import are no longer stored; upload them again.")
    members = {m.user.email.lower() for m in run.workspace.memberships.select_related("user")}
    assign = {k: v for k, v in (assign_owners or {}).items() if v}
    unknown = [email for email in assign.values() if email.lower() not in members]
    if unknown:
        raise UnstuckError(f"{', '.join(unknown)} is not a member of this workspace.")
    mapping = run.mapping
    if on_conflict is not None:
        if run.kind != ImportKind.CSV:
            raise UnstuckError("Only a mapped CSV import can choose which repeated row wins.")
        if on_conflict not in ON_CONFLICT:
            raise UnstuckError("Which repeated row wins is one of reject, first or last.")
        mapping = {**run.mapping, "duplicates": {"on_conflict": on_conflict}}
    again = ImportRun.objects.create(
        workspace=run.workspace,
        created_by_id=by.user_id,
        via="web",
        kind=run.kind,
        status=RunStatus.QUEUED,
        strict=run.strict if strict is None else strict,
        format_label=run.format_label,
        files=run.files,
        mapping=mapping,
        assign_owners={**run.assign_owners, **assign},
        rows_total_estimate=run.rows_total_estimate,
    )
    transaction.on_commit(lambda: run_import.enqueue(again.pk))
    return again


@dataclass
class RemovedFolder:
    """What the cleanup removed (or would): an upload folder or a line index file."""

    path: Path
    size: int
    reason: str
    kind: Literal["upload folder", "line index file"] = "upload folder"


# An upload's folder is written before its run commits; an hour covers the slowest upload.
ORPHAN_GRACE = timedelta(hours=1)


def _folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def import_files_cleanup(*, older_than: timedelta, dry_run: bool = False) -> list[RemovedFolder]:
    """Delete stored uploads that no import needs: those last used by an import that finished
    (or a draft left) longer than older_than ago, folders that no import refers to, and line
    index files (lines.py) that no workspace keeps."""
    removed = [
        RemovedFolder(
            path=f,
            size=f.stat().st_size,
            reason="a line index no import keeps",
            kind="line index file",
        )
        for f in lines.orphaned_files(grace=ORPHAN_GRACE.total_seconds())
    ]
    if not dry_run:
        for r in removed:
            r.path.unlink(missing_ok=True)
    root = Path(settings.MEDIA_ROOT) / "imports"
    if not root.is_dir():
        return removed
    now = timezone.now()
    # A folder is in use until the last import that reads it has finished: "Run again" points
    # the new run at the first one's files.
    last_use: dict[Path, tuple[datetime, list[ImportRun]]] = {}
    for run in ImportRun.objects.order_by("pk").iterator():
        if run.status == RunStatus.DRAFT:
            when = run.created_at
        elif run.is_finished:
            when = run.finished_at or run.created_at
        else:
            when = now  # queued or running
        folders = {Path(run.file_dir).relative_to("imports")}
        for f in run.files:
            with contextlib.suppress(KeyError, ValueError):
                folders.add(Path(f["path"]).parent.relative_to(root))
        for rel in folders:
            seen, runs = last_use.get(rel, (when, []))
            last_use[rel] = (max(seen, when), [*runs, run])
    for folder in sorted(p for p in root.glob("*/*") if p.is_dir()):
        use = last_use.get(folder.relative_to(root))
        if use is None:
            modified = datetime.fromtimestamp(folder.stat().st_mtime, tz=UTC)
            if now - modified < ORPHAN_GRACE:
                continue
            reason = "no import refers to it"
        elif now - use[0] > older_than:
            reason = ", ".join(
                f"import {r.pk} {r.get_status_display().split(':')[0].lower()} "
                f"{(r.finished_at or r.created_at):%Y-%m-%d}"
                for r in use[1]
            )
        else:
            continue
        removed.append(RemovedFolder(path=folder, size=_folder_size(folder), reason=reason))
        if dry_run:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        # A draft without its files cannot go on; finished runs stay on record.
        drafts = [r.pk for r in (use[1] if use else []) if r.status == RunStatus.DRAFT]
        ImportRun.objects.filter(pk__in=drafts, status=RunStatus.DRAFT).delete()
    if not dry_run:
        for ws_folder in root.iterdir():
            with contextlib.suppress(OSError):
                ws_folder.rmdir()  # only succeeds when empty
    return removed
