"""Pages of Investigate: the innovation queue (a manager's home) and the investigation
actions posted from the deal page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from unstuck.core.access import get_deal_for
from unstuck.core.decorators import workspace_view
from unstuck.core.http import AppRequest
from unstuck.core.models import Membership, Role
from unstuck.core.submit import submit_and_redirect, submit_page
from unstuck.deals.models import Deal
from unstuck.investigate import forms, selectors, services
from unstuck.investigate.models import DecisionStep, InvestigationRequest, Obstacle


@workspace_view(Role.MANAGER, Role.LEADER)
def queue(request: AppRequest, membership: Membership) -> HttpResponse:
    show_all = request.GET.get("show") == "all"
    found = selectors.queue(membership, request.GET.get("page"), stuck_only=not show_all)
    context = {
        "page": found.page,
        "show_all": show_all,
        "summary": found.summary,
        "overdue": found.overdue,
        "score_model": found.score_model,
        "is_manager": membership.is_manager,  # asked once, not in each row
    }
    return render(request, "investigate/queue.html", context)


@workspace_view(Role.LEADER, Role.MANAGER, Role.REP)
def my_requests(request: AppRequest, membership: Membership) -> HttpResponse:
    """A rep's inbox: every request asked of them, with the answer box."""
    asked = selectors.requests_asked_of(membership)
    return render(request, "investigate/my_requests.html", {"asked": asked})


@workspace_view(Role.LEADER, Role.MANAGER, Role.REP)
def stall_settings(request: AppRequest, membership: Membership) -> HttpResponse:
    """Members may read the thresholds behind the flags (not partners); leaders change them."""
    from unstuck.investigate.benchmarks import stall_settings_for
    from unstuck.investigate.models import StageBenchmark

    workspace = membership.workspace
    current = stall_settings_for(workspace)
    form = forms.StallSettingsForm(request.POST or None, instance=current)
    saved = submit_page(
        request,
        form,
        lambda data: services.stall_settings_update(membership=membership, **data),
        done="Thresholds saved; the queue is being rescored.",
        then=reverse("investigate:settings", kwargs={"slug": workspace.slug}),
        check=lambda: services.stall_settings_require_change(membership),
    )
    if saved is not None:
        return saved
    benchmarks = StageBenchmark.objects.filter(workspace=workspace).select_related("stage")
    return render(
        request,
        "investigate/settings.html",
        {"form": form, "benchmarks": benchmarks, "can_change": membership.is_leader},
        status=400 if form.errors else 200,
    )


def _back(membership: Membership, deal: Deal) -> str:
    return f"/w/{membership.workspace.slug}/deals/{deal.pk}/#investigation"  # deals:detail


def _act(
    request: AppRequest,
    membership: Membership,
    pk: int,
    form_class: Callable[..., Form],
    action: Callable[[Deal, dict[str, Any]], object],
    done: str,
) -> HttpResponse:
    """A deal-page investigation action: the deal the person may change, then the shared
    form → service → message → back path."""
    deal = get_deal_for(membership, pk, write=True)
    return submit_and_redirect(
        request,
        form_class(request.POST),
        lambda data: action(deal, data),
        done=done,
        back=_back(membership, deal),
    )


@workspace_view()
@require_POST
def stakeholder_view(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    def action(deal: Deal, data: dict[str, Any]) -> object:
        stakeholder = get_object_or_404(deal.stakeholders, pk=data["stakeholder"])
        return services.stakeholder_view_update(
            membership=membership,
            stakeholder=stakeholder,
            financial_concerns=data["financial_concerns"],
            factors=data["factors"],
            version=data["version"],
        )

    return _act(request, membership, pk, forms.StakeholderViewForm, action, "Committee updated.")


@workspace_view()
@require_POST
def step_add(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    return _act(
        request,
        membership,
        pk,
        forms.DecisionStepForm,
        lambda deal, data: services.decision_step_add(membership=membership, deal=deal, **data),
        "Step added to the decision process.",
    )


@workspace_view()
@require_POST
def step_status(request: AppRequest, membership: Membership, pk: int, step_pk: int) -> HttpResponse:
    def action(deal: Deal, data: dict[str, Any]) -> object:
        step = get_object_or_404(DecisionStep, pk=step_pk, deal=deal)
        return services.decision_step_set_status(
            membership=membership, step=step, status=data["status"]
        )

    return _act(request, membership, pk, forms.StepStatusForm, action, "Step updated.")


@workspace_view()
@require_POST
def obstacle_add(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    def form_class(data: Any) -> Form:
        deal = get_deal_for(membership, pk)
        choices = [(s.pk, str(s.contact)) for s in deal.stakeholders.select_related("contact")]
        return forms.ObstacleForm(data, stakeholders=choices)

    def action(deal: Deal, data: dict[str, Any]) -> object:
        stakeholder = deal.stakeholders.filter(pk=data["stakeholder"]).first()
        return services.obstacle_add(
            deal=deal,
            kind=data["kind"],
            description=data["description"],
            evidence=data["evidence"],
            stakeholder=stakeholder if data["stakeholder"] else None,
            membership=membership,
        )

    return _act(request, membership, pk, form_class, action, "Obstacle logged.")


@workspace_view()
@require_POST
def obstacle_resolve(
    request: AppRequest, membership: Membership, pk: int, obstacle_pk: int
) -> HttpResponse:
    deal = get_deal_for(membership, pk, write=True)
    obstacle = get_object_or_404(Obstacle, pk=obstacle_pk, deal=deal)
    return submit_and_redirect(
        request,
        None,
        lambda _: services.obstacle_set_status(
            membership=membership, obstacle=obstacle, status="resolved"
        ),
        done="Obstacle marked resolved.",
        back=_back(membership, deal),
    )


@workspace_view()
@require_POST
def pain_update(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    return _act(
        request,
        membership,
        pk,
        forms.PainForm,
        lambda deal, data: services.pain_update(membership=membership, deal=deal, **data),
        "Pain and resolution saved.",
    )


@workspace_view()
@require_POST
def feedback_add(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    return _act(
        request,
        membership,
        pk,
        forms.FeedbackForm,
        lambda deal, data: services.feedback_add(membership=membership, deal=deal, **data),
        "Feedback logged.",
    )


@workspace_view(Role.MANAGER, Role.LEADER)
@require_POST
def request_create(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    return _act(
        request,
        membership,
        pk,
        forms.RequestForm,
        lambda deal, data: services.request_create(membership=membership, deal=deal, **data),
        "Request sent to the rep.",
    )


@workspace_view()
@require_POST
def request_answer(
    request: AppRequest, membership: Membership, pk: int, request_pk: int
) -> HttpResponse:
    # Reading the deal is enough: the service checks that this person was asked.
    deal = get_deal_for(membership, pk)
    item = get_object_or_404(InvestigationRequest, pk=request_pk, deal=deal)
    # Back where the answer was written: "My requests" or the deal page.
    if request.POST.get("back") == "mine":
        back = reverse("investigate:my-requests", kwargs={"slug": membership.workspace.slug})
    else:
        back = _back(membership, deal)
    return submit_and_redirect(
        request,
        forms.AnswerForm(request.POST),
        lambda data: services.request_answer(
            membership=membership, request=item, answer=data["answer"]
        ),
        done="Answer recorded.",
        back=back,
    )
