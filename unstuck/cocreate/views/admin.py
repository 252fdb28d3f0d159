"""Pages leaders and managers use around sessions: approvals beyond the guardrails, the
lever catalogue and the guardrails themselves."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from unstuck.cocreate import forms, selectors, services
from unstuck.cocreate.access import (
    get_approval_for,
    get_lever_for,
)
from unstuck.cocreate.models import (
    Lever,
    LeverFamily,
)
from unstuck.core.decorators import workspace_view
from unstuck.core.http import AppRequest
from unstuck.core.models import Membership, Role
from unstuck.core.submit import submit_and_redirect, submit_page

# --- approvals --------------------------------------------------------------------------


@workspace_view()
def approvals(request: AppRequest, membership: Membership) -> HttpResponse:
    return render(
        request,
        "cocreate/approvals.html",
        {"approvals": selectors.pending_approvals(membership)},
    )


@workspace_view(Role.LEADER)
@require_POST
def approval_decide(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    approval = get_approval_for(membership, pk, decide=True)
    return submit_and_redirect(
        request,
        forms.ApprovalDecideForm(request.POST),
        lambda data: services.approval_decide(
            membership=membership,
            approval=approval,
            approve=data["decision"] == "approve",
            reason=data["reason"],
        ),
        done=lambda decided: f"{decided.get_status_display()}: {decided.option.title}.",
        back=reverse("cocreate:approvals", kwargs={"slug": membership.workspace.slug}),
    )


# --- levers and guardrails --------------------------------------------------------------


@workspace_view(Role.MANAGER, Role.LEADER)
def levers(request: AppRequest, membership: Membership) -> HttpResponse:
    rows = list(Lever.objects.filter(workspace=membership.workspace))
    families = [
        (label, [lv for lv in rows if lv.family == key]) for key, label in LeverFamily.choices
    ]
    return render(
        request,
        "cocreate/levers.html",
        {
            "families": families,
            "count": len(rows),
            "rules": services.settings_for(membership.workspace),
        },
    )


def _lever_initial(lever: Lever) -> dict[str, Any]:
    return {f: getattr(lever, f) for f in services.LEVER_FIELDS}


@workspace_view(Role.LEADER)
@require_http_methods(["GET", "POST"])
def lever_edit(request: AppRequest, membership: Membership, pk: int | None = None) -> HttpResponse:
    lever = get_lever_for(membership, pk, write=True) if pk is not None else None
    form = forms.LeverForm(
        request.POST or None, initial=_lever_initial(lever) if lever else {"is_active": True}
    )

    def save(data: dict[str, Any]) -> Lever:
        data["term_months"] = data["term_months"] or None
        return services.lever_save(membership=membership, lever=lever, **data)

    saved = submit_page(
        request,
        form,
        save,
        done="Lever saved.",
        then=reverse("cocreate:levers", kwargs={"slug": membership.workspace.slug}),
    )
    if saved is not None:
        return saved
    return render(
        request,
        "cocreate/lever_edit.html",
        {"form": form, "lever": lever},
        status=400 if form.errors else 200,
    )


@workspace_view(Role.LEADER)
@require_http_methods(["GET", "POST"])
def guardrails(request: AppRequest, membership: Membership) -> HttpResponse:
    rules = services.settings_for(membership.workspace)
    form = forms.GuardrailsForm(
        request.POST or None,
        initial={
            "min_options": rules.min_options,
            "max_discount_pct": rules.max_discount_pct,
            "max_term_months": rules.max_term_months,
            "payment_terms": rules.payment_terms,
            "clauses": rules.clauses,
        },
    )
    saved = submit_page(
        request,
        form,
        lambda data: services.settings_update(membership=membership, **data),
        done="Guardrails saved.",
        then=reverse("cocreate:guardrails", kwargs={"slug": membership.workspace.slug}),
    )
    if saved is not None:
        return saved
    return render(request, "cocreate/guardrails.html", {"form": form})
