"""API: who am I, and my personal API tokens."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from unstuck.core import services
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


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> MeOut:
    user = request.user
    memberships = Membership.objects.filter(user=user).select_related("workspace", "team")  # type: ignore[misc]
    return MeOut(
        email=user.email,  # type: ignore[union-attr]
        name=user.name,  # type: ignore[union-attr]
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


@router.get("/tokens", response=list[TokenOut])
def token_list(request: HttpRequest) -> list[ApiToken]:
    return list(ApiToken.objects.filter(user=request.user))  # type: ignore[misc]


@router.post("/tokens", response={201: TokenCreatedOut})
def token_create(request: HttpRequest, payload: TokenIn) -> tuple[int, dict[str, object]]:
    token, secret = services.api_token_create(user=request.user, name=payload.name)  # type: ignore[arg-type]
    return 201, {**TokenOut.from_orm(token).dict(), "secret": secret}


@router.delete("/tokens/{token_id}", response=TokenOut)
def token_revoke(request: HttpRequest, token_id: int) -> ApiToken:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)  # type: ignore[misc]
    return services.api_token_revoke(token=token, by=request.user)  # type: ignore[arg-type]
