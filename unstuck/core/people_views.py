"""Pages where leaders manage people and teams (all on the workspace's settings page), the
invitation link that sets a password, and password reset from the sign-in page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import SetPasswordForm
from django.http import HttpResponse
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_POST

from unstuck.core import services
from unstuck.core.decorators import workspace_view
from unstuck.core.errors import UnstuckError
from unstuck.core.forms import InviteForm, MemberRoleForm, TeamForm, TeamUpdateForm
from unstuck.core.http import AppRequest
from unstuck.core.models import Membership, Role, User
from unstuck.core.submit import submit_and_redirect


def _act(
    request: AppRequest,
    membership: Membership,
    form_class: type[forms.Form] | None,
    action: Callable[[dict[str, Any]], str],
) -> HttpResponse:
    """Form → service (the service checks who may) → the message the action returns, back on
    the people page."""
    return submit_and_redirect(
        request,
        form_class(request.POST) if form_class else None,
        action,
        done=lambda message: message,
        back=reverse("workspace-settings", kwargs={"slug": membership.workspace.slug}),
    )


@workspace_view(Role.LEADER)
@require_POST
def member_invite(request: AppRequest, membership: Membership) -> HttpResponse:
    def action(data: dict[str, Any]) -> str:
        invitation = services.member_invite(
            by=membership,
            email=data["email"],
            name=data["name"],
            role=data["role"],
            team_id=data["team"],
        )
        who = invitation.membership.user.email
        if invitation.new_account:
            return f"Invitation sent to {who}: the link to set a password works for a while."
        return f"{who} already has an account: they were added and told by email."

    return _act(request, membership, InviteForm, action)


@workspace_view(Role.LEADER)
@require_POST
def member_update(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    def action(data: dict[str, Any]) -> str:
        changed = services.member_change_role(
            by=membership, membership_id=pk, role=data["role"], team_id=data["team"]
        )
        return f"{changed.user.display_name} is now a {changed.get_role_display().lower()}."

    return _act(request, membership, MemberRoleForm, action)


@workspace_view(Role.LEADER)
@require_POST
def member_deactivate(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    def action(data: dict[str, Any]) -> str:
        gone = services.member_deactivate(by=membership, membership_id=pk)
        return f"{gone.user.display_name} no longer has access; their deals stay as they are."

    return _act(request, membership, None, action)


@workspace_view(Role.LEADER)
@require_POST
def member_reactivate(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    def action(data: dict[str, Any]) -> str:
        back = services.member_reactivate(by=membership, membership_id=pk)
        return f"{back.user.display_name} has access again."

    return _act(request, membership, None, action)


@workspace_view(Role.LEADER)
@require_POST
def member_invite_resend(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    def action(data: dict[str, Any]) -> str:
        invitation = services.member_invite_resend(by=membership, membership_id=pk)
        return f"A new invitation went to {invitation.membership.user.email}."

    return _act(request, membership, None, action)


@workspace_view(Role.LEADER)
@require_POST
def team_create(request: AppRequest, membership: Membership) -> HttpResponse:
    def action(data: dict[str, Any]) -> str:
        team = services.team_create(by=membership, name=data["name"], manager_id=data["manager"])
        return f"Team {team.name} created."

    return _act(request, membership, TeamForm, action)


@workspace_view(Role.LEADER)
@require_POST
def team_update(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    def action(data: dict[str, Any]) -> str:
        team = None
        if data["name"]:
            team = services.team_rename(by=membership, team_id=pk, name=data["name"])
        if data["manager"] or data["clear_manager"]:
            team = services.team_set_manager(
                by=membership,
                team_id=pk,
                manager_id=None if data["clear_manager"] else data["manager"],
            )
        if team is None:
            raise UnstuckError("Nothing to change.")
        return f"Team {team.name} saved."

    return _act(request, membership, TeamUpdateForm, action)


class InviteAcceptView(auth_views.PasswordResetConfirmView):
    """The invitation link: set a password (Django's validators apply) and be signed in."""

    template_name = "core/invite_accept.html"
    form_class = SetPasswordForm
    token_generator = services.invite_tokens
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    reset_url_token = "set-password"
    success_url = reverse_lazy("home")

    def get_user(self, uidb64: str) -> User | None:
        user = super().get_user(uidb64)
        # A deactivated person's old invitation does not bring them back.
        return user if user is not None and user.is_active else None


class PasswordResetView(auth_views.PasswordResetView):
    """Forgot your password: an email with a link, built on UNSTUCK_SITE_URL (never on the
    request's Host header)."""

    template_name = "core/password_reset.html"
    email_template_name = "core/email/password_reset.txt"
    subject_template_name = "core/email/password_reset_subject.txt"
    success_url = reverse_lazy("password-reset-done")

    def form_valid(self, form: Any) -> HttpResponse:
        self.extra_email_context = {"site_url": settings.SITE_URL}
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "core/password_reset_confirm.html"
    success_url = reverse_lazy("password-reset-complete")


password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="core/password_reset_done.html"
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="core/password_reset_complete.html"
)
