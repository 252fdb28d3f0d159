"""Writes for thinking: checking a text and storing its flags, dismissing them, the question
bank, deal notes written with the gentle note beside them, and training progress."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from unstuck.core.access import can_shape_workspace
from unstuck.core.errors import NotAllowed, UnstuckError
from unstuck.core.models import Membership, User, Workspace
from unstuck.core.services import _clean, locked, save_fields
from unstuck.deals.models import Activity, ActivityKind, Deal, Direction
from unstuck.deals.services import activity_log
from unstuck.thinking import detector, selectors
from unstuck.thinking.biases import BIAS_KEYS, NONE
from unstuck.thinking.models import (
    BiasFlag,
    FlagStatus,
    LessonCompletion,
    PerspectiveQuestion,
    QuizAnswer,
)
from unstuck.thinking.question_bank import DEFAULT_QUESTIONS, Perspective, Situation
from unstuck.thinking.training import QUIZ_BY_KEY

MAX_TEXT = 5000


# The question bank -------------------------------------------------------------------------


def question_bank_ensure(*, workspace: Workspace) -> int:
    """Give a workspace the built-in questions when it is created.

    A workspace that has any question (even archived ones) is left as its leaders made it.
    Returns how many questions were added. Two callers racing add each question once: a
    question's text is unique in its workspace and a conflicting row is skipped.
    """
    if PerspectiveQuestion.objects.filter(workspace=workspace).exists():
        return 0
    created = PerspectiveQuestion.objects.bulk_create(
        (
            PerspectiveQuestion(
                workspace=workspace,
                text=q.text,
                perspective=q.perspective,
                biases=list(q.biases),
                situations=list(q.situations),
                is_default=True,
            )
            for q in DEFAULT_QUESTIONS
        ),
        ignore_conflicts=True,
    )
    return len(created)


def _check_tags(biases: list[str], situations: list[str], perspective: str) -> None:
    if not biases:
        raise UnstuckError("Tag the question with at least one bias.", field="biases")
    if unknown := set(biases) - set(BIAS_KEYS):
        raise UnstuckError(f"Unknown bias: {', '.join(sorted(unknown))}.", field="biases")
    if unknown := set(situations) - set(Situation.values):
        raise UnstuckError(f"Unknown situation: {', '.join(sorted(unknown))}.", field="situations")
    if perspective not in Perspective.values:
        raise UnstuckError(f"Unknown perspective '{perspective}'.", field="perspective")


def _require_leader(membership: Membership) -> None:
    if not can_shape_workspace(membership):
        raise NotAllowed("Only leaders edit the question bank.")


def question_add(
    *,
    membership: Membership,
    text: str,
    perspective: str,
    biases: list[str],
    situations: list[str] | None = None,
) -> PerspectiveQuestion:
    _require_leader(membership)
    situations = list(situations or Situation.values)
    _check_tags(biases, situations, perspective)
    question = PerspectiveQuestion(
        workspace=membership.workspace,
        text=text.strip(),
        perspective=perspective,
        biases=sorted(set(biases), key=BIAS_KEYS.index),
        situations=situations,
        created_by=membership.user,
    )
    _clean(question)
    question.save()
    return question


@transaction.atomic
def question_update(
    *,
    membership: Membership,
    question: PerspectiveQuestion,
    text: str | None = None,
    perspective: str | None = None,
    biases: list[str] | None = None,
    situations: list[str] | None = None,
    is_active: bool | None = None,
) -> PerspectiveQuestion:
    _require_leader(membership)
    if question.workspace_id != membership.workspace_id:
        raise UnstuckError("That question belongs to another workspace.")
    # Locked, and only what is given saved: two leaders editing at once keep both edits.
    question = locked(question)
    given: dict[str, object] = {"text": text, "perspective": perspective, "biases": biases}
    given |= {"situations": situations, "is_active": is_active}
    if text is not None:
        question.text = text.strip()
    if perspective is not None:
        question.perspective = perspective
    if biases is not None:
        question.biases = list(biases)
    if situations is not None:
        question.situations = list(situations)
    if is_active is not None:
        question.is_active = is_active
    _check_tags(question.biases, question.situations, question.perspective)
    # Sorted only once checked: an unknown bias has no place in the order.
    question.biases = sorted(set(question.biases), key=BIAS_KEYS.index)
    _clean(question)
    save_fields(question, [name for name, value in given.items() if value is not None])
    return question


# Flags -------------------------------------------------------------------------------------


def _questions_text(workspace: Workspace, bias: str, situation: str | None) -> list[str]:
    chosen = selectors.questions_for(workspace=workspace, bias=bias, situation=situation, limit=3)
    return [q.text for q in chosen]


@transaction.atomic
def text_check(
    *,
    workspace: Workspace,
    author: User,
    text: str,
    deal: Deal | None = None,
    subject: models.Model | None = None,
    context: str = "",
    situation: str | None = None,
    draft_key: str = "",
) -> list[BiasFlag]:
    """Run the detector on a text and store what it flags, with the workspace's questions.

    With a draft key (a text being typed), each bias keeps one row for that draft: it is
    updated as the text changes, and marked rewritten when the bias is gone from the text.
    Dismissed flags stay dismissed. Returns the flags the text has now.
    """
    if len(text) > MAX_TEXT:
        raise UnstuckError(f"Check at most {MAX_TEXT} characters at a time.", field="text")
    if deal is not None and deal.workspace_id != workspace.pk:
        raise UnstuckError("That deal belongs to another workspace.", field="deal")
    # A draft is checked on every pause in typing: the quick head (static model) answers it.
    found = detector.detect(text, quick=bool(draft_key))
    content_type = ContentType.objects.get_for_model(subject) if subject is not None else None
    object_id = subject.pk if subject is not None else None
    existing: dict[str, BiasFlag] = {}
    if draft_key:
        existing = {
            f.bias: f
            for f in BiasFlag.objects.select_for_update().filter(
                workspace=workspace, author=author, draft_key=draft_key
            )
        }
    now = timezone.now()
    result: list[BiasFlag] = []
    for flag in found:
        row = existing.pop(flag.bias, None) or BiasFlag(
            workspace=workspace,
            author=author,
            deal=deal,
            content_type=content_type,
            object_id=object_id,
            context=context[:50],
            draft_key=draft_key,
            bias=flag.bias,
        )
        row.text = text
        row.confidence = flag.confidence
        row.evidence = flag.evidence[:300]
        row.explanation = flag.explanation
        row.questions = _questions_text(workspace, flag.bias, situation) or flag.questions
        if row.status == FlagStatus.REVISED:
            row.status = FlagStatus.OPEN
        row.updated_at = now
        _clean(row)
        row.save()
        result.append(row)
    # Biases the writer has written out of the draft.
    for row in existing.values():
        if row.status == FlagStatus.OPEN:
            row.status = FlagStatus.REVISED
            row.text = text
            row.save(update_fields=["status", "text", "updated_at"])
    return result


@transaction.atomic
def flag_dismiss(*, flag: BiasFlag, by: User, reason: str) -> BiasFlag:
    """The writer (or their manager or leader) sets a flag aside, and says why."""
    reason = reason.strip()
    if not reason:
        raise UnstuckError("Say in a few words why this note doesn't apply.", field="reason")
    flag = locked(flag)
    if flag.status == FlagStatus.DISMISSED:
        return flag
    flag.status = FlagStatus.DISMISSED
    flag.dismiss_reason = reason[:300]
    flag.dismissed_by = by
    flag.dismissed_at = timezone.now()
    _clean(flag)
    save_fields(flag, ["status", "dismiss_reason", "dismissed_by", "dismissed_at"])
    return flag


def flags_attach(
    *, workspace: Workspace, author: User, draft_key: str, subject: models.Model
) -> int:
    """Tie the flags raised while a text was drafted to the object it was saved as."""
    if not draft_key:
        return 0
    return BiasFlag.objects.filter(workspace=workspace, author=author, draft_key=draft_key).update(
        content_type=ContentType.objects.get_for_model(subject),
        object_id=subject.pk,
        updated_at=timezone.now(),
    )


@transaction.atomic
def deal_note_add(*, deal: Deal, by: User, summary: str, draft_key: str = "") -> Activity:
    """Log an internal note on a deal; the flags raised while it was written point to it."""
    if not summary.strip():
        raise UnstuckError("Write the note first.", field="summary")
    activity = activity_log(
        deal=deal,
        kind=ActivityKind.NOTE,
        summary=summary,
        by=by,
        direction=Direction.INTERNAL,
    )
    # A note saved without the live check still gets checked, so no flag is missed.
    text_check(
        workspace=deal.workspace,
        author=by,
        text=activity.summary,
        deal=deal,
        subject=activity,
        context="deal_note",
        situation=Situation.DIAGNOSING,
        draft_key=draft_key,
    )
    flags_attach(workspace=deal.workspace, author=by, draft_key=draft_key, subject=activity)
    return activity


# Training ----------------------------------------------------------------------------------


def lesson_complete(*, workspace: Workspace, user: User, bias: str) -> LessonCompletion:
    if bias not in BIAS_KEYS:
        raise UnstuckError(f"There is no lesson on '{bias}'.", field="bias")
    completion, _ = LessonCompletion.objects.get_or_create(
        workspace=workspace, user=user, bias=bias
    )
    return completion


def quiz_answer(*, workspace: Workspace, user: User, item_key: str, chosen: str) -> QuizAnswer:
    item = QUIZ_BY_KEY.get(item_key)
    if item is None:
        raise UnstuckError("That quiz question does not exist.", field="item")
    if chosen not in (*BIAS_KEYS, NONE):
        raise UnstuckError("Pick one of the six biases or “no bias”.", field="chosen")
    answer = QuizAnswer(
        workspace=workspace,
        user=user,
        item=item.key,
        expected=item.answer,
        chosen=chosen,
        is_correct=chosen == item.answer,
    )
    _clean(answer)
    answer.save()
    return answer
