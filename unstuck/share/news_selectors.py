"""Reads of news: what each person may see (reps only what their manager passed on, and
must-reads), a manager's inbox, and who has read a post."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from unstuck.core.access import managed_team_ids
from unstuck.core.models import Membership, Role, Team, User
from unstuck.share.models import Audience, NewsPost, NewsRead, NewsRelay, RelayDecision


def _reaches(team_ids: list[int]) -> Q:
    return Q(audience=Audience.WORKSPACE) | Q(audience=Audience.TEAMS, teams__in=team_ids)


def posts_visible_to(
    membership: Membership, *, managed: Sequence[int] | None = None
) -> QuerySet[NewsPost]:
    """Leaders see every post of the workspace; managers what reached their teams; reps what
    their manager passed on and must-reads; partners their own posts. `managed`: a
    manager's teams when the caller has them already (no query)."""
    qs = NewsPost.objects.filter(workspace_id=membership.workspace_id)
    role = membership.role
    if role == Role.LEADER:
        return qs
    if role == Role.MANAGER:
        team_ids = managed_team_ids(membership) if managed is None else list(managed)
        return qs.filter(pk__in=qs.filter(_reaches(team_ids)).values("pk"))
    if role == Role.REP:
        if not membership.team_id:
            return qs.filter(must_read=True, audience=Audience.WORKSPACE)
        passed = NewsRelay.objects.filter(
            post_id=OuterRef("pk"), team_id=membership.team_id, decision=RelayDecision.PASSED
        )
        must = qs.filter(_reaches([membership.team_id]), must_read=True).values("pk")
        return qs.filter(Exists(passed) | Q(pk__in=must))
    return qs.filter(author_id=membership.user_id)


def get_post_for(membership: Membership, pk: int) -> NewsPost:
    try:
        return posts_visible_to(membership).select_related("author").get(pk=pk)
    except (NewsPost.DoesNotExist, ValueError, TypeError):
        raise Http404("No such news.") from None


def feed(
    membership: Membership,
    *,
    since: datetime | None = None,
    limit: int = 50,
    only: int | None = None,
) -> list[NewsPost]:
    """The posts a person sees, newest first, each with `line`, `passed_by` and `passed_at`
    (the manager's word for a rep's team) and `read` (whether this person opened it)."""
    relay = NewsRelay.objects.filter(
        post_id=OuterRef("pk"), team_id=membership.team_id or 0, decision=RelayDecision.PASSED
    )
    qs = posts_visible_to(membership).select_related("author")
    if membership.role == Role.REP and membership.team_id:
        qs = qs.annotate(
            line=Subquery(relay.values("line")[:1]),
            passed_at=Subquery(relay.values("decided_at")[:1]),
            passed_by_name=Subquery(relay.values("decided_by__name")[:1]),
        )
    qs = qs.annotate(
        read=Exists(NewsRead.objects.filter(post_id=OuterRef("pk"), user_id=membership.user_id))
    )
    if only is not None:
        qs = qs.filter(pk=only)
    if since is not None:
        if membership.role == Role.REP and membership.team_id:
            qs = qs.filter(Q(passed_at__gte=since) | Q(must_read=True, created_at__gte=since))
        else:
            qs = qs.filter(created_at__gte=since)
    posts: list[Any] = list(qs.order_by("-created_at", "-pk")[:limit])
    for post in posts:
        for attr in ("line", "passed_at", "passed_by_name"):
            if not hasattr(post, attr):
                setattr(post, attr, None)
    if membership.role == Role.REP:
        posts.sort(key=lambda p: p.passed_at or p.created_at, reverse=True)
    return posts


def passed_on_since(membership: Membership, since: datetime, *, limit: int = 5) -> list[Any]:
    """For a rep's digest: posts passed on to their team since then (each with `line`,
    `passed_by_name`, `passed_at`), then must-reads posted since then. Two plain queries."""
    relays = list(
        NewsRelay.objects.filter(
            team_id=membership.team_id or 0,
            decision=RelayDecision.PASSED,
            decided_at__gte=since,
            post__workspace_id=membership.workspace_id,
        )
        .select_related("post", "decided_by")
        .order_by("-decided_at", "-pk")[:limit]
    )
    posts: list[Any] = []
    for relay in relays:
        post: Any = relay.post
        post.line = relay.line
        post.passed_at = relay.decided_at
        post.passed_by_name = relay.decided_by.display_name if relay.decided_by else ""
        posts.append(post)
    to_team = NewsPost.teams.through.objects.filter(
        newspost_id=OuterRef("pk"), team_id=membership.team_id or 0
    )
    must = (
        NewsPost.objects.filter(
            workspace_id=membership.workspace_id, must_read=True, created_at__gte=since
        )
        .filter(Q(audience=Audience.WORKSPACE) | Q(Exists(to_team)))
        .exclude(pk__in=[p.pk for p in posts])
        .order_by("-created_at", "-pk")[:limit]
    )
    for post in list(must)[: limit - len(posts)]:
        post.line, post.passed_at, post.passed_by_name = None, None, ""
        posts.append(post)
    return posts


@dataclass
class InboxItem:
    post: NewsPost
    team: Team
    relay: NewsRelay | None

    @property
    def pending(self) -> bool:
        return self.relay is None

    @property
    def key(self) -> str:
        return f"{self.post.pk}-{self.team.pk}"


def manager_inbox(membership: Membership, *, limit: int = 50) -> list[InboxItem]:
    """Each post that reached one of the manager's teams, per team, with the decision taken
    (None while pending); pending ones first. Four queries whatever the number of posts."""
    if membership.role != Role.MANAGER:
        return []
    teams = list(
        Team.objects.filter(workspace_id=membership.workspace_id, manager_id=membership.user_id)
    )
    if not teams:
        return []
    team_ids = [t.pk for t in teams]
    posts = list(
        posts_visible_to(membership, managed=team_ids)
        .select_related("author")
        .prefetch_related("teams")
        .order_by("-created_at", "-pk")[:limit]
    )
    relays = {
        (r.post_id, r.team_id): r
        for r in NewsRelay.objects.filter(post__in=[p.pk for p in posts], team_id__in=team_ids)
    }
    items = []
    for post in posts:
        reached = {t.pk for t in post.teams.all()} if post.audience == Audience.TEAMS else None
        for team in teams:
            if reached is None or team.pk in reached:
                items.append(InboxItem(post, team, relays.get((post.pk, team.pk))))
    items.sort(key=lambda i: (not i.pending, -i.post.created_at.timestamp()))
    return items


def pending_count(membership: Membership) -> int:
    return sum(1 for item in manager_inbox(membership) if item.pending)


@dataclass
class Readers:
    reached: list[User]
    read: list[NewsRead]

    @property
    def unread(self) -> list[User]:
        seen = {r.user_id for r in self.read}
        return [u for u in self.reached if u.pk not in seen]


def post_readers(post: NewsPost) -> Readers:
    """Who the post has reached (the managers of its teams; the reps of teams it was passed
    on to, or of all its teams for a must-read) and who has read it."""
    teams = Team.objects.filter(workspace_id=post.workspace_id)
    if post.audience == Audience.TEAMS:
        teams = teams.filter(news_posts=post)
    team_ids = list(teams.values_list("pk", flat=True))
    rep_teams = (
        team_ids
        if post.must_read
        else list(
            NewsRelay.objects.filter(
                post=post, team_id__in=team_ids, decision=RelayDecision.PASSED
            ).values_list("team_id", flat=True)
        )
    )
    reached = (
        User.objects.filter(
            Q(managed_teams__in=team_ids)
            | Q(
                memberships__workspace_id=post.workspace_id,
                memberships__team_id__in=rep_teams,
                memberships__role=Role.REP,
            )
        )
        .distinct()
        .order_by("name", "email")
    )
    people = list(reached)
    ids = {u.pk for u in people}
    read = [
        r
        for r in NewsRead.objects.filter(post=post).select_related("user").order_by("read_at")
        if r.user_id in ids
    ]
    return Readers(reached=people, read=read)


def can_see_readers(membership: Membership, post: NewsPost) -> bool:
    return membership.role == Role.LEADER or post.author_id == membership.user_id
