"""A realistic, seeded demo workspace: people, accounts and deals with full stage histories.

Deterministic for a given seed and `today`; batched bulk inserts, so it also feeds benchmarks
at a hundred thousand or a million deals.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import transaction
from tqdm import tqdm

from unstuck.core.models import Membership, Role, Team, User, Workspace
from unstuck.core.services import workspace_defaults_seed
from unstuck.deals.models import (
    Account,
    Activity,
    Contact,
    Deal,
    DealPartner,
    Pipeline,
    Stage,
    StageChange,
    StageKind,
    Stakeholder,
)
from unstuck.demo import vocabulary as vocab
from unstuck.demo.cocreate import add_cocreate
from unstuck.demo.insights import add_insights
from unstuck.demo.investigation import add_investigations
from unstuck.demo.plays import add_plays
from unstuck.demo.share import add_share
from unstuck.share.plays_outcomes import stale_outcomes_refresh

DEMO_SLUG = "demo"
DEMO_PASSWORD = "demo"
SOURCE = "demo"

# name, kind, default probability, median days a won deal spends there
STAGES = [
    ("Qualification", StageKind.OPEN, 10, 6),
    ("Discovery", StageKind.OPEN, 20, 12),
    ("Solution", StageKind.OPEN, 40, 16),
    ("Proposal", StageKind.OPEN, 60, 12),
    ("Negotiation", StageKind.OPEN, 80, 10),
    ("Closed won", StageKind.WON, 100, 0),
    ("Closed lost", StageKind.LOST, 0, 0),
]
OPEN_STAGES = 5
# Ways an open deal goes wrong, with their weights; "healthy" deals just move along.
PATTERNS = {
    "healthy": 38,
    "stuck_in_stage": 16,
    "gone_quiet": 12,
    "slipping": 10,
    "shrinking": 6,
    "went_back": 6,
    "single_threaded": 7,
    "no_next_step": 5,
}


@dataclass
class DemoResult:
    workspace: Workspace
    deals: int = 0
    stage_changes: int = 0
    activities: int = 0
    stakeholders: int = 0
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Plan:
    """One deal before it becomes rows."""

    owner: User
    team: Team
    account: Account
    name: str
    amount: Decimal
    created_at: datetime
    steps: list[tuple[int, datetime, Decimal, date]]  # (stage index, when, amount, close date)
    pattern: str
    next_step: str
    custom: dict[str, str]
    last_touch: datetime  # no activity after this
    closed_pattern: str = ""  # how a closed deal went wrong before it closed, if it did


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(
        day,
        time(hour=rng.randint(8, 17), minute=rng.choice([0, 15, 30, 45])),
        tzinfo=UTC,
    )


def _days(rng: random.Random, median: float, spread: float = 0.55) -> float:
    return max(0.5, rng.lognormvariate(math.log(median), spread))


class DemoBuilder:
    def __init__(
        self, *, deals: int, seed: int, today: date, slug: str, name: str, activity_rate: float
    ) -> None:
        self.n_deals = deals
        self.rng = random.Random(seed)
        self.today = today
        self.now = datetime.combine(today, time(9, 0), tzinfo=UTC)
        self.slug = slug
        self.name = name
        self.activity_rate = activity_rate
        self.password = make_password(DEMO_PASSWORD)

    # --- people, accounts, pipeline -------------------------------------------------------
    def people(self, workspace: Workspace) -> tuple[list[tuple[User, Team]], User]:
        def user(email: str, name: str) -> User:
            found = User.objects.filter(email=email).first()
            return found or User.objects.create(email=email, name=name, password=self.password)

        leader = user("leader@demo.example", "Dana Whitfield")
        Membership.objects.create(
            workspace=workspace, user=leader, role=Role.LEADER, title="VP Sales"
        )
        partner = user("partner@demo.example", "Priya Raman")
        Membership.objects.create(
            workspace=workspace, user=partner, role=Role.PARTNER, title="Deal desk & finance"
        )
        reps: list[tuple[User, Team]] = []
        rep_names = iter(vocab.REP_NAMES)
        for t, (team_name, manager_email, manager_name) in enumerate(vocab.TEAMS):
            manager = user(manager_email, manager_name)
            team = Team.objects.create(workspace=workspace, name=team_name, manager=manager)
            Membership.objects.create(workspace=workspace, user=manager, role=Role.MANAGER)
            for r in range(4):
                n = t * 4 + r + 1
                email = "rep@demo.example" if n == 1 else f"rep{n}@demo.example"
                rep = user(email, next(rep_names))
                Membership.objects.create(workspace=workspace, user=rep, role=Role.REP, team=team)
                reps.append((rep, team))
        return reps, partner

    def pipeline(self, workspace: Workspace) -> list[Stage]:
        pipeline = Pipeline.objects.create(
            workspace=workspace, name="New business", is_default=True
        )
        return Stage.objects.bulk_create(
            Stage(pipeline=pipeline, name=name, order=i, kind=kind, probability=prob)
            for i, (name, kind, prob, _) in enumerate(STAGES)
        )

    def accounts(self, workspace: Workspace) -> list[Account]:
        rng = self.rng
        count = max(10, min(self.n_deals // 10, 20_000))
        rows = []
        for i in range(count):
            base = vocab.COMPANIES[i % len(vocab.COMPANIES)]
            n_base = len(vocab.COMPANIES)
            region = vocab.REGIONS[(i // n_base) % len(vocab.REGIONS)]
            round_ = i // (n_base * len(vocab.REGIONS))
            suffix = "" if i < n_base else f" {region}" + (f" {round_ + 1}" if round_ else "")
            rows.append(
                Account(
                    workspace=workspace,
                    name=base + suffix,
                    industry=rng.choice(vocab.INDUSTRIES),
                    employees=int(rng.lognormvariate(math.log(900), 1.2)) + 20,
                    country=rng.choice(vocab.COUNTRIES),
                    source=SOURCE,
                    external_id=f"A-{i + 1:06d}",
                )
            )
        return Account.objects.bulk_create(rows, batch_size=2000)

    # --- one deal's story -----------------------------------------------------------------
    def plan(self, i: int, reps: list[tuple[User, Team]], accounts: list[Account]) -> Plan:
        rng = self.rng
        owner, team = reps[i % len(reps)] if rng.random() < 0.3 else rng.choice(reps)
        account = rng.choice(accounts)
        size = (account.employees or 500) ** 0.35
        amount = Decimal(int(rng.lognormvariate(math.log(2200 * size), 0.6)) // 500 * 500 + 5000)
        product = rng.choice(vocab.PRODUCTS)
        name = f"{account.name} — {product}"
        span = 540
        age_days = rng.uniform(3, span)
        fate = rng.choices(["won", "lost", "open"], weights=[38, 37, 25])[0]
        if age_days < 45:
            fate = "open"
        pattern = "healthy"
        steps: list[tuple[int, datetime, Decimal, date]] = []
        if fate == "open":
            pattern = rng.choices(list(PATTERNS), weights=list(PATTERNS.values()))[0]
            current = rng.choices(range(OPEN_STAGES), weights=[18, 26, 24, 18, 14])[0]
            durations = [_days(rng, STAGES[s][3]) for s in range(current)]
            median = STAGES[current][3]
            if pattern == "stuck_in_stage":
                in_stage = rng.uniform(3.5, 7) * median
            elif pattern in {"slipping", "shrinking", "went_back"}:
                # Leave room in the stage for the slips, cuts and step back to happen.
                in_stage = rng.uniform(0.8, 2.0) * median + 10
            else:
                in_stage = rng.uniform(0.1, 1.1) * median
            created = self.now - timedelta(days=sum(durations) + in_stage)
        else:
            created = self.now - timedelta(days=age_days)
            last = (
                OPEN_STAGES - 1
                if fate == "won"
                else rng.choices(range(OPEN_STAGES), weights=[24, 28, 22, 16, 10])[0]
            )
            durations = [
                _days(rng, STAGES[s][3] * (1.7 if fate == "lost" else 1.0)) for s in range(last + 1)
            ]
            room = (self.now - created).days - 1
            if sum(durations) > room:
                durations = [d * room / sum(durations) for d in durations]
            current = last
        cycle = sum(STAGES[s][3] for s in range(OPEN_STAGES)) * rng.uniform(1.0, 1.6)
        close = (created + timedelta(days=cycle)).date()
        when = created
        steps.append((0, created, amount, close))
        for s in range(1, current + 1):
            when = when + timedelta(days=durations[s - 1])
            steps.append((s, when, amount, close))
        closed_pattern = ""
        if fate != "open":
            when = when + timedelta(days=durations[current])
            # Stalls precede losses: most lost deals went quiet, slipped, shrank or hung on
            # one thread before they closed; a few won deals did too.
            if rng.random() < (0.6 if fate == "lost" else 0.12):
                closed_pattern = rng.choice(
                    ["gone_quiet", "slipping", "shrinking", "single_threaded"]
                )
            entered = steps[-1][1]
            if closed_pattern == "slipping":
                for k in range(rng.randint(2, 3)):
                    at = entered + (when - entered) * (k + 1) / 4
                    close = max(close, at.date()) + timedelta(days=rng.randint(21, 45))
                    steps.append((current, at, amount, close))
            elif closed_pattern == "shrinking":
                cut = (amount * Decimal(rng.choice(["0.6", "0.7", "0.75"]))).quantize(Decimal("1"))
                steps.append((current, entered + (when - entered) * 0.6, cut, close))
            end = 5 if fate == "won" else 6
            steps.append((end, when, steps[-1][2], when.date()))
        else:
            self._shape_open(pattern, steps, current)
        custom = {
            "segment": "Enterprise"
            if amount > 120_000
            else "Mid-market"
            if amount > 40_000
            else "SMB",
            "lead_source": rng.choice(vocab.LEAD_SOURCES),
            "product": product,
        }
        final = steps[-1]
        last_touch = final[1] if fate != "open" else self.now - timedelta(days=rng.uniform(0, 6))
        if closed_pattern == "gone_quiet":
            last_touch = final[1] - timedelta(days=rng.uniform(20, 50))
        if pattern == "gone_quiet":
            last_touch = self.now - timedelta(days=rng.uniform(24, 60))
        next_step = (
            "" if pattern == "no_next_step" or fate != "open" else rng.choice(vocab.NEXT_STEPS)
        )
        return Plan(
            owner=owner,
            team=team,
            account=account,
            name=name,
            amount=final[2],
            created_at=created,
            steps=steps,
            pattern=pattern,
            next_step=next_step,
            custom=custom,
            last_touch=max(last_touch, created),
            closed_pattern=closed_pattern,
        )

    def _shape_open(
        self, pattern: str, steps: list[tuple[int, datetime, Decimal, date]], current: int
    ) -> None:
        rng = self.rng
        stage, entered, amount, close = steps[-1]
        span = (self.now - entered).total_seconds() / 86400
        if pattern == "slipping":
            # The close date was pushed out in the current stage, two or three times.
            for k in range(rng.randint(2, 3)):
                at = entered + timedelta(days=span * (k + 1) / 4)
                close = max(close, at.date()) + timedelta(days=rng.randint(21, 45))
                steps.append((stage, at, amount, close))
            if rng.random() < 0.5:
                steps[-1] = (
                    stage,
                    steps[-1][1],
                    amount,
                    self.today - timedelta(days=rng.randint(3, 20)),
                )
        elif pattern == "shrinking":
            at = entered + timedelta(days=span * 0.6)
            steps.append(
                (
                    stage,
                    at,
                    (amount * Decimal(rng.choice(["0.6", "0.7", "0.75"]))).quantize(Decimal("1")),
                    close,
                )
            )
        elif pattern == "went_back" and current >= 1:
            at = entered + timedelta(days=span * 0.5)
            steps.append((current - 1, at, amount, close + timedelta(days=30)))
        elif close < self.today:
            # A healthy deal's CRM close date is kept current by its rep.
            steps[-1] = (stage, entered, amount, self.today + timedelta(days=rng.randint(10, 60)))

    # --- rows -----------------------------------------------------------------------------
    def write(
        self,
        workspace: Workspace,
        plans: list[Plan],
        stages: list[Stage],
        contacts: dict[int, list[Contact]],
        result: DemoResult,
    ) -> list[Deal]:
        deals: list[Deal] = []
        for p in plans:
            stage_index, entered, amount, close = p.steps[-1]
            move_at = p.steps[0][1]
            for (s_prev, _, _, _), (s, w, _, _) in zip(p.steps, p.steps[1:], strict=False):
                if s != s_prev:
                    move_at = w
            stage = stages[stage_index]
            deals.append(
                Deal(
                    workspace=workspace,
                    name=p.name,
                    account=p.account,
                    owner=p.owner,
                    team=p.team,
                    pipeline_id=stage.pipeline_id,
                    stage=stage,
                    status=stage.kind,
                    amount=amount,
                    currency="USD",
                    close_date=close,
                    created_at=p.created_at,
                    closed_at=entered if stage.kind != StageKind.OPEN else None,
                    stage_entered_at=move_at,
                    last_activity_at=None,
                    next_step=p.next_step,
                    source=SOURCE,
                    external_id=f"D-{result.deals + len(deals) + 1:07d}",
                    custom=p.custom,
                )
            )
        deals = Deal.objects.bulk_create(deals, batch_size=2000)
        changes: list[StageChange] = []
        activities: list[Activity] = []
        stakeholders: list[Stakeholder] = []
        for deal, p in zip(deals, plans, strict=True):
            prev: int | None = None
            for s, when, amount, close in p.steps:
                changes.append(
                    StageChange(
                        deal=deal,
                        from_stage=stages[prev] if prev is not None else None,
                        to_stage=stages[s],
                        changed_at=when,
                        amount=amount,
                        close_date=close,
                        source=SOURCE,
                    )
                )
                prev = s
            committee = self._committee(deal, p, contacts.get(p.account.pk, []))
            stakeholders.extend(committee)
            last = self._activities(deal, p, committee, activities)
            deal.last_activity_at = last
        StageChange.objects.bulk_create(changes, batch_size=5000)
        Activity.objects.bulk_create(activities, batch_size=5000)
        Stakeholder.objects.bulk_create(stakeholders, batch_size=5000)
        Deal.objects.bulk_update(deals, ["last_activity_at"], batch_size=2000)
        result.stage_changes += len(changes)
        result.activities += len(activities)
        result.stakeholders += len(stakeholders)
        for p in plans:
            result.counts[p.pattern] = result.counts.get(p.pattern, 0) + 1
        return deals

    def _committee(self, deal: Deal, p: Plan, pool: list[Contact]) -> list[Stakeholder]:
        rng = self.rng
        if not pool:
            return []
        single = "single_threaded" in {p.pattern, p.closed_pattern}
        if single:
            size = 1
        else:
            size = min(len(pool), rng.choices([1, 2, 3, 4, 5], weights=[10, 22, 30, 24, 14])[0])
        chosen = rng.sample(pool, size)
        roles = [
            "champion",
            "economic_buyer",
            "technical_evaluator",
            "decision_maker",
            "influencer",
            "user",
            "procurement",
            "legal",
        ]
        out = []
        for k, contact in enumerate(chosen):
            role = roles[k] if k < len(roles) else "influencer"
            if single:
                role = rng.choice(["champion", "user", "technical_evaluator"])
            if role == "economic_buyer" and rng.random() < 0.25:
                role = "influencer"  # many committees never get an economic buyer named
            stance = rng.choices(
                ["supporter", "neutral", "skeptic", "opponent", "unknown"],
                weights=[35, 30, 15, 5, 15],
            )[0]
            out.append(
                Stakeholder(
                    deal=deal,
                    contact=contact,
                    buying_role=role,
                    influence=3
                    if role in {"economic_buyer", "decision_maker"}
                    else rng.choice([1, 2, 2, 3]),
                    stance=stance,
                    created_at=p.created_at,
                )
            )
        return out

    def _activities(
        self, deal: Deal, p: Plan, committee: list[Stakeholder], out: list[Activity]
    ) -> datetime | None:
        rng = self.rng
        when = p.created_at
        last = None
        stop = min(p.last_touch, self.now)
        while True:
            when = when + timedelta(days=rng.lognormvariate(math.log(5 / self.activity_rate), 0.6))
            if when > stop:
                break
            kind = rng.choices(
                ["email", "call", "meeting", "task", "note"], weights=[40, 25, 18, 9, 8]
            )[0]
            contact = rng.choice(committee).contact if committee and kind != "note" else None
            direction = (
                "internal"
                if kind in {"task", "note"}
                else rng.choices(["outbound", "inbound"], weights=[65, 35])[0]
            )
            out.append(
                Activity(
                    deal=deal,
                    kind=kind,
                    occurred_at=when,
                    direction=direction,
                    summary=rng.choice(vocab.ACTIVITY_SUMMARIES[kind]),
                    contact=contact,
                    actor=p.owner,
                    source=SOURCE,
                )
            )
            last = when
        return last

    def contacts(self, workspace: Workspace, accounts: list[Account]) -> dict[int, list[Contact]]:
        rng = self.rng
        rows = []
        for account in accounts:
            for _ in range(rng.randint(3, 7)):
                first, last = rng.choice(vocab.FIRST_NAMES), rng.choice(vocab.LAST_NAMES)
                domain = "".join(ch for ch in account.name.lower() if ch.isalnum())[:18]
                rows.append(
                    Contact(
                        workspace=workspace,
                        account=account,
                        name=f"{first} {last}",
                        title=rng.choice(vocab.TITLES),
                        email=f"{first}.{last}@{domain}.example".lower(),
                        source=SOURCE,
                    )
                )
        by_account: dict[int, list[Contact]] = {}
        for contact in Contact.objects.bulk_create(rows, batch_size=5000):
            assert contact.account_id is not None
            by_account.setdefault(contact.account_id, []).append(contact)
        return by_account


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(size, total - start)


def generate_demo(
    *,
    deals: int = 600,
    seed: int = 7,
    today: date | None = None,
    slug: str = DEMO_SLUG,
    name: str = "Northwind Analytics (demo)",
    activity_rate: float = 1.0,
    progress: bool = False,
    innovation_speedup: float = 3.0,
) -> DemoResult:
    """Create the demo workspace. `activity_rate` scales how chatty deals are (1 = realistic);
    `innovation_speedup`: how much faster a deal moves after a past session (the effect the
    insights page measures; 1 plants none)."""
    if deals < 1:
        raise ValueError("The demo needs at least one deal.")
    builder = DemoBuilder(
        deals=deals,
        seed=seed,
        today=today or date.today(),
        slug=slug,
        name=name,
        activity_rate=activity_rate,
    )
    with transaction.atomic():
        workspace = Workspace.objects.create(name=name, slug=slug)
        workspace_defaults_seed(workspace=workspace)
        reps, partner = builder.people(workspace)
        stages = builder.pipeline(workspace)
        accounts = builder.accounts(workspace)
        contacts = builder.contacts(workspace, accounts)
    result = DemoResult(workspace=workspace)
    bar = tqdm(total=deals, unit="deal", disable=not progress, leave=False)
    invited: list[Deal] = []
    for start, size in _chunks(deals, 5000):
        with transaction.atomic():
            plans = [builder.plan(start + i, reps, accounts) for i in range(size)]
            written = builder.write(workspace, plans, stages, contacts, result)
            result.deals += len(written)
            if len(invited) < 8:
                invited += [d for d in written if d.status == StageKind.OPEN and d.amount > 60_000][
                    : 8 - len(invited)
                ]
        bar.update(size)
    bar.close()
    DealPartner.objects.bulk_create(DealPartner(deal=d, user=partner) for d in invited)
    add_investigations(workspace=workspace, seed=seed, today=builder.today)
    add_cocreate(workspace=workspace, seed=seed, today=builder.today)
    add_insights(workspace=workspace, seed=seed, today=builder.today, speedup=innovation_speedup)
    add_plays(workspace=workspace, seed=seed, today=builder.today)
    add_share(workspace=workspace, seed=seed, today=builder.today)
    # Pages only read stored outcomes; measure the plays as the nightly recompute would.
    stale_outcomes_refresh(workspace.pk)
    return result
