"""The cross-functional bench: people outside sales who help win deals, what each helps
with, and the asks for help on one deal (which invite the person to that deal only)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from unstuck.core.models import Workspace


class Function(models.TextChoices):
    PRODUCT = "product", "Product"
    LEGAL = "legal", "Legal"
    FINANCE = "finance", "Finance & pricing"
    DEAL_DESK = "deal_desk", "Deal desk"
    MARKETING = "marketing", "Marketing"
    CUSTOMER_SUCCESS = "cs", "Customer success"
    SOLUTIONS = "solutions", "Solutions engineering"


class BenchPerson(models.Model):
    """Someone on the bench: a partner of the workspace, their function and what they help
    with."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="bench")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bench_entries"
    )
    function = models.CharField(max_length=12, choices=Function.choices)
    helps_with = models.TextField(max_length=2_000)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("function", "user__name")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_bench_entry_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_function_display()})"


class AskStatus(models.TextChoices):
    OPEN = "open", "Open"
    ANSWERED = "answered", "Answered"
    WITHDRAWN = "withdrawn", "Withdrawn"


class BenchAsk(models.Model):
    """A request for help on one deal: what is needed and by when. Asking invites the
    person to that deal (deals.DealPartner); the stage it was in is kept for "who helped on
    deals like this"."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="bench_asks")
    deal = models.ForeignKey("deals.Deal", on_delete=models.CASCADE, related_name="bench_asks")
    person = models.ForeignKey(BenchPerson, on_delete=models.CASCADE, related_name="asks")
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    stage = models.ForeignKey(
        "deals.Stage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    what = models.TextField(max_length=2_000)
    due_date = models.DateField()
    status = models.CharField(max_length=10, choices=AskStatus.choices, default=AskStatus.OPEN)
    answer = models.TextField(max_length=5_000, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    helpful = models.BooleanField(null=True, blank=True)
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-pk")
        indexes = [
            models.Index(fields=["workspace", "status", "due_date"], name="ask_ws_status"),
            models.Index(fields=["person", "status"], name="ask_person_status"),
        ]

    def __str__(self) -> str:
        return self.what[:60]

    @property
    def is_open(self) -> bool:
        return self.status == AskStatus.OPEN
