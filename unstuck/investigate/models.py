"""What Investigate stores: stage benchmarks, stall thresholds, each open deal's assessment,
the win model, and the investigation a manager runs with the rep on a deal."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from unstuck.core.models import Workspace
from unstuck.deals.models import Deal, Stage, Stakeholder


class StallSettings(models.Model):
    """A workspace's thresholds for the stall signals; blank means 'from the benchmarks'."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="stall_settings"
    )
    no_activity_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Days without activity before a deal counts as silent (blank: from cadence).",
    )
    slip_count = models.PositiveSmallIntegerField(
        default=2, help_text="Close-date push-outs that make a deal 'slipping'."
    )
    single_threaded_max = models.PositiveSmallIntegerField(
        default=1, help_text="A committee this small or smaller is single-threaded."
    )
    champion_quiet_days = models.PositiveSmallIntegerField(
        default=21, help_text="Days without contact with the champion before they count as quiet."
    )
    economic_buyer_from_stage = models.PositiveSmallIntegerField(
        default=1, help_text="Stage order from which an economic buyer should be named."
    )
    shrinkage_strength = models.PositiveSmallIntegerField(
        default=20,
        help_text="Pseudo-deals of workspace-wide evidence added to each stage's benchmark.",
    )

    def __str__(self) -> str:
        return f"Stall settings of {self.workspace}"


class StageBenchmark(models.Model):
    """What won deals needed in one stage (stage NULL: the workspace-wide row)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="benchmarks")
    stage = models.ForeignKey(
        Stage, on_delete=models.CASCADE, null=True, blank=True, related_name="benchmarks"
    )
    won_deals = models.PositiveIntegerField(default=0, help_text="Won deals seen in this stage.")
    p50_days = models.FloatField(null=True)
    p75_days = models.FloatField(null=True)
    p90_days = models.FloatField(null=True)
    raw_p75_days = models.FloatField(null=True, help_text="Before shrinkage.")
    raw_p90_days = models.FloatField(null=True, help_text="Before shrinkage.")
    entered = models.PositiveIntegerField(default=0, help_text="Closed deals that entered it.")
    conversion = models.FloatField(null=True, help_text="Share that went on to a later stage.")
    activity_gap_p50_days = models.FloatField(null=True)
    activity_gap_p90_days = models.FloatField(null=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("workspace", "stage__order")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "stage"], name="one_benchmark_per_stage"),
            models.UniqueConstraint(
                fields=["workspace"],
                condition=models.Q(stage__isnull=True),
                name="one_workspace_benchmark",
            ),
        ]

    def __str__(self) -> str:
        return f"Benchmark {self.workspace_id}/{self.stage_id or 'all'}"


class DealAssessment(models.Model):
    """The latest stall score, win probability and payoff of one open deal (for the queue)."""

    deal = models.OneToOneField(
        Deal, on_delete=models.CASCADE, primary_key=True, related_name="assessment"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    stall_score = models.PositiveSmallIntegerField(default=0)
    signals = models.JSONField(default=list, blank=True)
    win_probability = models.FloatField(default=0)
    comparable_probability = models.FloatField(
        default=0, help_text="Win probability of comparable deals that did not stall."
    )
    payoff = models.FloatField(
        default=0, help_text="Value at stake times the odds a better approach adds."
    )
    factors = models.JSONField(default=list, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)
    inputs = models.CharField(
        max_length=32,
        blank=True,
        help_text="Digest of what the score was computed from (the deal, its history, "
        "activities and committee), so an incremental recompute skips unchanged deals.",
    )

    class Meta:
        # The queue's pages walk these in its order (payoff, score, deal) and stop after a
        # page; its summary reads the covering one alone. 40 is STALL_WARNING (stall_signals.py):
        # the stuck ones, the queue's default view.
        indexes = [
            models.Index(
                fields=["workspace", "-payoff", "-stall_score", "deal"], name="assessment_ws_rank"
            ),
            models.Index(
                fields=["workspace", "-payoff", "-stall_score", "deal"],
                condition=models.Q(stall_score__gte=40),
                name="assessment_ws_stuck_rank",
            ),
            models.Index(
                fields=["workspace", "deal", "stall_score", "payoff", "computed_at"],
                name="assessment_ws_summary",
            ),
        ]

    def __str__(self) -> str:
        return f"Assessment of deal {self.deal_id}"


class QueueTally(models.Model):
    """The queue's summary kept as counts per owner and team of the assessed open deals, so a
    page sums a few rows instead of counting every deal the member may see (issue 16). The
    recompute and the import write them whole; a stage move recounts its deal's group
    (investigate.tally). owner_id and team_id are the deals' own values, kept as data: the
    access rule's condition on deals (core.access.DealScope.q) applies to these rows as is."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    owner_id = models.BigIntegerField(null=True, blank=True)
    team_id = models.BigIntegerField(null=True, blank=True)
    open_deals = models.PositiveIntegerField(default=0)
    stuck = models.PositiveIntegerField(default=0)
    payoff = models.FloatField(default=0, help_text="Payoff of the stuck ones.")
    computed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Queue tally of owner {self.owner_id}, team {self.team_id}"


class WinModel(models.Model):
    """A workspace's trained win-probability model; the estimator itself is a joblib file."""

    class Kind(models.TextChoices):
        BOOSTING = "boosting", "Gradient boosting, calibrated"
        STAGE_RATES = "stage_rates", "Stage win rates"

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="win_model")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    path = models.CharField(max_length=500, blank=True)
    closed_deals = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    stage_rates = models.JSONField(default=dict, blank=True)
    trained_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Win model of {self.workspace} ({self.kind})"


class StallScoreModel(models.Model):
    """How a workspace's stall score is computed (stall_score.py): the learnt model, or the
    baseline used instead and why, with the back-test that decided it."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="stall_score_model"
    )
    method = models.CharField(max_length=20)
    params = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True, help_text="Why the learnt model is not used, if not.")
    trained_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Stall score of {self.workspace} ({self.method})"


# --- the investigation ------------------------------------------------------------------


class Factor(models.TextChoices):
    PRICE = "price", "Price"
    ROI = "roi", "ROI"
    RISK = "risk", "Risk"
    TIME_TO_VALUE = "time_to_value", "Time to value"
    INTEGRATION = "integration", "Integration"
    COMPLIANCE = "compliance", "Compliance"
    VENDOR_VIABILITY = "vendor_viability", "Vendor viability"
    SUPPORT = "support", "Support"
    USABILITY = "usability", "Usability"


class StakeholderView(models.Model):
    """What one stakeholder worries about financially and which factors they weigh."""

    stakeholder = models.OneToOneField(
        Stakeholder, on_delete=models.CASCADE, primary_key=True, related_name="view"
    )
    financial_concerns = models.TextField(blank=True)
    factors = models.JSONField(default=list, blank=True, help_text="Factor codes they weigh.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"View of stakeholder {self.stakeholder_id}"

    def factor_labels(self) -> list[str]:
        labels = dict(Factor.choices)
        return [labels.get(f, f) for f in self.factors]


class StepStatus(models.TextChoices):
    TODO = "todo", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    STUCK = "stuck", "Bogged down"
    DONE = "done", "Done"


class DecisionStep(models.Model):
    """One step of the customer's decision process, in order."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="decision_steps")
    order = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    owner = models.CharField(max_length=200, blank=True, help_text="Who runs it at the customer.")
    status = models.CharField(max_length=12, choices=StepStatus.choices, default=StepStatus.TODO)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ("deal", "order", "pk")

    def __str__(self) -> str:
        return self.name


class ObstacleKind(models.TextChoices):
    BUDGET = "budget", "Budget"
    PRIORITY = "priority", "Priority"
    COMPETITOR = "competitor", "Competitor"
    LEGAL = "legal", "Legal / procurement"
    TECHNICAL = "technical", "Technical"
    POLITICS = "politics", "Internal politics"
    TIMING = "timing", "Timing"
    OTHER = "other", "Other"


class ObstacleStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"


class Obstacle(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="obstacles")
    kind = models.CharField(max_length=12, choices=ObstacleKind.choices)
    description = models.TextField()
    evidence = models.TextField(blank=True, help_text="What the customer said or did.")
    stakeholder = models.ForeignKey(
        Stakeholder, on_delete=models.SET_NULL, null=True, blank=True, related_name="obstacles"
    )
    status = models.CharField(
        max_length=10, choices=ObstacleStatus.choices, default=ObstacleStatus.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("status", "-created_at")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.description[:40]}"


class CustomerPain(models.Model):
    """The customer's pain on this deal and how we could resolve it."""

    deal = models.OneToOneField(Deal, on_delete=models.CASCADE, related_name="pain")
    pain = models.TextField(blank=True)
    resolution = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Pain of deal {self.deal_id}"


class FeedbackKind(models.TextChoices):
    WORKING = "working", "What's working"
    NOT_WORKING = "not_working", "What isn't"


class FeedbackEntry(models.Model):
    """One line of the deal's feedback log (later read by the bias detector)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="feedback")
    kind = models.CharField(max_length=12, choices=FeedbackKind.choices)
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-pk")
        verbose_name_plural = "feedback entries"

    def __str__(self) -> str:
        return f"{self.kind}: {self.text[:40]}"


class InvestigationRequest(models.Model):
    """A manager asks the deal's rep to find something out by a date."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="investigation_requests")
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="investigation_requests",
    )
    question = models.TextField()
    due_date = models.DateField()
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("answered_at", "due_date", "pk")
        indexes = [models.Index(fields=["deal", "answered_at"], name="request_deal_open")]

    def __str__(self) -> str:
        return self.question[:60]

    @property
    def is_open(self) -> bool:
        return self.answered_at is None

    @property
    def is_overdue(self) -> bool:
        return self.answered_at is None and self.due_date < timezone.localdate()
