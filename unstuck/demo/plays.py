"""The playbook in the demo, and history with a planted, known effect for the playbook's
tests and benchmark.

`add_plays` (the demo): a handful of plays in every state (verified, due for review, draft,
proposed for retirement, retired) and a past of applications planted honestly in the
generated history, so the play pages show all three measured states:
- *working*: applied on about 40 past deals a few days after they entered an open stage;
  for each of them that was later lost, the loss becomes a win with probability
  `WORKING_FLIP` (same day, the won stage instead of the lost one) — a real effect on the
  win rate that the estimator should find;
- *no evidence*: applied the same way on about 40 other deals, changing nothing — the null;
- *too early*: applied on four open deals in the last weeks.
Deals with co-creation sessions (insights plants its own effect there) are left alone.

`plant_history` (tests, bench): deals built from a process with a known truth, in one
stage cell — enter Discovery, wait an exponential time, close won with a probability that
the play's arm sets — with a play applied three days after entry."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction

from unstuck.cocreate.models import Session
from unstuck.core.models import Membership, Role, Team, User, Workspace
from unstuck.deals.models import Deal, Stage, StageChange, StageKind
from unstuck.share.models import Play, PlayApplication, PlaySource, PlayStatus

WORKING_FLIP = 0.55  # share of the working play's later losses that become wins
APPLIED_AFTER_DAYS = 3  # a play is applied this long after the deal entered the stage


# --- history with a known truth (tests, bench) ----------------------------------------------


@dataclass(frozen=True)
class Arm:
    """`n` deals with `play` applied (None: untreated deals), won with `win_prob` once they
    close."""

    play: Play | None
    n: int
    win_prob: float


def plant_history(
    *,
    workspace: Workspace,
    stages: Sequence[Stage],
    arms: Sequence[Arm],
    start: datetime,
    span_days: int = 84,
    mean_close_days: float = 30.0,
    seed: int = 0,
    amount: Decimal = Decimal("50000"),
    owner: User | None = None,
    as_of: datetime | None = None,
) -> int:
    """Write the deals of every arm; returns the number of applications. `stages`: a
    pipeline's stages with Qualification first, Discovery second, a won and a lost stage.
    Deals enter Discovery at a uniform moment in [start, start + span_days); the close comes
    an exponential time (mean `mean_close_days`) after the play's moment (entry + 3 days),
    won with the arm's probability; a close after `as_of` leaves the deal open."""
    rng = random.Random(seed)
    as_of = as_of or datetime.now(UTC)
    qualify, discover = stages[0], stages[1]
    won = next(s for s in stages if s.kind == StageKind.WON)
    lost = next(s for s in stages if s.kind == StageKind.LOST)
    plans = []
    for arm in arms:
        for _ in range(arm.n):
            entered = start + timedelta(days=rng.uniform(0, span_days))
            moment = entered + timedelta(days=APPLIED_AFTER_DAYS)
            closes = moment + timedelta(days=rng.expovariate(1 / mean_close_days))
            fate = won if rng.random() < arm.win_prob else lost
            plans.append((arm.play, entered, moment, closes, fate))
    with transaction.atomic():
        first = Deal.objects.filter(workspace=workspace).count()
        deals = Deal.objects.bulk_create(
            _deal(workspace, discover, qualify, first + i, p, as_of, amount, owner)
            for i, p in enumerate(plans)
        )
        changes = []
        for deal, (_, entered, _, closes, fate) in zip(deals, plans, strict=True):
            created = entered - timedelta(days=10)
            changes.append(StageChange(deal=deal, to_stage=qualify, changed_at=created))
            changes.append(
                StageChange(deal=deal, from_stage=qualify, to_stage=discover, changed_at=entered)
            )
            if closes <= as_of:
                changes.append(
                    StageChange(deal=deal, from_stage=discover, to_stage=fate, changed_at=closes)
                )
        StageChange.objects.bulk_create(changes, batch_size=2000)
        apps = [
            PlayApplication(
                workspace=workspace,
                play=play,
                deal=deal,
                applied_at=moment,
                stage=discover,
                source=PlaySource.IMPORT,
            )
            for deal, (play, _, moment, _, _) in zip(deals, plans, strict=True)
            if play is not None
        ]
        PlayApplication.objects.bulk_create(apps, batch_size=2000)
    return len(apps)


def _deal(
    workspace: Workspace,
    discover: Stage,
    qualify: Stage,
    i: int,
    plan: tuple[Play | None, datetime, datetime, datetime, Stage],
    as_of: datetime,
    amount: Decimal,
    owner: User | None,
) -> Deal:
    _, entered, _, closes, fate = plan
    closed = closes <= as_of
    stage = fate if closed else discover
    return Deal(
        workspace=workspace,
        name=f"Planted {i}",
        pipeline_id=discover.pipeline_id,
        stage=stage,
        status=stage.kind,
        amount=amount,
        created_at=entered - timedelta(days=10),
        stage_entered_at=closes if closed else entered,
        closed_at=closes if closed else None,
        external_id=f"PLANTED-{i}",
        owner=owner,
        source="planted",
    )


# --- the demo -------------------------------------------------------------------------------

PLAYS = [
    # key, title, status, obstacle kinds, stages, lever families, what to do, what to say
    (
        "working",
        "Phase the rollout to fit this year's budget",
        PlayStatus.VERIFIED,
        ["budget", "priority"],
        ["Solution", "Proposal"],
        ["scope", "commercial"],
        "Offer a paid first phase (one region or one team) inside this year's budget, with "
        "the full rollout priced now and started next fiscal year. Put the phase-two date "
        "and price in the order form.",
        "“You don't need the whole budget this year to start getting the result: phase one "
        "fits what you have, and phase two is locked at today's price.”",
    ),
    (
        "null",
        "Send the ROI calculator after every demo",
        PlayStatus.VERIFIED,
        ["priority"],
        ["Discovery", "Solution"],
        ["value"],
        "Within a day of the demo, send the ROI calculator filled with the customer's own "
        "numbers from discovery, and ask the champion to forward it to finance.",
        "“Here is what the numbers you gave us add up to; is this the case your CFO needs?”",
    ),
    (
        "early",
        "Executive sponsor call when the champion goes quiet",
        PlayStatus.VERIFIED,
        ["politics"],
        ["Proposal", "Negotiation"],
        ["stakeholders"],
        "When the champion has not answered for two weeks, ask our COO to call their "
        "economic buyer: one question about the outcome they want, no pitch.",
        "“We want to make sure this still serves what you set out to achieve this year.”",
    ),
    (
        "due",
        "Legal pre-read before the proposal",
        PlayStatus.VERIFIED,
        ["legal"],
        ["Proposal"],
        ["stakeholders"],
        "Send our standard DPA and security pack to their legal team a week before the "
        "proposal, so review runs in parallel.",
        "",
    ),
    (
        "draft",
        "Reference call with a peer CFO",
        PlayStatus.DRAFT,
        ["budget", "competitor"],
        ["Negotiation"],
        ["value"],
        "Arrange a call between their CFO and a customer's CFO of the same size.",
        "",
    ),
    (
        "stale",
        "Bundle training credits into the first year",
        PlayStatus.DRAFT,
        ["technical"],
        [],
        ["commercial"],
        "Add two days of onsite training to the first year at no charge.",
        "",
    ),
    (
        "retired",
        "Quarter-end discount push",
        PlayStatus.RETIRED,
        ["timing"],
        ["Negotiation"],
        ["commercial"],
        "Offer 10 % off to sign before quarter end.",
        "",
    ),
]


def _now(today: date) -> datetime:
    return datetime.combine(today, time(9, 0), tzinfo=UTC)


def add_plays(*, workspace: Workspace, seed: int, today: date) -> dict[str, int]:
    """Plays in every state with a planted past; returns applications per play key."""
    rng = random.Random(seed + 1111)
    now = _now(today)
    team = Team.objects.filter(workspace=workspace).order_by("name").first()
    manager = team.manager if team else None
    leader = (
        Membership.objects.filter(workspace=workspace, role=Role.LEADER)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    owner = manager or (leader.user if leader else None)
    stages = {s.name: s for s in Stage.objects.filter(pipeline__workspace=workspace)}
    won = next((s for s in stages.values() if s.kind == StageKind.WON), None)
    if owner is None or won is None:
        return {}
    plays: dict[str, Play] = {}
    with transaction.atomic():
        for key, title, status, kinds, names, families, what, say in PLAYS:
            created = now - timedelta(days=240 if key in {"stale", "working", "null"} else 60)
            play = Play.objects.create(
                workspace=workspace,
                title=title,
                situation="",
                obstacle_kinds=kinds,
                stages=[n for n in names if n in stages],
                lever_families=families,
                what_to_do=what,
                what_to_say=say,
                owner=owner,
                verifier=leader.user if leader and key == "due" else owner,
                status=status,
                review_interval_days=90,
                verified_at=(
                    now - timedelta(days=120 if key == "due" else 20)
                    if status == PlayStatus.VERIFIED
                    else None
                ),
                retired_at=now - timedelta(days=30) if status == PlayStatus.RETIRED else None,
                retired_reason="Trained customers to wait for quarter end."
                if status == PlayStatus.RETIRED
                else "",
                created_at=created,
            )
            plays[key] = play
        counts = _plant(workspace, plays, won, now, rng)
    return counts


def _plant(
    workspace: Workspace,
    plays: dict[str, Play],
    won: Stage,
    now: datetime,
    rng: random.Random,
) -> dict[str, int]:
    with_sessions = set(
        Session.objects.filter(workspace=workspace).values_list("deal_id", flat=True)
    )
    steps: dict[int, list[StageChange]] = defaultdict(list)
    for sc in (
        StageChange.objects.filter(deal__workspace=workspace)
        .exclude(deal_id__in=with_sessions)
        .select_related("to_stage")
        .order_by("deal_id", "changed_at", "pk")
    ):
        steps[sc.deal_id].append(sc)
    # Stays in an open stage long enough to apply a play in: (deal, stage, moment, left).
    stays: list[tuple[int, Stage, datetime, StageChange | None]] = []
    for deal_id, rows in steps.items():
        for i, sc in enumerate(rows):
            if sc.to_stage.kind != StageKind.OPEN or sc.to_stage.order == 0:
                continue
            nxt = next((r for r in rows[i + 1 :] if r.to_stage_id != sc.to_stage_id), None)
            moment = sc.changed_at + timedelta(days=APPLIED_AFTER_DAYS, hours=2)
            if moment >= now - timedelta(days=1) or (nxt and nxt.changed_at <= moment):
                continue
            stays.append((deal_id, sc.to_stage, moment, nxt))
            break  # one moment per deal
    rng.shuffle(stays)
    past = [s for s in stays if s[2] < now - timedelta(days=60)]
    recent_open = [s for s in stays if s[3] is None and now - timedelta(days=21) <= s[2] < now]
    counts: dict[str, int] = {}
    used: set[int] = set()

    Stay = tuple[int, Stage, datetime, StageChange | None]

    def take(pool: list[Stay], n: int) -> list[Stay]:
        out: list[Stay] = []
        for s in pool:
            if len(out) == n:
                break
            if s[0] not in used:
                used.add(s[0])
                out.append(s)
        return out

    working = take(past, 40)
    null = take(past, 40)
    early = take(recent_open or [s for s in stays if s[2] >= now - timedelta(days=30)], 4)
    apps: list[PlayApplication] = []
    flips: list[tuple[int, StageChange]] = []
    for key, chosen in (("working", working), ("null", null), ("early", early)):
        play = plays[key]
        counts[key] = len(chosen)
        for deal_id, stage, moment, _ in chosen:
            apps.append(
                PlayApplication(
                    workspace=workspace,
                    play=play,
                    deal_id=deal_id,
                    applied_at=moment,
                    stage=stage,
                    stall_score=rng.randint(35, 80),
                    source=PlaySource.IMPORT,
                )
            )
            if key == "working":
                last = steps[deal_id][-1]
                if last.to_stage.kind == StageKind.LOST and rng.random() < WORKING_FLIP:
                    flips.append((deal_id, last))
    PlayApplication.objects.bulk_create(apps)
    for deal_id, last in flips:
        StageChange.objects.filter(pk=last.pk).update(to_stage=won)
        Deal.objects.filter(pk=deal_id).update(stage=won, status=StageKind.WON)
    evidence = [d for d, *_ in working[:3]]
    plays["working"].evidence_deals.set(Deal.objects.filter(pk__in=evidence))
    return counts


def quarter_start(moment: datetime) -> datetime:
    """The first moment of the moment's calendar quarter (UTC)."""
    m = moment.astimezone(UTC)
    return datetime(m.year, 3 * ((m.month - 1) // 3) + 1, 1, tzinfo=UTC)
