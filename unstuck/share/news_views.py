"""Web pages for news: the feed (for a manager, the inbox to pass news on), posting, and a
post with who has read it."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from unstuck.core.decorators import workspace_view
from unstuck.core.models import Membership, Role, Team
from unstuck.core.submit import submit_and_redirect, submit_page
from unstuck.share import news_selectors as selectors
from unstuck.share import news_services as services
from unstuck.share.models import NewsRelay
from unstuck.share.news_forms import PostForm, RelayForm
from unstuck.share.news_services import POSTERS


@workspace_view()
def news(request: HttpRequest, membership: Membership) -> HttpResponse:
    context = {
        "posts": selectors.feed(membership),
        "inbox": selectors.manager_inbox(membership),
        "can_post": membership.role in POSTERS,
    }
    return render(request, "share/news/list.html", context)


def _team_choices(membership: Membership) -> list[tuple[int, str]]:
    return list(Team.objects.filter(workspace_id=membership.workspace_id).values_list("pk", "name"))


@workspace_view(Role.LEADER, Role.PARTNER)
@require_http_methods(["GET", "POST"])
def news_new(request: HttpRequest, membership: Membership) -> HttpResponse:
    form = PostForm(request.POST or None, teams=_team_choices(membership))
    posted = submit_page(
        request,
        form,
        lambda data: services.news_post(
            membership=membership,
            title=data["title"],
            body=data["body"],
            audience=data["audience"],
            team_ids=[int(t) for t in data["teams"]],
            must_read=data["must_read"],
            draft_key=data["draft_key"],
        ),
        done="Posted. Managers will see it in their news inbox.",
        then=lambda post: reverse(
            "share:news-detail", kwargs={"slug": membership.workspace.slug, "pk": post.pk}
        ),
    )
    if posted is not None:
        return posted
    return render(request, "share/news/new.html", {"form": form})


@workspace_view()
@require_POST
def news_read(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    """The reader opened the post: the page says so by a POST as it loads (a GET writes
    nothing), and the poster sees who read it."""
    post = selectors.get_post_for(membership, pk)
    if post.author_id != membership.user_id:
        services.news_mark_read(post=post, user=membership.user)
    return HttpResponse(status=204)


@workspace_view()
def news_detail(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    post = selectors.get_post_for(membership, pk)
    line = None
    if membership.role == Role.REP and membership.team_id:
        line = post.relays.filter(team_id=membership.team_id, decision="passed").first()
    inbox = [i for i in selectors.manager_inbox(membership) if i.post.pk == post.pk]
    readers = selectors.post_readers(post) if selectors.can_see_readers(membership, post) else None
    return render(
        request,
        "share/news/detail.html",
        {"post": post, "relay": line, "inbox": inbox, "readers": readers},
    )


@workspace_view(Role.MANAGER)
@require_POST
def news_relay(request: HttpRequest, membership: Membership, pk: int) -> HttpResponse:
    post = selectors.get_post_for(membership, pk)

    def relay(data: dict[str, Any]) -> NewsRelay:
        team = Team.objects.filter(workspace_id=membership.workspace_id, pk=data["team"]).first()
        if team is None:
            raise Http404("No such team.")
        return services.news_relay(
            membership=membership,
            post=post,
            team=team,
            decision=data["decision"],
            line=data["line"],
            draft_key=data["draft_key"],
        )

    return submit_and_redirect(
        request,
        RelayForm(request.POST),
        relay,
        done=lambda relay: (
            f"Passed on to {relay.team.name}."
            if relay.decision == "passed"
            else f"Held back from {relay.team.name}."
        ),
        back=reverse("share:news", kwargs={"slug": membership.workspace.slug}),
    )
