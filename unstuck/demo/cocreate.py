"""Co-creation in the demo: the East team's longest-stuck deals get obstacles, committee
concerns and pain (so a session has something to work from), and one of them carries a
finished session — options, scores from the manager and the rep, checklist, decision, action
items and outcome — so its deal history shows a closed loop. Capped: the same cost at any size.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from unstuck.cocreate import services
from unstuck.cocreate.generator import suggest_for
from unstuck.cocreate.models import ActionItem, Comment, Option, Session
from unstuck.core.models import Membership, Role, Team, Workspace
from unstuck.deals.models import BuyingRole, Deal, Stage, Stakeholder
from unstuck.deals.services import deal_move_to_stage
from unstuck.investigate.models import CustomerPain, Obstacle, StakeholderView

MAX_DEALS = 24

OBSTACLES = [
    ("budget", "No budget left this fiscal year", "CFO: 'Come back when the new budget opens.'"),
    ("competitor", "The incumbent offered a 30 % discount to renew", "Champion shared the quote."),
    ("technical", "IT doubts the SSO and data-warehouse integration", "Architect went quiet."),
    ("politics", "The new COO wants to review every vendor", "Sponsor reports to the new COO."),
    ("legal", "Data processing agreement stuck in legal review", "Third redline round."),
    ("priority", "A cost-cutting programme pushed the project down", "Steering meeting moved."),
]
CONCERNS = [
    ("Needs payback inside 12 months to pass the investment committee.", ["roi", "price"]),
    ("Worried about paying for seats nobody uses after year one.", ["price", "risk"]),
    ("Last vendor overran by 40 %; wants the risk on the supplier.", ["risk", "vendor_viability"]),
    ("Anything new must come out of opex this year.", ["price", "time_to_value"]),
]
PAINS = [
    (
        "Month-end close takes nine days because finance reconciles exports by hand.",
        "Close the books in four days and move two analysts to planning by Q3.",
    ),
    (
        "Forecasts miss by 20 % and the board no longer trusts the numbers.",
        "A forecast the board trusts: within 5 % of actuals for two quarters running.",
    ),
    (
        "Store managers get stock reports a week late and over-order.",
        "Cut overstock by 15 % this year with daily stock views in every store.",
    ),
]


def _stuck_deals(workspace: Workspace, team: Team) -> list[Deal]:
    """The team's largest open deals and those longest in their stage: where the queue's
    payoff is, so the deals a manager sees first have something to co-create from."""
    base = Deal.objects.filter(
        workspace=workspace, team=team, status="open", amount__gte=20_000
    ).select_related("account", "stage", "owner")
    largest = list(base.order_by("-amount", "pk")[: MAX_DEALS // 2])
    oldest = list(base.order_by("stage_entered_at", "pk")[:MAX_DEALS])
    return list({d.pk: d for d in largest + oldest}.values())


def _investigate(deal: Deal, rng: random.Random, now: datetime, n: int) -> None:
    """Obstacles, committee concerns and pain, where the investigation has none yet."""
    if not deal.obstacles.exists():
        kinds = rng.sample(OBSTACLES, 2)
        Obstacle.objects.bulk_create(
            Obstacle(
                deal=deal,
                kind=kind,
                description=text,
                evidence=evidence,
                created_by=deal.owner,
                created_at=now - timedelta(days=rng.randint(3, 20)),
            )
            for kind, text, evidence in kinds
        )
    people = list(deal.stakeholders.order_by("-influence", "pk")[:3])
    for s in people:
        if not StakeholderView.objects.filter(stakeholder=s).exists():
            concern, factors = CONCERNS[(n + s.pk) % len(CONCERNS)]
            is_money = s.buying_role in {BuyingRole.ECONOMIC_BUYER, BuyingRole.DECISION_MAKER}
            StakeholderView.objects.create(
                stakeholder=s,
                financial_concerns=concern if is_money or n % 2 else "",
                factors=factors,
            )
    if not CustomerPain.objects.filter(deal=deal).exists():
        pain, resolution = PAINS[n % len(PAINS)]
        CustomerPain.objects.create(deal=deal, pain=pain, resolution=resolution)


def _finished_session(deal: Deal, manager: Membership, rep: Membership, now: datetime) -> None:
    """A session from start to outcome, written through the services like a real one."""
    outcome = getattr(deal, "pain", None)
    session = services.session_start(
        membership=manager,
        deal=deal,
        # The investigation may have found the pain but not yet how we would resolve it.
        ideal_outcome=(outcome.resolution if outcome else "").strip()
        or "A result the customer can measure, agreed with their CFO.",
        obstacles=list(deal.obstacles.all()),
    )
    suggestions = suggest_for(deal, outcome=session.ideal_outcome)
    for s in suggestions[:7]:
        services.suggestion_accept(membership=manager, session=session, key=s.key)
    services.session_add_option(
        membership=rep,
        session=session,
        title="Let their controller run the pilot",
        description="The controller is the one who feels the pain every month; she asked for it.",
    )
    services.session_comment(
        membership=rep,
        session=session,
        text="Their controller would sponsor a pilot if finance owns the success criteria.",
    )
    services.session_converge(membership=manager, session=session)
    options = list(session.options.all())
    for k, option in enumerate(options):
        for who, bump in ((manager, 0), (rep, 1)):
            services.option_score(
                membership=who,
                option=option,
                value=min(5, 2 + (k + bump) % 4),
                risk=min(5, 2 + (k * 3 + bump) % 4),
                feasibility=min(5, 3 + (k + 2 * bump) % 3),
                payoff=min(5, 2 + (k * 2 + bump) % 4),
            )
    rules = services.settings_for(deal.workspace)
    from unstuck.cocreate.guardrails import option_breaches

    allowed = [o for o in options if not option_breaches(o, rules)]
    chosen = allowed[-1:] + allowed[:1]
    services.session_checklist(
        membership=manager,
        session=session,
        alternatives_considered="A deeper discount and waiting for the new budget year; both "
        "leave the customer's risk where it is.",
        dissent_explored="The rep doubted finance would sponsor anything; the controller's "
        "own words changed that.",
        premortem="Six months on it failed because the pilot had no owner at the customer and "
        "the success criteria were ours, not theirs.",
    )
    services.session_decide(
        membership=manager,
        session=session,
        options=chosen,
        rationale="It answers the obstacle the CFO raised and the controller will own it.",
    )
    services.action_item_add(
        membership=manager,
        session=session,
        text="Agree the pilot's success criteria with the controller",
        owner=rep.user,
        due_date=(now + timedelta(days=7)).date(),
    )
    services.action_item_add(
        membership=manager,
        session=session,
        text="Deal desk to draft the conversion terms",
        owner=manager.user,
        due_date=(now + timedelta(days=10)).date(),
    )
    services.session_record_outcome(
        membership=manager,
        session=session,
        outcome="moved",
        note="The controller signed off the pilot; the deal moved to the next step.",
    )
    # The loop closed for real: the deal moved a stage after the decision.
    following = (
        Stage.objects.filter(pipeline_id=deal.pipeline_id, order__gt=deal.stage.order, kind="open")
        .order_by("order")
        .first()
    )
    if following is not None:
        moved_at = max(now - timedelta(days=8), deal.stage_entered_at + timedelta(hours=1))
        deal_move_to_stage(deal=deal, stage=following, by=rep, at=moved_at, source="demo")
    # Date the story: the session ran three weeks ago, the outcome came last week.
    started = now - timedelta(days=21)
    Session.objects.filter(pk=session.pk).update(
        created_at=started,
        converge_at=started + timedelta(days=2),
        decided_at=started + timedelta(days=4),
        outcome_at=now - timedelta(days=6),
    )
    Option.objects.filter(session=session).update(created_at=started + timedelta(hours=1))
    Comment.objects.filter(session=session).update(created_at=started + timedelta(hours=2))
    ActionItem.objects.filter(session=session).update(created_at=started + timedelta(days=4))


def add_cocreate(*, workspace: Workspace, seed: int, today: date) -> int:
    """Prepare the first manager's stuck deals for sessions and finish one session."""
    rng = random.Random(seed + 303)
    team = Team.objects.filter(workspace=workspace).order_by("name").first()
    if team is None or team.manager is None:
        return 0
    manager = Membership.objects.get(workspace=workspace, user=team.manager)
    now = datetime.combine(today, time(9), tzinfo=UTC)
    deals = _stuck_deals(workspace, team)
    for n, deal in enumerate(deals):
        _investigate(deal, rng, now, n)
    finished = next(
        (d for d in reversed(deals) if d.owner_id and Stakeholder.objects.filter(deal=d).exists()),
        None,
    )
    if finished is not None and finished.owner_id is not None:
        rep = Membership.objects.filter(
            workspace=workspace, user_id=finished.owner_id, role=Role.REP
        ).first()
        if rep is not None:
            _finished_session(finished, manager, rep, now)
    return len(deals)
