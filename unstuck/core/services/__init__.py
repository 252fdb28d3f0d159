"""Writes for workspaces, teams, members and API tokens; people and teams as leaders manage
them are in `people` (re-exported here)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import TypeVar

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.text import slugify

from unstuck.core.access import can_shape_workspace, require_role
from unstuck.core.errors import Conflict, NotAllowed, UnstuckError
from unstuck.core.models import (
    ApiToken,
    Membership,
    Role,
    TaskRun,
    TaskStatus,
    Team,
    User,
    Workspace,
)

TOKEN_PREFIX = "unst_"


def _clean(obj: object, *, constraints: bool = True) -> None:
    """full_clean with our error type, so callers show one readable message. constraints=False
    leaves the unique checks to the database, for a row about to be upserted."""
    try:
        obj.full_clean(  # type: ignore[attr-defined]
            validate_unique=constraints, validate_constraints=constraints
        )
    except ValidationError as exc:
        parts = []
        for field, messages in exc.message_dict.items():
            label = "" if field == "__all__" else f"{field}: "
            parts.append(label + " ".join(messages))
        raise UnstuckError("; ".join(parts)) from exc


M = TypeVar("M", bound=models.Model)


def locked(obj: M) -> M:
    """Reload obj (in place, and return it) under a row lock, for a read-modify-write inside
    transaction.atomic: a concurrent writer waits until this transaction ends instead of
    both starting from the same values and the later save erasing the earlier one. (SQLite
    has no row locks; there Unstuck's IMMEDIATE transactions take the write lock up front.)"""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("locked() outside transaction.atomic holds no lock")
    obj.refresh_from_db(from_queryset=type(obj)._default_manager.select_for_update())
    return obj


def save_fields(obj: models.Model, fields: Iterable[str]) -> None:
    """Save only the fields a service changed (and the row's auto_now stamp), so a concurrent
    change to any other field survives."""
    names = list(dict.fromkeys(fields))
    names += [
        f.name
        for f in obj._meta.concrete_fields
        if getattr(f, "auto_now", False) and f.name not in names
    ]
    if names:
        obj.save(update_fields=names)


def row_version(obj: object | None) -> str:
    """What an edit form remembers of the row it showed (its auto_now stamp; "new" for a row
    not stored yet), so the service can tell that someone saved since and refuse with a
    Conflict instead of erasing their edit."""
    stamp = getattr(obj, "updated_at", None) if obj is not None else None
    return stamp.isoformat() if stamp is not None else "new"


@transaction.atomic
def workspace_create(*, name: str, slug: str | None = None) -> Workspace:
    name = name.strip()
    if not name:
        raise UnstuckError("A workspace needs a name.", field="name")
    slug = (slug or slugify(name))[:50].strip("-")
    if Workspace.objects.filter(slug=slug).exists():
        raise Conflict(f"A workspace with the slug '{slug}' already exists.", field="slug")
    workspace = Workspace(name=name, slug=slug)
    _clean(workspace)
    workspace.save()
    workspace_defaults_seed(workspace=workspace)
    return workspace


def workspace_defaults_seed(*, workspace: Workspace) -> None:
    """What every workspace starts with: the built-in levers and perspective questions, and
    its co-creation and stall-threshold rows. Done once, when the workspace is created (a
    migration did it for older ones), so no page has to seed on a read. Each step is
    idempotent, also when two callers race."""
    # The apps that own these import core; importing them here keeps core below them.
    from unstuck.cocreate.services import levers_ensure, settings_ensure
    from unstuck.investigate.services import stall_settings_ensure
    from unstuck.thinking.services import question_bank_ensure

    with transaction.atomic():
        levers_ensure(workspace=workspace)
        settings_ensure(workspace=workspace)
        question_bank_ensure(workspace=workspace)
        stall_settings_ensure(workspace=workspace)


@transaction.atomic
def workspace_update(
    *,
    by: Membership | None,
    workspace: Workspace,
    name: str | None = None,
    reps_see_team_deals: bool | None = None,
    default_currency: str | None = None,
) -> Workspace:
    """A leader changes the workspace's own settings (by=None: the system)."""
    if by is not None and (by.workspace_id != workspace.pk or not can_shape_workspace(by)):
        raise NotAllowed("Only the workspace's leaders change its settings.")
    row = locked(workspace)
    changed = []
    if name is not None:
        row.name = name.strip()
        changed.append("name")
    if reps_see_team_deals is not None:
        row.reps_see_team_deals = reps_see_team_deals
        changed.append("reps_see_team_deals")
    if default_currency is not None:
        row.default_currency = default_currency.strip().upper()
        changed.append("default_currency")
    _clean(row)
    save_fields(row, changed)
    for field in changed:
        setattr(workspace, field, getattr(row, field))
    return workspace


def team_get_or_create(*, workspace: Workspace, name: str) -> Team:
    team, _ = Team.objects.get_or_create(workspace=workspace, name=name.strip())
    return team


@transaction.atomic
def member_add(
    *,
    workspace: Workspace,
    email: str,
    role: str,
    name: str = "",
    team_name: str | None = None,
    password: str | None = None,
    title: str = "",
) -> Membership:
    """Add a person to a workspace (creating their user if new).

    A manager given a team becomes that team's manager; a rep joins it as a member.
    """
    if role not in Role.values:
        raise UnstuckError(
            f"Unknown role '{role}'; use one of {', '.join(Role.values)}.", field="role"
        )
    email = email.strip().lower()
    if not email or "@" not in email:
        raise UnstuckError(f"'{email}' is not an email address.", field="email")
    if team_name and role not in {Role.REP, Role.MANAGER}:
        raise UnstuckError("Only reps and managers belong to a team.", field="team")
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User(email=email, name=name.strip())
        if password:
            password_check(password, user)
            user.set_password(password)
        else:
            user.set_unusable_password()
        _clean(user)
        user.save()
    elif name and not user.name:
        user.name = name.strip()
        user.save(update_fields=["name"])
    if Membership.everyone.filter(workspace=workspace, user=user).exists():
        raise Conflict(f"{email} is already a member of {workspace.slug}.", field="email")
    team = team_get_or_create(workspace=workspace, name=team_name) if team_name else None
    if team is not None and role == Role.MANAGER:
        if team.manager_id and team.manager_id != user.pk:
            raise Conflict(f"Team '{team.name}' already has a manager.", field="team")
        team.manager = user
        team.save(update_fields=["manager"])
    membership = Membership(
        workspace=workspace,
        user=user,
        role=role,
        team=team if role == Role.REP else None,
        title=title,
    )
    _clean(membership)
    membership.save()
    return membership


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is never stored and shown once."""
    name = name.strip()
    if not name:
        raise UnstuckError("Give the token a name, so you can tell it apart later.", field="name")
    if len(name) > 100:
        raise UnstuckError("Keep the token's name under 100 characters.", field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=secret[: len(TOKEN_PREFIX) + 6], key_hash=_hash_token(secret)
    )
    return token, secret


def api_token_revoke(*, token: ApiToken, by: User) -> ApiToken:
    if token.user_id != by.pk:
        raise NotAllowed("Only a token's owner can revoke it.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(secret: str) -> User | None:
    """The active user behind a token secret, or None. Notes the use at most once a minute."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash_token(secret), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


# --- background work ---------------------------------------------------------------------


def task_retry(*, membership: Membership, task_run_id: int) -> TaskRun:
    """Enqueue a failed background task again, as it was first run. Leaders and managers (the
    people shown the failure) may; a run of another workspace is not found."""
    from django.utils.module_loading import import_string

    from unstuck.core.background import TRACKED

    require_role(membership, Role.LEADER, Role.MANAGER)
    with transaction.atomic():
        run = (
            TaskRun.objects.select_for_update()
            .filter(pk=task_run_id, workspace_id=membership.workspace_id)
            .first()
        )
        if run is None:
            raise Http404("No such task.")
        if run.status != TaskStatus.FAILED:
            raise Conflict("Only a failed task can be retried.")
        if run.retried_at is not None:
            raise Conflict("This task was already retried: see its newer run.")
        if run.task_path not in TRACKED:
            raise UnstuckError("This task can no longer be retried; run it from the command line.")
        run.retried_at = timezone.now()
        run.retried_by = membership.user
        run.save(update_fields=["retried_at", "retried_by"])
        task = import_string(run.task_path)
        args, kwargs = list(run.args.get("args", [])), dict(run.args.get("kwargs", {}))
        transaction.on_commit(lambda: task.enqueue(*args, **kwargs))
    return run


# People and teams, managed by leaders (a module of its own; one import path for callers).
from unstuck.core.services.people import (  # noqa: E402
    Invitation,
    invite_link,
    invite_tokens,
    member_change_role,
    member_deactivate,
    member_invite,
    member_invite_resend,
    member_reactivate,
    owners_invite,
    password_check,
    site_url,
    team_create,
    team_rename,
    team_set_manager,
)

__all__ = [
    "Invitation",
    "api_token_authenticate",
    "api_token_create",
    "api_token_revoke",
    "invite_link",
    "invite_tokens",
    "member_add",
    "member_change_role",
    "member_deactivate",
    "member_invite",
    "member_invite_resend",
    "member_reactivate",
    "owners_invite",
    "password_check",
    "site_url",
    "task_retry",
    "team_create",
    "team_get_or_create",
    "team_rename",
    "team_set_manager",
    "workspace_create",
    "workspace_update",
]
