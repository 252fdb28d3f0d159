"""Writes of the workspace's co-creation settings (guardrails, options needed) and its
lever catalogue."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from unstuck.cocreate import guardrails
from unstuck.cocreate.catalogue import DEFAULT_LEVERS
from unstuck.cocreate.models import (
    Clause,
    CocreateSettings,
    Lever,
    LeverFamily,
    PaymentTerms,
)
from unstuck.core.access import can_shape_workspace
from unstuck.core.errors import Conflict, NotAllowed, UnstuckError
from unstuck.core.models import Membership, Workspace
from unstuck.core.services import _clean, locked, save_fields

# --- settings and levers -------------------------------------------------------------------


def _settings_defaults() -> dict[str, Any]:
    return {
        "payment_terms": list(guardrails.DEFAULT_PAYMENT_TERMS),
        "clauses": list(guardrails.DEFAULT_CLAUSES),
    }


def settings_for(workspace: Workspace) -> CocreateSettings:
    """The workspace's co-creation rules. A read: the row is stored when the workspace is
    created (settings_ensure); one made another way reads the defaults, unsaved."""
    found = CocreateSettings.objects.filter(workspace=workspace).first()
    return found or CocreateSettings(workspace=workspace, **_settings_defaults())


def settings_ensure(*, workspace: Workspace) -> CocreateSettings:
    """Store the workspace's rules row with the defaults if it has none; safe when two
    callers race (the row is unique per workspace, get_or_create retries the read)."""
    rules, _ = CocreateSettings.objects.get_or_create(
        workspace=workspace, defaults=_settings_defaults()
    )
    return rules


SETTINGS_FIELDS = ["min_options", "max_discount_pct", "max_term_months", "payment_terms", "clauses"]


@transaction.atomic
def settings_update(
    *,
    membership: Membership,
    min_options: int,
    max_discount_pct: Decimal,
    max_term_months: int,
    payment_terms: list[str],
    clauses: list[str],
) -> CocreateSettings:
    if not can_shape_workspace(membership):
        raise NotAllowed("Only leaders set the guardrails.")
    if unknown := set(payment_terms) - set(PaymentTerms.values):
        raise UnstuckError(f"Unknown payment terms: {', '.join(sorted(unknown))}.")
    if unknown := set(clauses) - set(Clause.values):
        raise UnstuckError(f"Unknown clauses: {', '.join(sorted(unknown))}.")
    settings_ensure(workspace=membership.workspace)
    rules = CocreateSettings.objects.select_for_update().get(workspace=membership.workspace)
    rules.min_options = min_options
    rules.max_discount_pct = max_discount_pct
    rules.max_term_months = max_term_months
    rules.payment_terms = [p for p in PaymentTerms.values if p in payment_terms]
    rules.clauses = [c for c in Clause.values if c in clauses]
    _clean(rules)
    rules.save(update_fields=SETTINGS_FIELDS)
    return rules


def levers_ensure(*, workspace: Workspace) -> int:
    """Seed the built-in levers when the workspace is created; later, leave the catalogue as
    its leaders made it. Returns how many were added. Two callers racing add each lever once:
    (workspace, key) is unique and a conflicting row is skipped."""
    if Lever.objects.filter(workspace=workspace).exists():
        return 0
    created = Lever.objects.bulk_create(
        (
            Lever(
                workspace=workspace,
                key=d.key,
                family=d.family,
                name=d.name,
                template=d.template,
                obstacle_kinds=list(d.obstacle_kinds),
                phases=list(d.phases),
                factors=list(d.factors),
                min_amount=d.min_amount,
                max_amount=d.max_amount,
                discount_pct=d.discount_pct,
                term_months=d.term_months,
                payment_terms=d.payment_terms,
                clauses=list(d.clauses),
                is_default=True,
            )
            for d in DEFAULT_LEVERS
        ),
        ignore_conflicts=True,
    )
    return len(created)


LEVER_FIELDS = (
    "family",
    "name",
    "template",
    "obstacle_kinds",
    "phases",
    "factors",
    "min_amount",
    "max_amount",
    "discount_pct",
    "term_months",
    "payment_terms",
    "clauses",
    "is_active",
)


@transaction.atomic
def lever_save(
    *, membership: Membership, lever: Lever | None = None, key: str = "", **fields: Any
) -> Lever:
    """Add a lever (lever=None) or change one; leaders only."""
    if not can_shape_workspace(membership):
        raise NotAllowed("Only leaders edit the levers.")
    if lever is None:
        from django.utils.text import slugify

        key = slugify(key or fields.get("name", ""))[:60]
        if not key:
            raise UnstuckError("Name the lever.", field="name")
        if Lever.objects.filter(workspace=membership.workspace, key=key).exists():
            raise Conflict("A lever with that name already exists.", field="name")
        lever = Lever(workspace=membership.workspace, key=key)
    else:
        # Locked, and only the fields given saved: two leaders editing at once keep both.
        lever = locked(lever)
    for name, value in fields.items():
        if name not in LEVER_FIELDS:
            raise UnstuckError(f"Unknown lever field '{name}'.")
        setattr(lever, name, value)
    if lever.family not in LeverFamily.values:
        raise UnstuckError("Pick one of the six families.", field="family")
    if unknown := set(lever.clauses) - set(Clause.values):
        raise UnstuckError(f"Unknown clauses: {', '.join(sorted(unknown))}.", field="clauses")
    if unknown := set(lever.phases) - {"early", "mid", "late"}:
        raise UnstuckError(f"Unknown phases: {', '.join(sorted(unknown))}.", field="phases")
    _clean(lever)
    if lever.pk is None:
        lever.save()
    else:
        save_fields(lever, fields)
    return lever
