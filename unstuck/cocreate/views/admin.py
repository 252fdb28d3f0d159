"""Pages leaders and managers use around sessions: approvals beyond the guardrails, the
lever catalogue and the guardrails themselves."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
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
from unstuck.core.errors import UnstuckError
from unstuck.core.http import AppRequest
from unstuck.core.models import Membership, Role

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
    form = forms.ApprovalDecideForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Approve or decline, and give the manager a reason.")
        return redirect("cocreate:approvals", slug=membership.workspace.slug)
    try:
        services.approval_decide(
            membership=membership,
            approval=approval,
            approve=form.cleaned_data["decision"] == "approve",
            reason=form.cleaned_data["reason"],
        )
    except UnstuckError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{approval.get_status_display()}: {approval.option.title}.")
    return redirect("cocreate:approvals", slug=membership.workspace.slug)


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
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["term_months"] = data["term_months"] or None
        try:
            services.lever_save(membership=membership, lever=lever, **data)
        except UnstuckError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, "Lever saved.")
            return redirect("cocreate:levers", slug=membership.workspace.slug)
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
    if request.method == "POST" and form.is_valid():
        try:
            services.settings_update(membership=membership, **form.cleaned_data)
        except UnstuckError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Guardrails saved.")
            return redirect("cocreate:guardrails", slug=membership.workspace.slug)
    return render(request, "cocreate/guardrails.html", {"form": form})
