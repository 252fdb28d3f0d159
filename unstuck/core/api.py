"""API: who am I, and my personal API tokens."""

from __future__ import annotations

from datetime import datetime

from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from unstuck.core import services
from unstuck.core.apidocs import responses
from unstuck.core.http import AppRequest
from unstuck.core.models import ApiToken, Membership

router = Router(tags=["account"])


class MembershipOut(Schema):
    workspace: str
    workspace_name: str
    role: str
    team: str | None


class MeOut(Schema):
    email: str
    name: str
    memberships: list[MembershipOut]


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    secret: str


class TokenIn(Schema):
    name: str


@router.get("/me", response=responses({200: MeOut}))
def me(request: AppRequest) -> MeOut:
    user = request.user
    memberships = Membership.objects.filter(user=user).select_related("workspace", "team")
    return MeOut(
        email=user.email,
        name=user.name,
        memberships=[
            MembershipOut(
                workspace=m.workspace.slug,
                workspace_name=m.workspace.name,
                role=m.role,
                team=m.team.name if m.team else None,
            )
            for m in memberships
        ],
    )


@router.get("/tokens", response=responses({200: list[TokenOut]}))
def token_list(request: AppRequest) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=request.user))


@router.post("/tokens", response=responses({201: TokenCreatedOut}, 400, 409, 422))
def token_create(request: AppRequest, payload: TokenIn) -> Status[dict[str, object]]:
    token, secret = services.api_token_create(user=request.user, name=payload.name)
    return Status(201, {**TokenOut.from_orm(token).dict(), "secret": secret})


@router.delete("/tokens/{token_id}", response=responses({200: TokenOut}, 404))
def token_revoke(request: AppRequest, token_id: int) -> ApiToken:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    return services.api_token_revoke(token=token, by=request.user)
