"""API for people and teams, mounted under /api/v1/workspaces: leaders invite, change roles and
teams, deactivate and reactivate, through the same services as the workspace's settings page.
A person's `id` is their membership of the workspace. Members read the list (partners do not:
403); only leaders change it (403); a person or team of another workspace answers 404."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from unstuck.core import services
from unstuck.core.access import membership_for, require_role
from unstuck.core.apidocs import responses
from unstuck.core.models import Membership, Role, Team
from unstuck.core.validation import DbId

router = Router(tags=["people"])

MEMBERS = (Role.LEADER, Role.MANAGER, Role.REP)


class PersonOut(Schema):
    id: int
    email: str
    name: str
    role: str
    team_id: int | None
    team: str | None
    active: bool = Field(description="False once deactivated: no access, deals kept.")
    invited: bool = Field(description="Invited and has not set a password yet.")


class TeamOut(Schema):
    id: int
    name: str
    manager_id: int | None = Field(description="The id (membership) of the team's manager.")
    manager: str | None


class InviteIn(Schema):
    email: str = Field(max_length=254)
    name: str = Field("", max_length=200)
    role: str = Field("rep", description="rep, manager, leader or partner")
    team_id: DbId | None = Field(None, description="A rep's team, or the team a manager manages.")


class PersonPatch(Schema):
    role: str
    team_id: DbId | None = None


class TeamIn(Schema):
    name: str = Field(max_length=100)
    manager_id: DbId | None = None


class TeamPatch(Schema):
    name: str | None = Field(None, max_length=100)
    manager_id: DbId | None = None
    clear_manager: bool = False


def _person(m: Membership) -> PersonOut:
    return PersonOut(
        id=m.pk,
        email=m.user.email,
        name=m.user.name,
        role=m.role,
        team_id=m.team_id,
        team=m.team.name if m.team else None,
        active=m.deactivated_at is None,
        invited=not m.user.has_usable_password(),
    )


def _team(team: Team) -> TeamOut:
    manager = (
        Membership.objects.filter(workspace_id=team.workspace_id, user_id=team.manager_id).first()
        if team.manager_id
        else None
    )
    return TeamOut(
        id=team.pk,
        name=team.name,
        manager_id=manager.pk if manager else None,
        manager=manager.user.display_name if manager else None,
    )


def _reload(membership_id: int) -> Membership:
    return Membership.everyone.select_related("user", "team").get(pk=membership_id)


@router.get("/{slug}/people", response=responses({200: list[PersonOut]}, 403, 404))
def people_list(request: HttpRequest, slug: str) -> list[PersonOut]:
    """The workspace's people; leaders also see the deactivated."""
    membership = membership_for(request.user, slug)  # type: ignore[arg-type]
    require_role(membership, *MEMBERS)
    manager = Membership.everyone if membership.is_leader else Membership.objects
    found = manager.filter(workspace_id=membership.workspace_id).select_related("user", "team")
    return [_person(m) for m in found.order_by("pk")]


@router.post("/{slug}/people", response=responses({201: PersonOut}, 403, 404, 409, 422))
def people_invite(request: HttpRequest, slug: str, body: InviteIn) -> Status[PersonOut]:
    """Invite someone by email: they get a signed link, valid for a limited time, to set a
    password. Someone already on Unstuck is added and told."""
    membership = membership_for(request.user, slug)  # type: ignore[arg-type]
    invitation = services.member_invite(
        by=membership, email=body.email, name=body.name, role=body.role, team_id=body.team_id
    )
    return Status(201, _person(_reload(invitation.membership.pk)))


@router.patch(
    "/{slug}/people/{person_id}", response=responses({200: PersonOut}, 403, 404, 409, 422)
)
def people_update(request: HttpRequest, slug: str, person_id: DbId, body: PersonPatch) -> PersonOut:
    """Change a person's role (and a rep's team)."""
    membership = membership_for(request.user, slug)  # type: ignore[arg-type]
    changed = services.member_change_role(
        by=membership, membership_id=person_id, role=body.role, team_id=body.team_id
    )
    return _person(_reload(changed.pk))


@router.post(
    "/{slug}/people/{person_id}/deactivate", response=responses({200: PersonOut}, 403, 404, 409)
)
def people_deactivate(request: HttpRequest, slug: str, person_id: DbId) -> PersonOut:
    """Take a person's access away; their deals stay theirs."""
    membership = membership_for(request.user, slug)  # type: ignore[arg-type]
    gone = services.member_deactivate(by=membership, membership_id=person_id)
    return _person(_reload(gone.pk))


@router.post(
    "/{slug}/people/{person_id}/reactivate", response=responses({200: PersonOut}, 403, 404)
)
def people_reactivate(request: HttpRequest, slug: str, person_id: DbId) -> PersonOut:
    membership = membership_for(request.user, slug)  # type: ignore[arg-type]
    back = services.member_reactivate(by=membership, membership_id=person_id)
    return _person(_reload(back.pk))


@router.get("/{slug}/teams", response=responses({200: list[TeamOut]}, 403, 404))
def teams_list(request: HttpRequest, slug: str) -> list[TeamOut]:
    membership = membership_for(request.user, slug)  # type: ignore[arg-type]
    require_role(membership, *MEMBERS)
    return [_team(t) for t in Team.objects.filter(workspace_id=membership.workspace_id)]


@router.post("/{slug}/teams", response=responses({201: TeamOut}, 403, 404, 409, 422))
def teams_create(request: HttpRequest, slug: str, body: TeamIn) -> Status[TeamOut]:
    membership = membership_for(request.user, slug)  # type: ignore[arg-type]
    team = services.team_create(by=membership, name=body.name, manager_id=body.manager_id)
    return Status(201, _team(team))


@router.patch("/{slug}/teams/{team_id}", response=responses({200: TeamOut}, 403, 404, 409, 422))
def teams_update(request: HttpRequest, slug: str, team_id: DbId, body: TeamPatch) -> TeamOut:
    """Rename a team, give it a manager (`manager_id`, a person's id) or none
    (`clear_manager`)."""
    membership = membership_for(request.user, slug)  # type: ignore[arg-type]
    require_role(membership, Role.LEADER)
    team = Team.objects.filter(pk=team_id, workspace_id=membership.workspace_id).first()
    if team is None:
        raise Http404("No such team.")
    if body.name is not None:
        team = services.team_rename(by=membership, team_id=team_id, name=body.name)
    if body.manager_id is not None or body.clear_manager:
        team = services.team_set_manager(
            by=membership,
            team_id=team_id,
            manager_id=None if body.clear_manager else body.manager_id,
        )
    return _team(team)
