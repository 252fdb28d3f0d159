"""Background recomputation of a workspace's insights. Queued from the insights page (or after
the demo loads); run nightly with cron (docs/insights.md):
    30 2 * * *  unstuck insights recompute --all
"""

from __future__ import annotations

from django_tasks import task

from unstuck.core.background import TaskFailed, tracked
from unstuck.insights.models import InsightsRun, RunStatus
from unstuck.insights.services import insights_recompute


def _workspace_of(run_id: int) -> int | None:
    return InsightsRun.objects.filter(pk=run_id).values_list("workspace_id", flat=True).first()


@task()
@tracked("insights", "Recomputing insights", workspace_of=_workspace_of)
def recompute_insights(run_id: int) -> dict[str, object]:
    run = InsightsRun.objects.select_related("workspace").get(pk=run_id)
    run = insights_recompute(run=run)
    if run.status == RunStatus.FAILED:
        # The run keeps the reason for the insights page; raising records the failure where
        # every other background failure shows (core.background).
        raise TaskFailed(run.error)
    return {"run": run.pk, "status": run.status, "error": run.error}
