"""Reads for thinking: questions for a bias and situation, the flags one may see, their
patterns over time, and training progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from unstuck.core.access import deals_visible_to, managed_team_ids
from unstuck.core.models import Membership, Role, User, Workspace
from unstuck.thinking.biases import BIAS_KEYS, CATALOGUE
from unstuck.thinking.models import (
    BiasFlag,
    FlagStatus,
    LessonCompletion,
    PerspectiveQuestion,
    QuizAnswer,
)
from unstuck.thinking.question_bank import DEFAULT_QUESTIONS, Perspective
from unstuck.thinking.training import QUIZ, quiz_order


def _default_bank() -> list[PerspectiveQuestion]:
    return [
        PerspectiveQuestion(
            text=q.text,
            perspective=q.perspective,
            biases=list(q.biases),
            situations=list(q.situations),
            is_default=True,
        )
        for q in DEFAULT_QUESTIONS
    ]


def questions_for(
    *,
    workspace: Workspace | None = None,
    bias: str | None = None,
    situation: str | None = None,
    limit: int | None = None,
) -> list[PerspectiveQuestion]:
    """Active questions for a bias and a situation, varied in perspective, best first.

    Without a workspace, the built-in bank (unsaved objects). With a limit, the bias's own
    opening question comes first and then one question per other perspective; questions
    that suit the situation are preferred, others fill in when too few do.
    """
    if workspace is None:
        bank = _default_bank()
    else:
        bank = list(PerspectiveQuestion.objects.filter(workspace=workspace, is_active=True))
        order = list(Perspective.values)
        bank.sort(key=lambda q: (order.index(q.perspective), q.pk or 0))
    if bias:
        bank = [q for q in bank if bias in q.biases]
    if situation:
        bank.sort(key=lambda q: situation not in q.situations)  # stable: suited ones first
    if limit is None:
        return bank
    bank.sort(
        key=lambda q: (q.perspective != Perspective.OPENING, bool(bias) and q.biases[:1] != [bias])
    )
    chosen: list[PerspectiveQuestion] = []
    perspectives: set[str] = set()
    for q in bank:
        if q.perspective not in perspectives:
            chosen.append(q)
            perspectives.add(q.perspective)
        if len(chosen) >= limit:
            break
    return chosen


def flags_visible_to(membership: Membership) -> QuerySet[BiasFlag]:
    """Leaders see the workspace's flags; managers their own, their teams' and their deals';
    everyone else their own."""
    qs = BiasFlag.objects.filter(workspace_id=membership.workspace_id)
    if membership.role == Role.LEADER:
        return qs
    own = Q(author_id=membership.user_id)
    if membership.role == Role.MANAGER:
        team_ids = managed_team_ids(membership)
        team_authors = Membership.objects.filter(
            workspace_id=membership.workspace_id, team_id__in=team_ids
        ).values("user_id")
        deals = deals_visible_to(membership).values("pk")
        return qs.filter(own | Q(author_id__in=team_authors) | Q(deal_id__in=deals))
    return qs.filter(own)


@dataclass
class BiasPattern:
    bias: str
    name: str
    total: int
    dismissed: int
    revised: int

    @property
    def open(self) -> int:
        return self.total - self.dismissed - self.revised


def flag_patterns(flags: QuerySet[BiasFlag], since: datetime | None = None) -> list[BiasPattern]:
    """Counts per bias and what became of the flags, computed in the database."""
    if since is not None:
        flags = flags.filter(created_at__gte=since)
    rows = {
        r["bias"]: r
        for r in flags.values("bias").annotate(
            total=Count("pk"),
            dismissed=Count("pk", filter=Q(status=FlagStatus.DISMISSED)),
            revised=Count("pk", filter=Q(status=FlagStatus.REVISED)),
        )
    }
    return [
        BiasPattern(
            bias=key,
            name=CATALOGUE[key].name,
            total=rows.get(key, {}).get("total", 0),
            dismissed=rows.get(key, {}).get("dismissed", 0),
            revised=rows.get(key, {}).get("revised", 0),
        )
        for key in BIAS_KEYS
    ]


@dataclass
class BiasProgress:
    bias: str
    name: str
    lesson_done: bool
    answered: int
    correct: int
    total: int


@dataclass
class TrainingProgress:
    user: User
    lessons_done: int
    lessons_total: int
    answered: int
    correct: int
    quiz_total: int
    per_bias: list[BiasProgress] = field(default_factory=list)
    last_activity: datetime | None = None

    @property
    def percent(self) -> int:
        """Lessons read and quiz items last answered right, as one share of the whole."""
        done = self.lessons_done + self.correct
        return round(100 * done / (self.lessons_total + self.quiz_total))


def training_progress(*, workspace: Workspace, user: User) -> TrainingProgress:
    """Lessons read, and each quiz item's latest answer (right or wrong), per bias."""
    lessons = dict(
        LessonCompletion.objects.filter(workspace=workspace, user=user).values_list(
            "bias", "completed_at"
        )
    )
    latest: dict[str, QuizAnswer] = {}
    for answer in QuizAnswer.objects.filter(workspace=workspace, user=user).order_by(
        "answered_at", "pk"
    ):
        latest[answer.item] = answer
    per_bias = []
    for key in BIAS_KEYS:
        items = [i for i in QUIZ if i.answer == key]
        answered = [latest[i.key] for i in items if i.key in latest]
        per_bias.append(
            BiasProgress(
                bias=key,
                name=CATALOGUE[key].name,
                lesson_done=key in lessons,
                answered=len(answered),
                correct=sum(a.is_correct for a in answered),
                total=len(items),
            )
        )
    moments = [*lessons.values(), *(a.answered_at for a in latest.values())]
    return TrainingProgress(
        user=user,
        lessons_done=len(lessons),
        lessons_total=len(BIAS_KEYS),
        answered=len(latest),
        correct=sum(a.is_correct for a in latest.values()),
        quiz_total=len(QUIZ),
        per_bias=per_bias,
        last_activity=max(moments) if moments else None,
    )


def team_training_progress(membership: Membership) -> list[TrainingProgress]:
    """For a leader: every manager in the workspace. For a manager: themselves."""
    if membership.role == Role.LEADER:
        people = [
            m.user
            for m in Membership.objects.filter(
                workspace_id=membership.workspace_id, role=Role.MANAGER
            ).select_related("user")
        ]
    else:
        people = [membership.user]
    return [training_progress(workspace=membership.workspace, user=u) for u in people]


def quiz_next_item(*, workspace: Workspace, user: User, after: str | None = None) -> str | None:
    """The next quiz item, in this person's order, whose latest answer is not right (after a
    given one, wrapping round); None when every item's latest answer is right."""
    latest: dict[str, bool] = {}
    for item, correct in (
        QuizAnswer.objects.filter(workspace=workspace, user=user)
        .order_by("answered_at", "pk")
        .values_list("item", "is_correct")
    ):
        latest[item] = correct
    keys = [i.key for i in quiz_order(workspace_id=workspace.pk, user_id=user.pk)]
    start = keys.index(after) + 1 if after in keys else 0
    for key in keys[start:] + keys[:start]:
        if not latest.get(key, False):
            return key
    return None
