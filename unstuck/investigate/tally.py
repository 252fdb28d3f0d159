"""The queue's summary as stored counts (`QueueTally`): one row per owner and team of the
assessed open deals, written whole by the recompute and an import that changed deals, and
recounted for one group when a deal moves in or out of the open stages. The page sums the
rows its reader may see instead of counting every open deal on each request (issue 16).

Every writer first locks the workspace's row, so a recount starts from every change
committed before it (PostgreSQL runs each statement on what is committed when it starts) and
two writers never interleave their delete and insert. SQLite's IMMEDIATE transactions are
serialised already."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, Max, Q, Sum

from unstuck.core.models import Workspace
from unstuck.deals.models import StageKind
from unstuck.investigate.models import DealAssessment, QueueTally
from unstuck.investigate.stall_signals import STALL_WARNING


def _lock(workspace_id: int) -> None:
    Workspace.objects.select_for_update().filter(pk=workspace_id).values_list("pk").first()


def _counts(workspace_id: int, group: Q | None = None) -> list[QueueTally]:
    rows = DealAssessment.objects.filter(
        workspace_id=workspace_id, deal__workspace_id=workspace_id, deal__status=StageKind.OPEN
    )
    if group is not None:
        rows = rows.filter(group)
    stuck = Q(stall_score__gte=STALL_WARNING)
    grouped = (
        rows.values("deal__owner_id", "deal__team_id")
        .annotate(
            n=Count("pk"),
            stuck=Count("pk", filter=stuck),
            payoff=Sum("payoff", filter=stuck),
            at=Max("computed_at"),
        )
        .order_by()
    )
    return [
        QueueTally(
            workspace_id=workspace_id,
            owner_id=g["deal__owner_id"],
            team_id=g["deal__team_id"],
            open_deals=g["n"],
            stuck=g["stuck"],
            payoff=float(g["payoff"] or 0),
            computed_at=g["at"],
        )
        for g in grouped
    ]


def tally_rewrite(*, workspace_id: int) -> None:
    """Count every group of the workspace again (after a recompute, or an import that changed
    deals: their status, owner or team)."""
    with transaction.atomic():
        _lock(workspace_id)
        counts = _counts(workspace_id)
        QueueTally.objects.filter(workspace_id=workspace_id).delete()
        QueueTally.objects.bulk_create(counts, batch_size=1000)


def tally_recount_group(*, workspace_id: int, owner_id: int | None, team_id: int | None) -> None:
    """Count one owner-and-team group again (a deal of it left or rejoined the open stages):
    as many deals as one rep holds, not the pipeline."""
    group = Q(owner_id=owner_id) if owner_id is not None else Q(owner_id__isnull=True)
    group &= Q(team_id=team_id) if team_id is not None else Q(team_id__isnull=True)
    on_deals = Q(deal__owner_id=owner_id) if owner_id is not None else Q(deal__owner__isnull=True)
    on_deals &= Q(deal__team_id=team_id) if team_id is not None else Q(deal__team__isnull=True)
    with transaction.atomic():
        _lock(workspace_id)
        counts = _counts(workspace_id, on_deals)
        QueueTally.objects.filter(group, workspace_id=workspace_id).delete()
        QueueTally.objects.bulk_create(counts)
