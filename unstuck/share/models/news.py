"""News filtered downward: a post by a leader or partner, each manager's decision for each of
their teams (pass on with a line, or hold back), and who has read what."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from unstuck.core.models import Team, Workspace


class Audience(models.TextChoices):
    WORKSPACE = "workspace", "The whole workspace"
    TEAMS = "teams", "Chosen teams"


class NewsPost(models.Model):
    """Something a leader or partner wants the sales teams to know."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="news_posts")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="news_posts"
    )
    title = models.CharField(max_length=200)
    body = models.TextField(max_length=10_000, help_text="Plain text; links are made clickable.")
    audience = models.CharField(max_length=10, choices=Audience.choices, default=Audience.WORKSPACE)
    teams = models.ManyToManyField(Team, blank=True, related_name="news_posts")
    must_read = models.BooleanField(
        default=False, help_text="Reaches every rep of the audience without waiting for managers."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-created_at", "-pk")
        indexes = [models.Index(fields=["workspace", "created_at"], name="news_ws_time")]

    def __str__(self) -> str:
        return self.title


class RelayDecision(models.TextChoices):
    PASSED = "passed", "Passed on"
    HELD = "held", "Held back"


class NewsRelay(models.Model):
    """A manager's decision on one post for one of their teams: pass it on with a line on what
    it means for this team, or hold it back."""

    post = models.ForeignKey(NewsPost, on_delete=models.CASCADE, related_name="relays")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="news_relays")
    decision = models.CharField(max_length=6, choices=RelayDecision.choices)
    line = models.TextField(max_length=2_000, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("-decided_at", "-pk")
        constraints = [
            models.UniqueConstraint(fields=["post", "team"], name="one_relay_per_post_team")
        ]
        indexes = [models.Index(fields=["team", "decision", "decided_at"], name="relay_team")]

    def __str__(self) -> str:
        return f"{self.get_decision_display()}: post {self.post_id} to team {self.team_id}"


class NewsRead(models.Model):
    """A person opened a post (the first time is kept)."""

    post = models.ForeignKey(NewsPost, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="news_reads"
    )
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("read_at", "pk")
        constraints = [
            models.UniqueConstraint(fields=["post", "user"], name="one_read_per_post_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.post_id}"
