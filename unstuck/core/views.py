from __future__ import annotations

import logging

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.db import DatabaseError, connection
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from unstuck.core import selectors, services
from unstuck.core.access import require_role
from unstuck.core.decorators import workspace_view
from unstuck.core.errors import UnstuckError
from unstuck.core.forms import ApiTokenForm, SignInForm, WorkspaceSettingsForm
from unstuck.core.http import AppRequest
from unstuck.core.models import ApiToken, Membership, Role, Team
from unstuck.core.submit import forbid, posted_next, submit, submit_and_redirect, submit_page

log = logging.getLogger(__name__)


class SignInView(LoginView):
    template_name = "core/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


def healthz(request: AppRequest) -> HttpResponse:
    """Liveness for load balancers: answers without touching the database."""
    return HttpResponse("ok", content_type="text/plain")


def readyz(request: AppRequest) -> HttpResponse:
    """Readiness: 200 only when the database answers a query, else 503 (send no traffic)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        log.warning("Not ready: the database does not answer: %s", exc)
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


@workspace_view()
def ping(request: AppRequest, membership: Membership) -> HttpResponse:
    """The smallest signed-in page: session, sign-in, membership and the base layout, and
    nothing else. Monitors use it to check a session end to end; the benchmarks time it as
    the reference every other page is compared with."""
    return render(request, "core/ping.html")


@login_required
def home(request: AppRequest) -> HttpResponse:
    memberships = list(Membership.objects.filter(user=request.user).select_related("workspace"))
    if len(memberships) == 1:
        return redirect("workspace-home", slug=memberships[0].workspace.slug)
    return render(request, "core/workspaces.html", {"memberships": memberships})


@workspace_view()
def workspace_home(request: AppRequest, membership: Membership) -> HttpResponse:
    """Each role's landing page inside a workspace: managers and leaders start on the
    innovation queue."""
    if membership.role in {"manager", "leader"}:
        return redirect("investigate:queue", slug=membership.workspace.slug)
    return redirect("deals:pipeline", slug=membership.workspace.slug)


# Partners are outsiders invited to a few deals: the member list (names, emails) is not theirs.
@workspace_view(Role.LEADER, Role.MANAGER, Role.REP)
def workspace_settings(request: AppRequest, membership: Membership) -> HttpResponse:
    """Leaders change the workspace's settings; members read who is in it."""
    workspace = membership.workspace
    form = WorkspaceSettingsForm(
        request.POST or None,
        initial={
            "name": workspace.name,
            "reps_see_team_deals": workspace.reps_see_team_deals,
            "default_currency": workspace.default_currency,
        },
    )
    if request.method == "POST":
        require_role(membership, Role.LEADER)  # refused before the form is read
    saved = submit_page(
        request,
        form,
        lambda data: services.workspace_update(by=membership, workspace=workspace, **data),
        done="Settings saved.",
        then=reverse("workspace-settings", kwargs={"slug": workspace.slug}),
    )
    if saved is not None:
        return saved
    # Leaders manage people, deactivated ones included (to give their access back).
    manager = Membership.everyone if membership.is_leader else Membership.objects
    members = (
        manager.filter(workspace=workspace)
        .select_related("user", "team")
        .order_by(F("deactivated_at").asc(nulls_first=True), "role", "team__name", "user__name")
    )
    teams = Team.objects.filter(workspace=workspace).select_related("manager")
    task_runs = selectors.task_runs_recent(workspace) if membership.is_leader else []
    return render(
        request,
        "core/workspace_settings.html",
        {
            "form": form,
            "members": members,
            "teams": teams,
            "task_runs": task_runs,
            "roles": Role.choices,
        },
        status=400 if form.errors else 200,
    )


@login_required
def api_tokens(request: AppRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST":
        try:
            _, new_secret = submit(
                form, lambda data: services.api_token_create(user=request.user, name=data["name"])
            )
        except UnstuckError as exc:
            forbid(exc)  # any other refusal is on the form, shown below
        else:
            form = ApiTokenForm()
    tokens = ApiToken.objects.filter(user=request.user)
    return render(
        request,
        "core/api_tokens.html",
        {"form": form, "tokens": tokens, "new_secret": new_secret},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def api_token_revoke(request: AppRequest, pk: int) -> HttpResponse:
    # Someone else's token is not found, rather than forbidden: its existence is not ours to say.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    return submit_and_redirect(
        request,
        None,
        lambda _: services.api_token_revoke(token=token, by=request.user),
        done=f"Token “{token.name}” revoked. Scripts using it will stop working.",
        back=reverse("api-tokens"),
    )


@workspace_view()
@require_POST
def task_retry(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    """Enqueue a failed background task again (the service checks who may)."""
    return submit_and_redirect(
        request,
        None,
        lambda _: services.task_retry(membership=membership, task_run_id=pk),
        done=lambda run: f"{run.label}: queued again. This page shows how it went.",
        back=posted_next(
            request, reverse("workspace-settings", kwargs={"slug": membership.workspace.slug})
        ),
    )
