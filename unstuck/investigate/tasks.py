"""Background recomputation of benchmarks, assessments and the win model.

Enqueue `recompute_workspace` after an import; run nightly with cron (docs/investigate.md):
    15 2 * * *  unstuck investigate recompute --all --retrain
"""

from __future__ import annotations

from django_tasks import task

from unstuck.core.background import tracked
from unstuck.core.models import Workspace
from unstuck.investigate.services import assessments_recompute


@task()
@tracked("scoring", "Scoring the pipeline")
def recompute_workspace(workspace_id: int, retrain: bool = False) -> dict[str, object]:
    workspace = Workspace.objects.get(pk=workspace_id)
    result = assessments_recompute(workspace=workspace, retrain=retrain)
    return {"assessed": result.assessed, "model": str(result.model_kind)}
