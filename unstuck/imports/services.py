"""Running an import: record the run, read the files through their plan, load, report.

The CLI and the wizard's background task both come through `import_run_execute`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from unstuck.core.errors import UnstuckError
from unstuck.core.models import User, Workspace
from unstuck.core.private import private_dir
from unstuck.imports.copy_stage import copy_source
from unstuck.imports.loader import PHASE_READING, ImportRejected, Loader, LoadResult
from unstuck.imports.models import ImportProblem, ImportRun, RunStatus
from unstuck.imports.parsing import FileProblem
from unstuck.imports.readers.base import ImportPlan
from unstuck.imports.records import Report

log = logging.getLogger(__name__)
PROBLEM_BATCH = 5000
HEARTBEAT_EVERY = 30  # seconds
# Well above HEARTBEAT_EVERY, so a busy disk or a paused virtual machine is not taken for death.
STALE_AFTER = timedelta(minutes=10)


@dataclass
class Outcome:
    run: ImportRun
    result: LoadResult
    report: Report

    @property
    def ok(self) -> bool:
        return self.run.status == RunStatus.DONE

    @property
    def rows_rejected(self) -> bool:
        return self.run.status != RunStatus.DONE or self.result.rejected > 0


def _file_entries(plan: ImportPlan, *, stored: bool = False) -> list[dict[str, Any]]:
    return [
        {
            "role": f.notes[0] if f.notes else "",
            "name": f.name,
            "sha256": f.sha256,
            "size": f.size,
            "encoding": f.encoding_label,
            "delimiter": f.delimiter_label,
            "headers": f.headers,
            **({"path": str(f.path)} if stored else {}),
        }
        for f in plan.files
    ]


ESTIMATE_SAMPLE = 1 << 18  # bytes read from the start of each file to size its lines


def _estimate_rows(plan: ImportPlan) -> int:
    """Rows to expect, for progress bars: each file's size over the length of the lines at its
    start (progress counts lines too), or, for a file too short to tell, its whole count."""
    total = 0
    for f in [plan.deals, plan.history]:
        if f is None:
            continue
        with f.path.open("rb") as fh:
            sample = fh.read(ESTIMATE_SAMPLE)
        breaks = sample.count(b"\n")
        if len(sample) < ESTIMATE_SAMPLE or breaks < 2:
            total += max(breaks - 1, 0) + (1 if sample and not sample.endswith(b"\n") else 0)
        else:
            total += round(f.size * breaks / len(sample)) - 1  # less the header
    return max(total, 0)


def import_run_start(
    *,
    workspace: Workspace,
    by: User | None,
    plan: ImportPlan,
    strict: bool = True,
    assign_owners: dict[str, str] | None = None,
    via: str = "cli",
) -> ImportRun:
    return ImportRun.objects.create(
        workspace=workspace,
        created_by=by,
        via=via,
        kind=plan.kind,
        status=RunStatus.QUEUED,
        strict=strict,
        format_label=plan.format_label,
        files=_file_entries(plan, stored=via == "web"),
        mapping=plan.mapping.to_dict(),
        assign_owners=assign_owners or {},
        rows_total_estimate=_estimate_rows(plan),
    )


def progress_path(run: ImportRun) -> Path:
    return Path(settings.DATA_DIR) / "imports" / "progress" / f"{run.pk}.json"


@dataclass
class RunProgress:
    """How far an import has got: rows read so far and the step it is in ("" before it starts
    or once it ends). Kept in a file: the import's transaction hides everything it writes to
    the database until it commits."""

    rows: int
    phase: str

    @property
    def reading(self) -> bool:
        return self.phase in ("", PHASE_READING)


def import_run_progress(run: ImportRun) -> RunProgress:
    """The run's progress for its page and the API. A running run whose process has died is
    shown as interrupted (on this instance only: a read writes nothing; the next import or
    worker start stores it), so it does not show as running forever."""
    import_runs_as_seen([run])
    state = (_progress_state(run) or {}) if not run.is_finished else {}
    rows, phase = state.get("rows"), state.get("phase")
    return RunProgress(
        rows=rows if isinstance(rows, int) else run.rows_read,
        phase=phase if isinstance(phase, str) else "",
    )


def _progress_state(run: ImportRun) -> dict[str, Any] | None:
    try:
        state = json.loads(progress_path(run).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _process_gone(state: dict[str, Any]) -> bool:
    """Whether the process that wrote the progress file is gone; only answerable on its own
    host (and process namespace), and only on POSIX, where signal 0 checks without killing."""
    pid = state.get("pid")
    if os.name != "posix" or not isinstance(pid, int) or pid <= 0:
        return False
    if state.get("host") != socket.gethostname() or state.get("pidns") != _pid_namespace():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False


def _is_interrupted(run: ImportRun, now: float) -> bool:
    state = _progress_state(run)
    if state is not None and _process_gone(state):
        return True
    last = state.get("heartbeat") if state is not None else None
    if not isinstance(last, (int, float)):
        # No file yet (or no longer): the run's start is the last sign of life.
        last = (run.started_at or run.created_at).timestamp()
    return now - last > STALE_AFTER.total_seconds()


def import_runs_as_seen(runs: Iterable[ImportRun]) -> list[ImportRun]:
    """Show running imports whose process died (killed, rebooted, out of memory) as
    interrupted: sets their status, end and message on these instances without saving them,
    so pages and the API can call it. Returns the runs found dead."""
    now = time.time()
    dead: list[ImportRun] = []
    for run in runs:
        if run.status != RunStatus.RUNNING or not _is_interrupted(run, now):
            continue
        where = f" (process {run.worker_pid} on {run.worker_host})" if run.worker_host else ""
        run.status = RunStatus.INTERRUPTED
        run.finished_at = timezone.now()
        run.message = (
            f"This import was interrupted: the process running it{where} stopped before it "
            "finished, so nothing was written. Run it again."
        )
        dead.append(run)
    return dead


def import_runs_mark_interrupted(*, workspace: Workspace | None = None) -> list[ImportRun]:
    """Store as interrupted the running imports whose process died, so they do not show as
    running forever. Their transaction never committed: nothing was written."""
    runs = ImportRun.objects.filter(status=RunStatus.RUNNING)
    if workspace is not None:
        runs = runs.filter(workspace=workspace)
    marked: list[ImportRun] = []
    for run in import_runs_as_seen(runs):
        # Only if it is still running: it may have finished since it was read.
        if ImportRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            status=run.status, finished_at=run.finished_at, message=run.message
        ):
            progress_path(run).unlink(missing_ok=True)
            log.warning("Import %s marked interrupted (process %s)", run.pk, run.worker_pid)
            marked.append(run)
    return marked


def _pid_namespace() -> str:
    # Containers on one machine can share a host name but not their process ids.
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


class _ProgressFile:
    """The progress file of a running import: rows read, and a heartbeat that a thread renews
    even while the loader is busy between progress calls, so a silent file means a dead process.

    The run's row cannot carry the heartbeat: the import's transaction holds it until the end.
    """

    def __init__(self, run: ImportRun) -> None:
        self.path = progress_path(run)
        self.state: dict[str, Any] = {
            "rows": 0,
            "host": run.worker_host,
            "pid": run.worker_pid,
            "pidns": _pid_namespace(),
        }
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"import-{run.pk}-heartbeat", daemon=True
        )

    def __enter__(self) -> _ProgressFile:
        private_dir(self.path.parent)
        self.write()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.path.unlink(missing_ok=True)

    def write(self, rows: int | None = None, phase: str | None = None) -> None:
        with self._lock:
            if rows is not None:
                self.state["rows"] = rows
            if phase is not None:
                self.state["phase"] = phase
            self.state["heartbeat"] = time.time()
            # Replaced whole, so a reader never sees half a file.
            tmp = self.path.with_suffix(".tmp")
            with contextlib.suppress(OSError):
                tmp.write_text(json.dumps(self.state))
                os.replace(tmp, self.path)

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_EVERY):
            self.write()


def _save_problems(run: ImportRun, report: Report) -> None:
    batch: list[ImportProblem] = []
    for p in report.problems:
        batch.append(
            ImportProblem(
                run=run,
                severity=p.severity,
                file=p.file[:255],
                line=p.line,
                column=p.column[:255],
                value=p.value[:200],
                reason=p.reason,
                row=p.row,
            )
        )
        if len(batch) >= PROBLEM_BATCH:
            ImportProblem.objects.bulk_create(batch)
            batch = []
    ImportProblem.objects.bulk_create(batch)


def import_run_execute(
    *,
    run: ImportRun,
    plan: ImportPlan,
    progress: Callable[[int], None] | None = None,
    phase: Callable[[str], None] | None = None,
) -> Outcome:
    """Read, validate and load; the run records the outcome whatever happens. progress hears
    the rows read so far, phase the step the import is in (both also go to the run's progress
    file, which the import page and the API read)."""
    run.status = RunStatus.RUNNING
    run.started_at = timezone.now()
    run.worker_host = socket.gethostname()[:255]
    run.worker_pid = os.getpid()
    run.save(update_fields=["status", "started_at", "worker_host", "worker_pid"])
    with _ProgressFile(run) as progress_file:
        return _execute(
            run=run, plan=plan, progress_file=progress_file, progress=progress, phase=phase
        )


def _execute(
    *,
    run: ImportRun,
    plan: ImportPlan,
    progress_file: _ProgressFile,
    progress: Callable[[int], None] | None,
    phase: Callable[[str], None] | None,
) -> Outcome:
    report = Report()
    result = LoadResult()

    def on_progress(n: int) -> None:
        progress_file.write(n)
        if progress is not None:
            progress(n)

    def on_phase(name: str) -> None:
        progress_file.write(phase=name)
        if phase is not None:
            phase(name)

    status = RunStatus.DONE
    message = ""
    try:
        plan.check()
        plan.prepare(report)
        loader = Loader(
            workspace=run.workspace,
            options=plan.load_options(strict=run.strict, assign_owners=run.assign_owners),
            report=report,
            progress=on_progress,
            phase=on_phase,
        )
        result = loader.load(
            deals=plan.deal_rows(report),
            history=plan.history_rows(report),
            accounts=plan.accounts,
            after=(lambda: plan.load_related(run.workspace, report)) if plan.has_related else None,
            copy_from=copy_source(plan),
        )
    except ImportRejected:
        status = RunStatus.REJECTED
        # Nothing was written, so no count stands, except what the way out depends on.
        result.conflicting_ids = loader.result.conflicting_ids
        n = report.rejected_count
        how = "--skip-invalid" if run.via == "cli" else "“skipping invalid rows”"
        message = (
            f"{n} row{'s' if n != 1 else ''} {'are' if n != 1 else 'is'} invalid, so nothing "
            f"was written (strict mode). Fix them, or import again {how} to load the valid rows."
        )
    except (FileProblem, UnstuckError) as exc:
        status = RunStatus.FAILED
        message = str(exc)
    except Exception as exc:
        # Nothing was written (one transaction); say so on the run if the database still
        # answers, and let the error surface to the worker or terminal.
        with contextlib.suppress(Exception):
            ImportRun.objects.filter(pk=run.pk).update(
                status=RunStatus.FAILED,
                message=f"The import stopped ({exc.__class__.__name__}: {exc}); nothing was "
                "written. Run it again.",
                finished_at=timezone.now(),
            )
        raise
    result.rejected = report.rejected_count
    run.status = status
    run.message = message
    run.finished_at = timezone.now()
    run.rows_read = report.rows_read
    for key in ("created", "updated", "unchanged", "merged_duplicates", "history_added"):
        setattr(run, key, getattr(result, key) if status == RunStatus.DONE else 0)
    run.rejected = result.rejected
    run.summary = {
        "notes": [*plan.notes, *report.notes],
        "unknown_owners": result.unknown_owners,
        "unknown_owner_emails": result.unknown_owner_emails,
        "stages_created": result.stages_created,
        "accounts_created": result.accounts_created,
        "accounts_updated": result.accounts_updated,
        "related": result.related,
        "conflicting_ids": result.conflicting_ids,
        "errors": len(report.errors),
        "warnings": len(report.warnings),
    }
    if status == RunStatus.DONE and result.fingerprints:
        run.summary["fingerprints"] = result.fingerprints
    run.save()
    _save_problems(run, report)
    if status == RunStatus.DONE and (result.created or result.updated or result.history_added):
        from unstuck.imports.tasks import recompute_after_import

        workspace_id = run.workspace_id
        transaction.on_commit(lambda: recompute_after_import.enqueue(workspace_id))
    return Outcome(run=run, result=result, report=report)


def plan_for_run(run: ImportRun) -> ImportPlan:
    """Rebuild a wizard run's plan from its stored files and mapping."""
    from unstuck.imports.mapping import Mapping
    from unstuck.imports.readers.crm import csv_plan, hubspot_plan, salesforce_plan

    paths = {f["role"]: Path(f["path"]) for f in run.files if f.get("path")}
    names = {f["role"]: f["name"] for f in run.files}
    if "deals" not in paths:
        raise UnstuckError("This import has no deals file.")
    if run.kind == "salesforce":
        names["opportunities"] = names["deals"]
        return salesforce_plan(
            opportunities=paths["deals"],
            history=paths.get("history"),
            accounts=paths.get("accounts"),
            users=paths.get("users"),
            contacts=paths.get("contacts"),
            contact_roles=paths.get("contact_roles"),
            activities=paths.get("activities"),
            names=names,
        )
    if run.kind == "hubspot":
        return hubspot_plan(deals=paths["deals"], names=names)
    return csv_plan(
        mapping=Mapping.from_dict(run.mapping),
        deals=paths["deals"],
        history=paths.get("history"),
        names=names,
    )


def import_run_execute_stored(*, run_id: int) -> Outcome | None:
    """The wizard's background task: run a queued import once."""
    run = ImportRun.objects.select_related("workspace").filter(pk=run_id).first()
    if run is None or run.status != RunStatus.QUEUED:
        return None
    try:
        plan = plan_for_run(run)
    except (FileProblem, UnstuckError) as exc:
        run.status = RunStatus.FAILED
        run.message = str(exc)
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "message", "finished_at"])
        return None
    return import_run_execute(run=run, plan=plan)
