"""Writes for news: a leader or partner posts, a manager passes a post on to a team with a
line (or holds it back), a reader is noted. Saved text goes through the bias detector."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.http import Http404

from unstuck.core.access import managed_team_ids
from unstuck.core.errors import NotAllowed, UnstuckError
from unstuck.core.models import Membership, Role, Team, User
from unstuck.core.services import _clean
from unstuck.share.models import Audience, NewsPost, NewsRead, NewsRelay, RelayDecision
from unstuck.thinking.services import MAX_TEXT, text_check

POSTERS = {Role.LEADER, Role.PARTNER}


def _check_bias(
    membership: Membership,
    text: str,
    subject: NewsPost | NewsRelay,
    context: str,
    draft_key: str = "",
) -> None:
    """Saved news is checked like a deal note; what the writer set aside in the live note
    while typing (keyed by draft_key) is remembered once saved."""
    if text.strip():
        text_check(
            workspace=membership.workspace,
            author=membership.user,
            text=text[:MAX_TEXT],
            subject=subject,
            context=context,
            draft_key=draft_key,
        )


@transaction.atomic
def news_post(
    *,
    membership: Membership,
    title: str,
    body: str,
    audience: str = Audience.WORKSPACE,
    team_ids: Iterable[int] = (),
    must_read: bool = False,
    draft_key: str = "",
) -> NewsPost:
    """A leader or partner posts news to the workspace or to chosen teams. Only a leader may
    make it a must-read (it then reaches every rep of the audience without a manager)."""
    if membership.role not in POSTERS:
        raise NotAllowed("Only leaders and partners post news; managers pass it on.")
    if must_read and membership.role != Role.LEADER:
        raise NotAllowed("Only a leader can make news a must-read.", field="must_read")
    if audience not in Audience.values:
        raise UnstuckError("The audience is the workspace or chosen teams.", field="audience")
    teams: list[Team] = []
    if audience == Audience.TEAMS:
        wanted = set(team_ids)
        teams = list(Team.objects.filter(workspace_id=membership.workspace_id, pk__in=wanted))
        if not wanted or len(teams) != len(wanted):
            raise UnstuckError("Choose one or more teams of this workspace.", field="teams")
    post = NewsPost(
        workspace=membership.workspace,
        author=membership.user,
        title=title.strip(),
        body=body.strip(),
        audience=audience,
        must_read=must_read,
    )
    if not post.title:
        raise UnstuckError("Give the news a title.", field="title")
    if not post.body:
        raise UnstuckError("Write what the news is.", field="body")
    _clean(post)
    post.save()
    if teams:
        post.teams.set(teams)
    _check_bias(membership, f"{post.title}\n\n{post.body}", post, "news_post", draft_key)
    return post


def post_reaches_team(post: NewsPost, team: Team) -> bool:
    if post.workspace_id != team.workspace_id:
        return False
    return post.audience == Audience.WORKSPACE or post.teams.filter(pk=team.pk).exists()


@transaction.atomic
def news_relay(
    *,
    membership: Membership,
    post: NewsPost,
    team: Team,
    decision: str,
    line: str = "",
    draft_key: str = "",
) -> NewsRelay:
    """The team's manager passes the post on with a line on what it means for the team, or
    holds it back. Deciding again replaces the decision (and the line)."""
    if membership.role != Role.MANAGER or team.pk not in managed_team_ids(membership):
        raise NotAllowed("Only the team's manager passes news on to it.")
    if not post_reaches_team(post, team):
        raise Http404("No such news for this team.")
    if decision not in RelayDecision.values:
        raise UnstuckError("Pass it on or hold it back.", field="decision")
    line = line.strip()
    if decision == RelayDecision.HELD:
        line = ""
    relay, _ = NewsRelay.objects.select_for_update().get_or_create(
        post=post,
        team=team,
        defaults={"decision": decision, "line": line, "decided_by": membership.user},
    )
    relay.decision = decision
    relay.line = line
    relay.decided_by = membership.user
    _clean(relay)
    relay.save()
    _check_bias(membership, line, relay, "news_line", draft_key)
    return relay


def news_mark_read(*, post: NewsPost, user: User) -> NewsRead:
    """Keep the first time a person read a post."""
    read, _ = NewsRead.objects.get_or_create(post=post, user=user)
    return read
