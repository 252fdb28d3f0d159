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
from unstuck.cocreate.views.sessions import _run
from unstuck.core.decorators import workspace_view
from unstuck.core.http import AppRequest
from unstuck.core.models import Membership


@workspace_view()
@require_POST
def option_add(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, take_part=True)
    form = forms.OptionForm(request.POST)
    return _run(
        request,
        membership,
        session,
        form,
        lambda data: services.session_add_option(
            membership=membership,
            session=session,
            draft_key=request.POST.get("draft_key", ""),
            **data,
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

    def accept(data: dict[str, Any]) -> object:
        key = data.pop("key")
        return services.suggestion_accept(
            membership=membership, session=session, key=key, edits=data if edited else None
        )

    return _run(
        request,
        membership,
        session,
        form,
        accept,
        "Suggestion added as an option.",
        partial="suggestions",
    )


@workspace_view()
@require_POST
def suggestion_ignore(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, take_part=True)
    form = forms.SuggestionForm(request.POST)
    return _run(
        request,
        membership,
        session,
        form,
        lambda data: services.suggestion_ignore(
            membership=membership, session=session, key=data["key"]
        ),
        "Suggestion set aside.",
        partial="suggestions",
    )


@workspace_view()
@require_POST
def comment_add(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, take_part=True)
    form = forms.CommentForm(request.POST)

    def comment(data: dict[str, Any]) -> object:
        option_pk = data["option"]
        option = get_object_or_404(Option, pk=option_pk, session=session) if option_pk else None
        return services.session_comment(
            membership=membership,
            session=session,
            text=data["text"],
            option=option,
            draft_key=request.POST.get("draft_key", ""),
        )

    return _run(
        request,
        membership,
        session,
        form,
        comment,
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
        None,
        lambda data: services.session_converge(membership=membership, session=session),
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
    return _run(
        request,
        membership,
        session,
        form,
        lambda data: services.option_score(membership=membership, option=option, **data),
        "Score saved.",
    )


@workspace_view()
@require_POST
def session_checklist(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, lead=True)
    form = forms.ChecklistForm(request.POST)
    return _run(
        request,
        membership,
        session,
        form,
        lambda data: services.session_checklist(membership=membership, session=session, **data),
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
    # An invalid note (over 2,000 characters) is refused, not dropped.
    form = forms.ApprovalRequestForm(request.POST)
    return _run(
        request,
        membership,
        session,
        form,
        lambda data: services.approval_request(
            membership=membership, option=option, note=data.get("note", "")
        ),
        "Approval requested from the leaders.",
    )


@workspace_view()
@require_POST
def session_decide(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, lead=True)
    options = list(session.options.all())
    form = forms.DecideForm(request.POST, options=[(o.pk, o.title) for o in options])

    def decide(data: dict[str, Any]) -> object:
        chosen = {int(v) for v in data["options"]}
        return services.session_decide(
            membership=membership,
            session=session,
            options=[o for o in options if o.pk in chosen],
            rationale=data["rationale"],
            draft_key=request.POST.get("draft_key", ""),
        )

    return _run(
        request,
        membership,
        session,
        form,
        decide,
        "Decided. Add the action items.",
        partial="page",
    )


@workspace_view()
@require_POST
def action_add(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, lead=True)
    people = Membership.objects.filter(workspace_id=session.workspace_id).select_related("user")
    form = forms.ActionItemForm(request.POST, owners=[(m.user_id, str(m.user)) for m in people])

    def add(data: dict[str, Any]) -> object:
        owner = next(m.user for m in people if m.user_id == int(data["owner"]))
        return services.action_item_add(
            membership=membership,
            session=session,
            text=data["text"],
            owner=owner,
            due_date=data["due_date"],
        )

    return _run(
        request,
        membership,
        session,
        form,
        add,
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
        None,
        lambda data: services.action_item_done(membership=membership, item=item),
        "Action item updated.",
        partial="page",
    )


@workspace_view()
@require_POST
def session_outcome(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, lead=True)
    form = forms.OutcomeForm(request.POST)
    return _run(
        request,
        membership,
        session,
        form,
        lambda data: services.session_record_outcome(
            membership=membership, session=session, **data
        ),
        "Outcome recorded; it shows in the deal's history.",
        partial="page",
    )


@workspace_view()
@require_POST
def session_invite(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, lead=True)
    form = forms.InviteForm(request.POST)

    def invite(data: dict[str, Any]) -> object:
        invitee = get_object_or_404(
            Membership.objects.select_related("user"),
            workspace_id=session.workspace_id,
            user_id=data["user"],
        )
        return services.session_invite(membership=membership, session=session, invitee=invitee)

    return _run(
        request,
        membership,
        session,
        form,
        invite,
        lambda participant: f"{participant.user.display_name} can now take part in this session.",
        partial="page",
    )
