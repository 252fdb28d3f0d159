"""Reads of the bench: the directory, open asks for a person, "who helped on deals like
this", and when each function was last involved with a team."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Max, Q, QuerySet
from django.http import Http404

from unstuck.core.access import deals_visible_to
from unstuck.core.models import Membership, Role
from unstuck.deals.models import Deal, StageKind
from unstuck.insights.cohorts import size_bands
from unstuck.investigate.models import Obstacle
from unstuck.share.models import AskStatus, BenchAsk, BenchPerson, Function


def bench_directory(membership: Membership) -> QuerySet[BenchPerson]:
    """The bench of the workspace, for everyone but partners (who see only themselves)."""
    qs = BenchPerson.objects.filter(workspace_id=membership.workspace_id).select_related("user")
    if membership.role == Role.PARTNER:
        return qs.filter(user_id=membership.user_id)
    return qs


def get_bench_person_for(membership: Membership, pk: int) -> BenchPerson:
    try:
        return bench_directory(membership).get(pk=pk)
    except (BenchPerson.DoesNotExist, ValueError, TypeError):
        raise Http404("No such person on the bench.") from None


def asks_visible_to(membership: Membership) -> QuerySet[BenchAsk]:
    """Asks on deals one may see; a partner sees only the asks made to them."""
    qs = BenchAsk.objects.filter(workspace_id=membership.workspace_id)
    if membership.role == Role.PARTNER:
        return qs.filter(person__user_id=membership.user_id)
    if membership.role == Role.LEADER:
        return qs
    return qs.filter(deal__in=deals_visible_to(membership).values("pk"))


def get_ask_for(membership: Membership, pk: int) -> BenchAsk:
    try:
        return (
            asks_visible_to(membership)
            .select_related("deal", "person__user", "asked_by", "stage")
            .get(pk=pk)
        )
    except (BenchAsk.DoesNotExist, ValueError, TypeError):
        raise Http404("No such ask.") from None


def asks_inbox(membership: Membership) -> dict[str, list[BenchAsk]]:
    """Open asks made to this person, and asks they made (open, or answered and not yet
    rated). Two queries."""
    base = BenchAsk.objects.filter(workspace_id=membership.workspace_id).select_related(
        "deal", "person__user", "asked_by"
    )
    to_me = list(base.filter(person__user_id=membership.user_id, status=AskStatus.OPEN)[:50])
    from_me = list(
        base.filter(asked_by_id=membership.user_id)
        .filter(Q(status=AskStatus.OPEN) | Q(status=AskStatus.ANSWERED, helpful__isnull=True))
        .order_by("status", "due_date")[:50]
    )
    return {"to_me": to_me, "from_me": from_me}


@dataclass
class Helper:
    person: BenchPerson
    deals: int  # similar wins they worked on
    helpful: int  # of those, asks marked helpful

    def sentence(self, similar: int) -> str:
        return f"on {self.deals} of {similar} similar win{'s' if similar != 1 else ''}"


@dataclass
class WhoHelped:
    similar: int  # similar won deals the viewer may see
    helpers: list[Helper]
    basis: str  # what "similar" meant, in words


def who_helped(membership: Membership, deal: Deal, *, limit: int = 5) -> WhoHelped:
    """People who worked on won deals like this one that the viewer may see: the same stage
    when they were asked, the same size band, the same segment and at least one obstacle
    kind in common (when the deal has obstacles). Plain counts, no scores."""
    kinds = list(
        Obstacle.objects.filter(deal=deal).values_list("kind", flat=True).distinct().order_by()
    )
    bands = size_bands(deal.workspace)
    band = bands.band(float(deal.amount))
    segment = (deal.custom or {}).get("segment")
    won = deals_visible_to(membership).filter(status=StageKind.WON).exclude(pk=deal.pk)
    if segment:
        won = won.filter(custom__segment=segment)
    edges = list(bands.edges)
    low = Decimal(str(edges[band - 1])) if band > 0 else None
    high = Decimal(str(edges[band])) if band < len(edges) else None
    if low is not None:
        won = won.filter(amount__gte=low)
    if high is not None:
        won = won.filter(amount__lt=high)
    if kinds:
        won = won.filter(obstacles__kind__in=kinds)
    similar_ids = won.values("pk")
    similar = won.values("pk").distinct().count()
    rows = list(
        BenchAsk.objects.filter(
            workspace_id=deal.workspace_id,
            deal_id__in=similar_ids,
            stage_id=deal.stage_id,
        )
        .exclude(status=AskStatus.WITHDRAWN)
        .values("person_id")
        .annotate(
            deals=Count("deal_id", distinct=True),
            helpful=Count("deal_id", filter=Q(helpful=True), distinct=True),
        )
        .order_by("-deals", "-helpful", "person_id")[:limit]
    )
    people = BenchPerson.objects.select_related("user").in_bulk([r["person_id"] for r in rows])
    helpers = [Helper(people[r["person_id"]], r["deals"], r["helpful"]) for r in rows]
    parts = [f"won, asked in {deal.stage.name}", f"amount {bands.labels()[band]}"]
    if segment:
        parts.append(f"segment {segment}")
    if kinds:
        parts.append("an obstacle in common")
    return WhoHelped(similar=similar, helpers=helpers, basis=", ".join(parts))


@dataclass
class Involvement:
    function: str
    label: str
    last: datetime | None
    people: int


def function_involvement(*, workspace_id: int, team_ids: list[int]) -> list[Involvement]:
    """For each function on the bench, when it was last asked for help on these teams'
    deals (None: never). Two queries."""
    on_bench = dict(
        BenchPerson.objects.filter(workspace_id=workspace_id, active=True)
        .values_list("function")
        .annotate(n=Count("pk"))
        .order_by()
    )
    last = dict(
        BenchAsk.objects.filter(workspace_id=workspace_id, deal__team_id__in=team_ids)
        .values_list("person__function")
        .annotate(at=Max("created_at"))
        .order_by()
    )
    labels = dict(Function.choices)
    return [
        Involvement(function=f, label=str(labels.get(f, f)), last=last.get(f), people=n)
        for f, n in sorted(on_bench.items(), key=lambda kv: str(labels.get(kv[0], kv[0])))
    ]
