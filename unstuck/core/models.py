"""Workspaces, the people in them, their teams and roles, and their personal API tokens."""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with their email address."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects = UserManager()

    class Meta:
        ordering = ("name", "email")

    def __str__(self) -> str:
        return self.name or self.email

    @property
    def display_name(self) -> str:
        return self.name_shown(self.name, self.email)

    @staticmethod
    def name_shown(name: str, email: str) -> str:
        """The display name from the two columns (for rows read as values, not users)."""
        return name or email.split("@")[0]


slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    "Use lowercase letters, digits and hyphens (not at either end), at most 50 characters.",
)


def new_scoring_version() -> int:
    """A scoring version no earlier state of any workspace had (62 random bits; why random,
    not a counter: investigate.scoring_cache)."""
    return secrets.randbits(62)


class Workspace(models.Model):
    """One company's Unstuck: nothing in one workspace is visible from another."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator])
    reps_see_team_deals = models.BooleanField(
        default=True,
        help_text="Reps may read (not edit) the deals of their teammates.",
    )
    default_currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(default=timezone.now)
    # Changed with the stall thresholds, benchmarks and score model, so each process may keep
    # them between requests (investigate.scoring_cache).
    scoring_version = models.BigIntegerField(default=new_scoring_version, editable=False)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    REP = "rep", "Rep"
    MANAGER = "manager", "Manager"
    LEADER = "leader", "Leader"
    PARTNER = "partner", "Partner"


class Team(models.Model):
    """A manager and the reps who report to them."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=100)
    manager = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="managed_teams"
    )

    class Meta:
        ordering = ("name",)
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="team_name_unique_per_ws")
        ]

    def __str__(self) -> str:
        return self.name


class ActiveMembershipManager(models.Manager["Membership"]):
    """Memberships that give access: a deactivated person's is kept (their deals keep their
    name) but answers nowhere, since every access check and member list reads this manager."""

    def get_queryset(self) -> models.QuerySet[Membership]:
        return super().get_queryset().filter(deactivated_at__isnull=True)


class Membership(models.Model):
    """A person's place in a workspace: their role and, for reps, their team."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices)
    team = models.ForeignKey(
        Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="members"
    )
    title = models.CharField(max_length=100, blank=True, help_text="e.g. Deal desk, Legal.")
    created_at = models.DateTimeField(default=timezone.now)
    deactivated_at = models.DateTimeField(
        null=True, blank=True, help_text="Access gone; their deals stay theirs."
    )

    objects = ActiveMembershipManager()
    # Every membership, deactivated ones too: the people page and re-inviting someone.
    everyone = models.Manager()  # noqa: DJ012 (ruff takes a second manager for a field)

    class Meta:
        base_manager_name = "everyone"
        ordering = ("workspace", "role", "user__name")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_ws")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.workspace.slug})"

    @property
    def is_leader(self) -> bool:
        return self.role == Role.LEADER

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def is_rep(self) -> bool:
        return self.role == Role.REP

    @property
    def is_partner(self) -> bool:
        return self.role == Role.PARTNER


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the secret is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="First characters, to tell tokens apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Claim(models.Model):
    """A named claim held until a time, shared by every process through the database: the
    recompute throttle, for one (see core.claims)."""

    key = models.CharField(max_length=200, unique=True)
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.key} until {self.until:%Y-%m-%d %H:%M:%S}"


class TaskStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class TaskRun(models.Model):
    """One run of a background task for a workspace (scoring, insights): whether it failed and
    why, so no failure is silent, and what to enqueue again to retry it (core.background)."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, null=True, blank=True, related_name="task_runs"
    )
    kind = models.CharField(
        max_length=30,
        help_text="What it does, e.g. scoring: a later success of the same kind settles a failure.",
    )
    label = models.CharField(max_length=200)
    task_path = models.CharField(max_length=200)
    args = models.JSONField(default=dict, blank=True, help_text="{args: [...], kwargs: {...}}")
    status = models.CharField(max_length=8, choices=TaskStatus.choices, default=TaskStatus.RUNNING)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    retried_at = models.DateTimeField(null=True, blank=True)
    retried_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ("-started_at", "-pk")
        indexes = [models.Index(fields=["workspace", "-started_at"], name="taskrun_ws_time")]

    def __str__(self) -> str:
        return f"{self.label} ({self.status})"

    @property
    def failed(self) -> bool:
        return self.status == TaskStatus.FAILED
