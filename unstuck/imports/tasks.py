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
    """New history changes the stage benchmarks, every deal's signals and the win model."""
    from unstuck.core.models import Workspace
    from unstuck.investigate.services import assessments_recompute

    result = assessments_recompute(workspace=Workspace.objects.get(pk=workspace_id), retrain=True)
    return {"assessed": result.assessed, "model": str(result.model_kind)}
