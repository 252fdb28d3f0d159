"""Background work of the playbook: recompute a play's stored outcome after it was applied,
so the next page view reads it rather than computing it (plays_outcomes.stored_outcome)."""

from __future__ import annotations

from django_tasks import task

from unstuck.share.models import Play
from unstuck.share.plays_outcomes import stored_outcome


@task()
def refresh_play_outcome(play_id: int) -> dict[str, object]:
    play = Play.objects.filter(pk=play_id).select_related("workspace").first()
    if play is None:
        return {"play": play_id, "status": "gone"}
    summary = stored_outcome(play, refresh=True)["summary"]
    return {"play": play_id, "verdict": summary["verdict"], "n": summary["applications"]}
