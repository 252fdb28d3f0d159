"""API: an import run's status and counts, for scripts that start imports and wait."""

from __future__ import annotations

from datetime import datetime

from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from unstuck.core.access import membership_for, require_role
from unstuck.core.apidocs import responses
from unstuck.core.http import AppRequest
from unstuck.core.models import Role
from unstuck.imports.models import ImportRun
from unstuck.imports.services import import_run_progress

router = Router(tags=["imports"])


class ImportRunOut(Schema):
    id: int
    kind: str
    status: str
    strict: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rows_read: int
    rows_total_estimate: int
    phase: str = ""
    created: int
    updated: int
    unchanged: int
    rejected: int
    merged_duplicates: int
    history_added: int
    message: str
    files: list[dict[str, object]]


@router.get(
    "/{slug}/imports/{run_id}",
    response=responses({200: ImportRunOut}, 403, 404),
    summary="An import run's status and counts",
)
def import_run_status(request: AppRequest, slug: str, run_id: int) -> ImportRunOut:
    """Leaders only. While the import runs, rows_read says how far it got and phase what it
    is doing ("Reading the files", "Checking the rows", … "Rebuilding indexes")."""
    membership = membership_for(request.user, slug)
    require_role(membership, Role.LEADER)
    run = get_object_or_404(ImportRun, pk=run_id, workspace_id=membership.workspace_id)
    progress = import_run_progress(run)
    out = ImportRunOut.from_orm(run)
    out.rows_read, out.phase = progress.rows, progress.phase
    out.files = [{k: v for k, v in f.items() if k != "path"} for f in run.files]
    return out
