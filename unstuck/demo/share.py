"""Share in the demo: news posted by the leader and by legal, passed on by the East manager
(manager@demo.example) with a line and still waiting for the West manager; a bench of three
(deal desk & finance, legal, product); one open ask from rep@demo.example, and past asks on
won deals like East's stuck ones, so "who helped on deals like this" has something to say.
Capped: the same cost at any size."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from unstuck.core.models import Membership, Role, Team, User, Workspace
from unstuck.deals.models import Deal, DealPartner, StageKind
from unstuck.insights.cohorts import size_bands
from unstuck.investigate.models import Obstacle, ObstacleStatus
from unstuck.share import bench_services, news_services
from unstuck.share.models import (
    AskStatus,
    BenchAsk,
    BenchPerson,
    Function,
    NewsPost,
    NewsRelay,
)

DEMO_PASSWORD = "demo"  # as in generator.py (which imports this module)

NEWS = [
    (
        "Three-year terms now get 12 % off",
        "From December, deal desk approves 12 % off list for a three-year commitment paid "
        "annually, without a separate approval. The calculator and the wording are on the "
        "pricing page: https://wiki.northwind.example/pricing/multi-year",
    ),
    (
        "Q4 forecast call moves to Thursdays",
        "Forecast calls move to Thursday 10:00 for the rest of the quarter, so the numbers "
        "include Wednesday's pipeline review.",
    ),
]
LINE = (
    "For East: lead with this on the renewals stuck in Proposal. Riley, try it on the "
    "Harbor account this week and tell us how the CFO reacts."
)
LEGAL_NEWS = (
    "A shorter DPA template",
    "Our new data processing agreement is four pages instead of eleven and takes the "
    "customer's standard clauses for sub-processors. Send it before procurement asks: "
    "https://wiki.northwind.example/legal/dpa",
)
BENCH = [
    (
        "partner@demo.example",
        "Priya Raman",
        "deal_desk",
        "Non-standard terms, multi-year pricing, approvals above your guardrails",
    ),
    (
        "legal@demo.example",
        "Lena Vogel",
        "legal",
        "DPAs, liability caps, redlines, procurement questionnaires",
    ),
    (
        "product@demo.example",
        "Omar Haddad",
        "product",
        "Roadmap calls with the customer's architects, integration gaps, SSO",
    ),
]


def _member(workspace: Workspace, email: str, name: str, title: str) -> Membership:
    found = Membership.objects.filter(workspace=workspace, user__email=email).first()
    if found is not None:
        return found
    user = User.objects.filter(email=email).first() or User.objects.create(
        email=email, name=name, password=make_password(DEMO_PASSWORD)
    )
    return Membership.objects.create(workspace=workspace, user=user, role=Role.PARTNER, title=title)


def add_share(*, workspace: Workspace, seed: int, today: date) -> None:
    rng = random.Random(seed + 909)
    leader = (
        Membership.objects.select_related("workspace", "user")
        .filter(workspace=workspace, role=Role.LEADER)
        .first()
    )
    teams = list(Team.objects.filter(workspace=workspace).order_by("name"))
    if leader is None or not teams:
        return
    # News: recent, so this week's digest carries it (the demo is built for today).
    now = min(timezone.now(), datetime.combine(today, time(9), tzinfo=UTC))
    posts = [
        news_services.news_post(membership=leader, title=title, body=body) for title, body in NEWS
    ]
    NewsPost.objects.filter(pk=posts[0].pk).update(created_at=now - timedelta(days=2))
    NewsPost.objects.filter(pk=posts[1].pk).update(created_at=now - timedelta(days=1))
    east = teams[0]
    if east.manager_id:
        manager = Membership.objects.select_related("workspace", "user").get(
            workspace=workspace, user_id=east.manager_id
        )
        news_services.news_relay(
            membership=manager, post=posts[0], team=east, decision="passed", line=LINE
        )
        news_services.news_relay(membership=manager, post=posts[1], team=east, decision="held")
        NewsRelay.objects.filter(post__in=posts).update(decided_at=now - timedelta(hours=20))

    # The bench: the demo's partner (deal desk & finance), legal and product.
    bench = {}
    for email, name, function, helps in BENCH:
        member = _member(workspace, email, name, Function(function).label)
        bench[function] = BenchPerson.objects.create(
            workspace=workspace, user=member.user, function=function, helps_with=helps
        )
    legal = Membership.objects.select_related("workspace", "user").get(
        workspace=workspace, user=bench["legal"].user
    )
    legal_post = news_services.news_post(
        membership=legal,
        title=LEGAL_NEWS[0],
        body=LEGAL_NEWS[1],
        audience="teams",
        team_ids=[east.pk],
    )
    NewsPost.objects.filter(pk=legal_post.pk).update(created_at=now - timedelta(hours=6))

    # An open ask from rep@demo.example on one of their open deals.
    rep = (
        Membership.objects.select_related("workspace", "user", "team")
        .filter(workspace=workspace, user__email="rep@demo.example")
        .first()
    )
    if rep is not None:
        deal = (
            Deal.objects.filter(workspace=workspace, owner=rep.user, status=StageKind.OPEN)
            .order_by("-amount")
            .first()
        )
        if deal is not None:
            bench_services.bench_ask(
                membership=rep,
                deal=deal,
                person=bench["legal"],
                what="Procurement wants our liability cap at 2x fees. Can we accept, or what "
                "can we offer instead?",
                due_date=max(today, timezone.localdate()) + timedelta(days=4),
            )
    _past_asks(workspace, east, bench, rng)


def _past_asks(
    workspace: Workspace, team: Team, bench: dict[str, BenchPerson], rng: random.Random
) -> None:
    """Legal and product on won deals like the East team's most stuck one (same segment,
    size band, an obstacle in common), asked in the stage it is stuck in."""
    stuck = (
        Deal.objects.filter(
            workspace=workspace, team=team, status=StageKind.OPEN, obstacles__isnull=False
        )
        .order_by("-amount")
        .distinct()
        .first()
    )
    if stuck is None:
        return
    kind = Obstacle.objects.filter(deal=stuck).values_list("kind", flat=True).first() or "other"
    bands = size_bands(workspace)
    band = bands.band(float(stuck.amount))
    edges = list(bands.edges)
    won = Deal.objects.filter(workspace=workspace, team=team, status=StageKind.WON)
    if stuck.custom.get("segment"):
        won = won.filter(custom__segment=stuck.custom["segment"])
    if band > 0:
        won = won.filter(amount__gte=edges[band - 1])
    if band < len(edges):
        won = won.filter(amount__lt=edges[band])
    similar = list(won.order_by("-closed_at")[:6])
    for n, deal in enumerate(similar):
        Obstacle.objects.create(
            deal=deal,
            kind=kind,
            description="Resolved with help from the bench",
            status=ObstacleStatus.RESOLVED,
        )
        helpers = [bench["legal"]] if n < 4 else [bench["product"]] if n == 4 else []
        for person in helpers:
            asked_at = (deal.closed_at or timezone.now()) - timedelta(days=rng.randint(10, 40))
            BenchAsk.objects.create(
                workspace=workspace,
                deal=deal,
                person=person,
                stage=stuck.stage,
                asked_by=deal.owner,
                what="Help us get past the " + kind + " obstacle",
                due_date=asked_at.date() + timedelta(days=5),
                status=AskStatus.ANSWERED,
                answer="Done: see the notes on the deal.",
                answered_at=asked_at + timedelta(days=2),
                helpful=True,
                created_at=asked_at,
            )
            DealPartner.objects.get_or_create(deal=deal, user=person.user)
