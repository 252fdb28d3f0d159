"""Pages of co-creation: starting a session from a stuck deal, the live session (diverge,
converge, decide, outcome), approvals for leaders, the lever catalogue and the guardrails.

Session actions answer htmx with the refreshed part of the page (and an `options-changed`
event so the live record reloads); without htmx they redirect back to the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import retarget, trigger_client_event

from unstuck.cocreate import forms, selectors, services
from unstuck.cocreate.access import (
    can_start_session,
    get_approval_for,
    get_lever_for,
    get_session_for,
    sessions_visible_to,
)
from unstuck.cocreate.generator import deal_facts
from unstuck.cocreate.models import (
    ActionItem,
    Clause,
    Lever,
    LeverFamily,
    Option,
    PaymentTerms,
    Phase,
    Session,
)
from unstuck.core.access import get_deal_for
from unstuck.core.decorators import workspace_view
from unstuck.core.errors import UnstuckError
from unstuck.core.http import AppRequest
from unstuck.core.models import Membership, Role
from unstuck.investigate.models import ObstacleStatus

SCORE_FIELDS = [
    ("value", "Value to the customer"),
    ("risk", "Risk to us (5 = safest)"),
    ("feasibility", "Feasibility"),
    ("payoff", "Payoff"),
]


def _session_url(membership: Membership, session: Session, anchor: str = "") -> str:
    return f"/w/{membership.workspace.slug}/cocreate/sessions/{session.pk}/{anchor}"


def _fail(request: AppRequest, exc: UnstuckError) -> HttpResponse | None:
    if exc.status_code == 403:
        raise PermissionDenied(exc.message) from exc
    if request.htmx:
        response = render(request, "cocreate/_partials/error.html", {"message": exc.message})
        response["HX-Reswap"] = "innerHTML"
        return retarget(response, "#session-error")
    messages.error(request, exc.message)
    return None


def _run(
    request: AppRequest,
    membership: Membership,
    session: Session,
    action: Callable[[], object],
    done: str,
    partial: str = "live",
) -> HttpResponse:
    """Call one service; answer htmx with the refreshed partial, else redirect back."""
    try:
        action()
    except UnstuckError as exc:
        failed = _fail(request, exc)
        if failed is not None:
            return failed
        return redirect(_session_url(membership, session))
    if request.htmx:
        session.refresh_from_db()
        if partial == "page":
            response = HttpResponse(status=204)
            response["HX-Refresh"] = "true"
            return response
        context = _session_context(request, membership, session)
        response = render(request, f"cocreate/_partials/{partial}.html", context)
        return trigger_client_event(response, "options-changed")
    messages.success(request, done)
    return redirect(_session_url(membership, session))


def _invalid(request: AppRequest, membership: Membership, session: Session, form: Any) -> Any:
    errors = "; ".join(" ".join(str(m) for m in v) for v in form.errors.values())
    return _fail(request, UnstuckError(f"Not saved — {errors}")) or redirect(
        _session_url(membership, session)
    )


# --- starting a session -----------------------------------------------------------------


@workspace_view(Role.MANAGER)
@require_http_methods(["GET", "POST"])
def session_start(request: AppRequest, membership: Membership, deal_pk: int) -> HttpResponse:
    deal = get_deal_for(membership, deal_pk, write=True)
    if not can_start_session(membership, deal):
        raise PermissionDenied("Only the deal's manager starts a co-creation session.")
    obstacles = list(deal.obstacles.filter(status=ObstacleStatus.OPEN))
    choices = [(o.pk, f"{o.get_kind_display()}: {o.description}") for o in obstacles]
    pain = getattr(deal, "pain", None)
    form = forms.StartForm(
        request.POST or None,
        obstacles=choices,
        initial={
            "ideal_outcome": pain.resolution if pain else "",
            "obstacles": [o.pk for o in obstacles],
        },
    )
    if request.method == "POST" and form.is_valid():
        chosen = {int(pk) for pk in form.cleaned_data["obstacles"]}
        try:
            session = services.session_start(
                membership=membership,
                deal=deal,
                ideal_outcome=form.cleaned_data["ideal_outcome"],
                obstacles=[o for o in obstacles if o.pk in chosen],
                draft_key=request.POST.get("draft_key", ""),
            )
        except UnstuckError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect(_session_url(membership, session))
    running = Session.objects.filter(deal=deal, phase__in=[Phase.DIVERGE, Phase.CONVERGE]).first()
    facts = deal_facts(deal)
    context = {
        "deal": deal,
        "form": form,
        "running": running,
        "facts": facts,
        "factors": [f for f, _ in facts.factors.most_common()],
    }
    return render(request, "cocreate/start.html", context, status=400 if form.errors else 200)


# --- the session ------------------------------------------------------------------------


def _session_context(
    request: AppRequest, membership: Membership, session: Session
) -> dict[str, Any]:
    record = selectors.session_record(membership, session)
    context: dict[str, Any] = {
        "session": session,
        "deal": session.deal,
        "record": record,
        "option_form": forms.OptionForm(),
        "score_choices": range(1, 6),
        "score_fields": SCORE_FIELDS,
        "clauses": Clause.choices,
        "payment_choices": PaymentTerms.choices,
    }
    if session.phase == Phase.DIVERGE and record.may_take_part:
        context["suggestions"] = selectors.open_suggestions(session)
    if record.may_lead:
        people = Membership.objects.filter(workspace_id=session.workspace_id).select_related("user")
        context["invitable"] = [
            m
            for m in people
            if m.role in {Role.PARTNER, Role.REP} and m.user not in record.participants
        ]
        context["owners"] = [m.user for m in people if m.role != Role.PARTNER]
        context["checklist_form"] = forms.ChecklistForm(
            initial={
                "alternatives_considered": session.alternatives_considered,
                "dissent_explored": session.dissent_explored,
                "premortem": session.premortem,
            }
        )
    return context


@workspace_view()
def session_detail(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk)
    return render(request, "cocreate/session.html", _session_context(request, membership, session))


@workspace_view()
def session_live(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    """The part of the session that refreshes itself: options, scores and comments."""
    session = get_session_for(membership, pk)
    context = _session_context(request, membership, session)
    return render(request, "cocreate/_partials/live.html", context)


@workspace_view()
def session_suggestions(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, take_part=True)
    context = _session_context(request, membership, session)
    return render(request, "cocreate/_partials/suggestions.html", context)


@workspace_view()
@require_POST
def option_add(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, take_part=True)
    form = forms.OptionForm(request.POST)
    if not form.is_valid():
        return _invalid(request, membership, session, form)
    return _run(
        request,
        membership,
        session,
        lambda: services.session_add_option(
            membership=membership,
            session=session,
            draft_key=request.POST.get("draft_key", ""),
            **form.cleaned_data,
        ),
        "Option added.",
    )


@workspace_view()
@require_POST
def suggestion_accept(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, take_part=True)
    edited = "title" in request.POST
    form: Any = (
        forms.EditedSuggestionForm(request.POST) if edited else forms.SuggestionForm(request.POST)
    )
    if not form.is_valid():
        return _invalid(request, membership, session, form)
    data = dict(form.cleaned_data)
    key = data.pop("key")
    return _run(
        request,
        membership,
        session,
        lambda: services.suggestion_accept(
            membership=membership, session=session, key=key, edits=data if edited else None
        ),
        "Suggestion added as an option.",
        partial="suggestions",
    )


@workspace_view()
@require_POST
def suggestion_ignore(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, take_part=True)
    form = forms.SuggestionForm(request.POST)
    if not form.is_valid():
        return _invalid(request, membership, session, form)
    return _run(
        request,
        membership,
        session,
        lambda: services.suggestion_ignore(
            membership=membership, session=session, key=form.cleaned_data["key"]
        ),
        "Suggestion set aside.",
        partial="suggestions",
    )


@workspace_view()
@require_POST
def comment_add(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, take_part=True)
    form = forms.CommentForm(request.POST)
    if not form.is_valid():
        return _invalid(request, membership, session, form)
    option_pk = form.cleaned_data["option"]
    option = get_object_or_404(Option, pk=option_pk, session=session) if option_pk else None
    return _run(
        request,
        membership,
        session,
        lambda: services.session_comment(
            membership=membership,
            session=session,
            text=form.cleaned_data["text"],
            option=option,
            draft_key=request.POST.get("draft_key", ""),
        ),
        "Comment added.",
    )


@workspace_view()
@require_POST
def session_converge(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, lead=True)
    return _run(
        request,
        membership,
        session,
        lambda: services.session_converge(membership=membership, session=session),
        "Converging: score every option.",
        partial="page",
    )


@workspace_view()
@require_POST
def option_score(
    request: AppRequest, membership: Membership, pk: int, option_pk: int
) -> HttpResponse:
    session = get_session_for(membership, pk, take_part=True)
    option = get_object_or_404(Option, pk=option_pk, session=session)
    form = forms.ScoreForm(request.POST)
    if not form.is_valid():
        return _invalid(request, membership, session, form)
    return _run(
        request,
        membership,
        session,
        lambda: services.option_score(membership=membership, option=option, **form.cleaned_data),
        "Score saved.",
    )


@workspace_view()
@require_POST
def session_checklist(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, lead=True)
    form = forms.ChecklistForm(request.POST)
    if not form.is_valid():
        return _invalid(request, membership, session, form)
    return _run(
        request,
        membership,
        session,
        lambda: services.session_checklist(
            membership=membership, session=session, **form.cleaned_data
        ),
        "Checklist answered.",
        partial="page",
    )


@workspace_view()
@require_POST
def approval_request(
    request: AppRequest, membership: Membership, pk: int, option_pk: int
) -> HttpResponse:
    session = get_session_for(membership, pk, lead=True)
    option = get_object_or_404(Option, pk=option_pk, session=session)
    form = forms.ApprovalRequestForm(request.POST)
    form.is_valid()
    return _run(
        request,
        membership,
        session,
        lambda: services.approval_request(
            membership=membership, option=option, note=form.cleaned_data.get("note", "")
        ),
        "Approval requested from the leaders.",
    )


@workspace_view()
@require_POST
def session_decide(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, lead=True)
    options = list(session.options.all())
    form = forms.DecideForm(request.POST, options=[(o.pk, o.title) for o in options])
    if not form.is_valid():
        return _invalid(request, membership, session, form)
    chosen = {int(v) for v in form.cleaned_data["options"]}
    return _run(
        request,
        membership,
        session,
        lambda: services.session_decide(
            membership=membership,
            session=session,
            options=[o for o in options if o.pk in chosen],
            rationale=form.cleaned_data["rationale"],
            draft_key=request.POST.get("draft_key", ""),
        ),
        "Decided. Add the action items.",
        partial="page",
    )


@workspace_view()
@require_POST
def action_add(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, lead=True)
    people = Membership.objects.filter(workspace_id=session.workspace_id).select_related("user")
    form = forms.ActionItemForm(request.POST, owners=[(m.user_id, str(m.user)) for m in people])
    if not form.is_valid():
        return _invalid(request, membership, session, form)
    owner = next(m.user for m in people if m.user_id == int(form.cleaned_data["owner"]))
    return _run(
        request,
        membership,
        session,
        lambda: services.action_item_add(
            membership=membership,
            session=session,
            text=form.cleaned_data["text"],
            owner=owner,
            due_date=form.cleaned_data["due_date"],
        ),
        "Action item added.",
        partial="page",
    )


@workspace_view()
@require_POST
def action_done(request: AppRequest, membership: Membership, pk: int, item_pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, take_part=True)
    item = get_object_or_404(ActionItem, pk=item_pk, session=session)
    return _run(
        request,
        membership,
        session,
        lambda: services.action_item_done(membership=membership, item=item),
        "Action item updated.",
        partial="page",
    )


@workspace_view()
@require_POST
def session_outcome(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, lead=True)
    form = forms.OutcomeForm(request.POST)
    if not form.is_valid():
        return _invalid(request, membership, session, form)
    return _run(
        request,
        membership,
        session,
        lambda: services.session_record_outcome(
            membership=membership, session=session, **form.cleaned_data
        ),
        "Outcome recorded; it shows in the deal's history.",
        partial="page",
    )


@workspace_view()
@require_POST
def session_invite(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, lead=True)
    form = forms.InviteForm(request.POST)
    if not form.is_valid():
        return _invalid(request, membership, session, form)
    invitee = get_object_or_404(
        Membership.objects.select_related("user"),
        workspace_id=session.workspace_id,
        user_id=form.cleaned_data["user"],
    )
    return _run(
        request,
        membership,
        session,
        lambda: services.session_invite(membership=membership, session=session, invitee=invitee),
        f"{invitee.user.display_name} can now take part in this session.",
        partial="page",
    )


@workspace_view()
def session_list(request: AppRequest, membership: Membership) -> HttpResponse:
    sessions = (
        sessions_visible_to(membership)
        .select_related("deal", "deal__account", "started_by")
        .order_by("-created_at")[:100]
    )
    return render(request, "cocreate/sessions.html", {"sessions": sessions})


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
    services.levers_ensure(workspace=membership.workspace)
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
