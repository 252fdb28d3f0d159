"""Insights in the demo: a past of co-creation sessions with a real, planted effect, and a
manager's last twelve weeks of recorded work, so the insights page has something true to show.

The planted effect: each Monday, a deal that had sat in an open stage for 1.5 times what won
deals needed there is taken up by its team's manager with a small chance — a session that
morning; for each deal taken up the rest of its history after the session runs `speedup`
times faster (stage moves, activities and the close all come sooner). With
`speedup=1` the sessions happen and change nothing — the null the tests check against.
Only a stay that ended by today can be hastened: a deal still in the stage today has no
generated future to bring forward, so it waits as long as it would have; the effect a
measurement can see may read smaller than `speedup`. The demo plants 3x: at 2x, the default
demo's comparison could not tell (1.1x, interval 0.8-1.8, with the coarser days-in-stage
bands of the time); at 3x it reads 1.6-1.9x and "working" (1.6x, 1.2-2.8, built on
2026-11-30; the history is dated back from the day it is built).
Deterministic for a seed; capped, so it costs about the same at a hundred thousand deals."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from unstuck.cocreate.models import (
    ApprovalRequest,
    ApprovalStatus,
    Comment,
    Option,
    Outcome,
    Phase,
    Score,
    Session,
)
from unstuck.core.models import Membership, Role, Team, Workspace
from unstuck.deals.models import Activity, Deal, StageChange, StageKind
from unstuck.insights.models import CheckIn, PulseAnswer
from unstuck.investigate.models import FeedbackEntry, InvestigationRequest, Obstacle
from unstuck.thinking.models import LessonCompletion, QuizAnswer

WEEKLY_TAKE_UP = 0.06  # the chance a stuck deal is taken up on a given Monday
MAX_TREATED = 200
STUCK_AFTER = 1.5  # times the stage's median for won deals: when a manager would step in
OPTION_TITLES = [
    "Phase the rollout: one region first",
    "Pay on measured outcome for year one",
    "Bring the CFO a payback model",
    "Pilot credited on conversion",
    "Multi-year price lock in exchange for a longer term",
    "Swap seats for usage-based pricing",
    "Executive sponsor call with our COO",
    "Partner financing over 36 months",
]
IDEALS = [
    "Close the books in four days by Q3.",
    "A forecast the board trusts within 5 %.",
    "Cut overstock by 15 % this year.",
    "One set of revenue numbers across the regions.",
]


def _now(today: date) -> datetime:
    return datetime.combine(today, time(9, 0), tzinfo=UTC)


def _take_ups(
    workspace: Workspace, now: datetime, medians: dict[int, int], rng: random.Random
) -> list[tuple[Deal, datetime, datetime | None]]:
    """(deal, the moment a manager took it up, when it left that stage or None).

    Each Monday that a deal owned by a managed team has sat in an open stage for 1.5 times
    what won deals needed there, its manager takes it up that morning with probability
    `WEEKLY_TAKE_UP` (once per deal). Chosen week by week from what was known then — the way
    the comparison deals are found — so that a long stay, which offers more Mondays, is as
    likely to be taken up as to be a comparison, and the null stays null."""
    deals = {
        d.pk: d
        for d in Deal.objects.filter(workspace=workspace, team__manager__isnull=False)
        .select_related("team")
        .order_by("pk")
    }
    history: dict[int, list[tuple[datetime, int, str]]] = defaultdict(list)
    for deal_id, at, stage_id, kind in (
        StageChange.objects.filter(deal_id__in=deals)
        .order_by("deal_id", "changed_at", "pk")
        .values_list("deal_id", "changed_at", "to_stage_id", "to_stage__kind")
    ):
        history[deal_id].append((at, stage_id, kind))
    last_monday = now - timedelta(days=7 + now.weekday())
    out = []
    for deal_id, steps in sorted(history.items()):
        taken = None
        for stage, entered, left in _stays(steps):
            median = medians.get(stage)
            if median is None:
                continue
            stuck = entered + timedelta(days=STUCK_AFTER * median)
            monday = (stuck + timedelta(days=(7 - stuck.weekday()) % 7)).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            while monday <= last_monday and (left is None or monday < left):
                if rng.random() < WEEKLY_TAKE_UP:
                    at = monday + timedelta(hours=rng.randint(9, 11), minutes=rng.choice([0, 30]))
                    if left is None or at < left:
                        taken = (deals[deal_id], at, left)
                    break
                monday += timedelta(days=7)
            if taken:
                break
        if taken:
            out.append(taken)
    return out


def _stays(
    steps: list[tuple[datetime, int, str]],
) -> list[tuple[int, datetime, datetime | None]]:
    """A deal's stays in open stages: (stage id, entered, left or None). Rows that keep the
    stage (an amount or close-date change) do not end a stay."""
    out: list[tuple[int, datetime, datetime | None]] = []
    current: tuple[int, datetime] | None = None
    for at, stage_id, kind in steps:
        if current is not None and stage_id == current[0]:
            continue
        if current is not None:
            out.append((current[0], current[1], at))
        current = (stage_id, at) if kind == StageKind.OPEN else None
    if current is not None:
        out.append((current[0], current[1], None))
    return out


def _squeeze(at: datetime, start: datetime, end: datetime | None, speedup: float) -> datetime:
    """Time after `start` runs `speedup` times faster until `end`; later moments move up by
    the time saved."""
    if at <= start or speedup == 1:
        return at
    if end is None or at <= end:
        return start + (at - start) / speedup
    return at - (end - start) * (1 - 1 / speedup)


def _speed_up(deal: Deal, start: datetime, end: datetime | None, speedup: float) -> None:
    if speedup == 1 or end is None:
        return
    changes = list(StageChange.objects.filter(deal=deal, changed_at__gt=start))
    for c in changes:
        c.changed_at = _squeeze(c.changed_at, start, end, speedup)
        if deal.closed_at is not None and c.close_date is not None and c is changes[-1]:
            c.close_date = c.changed_at.date()
    StageChange.objects.bulk_update(changes, ["changed_at", "close_date"], batch_size=2000)
    acts = list(Activity.objects.filter(deal=deal, occurred_at__gt=start))
    for a in acts:
        a.occurred_at = _squeeze(a.occurred_at, start, end, speedup)
    Activity.objects.bulk_update(acts, ["occurred_at"], batch_size=2000)
    for name in ("closed_at", "stage_entered_at", "last_activity_at"):
        value = getattr(deal, name)
        if value is not None:
            setattr(deal, name, _squeeze(value, start, end, speedup))
    if deal.closed_at is not None:
        deal.close_date = deal.closed_at.date()
    deal.save(update_fields=["closed_at", "stage_entered_at", "last_activity_at", "close_date"])


def _session(
    deal: Deal, manager_id: int, at: datetime, rng: random.Random, approval: str | None
) -> None:
    """A decided session at `at`: the manager and the rep write options within the hour,
    score them, and the manager decides (beyond the guardrails with a leader's answer)."""
    session = Session.objects.create(
        workspace_id=deal.workspace_id,
        deal=deal,
        started_by_id=manager_id,
        ideal_outcome=rng.choice(IDEALS),
        phase=Phase.CLOSED,
        alternatives_considered="Compared a phased rollout with a price concession.",
        dissent_explored="The rep doubted the CFO would take a payback model.",
        premortem="It fails if IT still blocks the integration.",
        rationale="Lowest risk to the customer for the same value.",
        decided_by_id=manager_id,
        decided_at=at + timedelta(minutes=rng.randint(45, 75)),
        converge_at=at + timedelta(minutes=rng.randint(25, 40)),
        outcome=Outcome.MOVED,
        outcome_at=at + timedelta(days=7),
        created_at=at,
    )
    authors = [manager_id, deal.owner_id or manager_id]
    options = Option.objects.bulk_create(
        Option(
            session=session,
            title=title,
            author_id=authors[k % 2],
            created_at=at + timedelta(minutes=2 + 3 * k),
            discount_pct=Decimal("22") if (k == 0 and approval) else None,
            is_chosen=k == 0,
        )
        for k, title in enumerate(rng.sample(OPTION_TITLES, 8))
    )
    Comment.objects.bulk_create(
        Comment(
            session=session,
            option=options[k],
            author_id=authors[k % 2],
            text="What would the CFO need to see for this to pass?",
            created_at=at + timedelta(minutes=28 + 2 * k),
        )
        for k in range(3)
    )
    scores = [
        Score(
            option=o,
            user_id=u,
            value=rng.randint(2, 5),
            risk=rng.randint(2, 5),
            feasibility=rng.randint(2, 5),
            payoff=rng.randint(2, 5),
        )
        for o in options[:4]
        for u in set(authors)
    ]
    Score.objects.bulk_create(scores)
    Score.objects.filter(option__session=session).update(updated_at=at + timedelta(minutes=40))
    if approval:
        asked = at + timedelta(minutes=42)
        ApprovalRequest.objects.create(
            option=options[0],
            workspace_id=deal.workspace_id,
            requested_by_id=manager_id,
            breaches=["discount 22 % is above 15 %"],
            terms={"discount_pct": "22"},
            status=approval,
            decided_by=Membership.objects.filter(workspace_id=deal.workspace_id, role=Role.LEADER)
            .first()
            .user,  # type: ignore[union-attr]
            reason="Fine for a three-year term." if approval == "approved" else "Too deep.",
            decided_at=asked + timedelta(hours=rng.randint(2, 30)),
            created_at=asked,
        )


def plant_sessions(*, workspace: Workspace, seed: int, today: date, speedup: float) -> int:
    """The past sessions with the planted effect; returns how many deals got one."""
    from unstuck.demo.generator import STAGES

    rng = random.Random(seed * 7919 + 12)
    now = _now(today)
    medians = {
        sid: STAGES[order][3]
        for sid, order in workspace.pipelines.values_list("stages__id", "stages__order")
        if order is not None and order < len(STAGES)
    }
    chosen = _take_ups(workspace, now, medians, rng)[:MAX_TREATED]
    with transaction.atomic():
        for deal, at, left in chosen:
            approval = rng.choices(
                [None, ApprovalStatus.APPROVED, ApprovalStatus.DECLINED], weights=[75, 20, 5]
            )[0]
            assert deal.team is not None and deal.team.manager_id is not None
            _session(deal, deal.team.manager_id, at, rng, approval)
            _speed_up(deal, at, left, speedup)
    return len(chosen)


def _open_at(deals: list[Deal], at: datetime) -> list[Deal]:
    return [d for d in deals if d.created_at <= at and (d.closed_at is None or d.closed_at > at)]


def recent_work(*, workspace: Workspace, seed: int, today: date) -> None:
    """Each manager's last twelve weeks: investigating, asking reps, feedback, bias training,
    stage moves on their reps' deals and notes. East leans to the pipeline, West to deals."""
    rng = random.Random(seed * 104729 + 12)
    now = _now(today)
    teams = list(Team.objects.filter(workspace=workspace, manager__isnull=False).order_by("name"))
    obstacles, requests, feedback, quiz, notes = [], [], [], [], []
    for t, team in enumerate(teams):
        manager_id = team.manager_id
        assert manager_id is not None
        lean_pipeline = t == 0
        deals = list(Deal.objects.filter(workspace=workspace, team=team).order_by("pk"))
        for day in range(84, -1, -1):
            at_day = now - timedelta(days=day)
            if at_day.weekday() >= 5:
                continue
            at = at_day.replace(hour=rng.randint(8, 16), minute=rng.choice([0, 20, 40]))
            open_deals = _open_at(deals, at)
            if not open_deals:
                continue
            deal = rng.choice(open_deals)
            if rng.random() < (0.25 if lean_pipeline else 0.55):
                obstacles.append(
                    Obstacle(
                        deal=deal,
                        kind=rng.choice(["budget", "priority", "competitor", "timing"]),
                        description="Found while reviewing the deal.",
                        created_by_id=manager_id,
                        created_at=at,
                    )
                )
            if rng.random() < (0.2 if lean_pipeline else 0.4):
                requests.append(
                    InvestigationRequest(
                        deal=deal,
                        asked_by_id=manager_id,
                        assignee_id=deal.owner_id,
                        question="Who signs off above the champion?",
                        due_date=(at + timedelta(days=5)).date(),
                        created_at=at,
                    )
                )
            if rng.random() < 0.3:
                feedback.append(
                    FeedbackEntry(
                        deal=deal,
                        kind=rng.choice(["working", "not_working"]),
                        text="Talked it through with the rep.",
                        author_id=manager_id,
                        created_at=at + timedelta(hours=1),
                    )
                )
            if rng.random() < 0.15:
                quiz += [
                    QuizAnswer(
                        workspace=workspace,
                        user_id=manager_id,
                        item=f"q{k}",
                        expected="legacy",
                        chosen="legacy",
                        is_correct=True,
                        answered_at=at + timedelta(minutes=k),
                    )
                    for k in range(rng.randint(4, 8))
                ]
            for _ in range(rng.randint(1, 4 if lean_pipeline else 2)):
                notes.append(
                    Activity(
                        deal=rng.choice(open_deals),
                        kind="note",
                        occurred_at=at + timedelta(hours=2),
                        direction="internal",
                        summary="Pipeline review note.",
                        actor_id=manager_id,
                        source="demo",
                    )
                )
        # Stage moves on the reps' deals: a manager on the pipeline moves many themselves.
        share = 0.6 if lean_pipeline else 0.15
        recent = list(
            StageChange.objects.filter(
                deal__team=team, changed_at__gte=now - timedelta(days=84), changed_by__isnull=True
            ).order_by("pk")
        )
        moved = [c.pk for c in recent if rng.random() < share]
        # One value for all: a plain UPDATE in chunks (bulk_update's CASE over tens of
        # thousands of ids took over half an hour on PostgreSQL at 100,000 deals; chunks keep
        # SQLite under its limit of variables per statement).
        for start in range(0, len(moved), 2000):
            StageChange.objects.filter(pk__in=moved[start : start + 2000]).update(
                changed_by_id=manager_id
            )
        LessonCompletion.objects.bulk_create(
            LessonCompletion(
                workspace=workspace,
                user_id=manager_id,
                bias=bias,
                completed_at=now - timedelta(days=10 + 9 * k),
            )
            for k, bias in enumerate(["practicality", "confirmation", "legacy"][: 3 - t])
        )
    _answer_most(requests, random.Random(seed * 104729 + 13), now)
    Obstacle.objects.bulk_create(obstacles)
    InvestigationRequest.objects.bulk_create(requests)
    FeedbackEntry.objects.bulk_create(feedback)
    QuizAnswer.objects.bulk_create(quiz)
    Activity.objects.bulk_create(notes)
    # As deal_log_activity does for each note: the deal's "last activity" is its latest one,
    # so the deal page's card agrees with the days of silence the score reads.
    latest: dict[int, datetime] = {}
    for note in notes:
        latest[note.deal_id] = max(note.occurred_at, latest.get(note.deal_id, note.occurred_at))
    for deal_id, at in latest.items():
        Deal.objects.filter(pk=deal_id).filter(
            Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=at)
        ).update(last_activity_at=at)
    _check_ins_and_pulse(workspace, teams, today)


ANSWERS = [
    "The CFO signs above $100k; the champion is setting up a call with her.",
    "Procurement signs off after the CFO; the champion has never met the CFO.",
    "The COO signs; he wants the business case by the end of the quarter.",
    "Nobody above the champion this year: it fits in her budget.",
]


def _answer_most(requests: list[InvestigationRequest], rng: random.Random, now: datetime) -> None:
    """Reps answer most requests within a week, a few late, a few never: a manager's queue
    shows a handful overdue, not every question asked in twelve weeks. (A generator of its
    own, so the rest of the demo draws the same numbers as before.)"""
    for request in requests:
        if rng.random() < 0.12:
            continue  # left unanswered
        answered = request.created_at + timedelta(days=rng.choice([1, 2, 3, 4, 6, 9]))
        if answered < now:
            request.answered_at = answered
            request.answer = rng.choice(ANSWERS)


def _check_ins_and_pulse(workspace: Workspace, teams: list[Team], today: date) -> None:
    """The East manager corrected three weeks; both managers answered the last three pulses
    (two people: fewer than the pooling minimum, so leaders see no figure for them)."""
    monday = today - timedelta(days=today.weekday())
    if teams and teams[0].manager_id:
        splits = [(2, (20, 10, 50, 20)), (5, (15, 10, 55, 20)), (9, (25, 5, 50, 20))]
        CheckIn.objects.bulk_create(
            CheckIn(
                workspace=workspace,
                user_id=teams[0].manager_id,
                week=monday - timedelta(weeks=k),
                innovation=a,
                coaching=b,
                efficiency=c,
                admin=d,
            )
            for k, (a, b, c, d) in splits
        )
    month = today.replace(day=1)
    months = [month]
    for _ in range(2):
        prev = months[-1] - timedelta(days=1)
        months.append(prev.replace(day=1))
    PulseAnswer.objects.bulk_create(
        PulseAnswer(
            workspace=workspace,
            user_id=team.manager_id,
            month=m,
            empowered=2 + t,
            time_for_innovation=2 + t,
            decide_without_approval=3,
        )
        for t, team in enumerate(teams)
        for m in months
        if team.manager_id
    )


def add_insights(*, workspace: Workspace, seed: int, today: date, speedup: float = 3.0) -> int:
    treated = plant_sessions(workspace=workspace, seed=seed, today=today, speedup=speedup)
    recent_work(workspace=workspace, seed=seed, today=today)
    return treated
