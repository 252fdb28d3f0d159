"""Background recomputation of a workspace's insights. Queued from the insights page (or after
the demo loads); run nightly with cron (docs/insights.md):
    30 2 * * *  unstuck insights recompute --all
"""

from __future__ import annotations

from django_tasks import task

from unstuck.insights.models import InsightsRun
from unstuck.insights.services import insights_recompute


@task()
def recompute_insights(run_id: int) -> dict[str, object]:
    run = InsightsRun.objects.select_related("workspace").get(pk=run_id)
    run = insights_recompute(run=run)
    return {"run": run.pk, "status": run.status, "error": run.error}
