"""What co-creation stores: a workspace's levers and guardrails, sessions on deals with their
options, comments, scores, decision and action items, leader approvals, and what people did
with the generator's suggestions (so it learns what the team finds useful)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from unstuck.core.models import Workspace
from unstuck.deals.models import Deal


class PaymentTerms(models.TextChoices):
    NET_30 = "net_30", "Net 30"
    NET_60 = "net_60", "Net 60"
    NET_90 = "net_90", "Net 90"
    QUARTERLY = "quarterly", "Quarterly in advance"
    MILESTONES = "milestones", "On milestones"
    DEFERRED = "deferred", "Deferred start of payment"
    ON_OUTCOME = "on_outcome", "On measured outcome"


class Clause(models.TextChoices):
    PERFORMANCE_GUARANTEE = "performance_guarantee", "Performance guarantee"
    EXIT_RIGHT = "exit_right", "Exit right"
    SERVICE_CREDITS = "service_credits", "Service credits"
    PRICE_LOCK = "price_lock", "Multi-year price lock"
    OUTCOME_FEE = "outcome_fee", "Fee at risk on outcomes"
    PILOT_CONVERSION = "pilot_conversion", "Pilot credited on conversion"


class CocreateSettings(models.Model):
    """A workspace's rules for sessions: how many options before converging, and the
    guardrails a manager may offer within alone (beyond them, a leader approves)."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="cocreate_settings"
    )
    min_options = models.PositiveSmallIntegerField(
        default=8,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="Options a session needs before the manager can move on to converge.",
    )
    max_discount_pct = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("15"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="The largest discount a manager may offer alone, in percent.",
    )
    max_term_months = models.PositiveSmallIntegerField(
        default=36, help_text="The longest contract term a manager may offer alone."
    )
    payment_terms = models.JSONField(
        default=list,
        blank=True,
        help_text="Payment terms a manager may offer alone.",
    )
    clauses = models.JSONField(
        default=list,
        blank=True,
        help_text="Risk-sharing clauses a manager may offer alone.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Co-creation settings of {self.workspace}"


class LeverFamily(models.TextChoices):
    COMMERCIAL = "commercial", "Commercial terms"
    RISK = "risk", "Risk sharing"
    SCOPE = "scope", "Scope and phasing"
    STAKEHOLDERS = "stakeholders", "Stakeholders and process"
    VALUE = "value", "Value and positioning"
    PARTNERS = "partners", "Partners and financing"


class Lever(models.Model):
    """One way to move a deal, with when it fits and a template filled with the deal's facts."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="levers")
    key = models.SlugField(max_length=60)
    family = models.CharField(max_length=15, choices=LeverFamily.choices)
    name = models.CharField(max_length=120)
    template = models.TextField(
        help_text="The proposal, with {account}, {amount}, {stage}, {obstacle}, {concern}, "
        "{pain}, {term_months} and {economic_buyer} filled from the deal."
    )
    obstacle_kinds = models.JSONField(default=list, blank=True, help_text="Obstacle kinds.")
    phases = models.JSONField(
        default=list, blank=True, help_text="early, mid, late; empty means any stage."
    )
    factors = models.JSONField(default=list, blank=True, help_text="Factors the committee weighs.")
    min_amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    max_amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    # The structured terms an option built from this lever starts with (guardrails read them).
    discount_pct = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    term_months = models.PositiveSmallIntegerField(null=True, blank=True)
    payment_terms = models.CharField(max_length=12, choices=PaymentTerms.choices, blank=True)
    clauses = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("family", "name")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="lever_key_unique_per_ws")
        ]

    def __str__(self) -> str:
        return self.name


class Phase(models.TextChoices):
    DIVERGE = "diverge", "Diverge"
    CONVERGE = "converge", "Converge"
    DECIDED = "decided", "Decided"
    CLOSED = "closed", "Outcome recorded"


class Outcome(models.TextChoices):
    WON = "won", "Won"
    MOVED = "moved", "Moved forward"
    NO_CHANGE = "no_change", "Still stuck"
    LOST = "lost", "Lost"


class Session(models.Model):
    """A co-creation session on one deal: many options first, then scoring and a decision."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="cocreate_sessions")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    ideal_outcome = models.TextField(help_text="The customer's ideal business outcome.")
    obstacles = models.ManyToManyField(
        "investigate.Obstacle", blank=True, related_name="cocreate_sessions"
    )
    phase = models.CharField(max_length=10, choices=Phase.choices, default=Phase.DIVERGE)
    # The pre-decision checklist, answered in the record.
    alternatives_considered = models.TextField(blank=True)
    dissent_explored = models.TextField(blank=True)
    premortem = models.TextField(blank=True)
    rationale = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    converge_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-pk")
        indexes = [models.Index(fields=["deal", "created_at"], name="session_deal_time")]

    def __str__(self) -> str:
        return f"Session on {self.deal}"


class Participant(models.Model):
    """Someone invited into a session beyond the deal's own people (partners, other reps)."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cocreate_invites"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    invited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="one_participant_per_session")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in session {self.session_id}"


class OptionSource(models.TextChoices):
    PERSON = "person", "Written in the session"
    LEVER = "lever", "From a lever"
    PERSPECTIVE = "perspective", "From a perspective question"
    PLAYBOOK = "playbook", "From a tactic that worked"


class Option(models.Model):
    """One way forward proposed in a session, with the structured terms guardrails check."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="options")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    source = models.CharField(
        max_length=12, choices=OptionSource.choices, default=OptionSource.PERSON
    )
    suggestion_key = models.CharField(max_length=80, blank=True)
    lever = models.ForeignKey(
        Lever, on_delete=models.SET_NULL, null=True, blank=True, related_name="options"
    )
    edited = models.BooleanField(default=False, help_text="A suggestion changed before adding.")
    discount_pct = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    term_months = models.PositiveSmallIntegerField(null=True, blank=True)
    payment_terms = models.CharField(max_length=12, choices=PaymentTerms.choices, blank=True)
    clauses = models.JSONField(default=list, blank=True)
    is_chosen = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("created_at", "pk")

    def __str__(self) -> str:
        return self.title

    @property
    def has_terms(self) -> bool:
        return bool(
            self.discount_pct is not None or self.term_months or self.payment_terms or self.clauses
        )


class Comment(models.Model):
    """Discussion in a session. In diverge, a comment that judges an option is held back and
    shown to everyone only when the session converges."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="comments")
    option = models.ForeignKey(
        Option, on_delete=models.CASCADE, null=True, blank=True, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    text = models.TextField()
    held = models.BooleanField(default=False, help_text="Judges an option; held until converge.")
    held_reason = models.CharField(max_length=200, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("created_at", "pk")

    def __str__(self) -> str:
        return self.text[:60]


SCORE_RANGE = [MinValueValidator(1), MaxValueValidator(5)]


class Score(models.Model):
    """One participant's view of one option, 1 (poor) to 5 (strong); risk 5 means least risk."""

    option = models.ForeignKey(Option, on_delete=models.CASCADE, related_name="scores")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    value = models.PositiveSmallIntegerField(validators=SCORE_RANGE, help_text="To the customer.")
    risk = models.PositiveSmallIntegerField(
        validators=SCORE_RANGE, help_text="Risk to us: 5 is safest."
    )
    feasibility = models.PositiveSmallIntegerField(validators=SCORE_RANGE)
    payoff = models.PositiveSmallIntegerField(validators=SCORE_RANGE)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["option", "user"], name="one_score_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.option_id}"

    @property
    def total(self) -> int:
        return self.value + self.risk + self.feasibility + self.payoff


class ActionItem(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="action_items")
    text = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    due_date = models.DateField()
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("due_date", "pk")

    def __str__(self) -> str:
        return self.text


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a leader"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class ApprovalRequest(models.Model):
    """A manager asks a leader to allow an option beyond the guardrails. Every request and its
    answer stays: the rows are the audit trail."""

    option = models.ForeignKey(Option, on_delete=models.CASCADE, related_name="approvals")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    breaches = models.JSONField(default=list, help_text="What goes beyond the guardrails.")
    terms = models.JSONField(default=dict, help_text="The option's terms when asked.")
    note = models.TextField(blank=True)
    status = models.CharField(
        max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-pk")
        indexes = [models.Index(fields=["workspace", "status"], name="approval_ws_status")]

    def __str__(self) -> str:
        return f"Approval of option {self.option_id}: {self.status}"


class SuggestionAction(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    EDITED = "edited", "Accepted with edits"
    IGNORED = "ignored", "Ignored"
    CHOSEN = "chosen", "Chosen in the decision"


class SuggestionFeedback(models.Model):
    """What someone did with one generated suggestion; the generator's usefulness prior."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    key = models.CharField(max_length=80, help_text="lever:<key> or perspective:<key>.")
    action = models.CharField(max_length=10, choices=SuggestionAction.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "key"], name="suggestion_ws_key")]

    def __str__(self) -> str:
        return f"{self.key}: {self.action}"
