"""The playbook: plays (tactics that worked, with the situation they fit, who owns and
verifies them) and their applications to deals (the moment a play's clock starts)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from unstuck.core.models import Workspace
from unstuck.deals.models import Deal, Stage


class PlayStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    VERIFIED = "verified", "Verified"
    RETIRED = "retired", "Retired"


class Play(models.Model):
    """A tactic that worked: the situation it fits, what to do and say, the deals that show
    it, an owner, and a verifier who confirms it is still right every review interval."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="plays")
    title = models.CharField(max_length=200)
    situation = models.TextField(blank=True, help_text="When this play fits, in plain words.")
    # The situation as data, so the playbook provider can match a deal against it.
    obstacle_kinds = models.JSONField(default=list, blank=True)
    stall_signals = models.JSONField(default=list, blank=True)
    stages = models.JSONField(default=list, blank=True, help_text="Stage names; empty: any.")
    lever_families = models.JSONField(default=list, blank=True)
    what_to_do = models.TextField()
    what_to_say = models.TextField(blank=True)
    evidence_deals = models.ManyToManyField(Deal, blank=True, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    verifier = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    review_interval_days = models.PositiveSmallIntegerField(
        default=90, validators=[MinValueValidator(7), MaxValueValidator(730)]
    )
    status = models.CharField(max_length=10, choices=PlayStatus.choices, default=PlayStatus.DRAFT)
    verified_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_reason = models.CharField(max_length=300, blank=True)
    # Promoted from a decided co-creation session: where it came from and how that ended.
    source_session = models.ForeignKey(
        "cocreate.Session", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source_outcome = models.CharField(max_length=10, blank=True)
    # The measured outcome as last computed (plays_outcomes.stored_outcome), with the key of
    # the applications and day it was computed for: pages read it instead of recomputing.
    outcome = models.JSONField(default=dict, blank=True, editable=False)
    outcome_key = models.CharField(max_length=80, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("title", "pk")
        indexes = [models.Index(fields=["workspace", "status"], name="play_ws_status")]

    def __str__(self) -> str:
        return self.title

    @property
    def review_due_at(self) -> datetime | None:
        if self.status != PlayStatus.VERIFIED or self.verified_at is None:
            return None
        return self.verified_at + timedelta(days=self.review_interval_days)

    @property
    def is_due(self) -> bool:
        due = self.review_due_at
        return due is not None and due <= timezone.now()


class PlaySource(models.TextChoices):
    DEAL = "deal", "Deal page"
    SESSION = "session", "Co-creation session"
    SUGGESTION = "suggestion", "Suggestion"
    API = "api", "API or CLI"
    IMPORT = "import", "Recorded history"


class PlayApplication(models.Model):
    """A play applied to a deal: who, when, and the deal's stage and stall score then. The
    moment is where the play's measured outcome starts its clock."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    play = models.ForeignKey(Play, on_delete=models.CASCADE, related_name="applications")
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="play_applications")
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    applied_at = models.DateTimeField(default=timezone.now)
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    stall_score = models.PositiveSmallIntegerField(default=0)
    session = models.ForeignKey(
        "cocreate.Session", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=12, choices=PlaySource.choices, default=PlaySource.DEAL)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("-applied_at", "-pk")
        constraints = [
            # One clock per play and deal: applying it again measures nothing new.
            models.UniqueConstraint(fields=["play", "deal"], name="play_applied_once_per_deal")
        ]
        indexes = [
            models.Index(fields=["workspace", "applied_at"], name="playapp_ws_time"),
            models.Index(fields=["deal", "applied_at"], name="playapp_deal_time"),
        ]

    def __str__(self) -> str:
        return f"{self.play_id} on {self.deal_id}"
