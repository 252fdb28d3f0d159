"""Background tasks: run an import from the wizard, and recompute after any import."""

from __future__ import annotations

from django_tasks import task

from unstuck.core.background import tracked


@task()
def run_import(run_id: int) -> None:
    from unstuck.imports.services import import_run_execute_stored, import_runs_mark_interrupted

    # A worker starting up is often one that replaced a killed one: settle what that one left.
    import_runs_mark_interrupted()
    import_run_execute_stored(run_id=run_id)


@task()
@tracked("scoring", "Scoring the pipeline after an import")
def recompute_after_import(workspace_id: int) -> dict[str, object]:
    """Rescore right after an import, without waiting for the night: the models are retrained
    when the import brought new outcomes (closed deals), and only the deals it changed (plus
    those whose stage benchmark moved) are rescored unless the models changed."""
    from unstuck.core.models import Workspace
    from unstuck.investigate.services import assessments_recompute, models_stale

    workspace = Workspace.objects.get(pk=workspace_id)
    result = assessments_recompute(
        workspace=workspace, retrain=models_stale(workspace), incremental=True
    )
    return {
        "assessed": result.assessed,
        "kept": result.kept,
        "full": result.full,
        "model": str(result.model_kind),
    }
