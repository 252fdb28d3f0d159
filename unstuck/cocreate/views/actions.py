"""What people do in a session, one service call per request: options, suggestions,
comments, scores, the phases, checklist, approval requests, decision, action items,
outcome and invitations."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from unstuck.cocreate import forms, services
from unstuck.cocreate.access import (
    get_session_for,
)
from unstuck.cocreate.models import (
    ActionItem,
    Option,
)
from unstuck.cocreate.views.sessions import _invalid, _run
from unstuck.core.decorators import workspace_view
from unstuck.core.http import AppRequest
from unstuck.core.models import Membership


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
