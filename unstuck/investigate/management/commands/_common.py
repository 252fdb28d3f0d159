"""Shared option handling of the Investigate commands."""

from __future__ import annotations

from django.core.management.base import CommandError

from unstuck.core.models import Membership, User, Workspace


def workspace_arg(slug: str | None) -> Workspace:
    if slug:
        found = Workspace.objects.filter(slug=slug).first()
        if found is None:
            raise CommandError(f"No workspace '{slug}'.")
        return found
    workspaces = list(Workspace.objects.all()[:2])
    if len(workspaces) != 1:
        raise CommandError("Say which workspace: --workspace SLUG.")
    return workspaces[0]


def membership_arg(workspace: Workspace, email: str | None) -> Membership | None:
    """With --as EMAIL, the command sees exactly what that member sees in the web."""
    if not email:
        return None
    user = User.objects.filter(email=email.lower()).first()
    membership = Membership.objects.filter(workspace=workspace, user=user).first()
    if membership is None:
        raise CommandError(f"{email} is not a member of {workspace.slug}.")
    return membership
