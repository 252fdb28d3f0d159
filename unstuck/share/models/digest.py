"""The weekly digest: when a workspace sends it, each person's time zone and unsubscribe,
and one delivery record per person and week so that nothing goes twice."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone

from unstuck.core.models import Workspace


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class DigestSchedule(models.Model):
    """When the workspace's digest goes out: a weekday and an hour in each person's time
    zone. A workspace without one sends on Monday at 8."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="digest_schedule"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, default=Weekday.MONDAY)
    hour = models.PositiveSmallIntegerField(default=8, validators=[MaxValueValidator(23)])
    enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.hour:02d}:00"


class PersonPreference(models.Model):
    """A person's own settings in a workspace: their time zone (empty: the server's) and
    whether they receive the digest by email."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="share_preferences"
    )
    time_zone = models.CharField(max_length=64, blank=True, help_text="e.g. Europe/Berlin.")
    digest_unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_preference_per_person")
        ]

    def __str__(self) -> str:
        return f"Preferences of {self.user_id} in {self.workspace_id}"


class DeliveryStatus(models.TextChoices):
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Nothing to say"
    FAILED = "failed", "Failed"


class DigestDelivery(models.Model):
    """This person's digest for this week: claimed by inserting this row (the unique
    constraint lets one worker win), then marked sent, skipped (empty) or failed (retried)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_deliveries"
    )
    week = models.DateField(help_text="The Monday of the week, in the person's time zone.")
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices)
    claimed_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    items = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("-week", "pk")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "user", "week"], name="one_digest_per_person_week"
            )
        ]

    def __str__(self) -> str:
        return f"Digest of {self.user_id} for {self.week}: {self.status}"
