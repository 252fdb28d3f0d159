"""Background work of the playbook: measure a play's outcome and store it, so pages, the API,
the suggestions and the digest read it rather than computing it (plays_outcomes). Queued
when a play is applied and when someone asks for a fresh figure (a POST); the nightly
`unstuck insights recompute` refreshes every stale one in its own process."""

from __future__ import annotations

from django_tasks import task

from unstuck.core.background import tracked
from unstuck.share.models import Play
from unstuck.share.plays_outcomes import outcome_refresh


def _workspace_of(play_id: int) -> int | None:
    return Play.objects.filter(pk=play_id).values_list("workspace_id", flat=True).first()


@task()
@tracked("playbook", "Measuring a play's outcome", workspace_of=_workspace_of)
def refresh_play_outcome(play_id: int) -> dict[str, object]:
    play = Play.objects.filter(pk=play_id).select_related("workspace").first()
    if play is None:
        return {"play": play_id, "status": "gone"}
    summary = outcome_refresh(play)["summary"]
    return {"play": play_id, "verdict": summary["verdict"], "n": summary["applications"]}
