"""Investigation data for some of the demo's stuck deals (committee concerns, decision
steps, obstacles, pain, feedback, manager requests), so the deal pages and the innovation
queue show a manager's work in progress. Deterministic for a seed; bulk inserts; capped, so
it costs the same at a million deals as at six hundred."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

from unstuck.core.models import Workspace
from unstuck.deals.models import Deal, Stakeholder
from unstuck.investigate.models import (
    CustomerPain,
    DecisionStep,
    FeedbackEntry,
    InvestigationRequest,
    Obstacle,
    StakeholderView,
)

MAX_DEALS = 40

PAINS = [
    (
        "Month-end close takes nine days because finance reconciles exports by hand.",
        "Automated reconciliation feeds; close in four days, two analysts freed for planning.",
    ),
    (
        "Sales forecasts miss by 20 % and the board has lost trust in the numbers.",
        "One governed pipeline model with weekly snapshots the CFO can audit.",
    ),
    (
        "Regional teams each build their own dashboards; nobody agrees on revenue.",
        "A shared metrics layer with certified definitions, rolled out region by region.",
    ),
    (
        "Data engineers spend half their week fixing broken pipelines.",
        "Managed connectors with alerting; pilot on the three most fragile sources first.",
    ),
    (
        "Store managers get stock reports a week late and over-order.",
        "Daily inventory views on tablets, starting with the 20 largest stores.",
    ),
]
CONCERNS = [
    "Capex is frozen until Q3; anything new must come out of opex.",
    "Needs payback inside 12 months to get past the investment committee.",
    "Worried about paying for seats nobody uses after year one.",
    "Last vendor overran the budget by 40 %; wants a fixed price.",
    "Has to show savings in this fiscal year.",
]
FACTORS = [
    ["roi", "price"],
    ["risk", "vendor_viability"],
    ["integration", "time_to_value"],
    ["compliance", "risk"],
    ["price", "support"],
]
PROCESS = [
    ("Business case signed off", "Head of Finance"),
    ("Security review", "CISO's team"),
    ("Legal and procurement", "Procurement lead"),
    ("Budget approval", "CFO"),
    ("Signature", "COO"),
]
OBSTACLES = [
    ("budget", "No budget line for this year", "CFO said on the call: 'not before the new FY'."),
    ("competitor", "Incumbent offered a 30 % discount to renew", "Champion forwarded the quote."),
    ("legal", "Data processing agreement stuck with their legal", "Third redline round."),
    ("priority", "A reorganisation pushed the project down the list", "Sponsor moved teams."),
    ("technical", "IT doubts the SSO integration", "Two unanswered emails from their architect."),
]
WORKING = [
    "The ROI model landed with the finance lead.",
    "Workshop with the end users built real pull.",
    "Reference call with a peer company went well.",
]
NOT_WORKING = [
    "Generic demos: their IT team tunes out.",
    "We only ever talk to the champion.",
    "Discounting early made procurement push for more.",
]
QUESTIONS = [
    "Find out who signs above $250k.",
    "Who else is evaluating, and what did they offer?",
    "What does the CFO need to see in the business case?",
    "When does their budget year start?",
]


def add_investigations(*, workspace: Workspace, seed: int, today: date) -> int:
    rng = random.Random(seed + 101)
    deals = list(
        Deal.objects.filter(workspace=workspace, status="open", amount__gte=20_000)
        .select_related("team")
        .order_by("pk")[: MAX_DEALS * 3 : 3]
    )
    committees: dict[int, list[Stakeholder]] = {}
    for s in Stakeholder.objects.filter(deal__in=deals).order_by("pk"):
        committees.setdefault(s.deal_id, []).append(s)
    now = datetime.combine(today, time(9), tzinfo=UTC)
    views, steps, obstacles, pains, feedback, requests = [], [], [], [], [], []
    for n, deal in enumerate(deals):
        people = committees.get(deal.pk, [])
        depth = n % 4  # how far the investigation has got: 0 barely started … 3 thorough
        for s in people[: depth + 1]:
            views.append(
                StakeholderView(
                    stakeholder=s,
                    financial_concerns=rng.choice(CONCERNS) if depth >= 1 else "",
                    factors=rng.choice(FACTORS),
                )
            )
        if depth >= 1:
            stuck_at = rng.randrange(1, len(PROCESS))
            for k, (name, owner) in enumerate(PROCESS[: 2 + depth]):
                status = "done" if k < stuck_at else "stuck" if k == stuck_at else "todo"
                steps.append(
                    DecisionStep(deal=deal, order=k + 1, name=name, owner=owner, status=status)
                )
        if depth >= 2 or n % 3 == 0:
            kind, text, evidence = rng.choice(OBSTACLES)
            obstacles.append(
                Obstacle(
                    deal=deal,
                    kind=kind,
                    description=text,
                    evidence=evidence,
                    stakeholder=people[0] if people else None,
                    created_by=deal.owner,
                    created_at=now - timedelta(days=rng.randint(2, 20)),
                )
            )
        pain, resolution = rng.choice(PAINS)
        if depth >= 1:
            pains.append(
                CustomerPain(deal=deal, pain=pain, resolution=resolution if depth >= 2 else "")
            )
        if depth >= 2:
            feedback.append(
                FeedbackEntry(
                    deal=deal,
                    kind="working",
                    text=rng.choice(WORKING),
                    author=deal.owner,
                    created_at=now - timedelta(days=rng.randint(1, 10)),
                )
            )
        if depth == 3:
            feedback.append(
                FeedbackEntry(
                    deal=deal,
                    kind="not_working",
                    text=rng.choice(NOT_WORKING),
                    author=deal.owner,
                    created_at=now - timedelta(days=rng.randint(1, 10)),
                )
            )
        manager = deal.team.manager if deal.team else None
        if manager is not None and n % 2 == 0:
            due = today + timedelta(days=rng.randint(-6, 6))
            answered = n % 6 == 0
            requests.append(
                InvestigationRequest(
                    deal=deal,
                    asked_by=manager,
                    assignee_id=deal.owner_id,
                    question=rng.choice(QUESTIONS),
                    due_date=due,
                    answer="Their COO signs anything above $200k; the CFO above $500k."
                    if answered
                    else "",
                    answered_at=now - timedelta(days=1) if answered else None,
                    created_at=now - timedelta(days=10),
                )
            )
    StakeholderView.objects.bulk_create(views)
    DecisionStep.objects.bulk_create(steps)
    Obstacle.objects.bulk_create(obstacles)
    CustomerPain.objects.bulk_create(pains)
    FeedbackEntry.objects.bulk_create(feedback)
    InvestigationRequest.objects.bulk_create(requests)
    return len(deals)
