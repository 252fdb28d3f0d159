"""Pages of a co-creation session: starting it from a stuck deal, the live session (diverge,
converge, decide, outcome) and the list of sessions.

Session actions answer htmx with the refreshed part of the page (and an `options-changed`
event so the live record reloads); without htmx they redirect back to the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.forms import Form
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from django_htmx.http import retarget, trigger_client_event

from unstuck.cocreate import forms, selectors, services
from unstuck.cocreate.access import (
    can_start_session,
    get_session_for,
    sessions_visible_to,
)
from unstuck.cocreate.generator import deal_facts
from unstuck.cocreate.models import (
    Clause,
    PaymentTerms,
    Phase,
    Session,
)
from unstuck.core.access import get_deal_for
from unstuck.core.decorators import workspace_view
from unstuck.core.errors import UnstuckError
from unstuck.core.http import AppRequest
from unstuck.core.models import Membership, Role
from unstuck.core.submit import forbid, submit, submit_and_redirect, submit_page
from unstuck.investigate.models import ObstacleStatus

SCORE_FIELDS = [
    ("value", "Value to the customer"),
    ("risk", "Risk to us (5 = safest)"),
    ("feasibility", "Feasibility"),
    ("payoff", "Payoff"),
]


def _session_url(membership: Membership, session: Session, anchor: str = "") -> str:
    return f"/w/{membership.workspace.slug}/cocreate/sessions/{session.pk}/{anchor}"


def _run(
    request: AppRequest,
    membership: Membership,
    session: Session,
    form: Form | None,
    action: Callable[[dict[str, Any]], Any],
    done: str | Callable[[Any], str],
    partial: str = "live",
) -> HttpResponse:
    """Submit the form to one service (core.submit); without htmx, the shared message and
    redirect back to the session. With htmx, the refreshed partial, and a refusal (the form's
    or the service's) as the session's error; a 403 stays a 403 either way."""
    if not request.htmx:
        return submit_and_redirect(
            request, form, action, done=done, back=_session_url(membership, session)
        )
    try:
        submit(form, action)
    except UnstuckError as exc:
        forbid(exc)
        response = render(request, "cocreate/_partials/error.html", {"message": exc.message})
        response["HX-Reswap"] = "innerHTML"
        return retarget(response, "#session-error")
    session.refresh_from_db()
    if partial == "page":
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    context = _session_context(request, membership, session, suggestions=partial == "suggestions")
    response = render(request, f"cocreate/_partials/{partial}.html", context)
    return trigger_client_event(response, "options-changed")


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

    def start(data: dict[str, Any]) -> Session:
        chosen = {int(pk) for pk in data["obstacles"]}
        return services.session_start(
            membership=membership,
            deal=deal,
            ideal_outcome=data["ideal_outcome"],
            obstacles=[o for o in obstacles if o.pk in chosen],
            draft_key=request.POST.get("draft_key", ""),
        )

    started = submit_page(
        request, form, start, done=None, then=lambda session: _session_url(membership, session)
    )
    if started is not None:
        return started
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
    request: AppRequest, membership: Membership, session: Session, *, suggestions: bool = True
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
    if suggestions and session.phase == Phase.DIVERGE and record.may_take_part:
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
    context = _session_context(request, membership, session, suggestions=False)
    return render(request, "cocreate/_partials/live.html", context)


@workspace_view()
def session_suggestions(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    session = get_session_for(membership, pk, take_part=True)
    context = _session_context(request, membership, session)
    return render(request, "cocreate/_partials/suggestions.html", context)


@workspace_view()
def session_list(request: AppRequest, membership: Membership) -> HttpResponse:
    sessions = (
        sessions_visible_to(membership)
        .select_related("deal", "deal__account", "started_by")
        .order_by("-created_at")[:100]
    )
    return render(request, "cocreate/sessions.html", {"sessions": sessions})
