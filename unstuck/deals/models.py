"""The pipeline as the CRM knows it: accounts, pipelines, stages, deals and their history."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from unstuck.core.models import Workspace


class Account(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="accounts")
    name = models.CharField(max_length=255)
    industry = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    country = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=30, default="manual")
    external_id = models.CharField(max_length=100, blank=True)
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("name",)
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "source", "external_id"],
                condition=~Q(external_id=""),
                name="account_external_id_unique",
            )
        ]
        indexes = [models.Index(fields=["workspace", "name"])]

    def __str__(self) -> str:
        return self.name


class Pipeline(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="pipelines")
    name = models.CharField(max_length=100)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ("-is_default", "name")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"], name="pipeline_name_unique_per_ws"
            )
        ]

    def __str__(self) -> str:
        return self.name


class StageKind(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    order = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=4, choices=StageKind.choices, default=StageKind.OPEN)
    probability = models.PositiveSmallIntegerField(
        default=0, help_text="Default win probability in percent."
    )

    class Meta:
        ordering = ("pipeline", "order")
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_name_unique"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="stage_probability_pct"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.kind != StageKind.OPEN


class DealQuerySet(models.QuerySet["Deal"]):
    def open(self) -> DealQuerySet:
        return self.filter(status=StageKind.OPEN)

    def with_related(self) -> DealQuerySet:
        return self.select_related("account", "owner", "team", "stage", "pipeline")


class Deal(models.Model):
    # Foreign keys the composite indexes below already lead with, or that only a rare delete of
    # a user, team, pipeline or stage looks up, carry no index of their own: every index costs
    # each import and stage move a write (see docs/imports.md, "Large imports").
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="deals", db_index=False
    )
    name = models.CharField(max_length=255)
    account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="deals"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_deals",
        db_index=False,
    )
    team = models.ForeignKey(
        "core.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deals",
        db_index=False,
    )
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.PROTECT, related_name="deals", db_index=False
    )
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals", db_index=False)
    status = models.CharField(
        max_length=4,
        choices=StageKind.choices,
        default=StageKind.OPEN,
        help_text="Follows the stage's kind; stored so lists can filter and index on it.",
    )
    amount = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    close_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, help_text="When the CRM created it.")
    closed_at = models.DateTimeField(null=True, blank=True)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    next_step = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=30, default="manual")
    external_id = models.CharField(max_length=100)
    custom = models.JSONField(default=dict, blank=True, help_text="CRM custom attributes.")
    updated_at = models.DateTimeField(auto_now=True)
    # Written by imports that read the files by COPY (imports/fingerprint.py): the CRM row and
    # history it was last imported from, and its imported fields as then written. When both
    # still match, a re-import leaves the deal alone without staging its rows.
    import_hash = models.BigIntegerField(null=True, blank=True, editable=False)
    import_state = models.BigIntegerField(null=True, blank=True, editable=False)

    objects = DealQuerySet.as_manager()

    class Meta:
        ordering = ("-amount", "-pk")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "source", "external_id"], name="deal_external_id_unique"
            )
        ]
        # Each pipeline sort has an index that returns its first page without sorting the
        # workspace; the trailing id makes ties stable and keeps it an index-only order.
        indexes = [
            # Also the pipeline's totals (count, amount and weighted amount per currency) for
            # a status, read from the index alone: currency and stage ride along at the end.
            models.Index(
                fields=["workspace", "status", "amount", "id", "currency", "stage"],
                name="deal_ws_status_amount_totals",
            ),
            models.Index(fields=["workspace", "amount", "id"], name="deal_ws_amount"),
            models.Index(
                fields=["workspace", "status", "close_date", "id"], name="deal_ws_status_close"
            ),
            models.Index(
                fields=["workspace", "status", "stage_entered_at", "id"],
                name="deal_ws_status_entered",
            ),
            models.Index(fields=["workspace", "team", "status"], name="deal_ws_team_status"),
            models.Index(fields=["workspace", "owner", "status"], name="deal_ws_owner_status"),
            models.Index(fields=["workspace", "stage"], name="deal_ws_stage"),
            # Who may see which open deals, read from the index alone, in id order: the
            # queue joins it to the assessments (whose key is the deal) without a hash.
            models.Index(
                fields=["workspace", "status", "id", "team", "owner"], name="deal_ws_status_id"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status == StageKind.OPEN


class StageChange(models.Model):
    """One step of a deal's history: the stage it moved to, and its amount and close date then."""

    # History is the largest table and is written in bulk by imports: one index serves every
    # read; the stage and author keys are only looked up by rare deletes. It is (deal, time)
    # with the id, the stage, the amount and the close date after them, so that a whole
    # workspace's history can be read in the order the signal statement's window wants
    # from the index alone (PostgreSQL's index-only scan: no heap visit, no sort; issue 16).
    deal = models.ForeignKey(
        Deal, on_delete=models.CASCADE, related_name="stage_changes", db_index=False
    )
    from_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+", db_index=False)
    changed_at = models.DateTimeField()
    amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    close_date = models.DateField(null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    source = models.CharField(max_length=30, default="manual")

    class Meta:
        ordering = ("deal", "changed_at", "pk")
        indexes = [
            # Key columns, not INCLUDE: SQLite has no INCLUDE (Django warns, W040).
            models.Index(
                fields=["deal", "changed_at", "id", "to_stage", "amount", "close_date"],
                name="stagechange_deal_time_cover",
            )
        ]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage_id} → {self.to_stage_id} at {self.changed_at}"


class ActivityKind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    TASK = "task", "Task"
    NOTE = "note", "Note"


class Direction(models.TextChoices):
    INBOUND = "inbound", "From the customer"
    OUTBOUND = "outbound", "To the customer"
    INTERNAL = "internal", "Internal"


class Activity(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=10, choices=ActivityKind.choices)
    occurred_at = models.DateTimeField()
    direction = models.CharField(
        max_length=10, choices=Direction.choices, default=Direction.OUTBOUND
    )
    summary = models.TextField(blank=True)
    contact = models.ForeignKey(
        "deals.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="activities"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=30, default="manual")
    external_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ("-occurred_at", "-pk")
        verbose_name_plural = "activities"
        indexes = [
            # With the direction and the contact after (deal, time), the signal statement
            # reads a workspace's activities from the index alone, in deal order (issue 16).
            models.Index(
                fields=["deal", "occurred_at", "direction", "contact"],
                name="activity_deal_time_cover",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.occurred_at:%Y-%m-%d}"


class Contact(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="contacts")
    account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="contacts"
    )
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    source = models.CharField(max_length=30, default="manual")
    external_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ("name",)
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "source", "external_id"],
                condition=~Q(external_id=""),
                name="contact_external_id_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.title}" if self.title else self.name


class BuyingRole(models.TextChoices):
    ECONOMIC_BUYER = "economic_buyer", "Economic buyer"
    DECISION_MAKER = "decision_maker", "Decision maker"
    CHAMPION = "champion", "Champion"
    INFLUENCER = "influencer", "Influencer"
    TECHNICAL_EVALUATOR = "technical_evaluator", "Technical evaluator"
    USER = "user", "User"
    PROCUREMENT = "procurement", "Procurement"
    LEGAL = "legal", "Legal"
    BLOCKER = "blocker", "Blocker"


class Influence(models.IntegerChoices):
    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"


class Stance(models.TextChoices):
    SUPPORTER = "supporter", "Supporter"
    NEUTRAL = "neutral", "Neutral"
    SKEPTIC = "skeptic", "Skeptic"
    OPPONENT = "opponent", "Opponent"
    UNKNOWN = "unknown", "Unknown"


class Stakeholder(models.Model):
    """A contact's part in one deal's buying committee."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stakeholders")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="stakeholder_roles")
    buying_role = models.CharField(max_length=20, choices=BuyingRole.choices)
    influence = models.PositiveSmallIntegerField(
        choices=Influence.choices, default=Influence.MEDIUM
    )
    stance = models.CharField(max_length=10, choices=Stance.choices, default=Stance.UNKNOWN)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-influence", "contact__name")
        constraints = [
            models.UniqueConstraint(fields=["deal", "contact"], name="one_stakeholder_per_contact")
        ]

    def __str__(self) -> str:
        return f"{self.contact} — {self.get_buying_role_display()}"


class DealPartner(models.Model):
    """A partner (finance, legal, deal desk…) invited into one deal; partners see nothing else."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="partner_invites")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deal_invites"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    invited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["deal", "user"], name="one_invite_per_partner_deal")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} invited to deal {self.deal_id}"
