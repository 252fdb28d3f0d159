"""API for news: the feed, posting, a manager's inbox and decisions, read receipts."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied
from ninja import Field, Router, Schema, Status

from unstuck.core.access import membership_for
from unstuck.core.apidocs import responses
from unstuck.core.errors import NotAllowed
from unstuck.core.http import AppRequest
from unstuck.core.models import Team
from unstuck.core.validation import DbId
from unstuck.share import news_selectors as selectors
from unstuck.share import news_services as services
from unstuck.share.models import Audience, NewsPost, RelayDecision

router = Router(tags=["news"])


class PostIn(Schema):
    title: str = Field(..., max_length=200)
    body: str = Field(..., max_length=10_000)
    audience: Audience = Audience.WORKSPACE
    team_ids: list[DbId] = Field(default_factory=list, max_length=100)
    must_read: bool = False


class PostOut(Schema):
    id: int
    title: str
    body: str
    author: str | None = Field(None, alias="author.email")
    audience: str
    must_read: bool
    created_at: datetime
    line: str | None = Field(None, description="The manager's line for the rep's team.")
    passed_at: datetime | None = None
    read: bool = False


class RelayIn(Schema):
    team_id: DbId
    decision: RelayDecision
    line: str = Field("", max_length=2_000)


class RelayOut(Schema):
    post_id: int
    team_id: int
    team: str = Field(..., alias="team.name")
    decision: str
    line: str
    decided_at: datetime


class InboxItemOut(Schema):
    post: PostOut
    team_id: int
    team: str
    pending: bool
    decision: str | None
    line: str | None


class ReaderOut(Schema):
    email: str
    name: str
    read_at: datetime | None


class ReadersOut(Schema):
    reached: int
    read: int
    readers: list[ReaderOut]


@router.get("/{slug}/share/news", response=responses({200: list[PostOut]}, 404))
def news_list(request: AppRequest, slug: str) -> list[NewsPost]:
    """The news this person sees: for a rep, what their manager passed on (with the line)
    and the must-reads."""
    return selectors.feed(membership_for(request.user, slug))


@router.post("/{slug}/share/news", response=responses({201: PostOut}, 403, 404, 422))
def news_create(request: AppRequest, slug: str, payload: PostIn) -> Status[NewsPost]:
    """Leaders and partners post news to the workspace or to chosen teams."""
    membership = membership_for(request.user, slug)
    post = services.news_post(
        membership=membership,
        title=payload.title,
        body=payload.body,
        audience=payload.audience,
        team_ids=payload.team_ids,
        must_read=payload.must_read,
    )
    return Status(201, post)


@router.get("/{slug}/share/news/inbox", response=responses({200: list[InboxItemOut]}, 403, 404))
def news_inbox(request: AppRequest, slug: str) -> list[dict[str, object]]:
    """A manager's inbox: each post that reached one of their teams, and the decision."""
    membership = membership_for(request.user, slug)
    if not membership.is_manager:
        raise PermissionDenied("Only managers have a news inbox.")
    return [
        {
            "post": item.post,
            "team_id": item.team.pk,
            "team": item.team.name,
            "pending": item.pending,
            "decision": item.relay.decision if item.relay else None,
            "line": item.relay.line if item.relay else None,
        }
        for item in selectors.manager_inbox(membership)
    ]


@router.get("/{slug}/share/news/{post_id}", response=responses({200: PostOut}, 404))
def news_get(request: AppRequest, slug: str, post_id: DbId) -> NewsPost:
    membership = membership_for(request.user, slug)
    selectors.get_post_for(membership, post_id)
    return next(p for p in selectors.feed(membership, only=post_id))


@router.post("/{slug}/share/news/{post_id}/read", response=responses({204: None}, 404))
def news_read(request: AppRequest, slug: str, post_id: DbId) -> Status[None]:
    """Note that this person has read the post (the first time is kept)."""
    membership = membership_for(request.user, slug)
    post = selectors.get_post_for(membership, post_id)
    if post.author_id != membership.user_id:
        services.news_mark_read(post=post, user=membership.user)
    return Status(204, None)


@router.post(
    "/{slug}/share/news/{post_id}/relay", response=responses({200: RelayOut}, 403, 404, 422)
)
def news_relay(request: AppRequest, slug: str, post_id: DbId, payload: RelayIn) -> object:
    """The team's manager passes the post on with a line, or holds it back."""
    membership = membership_for(request.user, slug)
    post = selectors.get_post_for(membership, post_id)
    team = Team.objects.filter(workspace_id=membership.workspace_id, pk=payload.team_id).first()
    if team is None:
        raise NotAllowed("Only the team's manager passes news on to it.")
    return services.news_relay(
        membership=membership,
        post=post,
        team=team,
        decision=payload.decision,
        line=payload.line,
    )


@router.get("/{slug}/share/news/{post_id}/reads", response=responses({200: ReadersOut}, 403, 404))
def news_reads(request: AppRequest, slug: str, post_id: DbId) -> dict[str, object]:
    """Who the post reached and who has read it: for its author and leaders."""
    membership = membership_for(request.user, slug)
    post = selectors.get_post_for(membership, post_id)
    if not selectors.can_see_readers(membership, post):
        raise PermissionDenied("Only the author and leaders see who has read a post.")
    readers = selectors.post_readers(post)
    when = {r.user_id: r.read_at for r in readers.read}
    return {
        "reached": len(readers.reached),
        "read": len(readers.read),
        "readers": [
            {"email": u.email, "name": u.display_name, "read_at": when.get(u.pk)}
            for u in readers.reached
        ],
    }
