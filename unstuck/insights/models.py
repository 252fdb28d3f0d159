"""What insights stores: each person's weekly check-in and monthly pulse, and what the
background recomputation derives from the recorded actions (minutes per week by category,
stuck value by stage per week, and the innovated-versus-comparable comparison)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from unstuck.core.models import Team, Workspace
from unstuck.deals.models import Stage

PERCENT = [MinValueValidator(0), MaxValueValidator(100)]
LIKERT = [MinValueValidator(1), MaxValueValidator(5)]


class CheckIn(models.Model):
    """ "Roughly how did your week split?" — a person's own correction of one week's estimate,
    in percent of the week (the four add up to 100)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week = models.DateField(help_text="The Monday the week starts on (UTC).")
    innovation = models.PositiveSmallIntegerField(validators=PERCENT)
    coaching = models.PositiveSmallIntegerField(validators=PERCENT)
    efficiency = models.PositiveSmallIntegerField(validators=PERCENT)
    admin = models.PositiveSmallIntegerField(validators=PERCENT)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("workspace", "user", "-week")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "user", "week"], name="one_checkin_per_week"
            ),
            models.CheckConstraint(
                condition=Q(innovation__lte=100)
                & Q(coaching__lte=100)
                & Q(efficiency__lte=100)
                & Q(admin__lte=100),
                name="checkin_percent",
            ),
        ]

    def __str__(self) -> str:
        return f"Check-in of {self.user_id} for {self.week}"


class PulseAnswer(models.Model):
    """One manager's monthly pulse. Leaders only ever see aggregates of a group of at least
    `PULSE_MIN_GROUP` people; nobody but the person sees the row."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    month = models.DateField(help_text="The first day of the month.")
    empowered = models.PositiveSmallIntegerField(validators=LIKERT)
    time_for_innovation = models.PositiveSmallIntegerField(validators=LIKERT)
    decide_without_approval = models.PositiveSmallIntegerField(validators=LIKERT)
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("workspace", "-month")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "user", "month"], name="one_pulse_per_month"
            )
        ]

    def __str__(self) -> str:
        return f"Pulse of {self.user_id} for {self.month:%Y-%m}"


class TimeSpent(models.Model):
    """Estimated minutes one person spent on one category in one week (recomputed)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week = models.DateField()
    category = models.CharField(max_length=10)
    minutes = models.PositiveIntegerField(default=0)
    events = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "user", "week", "category"], name="one_time_row"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.week} {self.category}: {self.minutes} min"


class StuckValue(models.Model):
    """Open deals flagged stuck at one weekly landmark, by team and stage (recomputed)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    week = models.DateField(help_text="The Monday 00:00 UTC the deals were scored at.")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    deals = models.PositiveIntegerField(default=0)
    amount = models.FloatField(default=0)

    class Meta:
        indexes = [models.Index(fields=["workspace", "week"], name="stuckvalue_ws_week")]

    def __str__(self) -> str:
        return f"{self.week} stage {self.stage_id}: {self.amount:.0f}"


class OpenTotal(models.Model):
    """Open deals by team and stage at the last recomputation, for the funnel: grouping a
    large pipeline's deals by stage is a full scan, too slow for every page view."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, null=True, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    deals = models.PositiveIntegerField(default=0)
    amount = models.FloatField(default=0)

    class Meta:
        indexes = [models.Index(fields=["workspace", "team"], name="opentotal_ws_team")]

    def __str__(self) -> str:
        return f"team {self.team_id} stage {self.stage_id}: {self.deals}"


def replace_stored(
    model: type[TimeSpent] | type[StuckValue] | type[OpenTotal],
    workspace: Workspace,
    rows: list[Any],
) -> int:
    """Swap a workspace's recomputed rows in one transaction: readers see old or new."""
    with transaction.atomic():
        model.objects.filter(workspace=workspace).delete()
        model.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class InsightsRun(models.Model):
    """One recomputation of a workspace's insights: its state (so a failure shows where the
    person who started it looks, with the reason and a retry) and the comparison it found."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    effectiveness = models.JSONField(
        default=dict, blank=True, help_text="Innovated versus comparable, per manager and all."
    )

    class Meta:
        ordering = ("-created_at", "-pk")
        indexes = [models.Index(fields=["workspace", "-created_at"], name="insightsrun_ws_time")]

    def __str__(self) -> str:
        return f"Insights run {self.pk} ({self.status})"
