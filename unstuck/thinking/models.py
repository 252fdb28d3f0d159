"""Stored thinking: the workspace's perspective-question bank, every bias flag raised on
something people wrote (and its dismissal), and each person's bias-awareness training."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from unstuck.core.models import Workspace
from unstuck.thinking.biases import Bias
from unstuck.thinking.question_bank import Perspective


class PerspectiveQuestion(models.Model):
    """A question from another viewpoint, tagged by the biases and situations it helps with."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="perspective_questions"
    )
    text = models.CharField(max_length=300)
    perspective = models.CharField(max_length=20, choices=Perspective.choices)
    biases = models.JSONField(default=list, help_text="Bias keys this question helps against.")
    situations = models.JSONField(default=list, help_text="Situation keys it suits.")
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False, help_text="Came from the built-in bank.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("perspective", "pk")
        indexes = [models.Index(fields=["workspace", "is_active"], name="question_ws_active")]
        constraints = [
            # Seeding the bank twice (two first requests at once) must not double it.
            models.UniqueConstraint(
                fields=["workspace", "text"], name="question_text_unique_per_ws"
            )
        ]

    def __str__(self) -> str:
        return self.text


class FlagStatus(models.TextChoices):
    OPEN = "open", "Open"
    DISMISSED = "dismissed", "Dismissed"
    REVISED = "revised", "Rewritten"


class BiasFlag(models.Model):
    """One bias the detector saw in one piece of writing, kept for the team's patterns.

    What the text was about is generic: a deal, and/or any object (a note, a session option…)
    through a content type, and a short context label such as "deal_note". Flags are stored
    for saved text only; `draft_key` is set only on rows from before drafts stopped being
    stored (migration 0002 removed those never saved).
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="bias_flags")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="bias_flags"
    )
    deal = models.ForeignKey(
        "deals.Deal", on_delete=models.CASCADE, null=True, blank=True, related_name="bias_flags"
    )
    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject = GenericForeignKey("content_type", "object_id")
    context = models.CharField(max_length=50, blank=True, help_text="Where it was written.")
    draft_key = models.CharField(max_length=40, blank=True)
    text = models.TextField()
    bias = models.CharField(max_length=20, choices=Bias.choices)
    confidence = models.FloatField()
    evidence = models.CharField(max_length=300)
    explanation = models.CharField(max_length=300)
    questions = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=FlagStatus.choices, default=FlagStatus.OPEN)
    dismiss_reason = models.CharField(max_length=300, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    dismissed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-pk")
        indexes = [
            models.Index(fields=["workspace", "created_at"], name="biasflag_ws_time"),
            models.Index(fields=["workspace", "bias", "status"], name="biasflag_ws_bias_status"),
            models.Index(fields=["content_type", "object_id"], name="biasflag_subject"),
            models.Index(fields=["author", "draft_key"], name="biasflag_author_draft"),
        ]

    def __str__(self) -> str:
        return f"{self.get_bias_display()} ({self.confidence:.2f}): {self.evidence}"


class LessonCompletion(models.Model):
    """A person read the lesson on one bias."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_completions"
    )
    bias = models.CharField(max_length=20, choices=Bias.choices)
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("completed_at",)
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "user", "bias"], name="one_lesson_completion_per_bias"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.bias}"


class QuizAnswer(models.Model):
    """One answer to one quiz item; every attempt is kept, so progress shows over time."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_answers"
    )
    item = models.CharField(max_length=40, help_text="The quiz item's key.")
    expected = models.CharField(max_length=20)
    chosen = models.CharField(max_length=20)
    is_correct = models.BooleanField()
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("answered_at", "pk")
        indexes = [models.Index(fields=["workspace", "user"], name="quizanswer_ws_user")]

    def __str__(self) -> str:
        return (
            f"{self.user_id} {self.item}: {self.chosen} ({'right' if self.is_correct else 'wrong'})"
        )
