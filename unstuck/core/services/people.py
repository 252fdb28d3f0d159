"""Writes for the people and teams of a workspace, done by its leaders in the browser, the API
or the command line: invite by email, teams and their managers, roles, deactivation.

Each service takes the acting member (`by`) and checks, inside, that they may: only leaders
manage people (403 otherwise); a person or team of another workspace is not found (404).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from unstuck.core.access import require_role
from unstuck.core.errors import Conflict, UnstuckError
from unstuck.core.http import absolute_url
from unstuck.core.models import Membership, Role, Team, User


class InviteTokenGenerator(PasswordResetTokenGenerator):
    """Signed, expiring (PASSWORD_RESET_TIMEOUT) and single-use: the token hashes the
    password, so it stops working once the invited person has set theirs. Its own salt, so a
    password-reset token is not an invitation and the other way round."""

    key_salt = "unstuck.core.services.people.InviteTokenGenerator"


invite_tokens = InviteTokenGenerator()


def site_url(path: str) -> str:
    """An absolute link for an email, on the site URL (`UNSTUCK_SITE_URL`)."""
    return absolute_url(path)


def invite_link(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = invite_tokens.make_token(user)
    return site_url(reverse("invite-accept", kwargs={"uidb64": uid, "token": token}))


def password_check(password: str, user: User | None = None) -> None:
    """Django's password validators (settings.AUTH_PASSWORD_VALIDATORS), as our error."""
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise UnstuckError(" ".join(exc.messages), field="password") from exc


def _leader(by: Membership) -> None:
    require_role(by, Role.LEADER)


def _member(by: Membership, membership_id: int) -> Membership:
    found = (
        Membership.everyone.select_related("user", "team", "workspace")
        .filter(pk=membership_id, workspace_id=by.workspace_id)
        .first()
    )
    if found is None:
        raise Http404("No such person in this workspace.")
    return found


def _team(by: Membership, team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id, workspace_id=by.workspace_id).first()
    if team is None:
        raise UnstuckError("No such team in this workspace.", field="team")
    return team


@dataclass
class Invitation:
    membership: Membership
    link: str  # the link to set a password; "" when the person already has one
    new_account: bool


def _send_invitation(invitation: Invitation, by: Membership) -> None:
    membership = invitation.membership
    context = {
        "inviter": by.user.display_name,
        "workspace": membership.workspace.name,
        "role": membership.get_role_display(),
        "link": invitation.link or site_url(reverse("login")),
        "new_account": invitation.new_account,
        "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
    }
    send_mail(
        subject=f"{by.user.display_name} invited you to {membership.workspace.name} on Unstuck",
        message=render_to_string("core/email/invitation.txt", context),
        from_email=None,
        recipient_list=[membership.user.email],
    )


@transaction.atomic
def member_invite(
    *,
    by: Membership,
    email: str,
    role: str,
    name: str = "",
    team_id: int | None = None,
    send: bool = True,
) -> Invitation:
    """Add a person (creating their account without a password) and email them a signed,
    expiring link to set one. Someone who already has a password is told they were added;
    a deactivated member is given their access back."""
    _leader(by)
    team = _team(by, team_id)
    if team is not None and role not in {Role.REP, Role.MANAGER}:
        raise UnstuckError("Only reps and managers belong to a team.", field="team")
    email = email.strip().lower()
    former = (
        Membership.everyone.filter(workspace_id=by.workspace_id, user__email=email)
        .select_related("user", "workspace")
        .first()
    )
    if former is not None and former.deactivated_at is None:
        raise Conflict(f"{email} is already a member of this workspace.", field="email")
    if former is not None:
        membership = former
        member_reactivate(by=by, membership_id=former.pk)
        membership.refresh_from_db()
        member_change_role(by=by, membership_id=membership.pk, role=role, team_id=team_id)
        membership.refresh_from_db()
    else:
        from unstuck.core.services import member_add

        membership = member_add(
            workspace=by.workspace,
            email=email,
            role=role,
            name=name,
            team_name=team.name if team is not None else None,
        )
    user = membership.user
    new_account = not user.has_usable_password()
    invitation = Invitation(
        membership=membership,
        link=invite_link(user) if new_account else "",
        new_account=new_account,
    )
    if send:
        transaction.on_commit(lambda: _send_invitation(invitation, by))
    return invitation


def member_invite_resend(*, by: Membership, membership_id: int) -> Invitation:
    """A fresh link for someone who has not set their password yet."""
    _leader(by)
    membership = _member(by, membership_id)
    if membership.deactivated_at is not None:
        raise Conflict("Reactivate this person first.")
    if membership.user.has_usable_password():
        raise Conflict(f"{membership.user.email} has already set a password.")
    invitation = Invitation(
        membership=membership, link=invite_link(membership.user), new_account=True
    )
    _send_invitation(invitation, by)
    return invitation


def team_create(*, by: Membership, name: str, manager_id: int | None = None) -> Team:
    _leader(by)
    name = name.strip()
    if not name:
        raise UnstuckError("A team needs a name.", field="name")
    if len(name) > 100:
        raise UnstuckError("Keep the team's name under 100 characters.", field="name")
    if Team.objects.filter(workspace_id=by.workspace_id, name__iexact=name).exists():
        raise Conflict(f"There is already a team called '{name}'.", field="name")
    team = Team.objects.create(workspace_id=by.workspace_id, name=name)
    if manager_id is not None:
        team = team_set_manager(by=by, team_id=team.pk, manager_id=manager_id)
    return team


def team_rename(*, by: Membership, team_id: int, name: str) -> Team:
    _leader(by)
    team = _team_or_404(by, team_id)
    name = name.strip()
    if not name:
        raise UnstuckError("A team needs a name.", field="name")
    if len(name) > 100:
        raise UnstuckError("Keep the team's name under 100 characters.", field="name")
    clash = Team.objects.filter(workspace_id=by.workspace_id, name__iexact=name)
    if clash.exclude(pk=team.pk).exists():
        raise Conflict(f"There is already a team called '{name}'.", field="name")
    team.name = name
    team.save(update_fields=["name"])
    return team


def _team_or_404(by: Membership, team_id: int) -> Team:
    team = Team.objects.filter(pk=team_id, workspace_id=by.workspace_id).first()
    if team is None:
        raise Http404("No such team.")
    return team


def team_set_manager(*, by: Membership, team_id: int, manager_id: int | None) -> Team:
    """Give a team its manager (a member whose role is manager), or none. `manager_id` is the
    manager's membership id."""
    _leader(by)
    team = _team_or_404(by, team_id)
    if manager_id is None:
        team.manager = None
    else:
        manager = Membership.objects.filter(pk=manager_id, workspace_id=by.workspace_id).first()
        if manager is None:
            raise UnstuckError("No such person in this workspace.", field="manager")
        if manager.role != Role.MANAGER:
            raise UnstuckError(
                f"{manager.user.display_name} is a {manager.get_role_display().lower()}: "
                "make them a manager first.",
                field="manager",
            )
        team.manager_id = manager.user_id
    team.save(update_fields=["manager"])
    return team


def _leaders_left(by: Membership, without: Membership) -> int:
    return (
        Membership.objects.filter(workspace_id=by.workspace_id, role=Role.LEADER)
        .exclude(pk=without.pk)
        .count()
    )


@transaction.atomic
def member_change_role(
    *, by: Membership, membership_id: int, role: str, team_id: int | None = None
) -> Membership:
    """Change a person's role (and, for a rep, their team). A manager who is no longer one
    stops managing their teams; the workspace always keeps a leader."""
    _leader(by)
    membership = _member(by, membership_id)
    if role not in Role.values:
        raise UnstuckError(
            f"Unknown role '{role}'; use one of {', '.join(Role.values)}.", field="role"
        )
    team = _team(by, team_id)
    if team is not None and role != Role.REP:
        raise UnstuckError("Only reps are members of a team; a manager manages one.", field="team")
    if membership.role == Role.LEADER and role != Role.LEADER and not _leaders_left(by, membership):
        raise Conflict("The workspace needs a leader: make someone else a leader first.")
    if membership.role == Role.MANAGER and role != Role.MANAGER:
        Team.objects.filter(workspace_id=by.workspace_id, manager_id=membership.user_id).update(
            manager=None
        )
    membership.role = role
    membership.team = team if role == Role.REP else None
    membership.save(update_fields=["role", "team"])
    return membership


@transaction.atomic
def member_deactivate(*, by: Membership, membership_id: int) -> Membership:
    """Take a person's access away: their deals stay (and keep them as owner), their teams
    lose them as manager, and, if this was their only workspace, they can no longer sign in
    (sessions and API tokens stop working)."""
    _leader(by)
    membership = _member(by, membership_id)
    if membership.pk == by.pk:
        raise Conflict("You cannot deactivate yourself.")
    if membership.deactivated_at is not None:
        return membership
    if membership.role == Role.LEADER and not _leaders_left(by, membership):
        raise Conflict("The workspace needs a leader: make someone else a leader first.")
    membership.deactivated_at = timezone.now()
    membership.save(update_fields=["deactivated_at"])
    Team.objects.filter(workspace_id=by.workspace_id, manager_id=membership.user_id).update(
        manager=None
    )
    user = membership.user
    if not Membership.objects.filter(user=user).exists():
        user.is_active = False
        user.save(update_fields=["is_active"])
    return membership


@transaction.atomic
def member_reactivate(*, by: Membership, membership_id: int) -> Membership:
    _leader(by)
    membership = _member(by, membership_id)
    if membership.deactivated_at is None:
        return membership
    membership.deactivated_at = None
    membership.save(update_fields=["deactivated_at"])
    if not membership.user.is_active:
        membership.user.is_active = True
        membership.user.save(update_fields=["is_active"])
    return membership


def owners_invite(
    *, by: Membership, people: list[dict[str, str]], role: str = Role.REP
) -> list[Invitation]:
    """Invite the CRM owners an import did not know, each {name, email, team_id?}, in one go
    (all or none)."""
    _leader(by)
    if not people:
        raise UnstuckError("Choose at least one person to invite.")
    invitations = []
    with transaction.atomic():
        for person in people:
            email = (person.get("email") or "").strip()
            if not email:
                raise UnstuckError(f"Give {person.get('name') or 'each owner'} an email address.")
            team = person.get("team_id")
            invitations.append(
                member_invite(
                    by=by,
                    email=email,
                    role=person.get("role") or role,
                    name=person.get("name", ""),
                    team_id=int(team) if team else None,
                )
            )
    return invitations
