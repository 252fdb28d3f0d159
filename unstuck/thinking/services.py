"""Writes for thinking: checking a draft as it is typed (nothing stored) and a saved text (its
flags stored), dismissing flags, the question bank, deal notes written with the gentle note
beside them, and training progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import models, transaction
from django.utils import timezone

from unstuck.core.access import can_dismiss_flag, can_shape_workspace
from unstuck.core.errors import NotAllowed, UnstuckError
from unstuck.core.models import Membership, User, Workspace
from unstuck.core.services import _clean, locked, save_fields
from unstuck.deals.models import Activity, ActivityKind, Deal, Direction
from unstuck.deals.services import activity_log, require_deal_edit
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


def _require_checkable(text: str) -> None:
    if len(text) > MAX_TEXT:
        raise UnstuckError(f"Check at most {MAX_TEXT} characters at a time.", field="text")


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


def question_bank_require_edit(membership: Membership) -> None:
    """Leaders edit the question bank."""
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
    question_bank_require_edit(membership)
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
    question_bank_require_edit(membership)
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


# Drafts: checked as they are typed, remembered for their save, never stored as flags --------

DRAFT_TTL = 60 * 60 * 24  # a draft left open over a day is forgotten


@dataclass
class DraftFlag:
    """What the live note shows for a text still being typed. Not a stored flag: flags are
    stored only for saved text (`text_check`); a draft only remembers, until it is saved,
    which biases its note showed and which the writer set aside, and why."""

    bias: str
    confidence: float
    evidence: str
    explanation: str
    questions: list[str]
    draft_key: str
    status: str = FlagStatus.OPEN
    dismiss_reason: str = ""
    pk: None = None

    @property
    def dom_id(self) -> str:
        return f"draft-{self.draft_key}-{self.bias}"


def _draft_cache_key(workspace: Workspace, author: User, draft_key: str) -> str:
    return f"thinking:draft:{workspace.pk}:{author.pk}:{draft_key}"


def _draft_memory(workspace: Workspace, author: User, draft_key: str) -> dict[str, Any]:
    if not draft_key:
        return {"seen": {}, "dismissed": {}}
    memory = cache.get(_draft_cache_key(workspace, author, draft_key))
    return memory if isinstance(memory, dict) else {"seen": {}, "dismissed": {}}


def text_detect(text: str) -> list[detector.BiasFlag]:
    """Check a text and store nothing, not even a draft's memory (the API's `store: false`)."""
    _require_checkable(text)
    return detector.detect(text)


def text_flag(
    *,
    membership: Membership,
    text: str,
    deal: Deal | None = None,
    context: str = "",
    situation: str | None = None,
) -> list[BiasFlag]:
    """A member has a saved text checked and its flags stored (the API's `check`). A flag on a
    deal shows in its managers' lists: only who may change the deal attaches one there."""
    if deal is not None:
        require_deal_edit(membership, deal)
    return text_check(
        workspace=membership.workspace,
        author=membership.user,
        text=text,
        deal=deal,
        context=context,
        situation=situation,
    )


def text_preview(
    *,
    workspace: Workspace,
    author: User,
    text: str,
    situation: str | None = None,
    draft_key: str = "",
) -> list[DraftFlag]:
    """Check a text being typed (the quick head answers every pause) and store nothing.

    With a draft key, the biases shown and set aside are remembered, so that the save can
    record which notes the writer acted on (`text_check`).
    """
    _require_checkable(text)
    if not text.strip():
        return []
    question_bank_ensure(workspace=workspace)
    memory = _draft_memory(workspace, author, draft_key)
    shown = []
    for flag in detector.detect(text, quick=True):
        reason = memory["dismissed"].get(flag.bias, "")
        seen: dict[str, Any] = {
            "confidence": flag.confidence,
            "evidence": flag.evidence[:300],
            "explanation": flag.explanation,
            "questions": _questions_text(workspace, flag.bias, situation) or flag.questions,
        }
        memory["seen"][flag.bias] = seen
        shown.append(
            DraftFlag(
                bias=flag.bias,
                draft_key=draft_key,
                status=FlagStatus.DISMISSED if reason else FlagStatus.OPEN,
                dismiss_reason=reason,
                **seen,
            )
        )
    if draft_key:
        cache.set(_draft_cache_key(workspace, author, draft_key), memory, DRAFT_TTL)
    return shown


def draft_flag_dismiss(
    *, workspace: Workspace, author: User, draft_key: str, bias: str, reason: str
) -> DraftFlag:
    """The writer sets a draft's note aside; the flag is stored dismissed, with the reason,
    if the saved text still has the bias."""
    reason = reason.strip()
    if not reason:
        raise UnstuckError("Say in a few words why this note doesn't apply.", field="reason")
    memory = _draft_memory(workspace, author, draft_key)
    seen = memory["seen"].get(bias)
    if not draft_key or seen is None:
        raise UnstuckError("That note is no longer showing; check the text again.", field="bias")
    memory["dismissed"][bias] = reason[:300]
    cache.set(_draft_cache_key(workspace, author, draft_key), memory, DRAFT_TTL)
    return DraftFlag(
        bias=bias,
        draft_key=draft_key,
        **seen,
        status=FlagStatus.DISMISSED,
        dismiss_reason=reason[:300],
    )


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
    """Run the detector on a saved text and store what it flags, with the workspace's
    questions. Returns the flags the text has. A step of the services that save a text (they
    check who may first); a member's own request goes through `text_flag`.

    With the draft key of the live note that was beside it while it was typed: a bias the
    writer set aside there is stored dismissed with their reason, and a bias the note showed
    that the saved text no longer has is stored as rewritten. The draft is then forgotten.
    """
    _require_checkable(text)
    if deal is not None and deal.workspace_id != workspace.pk:
        raise UnstuckError("That deal belongs to another workspace.", field="deal")
    found = detector.detect(text)
    memory = _draft_memory(workspace, author, draft_key)
    content_type = ContentType.objects.get_for_model(subject) if subject is not None else None
    now = timezone.now()

    def row(bias: str, confidence: float, evidence: str, explanation: str) -> BiasFlag:
        return BiasFlag(
            workspace=workspace,
            author=author,
            deal=deal,
            content_type=content_type,
            object_id=subject.pk if subject is not None else None,
            context=context[:50],
            text=text,
            bias=bias,
            confidence=confidence,
            evidence=evidence[:300],
            explanation=explanation,
            created_at=now,
        )

    result: list[BiasFlag] = []
    stored: list[BiasFlag] = []
    for flag in found:
        new = row(flag.bias, flag.confidence, flag.evidence, flag.explanation)
        new.questions = _questions_text(workspace, flag.bias, situation) or flag.questions
        reason = memory["dismissed"].get(flag.bias)
        if reason:
            new.status = FlagStatus.DISMISSED
            new.dismiss_reason = reason
            new.dismissed_by = author
            new.dismissed_at = now
        stored.append(new)
        result.append(new)
    # Biases the note showed while typing that the writer wrote out before saving.
    present = {f.bias for f in found}
    for bias, seen in memory["seen"].items():
        if bias not in present and bias in BIAS_KEYS:
            rewritten = row(bias, seen["confidence"], seen["evidence"], seen["explanation"])
            rewritten.questions = seen["questions"]
            rewritten.status = FlagStatus.REVISED
            stored.append(rewritten)
    for flag_row in stored:
        _clean(flag_row)
        flag_row.save()
    if draft_key:
        cache.delete(_draft_cache_key(workspace, author, draft_key))
    return result


@transaction.atomic
def flag_dismiss(*, membership: Membership, flag: BiasFlag, reason: str) -> BiasFlag:
    """The writer (or their manager or leader) sets a flag aside, and says why."""
    if not can_dismiss_flag(membership, flag.author_id) or not (
        selectors.flags_visible_to(membership).filter(pk=flag.pk).exists()
    ):
        raise NotAllowed("Only the writer, their manager or a leader can dismiss this.")
    reason = reason.strip()
    if not reason:
        raise UnstuckError("Say in a few words why this note doesn't apply.", field="reason")
    flag = locked(flag)
    if flag.status == FlagStatus.DISMISSED:
        return flag
    flag.status = FlagStatus.DISMISSED
    flag.dismiss_reason = reason[:300]
    flag.dismissed_by = membership.user
    flag.dismissed_at = timezone.now()
    _clean(flag)
    save_fields(flag, ["status", "dismiss_reason", "dismissed_by", "dismissed_at"])
    return flag


@transaction.atomic
def deal_note_add(
    *, membership: Membership, deal: Deal, summary: str, draft_key: str = ""
) -> Activity:
    """Log an internal note on a deal (who may change the deal may); the flags raised while it
    was written point to it."""
    require_deal_edit(membership, deal)
    by = membership.user
    if not summary.strip():
        raise UnstuckError("Write the note first.", field="summary")
    activity = activity_log(
        deal=deal,
        kind=ActivityKind.NOTE,
        summary=summary,
        by=by,
        direction=Direction.INTERNAL,
    )
    # The saved note is what is checked and stored; the live note's draft only says which
    # notes the writer set aside or wrote out.
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
