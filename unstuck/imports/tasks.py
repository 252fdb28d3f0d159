"""Background tasks: run an import from the wizard, and recompute after any import."""

from __future__ import annotations

from django_tasks import task


@task()
def run_import(run_id: int) -> None:
    from unstuck.imports.services import import_run_execute_stored

    import_run_execute_stored(run_id=run_id)


@task()
def recompute_after_import(workspace_id: int) -> None:
    from unstuck.core.hooks import workspace_data_changed

    workspace_data_changed(workspace_id)
