from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import retarget

from unstuck.core import csvexport
from unstuck.core.access import can_edit_deal, can_invite_partners, get_deal_for
from unstuck.core.decorators import workspace_view
from unstuck.core.errors import UnstuckError
from unstuck.core.http import AppRequest
from unstuck.core.models import Membership
from unstuck.core.submit import forbid, submit, submit_and_redirect
from unstuck.core.validation import parse_id
from unstuck.deals import selectors, services
from unstuck.deals.forms import StageMoveForm, StakeholderForm
from unstuck.deals.models import Deal, DealPartner, Stage, Stakeholder
from unstuck.deals.rows import rows_html
from unstuck.investigate.selectors import deal_reads


@workspace_view()
def pipeline(request: AppRequest, membership: Membership) -> HttpResponse:
    filters = _pipeline_filters(request, membership)
    choices = selectors.pipeline_filter_choices(membership, filters)
    # The totals count the filtered deals per currency: the pager's count is their sum. The
    # stages offered as filters weigh them (the totals read any other stage they meet).
    totals = selectors.pipeline_totals(
        membership, filters, probabilities={s.pk: s.probability for s in choices.stages}
    )
    count = sum(t.count for t in totals)
    page = selectors.pipeline_page(membership, filters, request.GET.get("page"), count=count)
    context = {
        "page": page,
        "rows": rows_html(page.object_list),
        "totals": totals,
        "filters": filters,
        "choices": choices,
        "sorts": selectors.SORT_LABELS,
        "statuses": selectors.STATUSES,
    }
    template = "deals/_partials/pipeline_table.html" if request.htmx else "deals/pipeline.html"
    return render(request, template, context)


def _pipeline_filters(request: AppRequest, membership: Membership) -> selectors.PipelineFilters:
    filters = selectors.PipelineFilters.from_query(request.GET)
    if filters.pipeline and filters.stage:
        # A stage of another pipeline would match nothing: say so and drop it.
        stage = Stage.objects.filter(
            pk=filters.stage, pipeline__workspace_id=membership.workspace_id
        ).first()
        if stage is None or stage.pipeline_id != filters.pipeline:
            filters.errors.append("That stage is not in the chosen pipeline; showing every stage.")
            filters.stage = None
    return filters


@workspace_view()
def pipeline_csv(request: AppRequest, membership: Membership) -> HttpResponse:
    """The pipeline's filtered view as CSV: every matching deal the member may see."""
    filters = _pipeline_filters(request, membership)
    writer = csvexport.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # so Excel opens the file as UTF-8
        yield writer.writerow(selectors.CSV_HEADER)
        for row in selectors.pipeline_csv_rows(membership, filters):
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    day = timezone.localdate().isoformat()
    name = f"{membership.workspace.slug}-pipeline-{filters.status}-{day}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    # Streamed: a large pipeline is never held in memory (the decorator's type says
    # HttpResponse).
    return response  # type: ignore[return-value]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _deal_context(membership: Membership, deal_pk: int) -> dict[str, object]:
    deal = get_deal_for(membership, deal_pk)
    # The member's workspace is the deal's (get_deal_for checked it): the cards that read
    # deal.workspace (stall settings, signals) need not fetch it again.
    deal.workspace = membership.workspace
    may_invite = can_invite_partners(membership, deal)
    invited = selectors.deal_partners(deal)
    invitable = selectors.invitable_partners(deal, invited) if may_invite else []
    # Read once what several cards show (committee, obstacles, pain), and pass it to each.
    reads = deal_reads(deal)
    return {
        "deal": deal,
        "deal_reads": reads,
        "can_edit": can_edit_deal(membership, deal),
        "can_invite": may_invite,
        "invited": invited,
        "invitable": invitable,
        "timeline": selectors.deal_timeline(deal, reads.stages),
        "activities": selectors.deal_activities(deal),
        "stakeholders": reads.stakeholders,
        "move_form": StageMoveForm(deal=deal, stages=reads.stages),
    }


@workspace_view()
def deal_detail(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    return render(request, "deals/deal_detail.html", _deal_context(membership, pk))


@workspace_view()
@require_POST
def deal_move(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    deal = get_deal_for(membership, pk, write=True)
    form = StageMoveForm(request.POST, deal=deal)
    try:
        submit(
            form,
            lambda data: services.deal_move_to_stage(
                deal=deal,
                stage=data["stage"],
                by=membership,
                amount=data["amount"],
                close_date=data["close_date"],
            ),
        )
    except UnstuckError as exc:
        forbid(exc)  # any other refusal is on the form, shown below
    else:
        messages.success(request, f"Moved to {deal.stage.name}.")
        return redirect("deals:detail", slug=membership.workspace.slug, pk=deal.pk)
    context = _deal_context(membership, pk)
    context["move_form"] = form
    return render(request, "deals/deal_detail.html", context, status=400)


def _stakeholder_list(
    request: AppRequest, membership: Membership, pk: int, status: int = 200
) -> HttpResponse:
    return render(
        request, "deals/_partials/stakeholders.html", _deal_context(membership, pk), status=status
    )


def _stakeholder_form_response(
    request: AppRequest,
    membership: Membership,
    deal: Deal,
    stakeholder: Stakeholder | None,
    initial: dict[str, object] | None = None,
) -> HttpResponse:
    """Show the add/edit form; on a valid POST save through the service and show the list."""
    form = StakeholderForm(request.POST or None, initial=initial)

    def save(data: dict[str, Any]) -> Stakeholder:
        if stakeholder is None:
            data.pop("version", None)
            return services.stakeholder_add(membership=membership, deal=deal, **data)
        return services.stakeholder_update(membership=membership, stakeholder=stakeholder, **data)

    if request.method == "POST":
        try:
            submit(form, save)
        except UnstuckError as exc:
            forbid(exc)  # any other refusal is on the form, shown below
        else:
            if request.htmx:
                return _stakeholder_list(request, membership, deal.pk)
            return redirect("deals:detail", slug=membership.workspace.slug, pk=deal.pk)
    context = {"deal": deal, "form": form, "stakeholder": stakeholder}
    if request.htmx:
        response = render(request, "deals/_partials/stakeholder_form.html", context)
        # Errors go back into the form, not over the committee list.
        return retarget(response, "#stakeholder-form") if form.errors else response
    return render(
        request, "deals/stakeholder_form.html", context, status=400 if form.errors else 200
    )


@workspace_view()
@require_http_methods(["GET", "POST"])
def stakeholder_new(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    deal = get_deal_for(membership, pk, write=True)
    return _stakeholder_form_response(request, membership, deal, None)


@workspace_view()
@require_http_methods(["GET", "POST"])
def stakeholder_edit(
    request: AppRequest, membership: Membership, pk: int, stakeholder_pk: int
) -> HttpResponse:
    deal = get_deal_for(membership, pk, write=True)
    stakeholder = get_object_or_404(
        Stakeholder.objects.select_related("contact"), pk=stakeholder_pk, deal=deal
    )
    initial = {
        "name": stakeholder.contact.name,
        "title": stakeholder.contact.title,
        "email": stakeholder.contact.email,
        "buying_role": stakeholder.buying_role,
        "influence": stakeholder.influence,
        "stance": stakeholder.stance,
        "notes": stakeholder.notes,
        "version": services.stakeholder_version(stakeholder),
    }
    return _stakeholder_form_response(request, membership, deal, stakeholder, initial)


@workspace_view()
@require_POST
def stakeholder_delete(
    request: AppRequest, membership: Membership, pk: int, stakeholder_pk: int
) -> HttpResponse:
    deal = get_deal_for(membership, pk, write=True)
    stakeholder = get_object_or_404(
        Stakeholder.objects.select_related("deal", "contact"), pk=stakeholder_pk, deal=deal
    )

    def remove(_: dict[str, Any]) -> None:
        services.stakeholder_remove(membership=membership, stakeholder=stakeholder)

    if not request.htmx:
        return submit_and_redirect(
            request,
            None,
            remove,
            done=f"{stakeholder.contact.name} is off the committee.",
            back=reverse("deals:detail", kwargs={"slug": membership.workspace.slug, "pk": deal.pk}),
        )
    try:
        submit(None, remove)
    except UnstuckError as exc:
        forbid(exc)
        return _stakeholder_list(request, membership, pk, status=exc.status_code)
    return _stakeholder_list(request, membership, pk)


@workspace_view()
@require_POST
def partner_invite(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    deal = get_deal_for(membership, pk, write=True)
    try:
        user_id = parse_id(request.POST.get("user", ""))
    except ValueError:
        raise Http404("No such partner.") from None
    partner = get_object_or_404(
        Membership.objects.select_related("user"), workspace_id=deal.workspace_id, user_id=user_id
    )
    return submit_and_redirect(
        request,
        None,
        lambda _: services.deal_invite_partner(deal=deal, partner=partner, by=membership),
        done=f"{partner.user.display_name} can now see this deal.",
        back=reverse("deals:detail", kwargs={"slug": membership.workspace.slug, "pk": deal.pk}),
    )


@workspace_view()
@require_POST
def partner_remove(
    request: AppRequest, membership: Membership, pk: int, user_pk: int
) -> HttpResponse:
    deal = get_deal_for(membership, pk, write=True)
    invite = get_object_or_404(
        DealPartner.objects.select_related("user"), deal=deal, user_id=user_pk
    )
    return submit_and_redirect(
        request,
        None,
        lambda _: services.deal_uninvite_partner(deal=deal, partner=invite.user, by=membership),
        done=f"{invite.user.display_name} no longer sees this deal.",
        back=reverse("deals:detail", kwargs={"slug": membership.workspace.slug, "pk": deal.pk}),
    )
