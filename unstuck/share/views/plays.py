"""Pages of the playbook: the list (search, filters, due, trust), a play with its measured
outcome, writing and editing, and the one-click actions (verify, retire, apply to a deal,
promote a decided session)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from unstuck.cocreate.access import get_session_for
from unstuck.cocreate.models import Session
from unstuck.core.access import deals_editable_by, deals_visible_to, get_deal_for
from unstuck.core.decorators import workspace_view
from unstuck.core.errors import UnstuckError
from unstuck.core.http import AppRequest
from unstuck.core.models import Membership, Role
from unstuck.core.services import row_version
from unstuck.core.submit import forbid, posted_next, submit, submit_and_redirect, submit_page
from unstuck.deals.models import Deal, StageKind
from unstuck.share import plays_forms as forms
from unstuck.share.models import Play, PlayApplication, PlayStatus
from unstuck.share.plays_access import (
    can_curate,
    can_edit_play,
    can_verify_play,
    get_play_for,
)
from unstuck.share.plays_outcomes import ARMS, outcome_panel, stored_outcome
from unstuck.share.selectors import plays as selectors
from unstuck.share.services import plays as services

APPLY_CHOICES_LIMIT = 200


def _play_url(membership: Membership, play: Play) -> str:
    return reverse("share:play", kwargs={"slug": membership.workspace.slug, "pk": play.pk})


@workspace_view()
@require_http_methods(["GET"])
def play_list(request: AppRequest, membership: Membership) -> HttpResponse:
    form = forms.PlayFilterForm(request.GET or None, membership=membership)
    filters: dict[str, Any] = {}
    if form.is_valid():
        d = form.cleaned_data
        filters = {
            "q": d["q"],
            "status": d["status"],
            "obstacle_kind": d["obstacle"],
            "stage": d["stage"],
            "due": d["due"],
            "retire": d["retire"],
        }
    plays = selectors.play_list(membership, **filters)
    curator = can_curate(membership)
    return render(
        request,
        "share/plays/list.html",
        {
            "form": form,
            "plays": plays,
            "trust": selectors.playbook_trust(membership.workspace) if curator else None,
            "may_write": curator,
            "filtered": any(filters.values()),
        },
        status=400 if form.errors else 200,
    )


@workspace_view()
@require_http_methods(["GET"])
def play_detail(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    play = get_play_for(membership, pk)
    panel = outcome_panel(stored_outcome(play))
    applicable: list[Deal] = []
    if play.status != PlayStatus.RETIRED and membership.role != Role.PARTNER:
        applicable = list(
            deals_editable_by(membership)
            .filter(status=StageKind.OPEN)
            .exclude(play_applications__play=play)
            .select_related("stage")
            .order_by("name", "pk")[:APPLY_CHOICES_LIMIT]
        )
    return render(
        request,
        "share/plays/detail.html",
        {
            "play": play,
            "panel": panel,
            "applications": selectors.visible_applications(membership, play),
            "evidence": selectors.visible_evidence(membership, play),
            "evidence_total": play.evidence_deals.count(),
            "may_edit": can_edit_play(membership, play),
            "may_verify": can_verify_play(membership, play) and play.status != PlayStatus.RETIRED,
            "applicable": applicable,
            "arms": list(ARMS.values()),
        },
    )


def _initial(play: Play) -> dict[str, Any]:
    return {
        "title": play.title,
        "situation": play.situation,
        "obstacle_kinds": play.obstacle_kinds,
        "stall_signals": play.stall_signals,
        "stages": play.stages,
        "lever_families": play.lever_families,
        "what_to_do": play.what_to_do,
        "what_to_say": play.what_to_say,
        "evidence": ", ".join(
            play.evidence_deals.order_by("pk").values_list("external_id", flat=True)
        ),
        "verifier": play.verifier_id,
        "review_interval_days": play.review_interval_days,
        "version": row_version(play),
    }


def _evidence_deals(membership: Membership, text: str) -> list[Deal]:
    ids = [x.strip() for x in text.replace("\n", ",").split(",") if x.strip()]
    if not ids:
        return []
    deals = list(deals_visible_to(membership).filter(external_id__in=ids))
    missing = set(ids) - {d.external_id for d in deals}
    if missing:
        raise UnstuckError(
            f"No deal you can see has the id {', '.join(sorted(missing))}.", field="evidence"
        )
    return deals


@workspace_view(Role.LEADER, Role.MANAGER)
@require_http_methods(["GET", "POST"])
def play_edit(request: AppRequest, membership: Membership, pk: int | None = None) -> HttpResponse:
    play = get_play_for(membership, pk, edit=True) if pk is not None else None
    form = forms.PlayForm(
        request.POST or None,
        membership=membership,
        initial=_initial(play) if play else {"review_interval_days": 90},
    )

    def save(data: dict[str, Any]) -> Play:
        data["evidence"] = _evidence_deals(membership, data.pop("evidence"))
        version = data.pop("version")
        if play is None:
            return services.play_create(membership=membership, **data)
        return services.play_update(membership=membership, play=play, version=version, **data)

    saved = submit_page(
        request,
        form,
        save,
        done="Play saved." if play else "Play saved as a draft; its verifier confirms it.",
        then=lambda saved: _play_url(membership, saved),
    )
    if saved is not None:
        return saved
    return render(
        request,
        "share/plays/edit.html",
        {"form": form, "play": play},
        status=400 if form.errors else 200,
    )


@workspace_view()
@require_POST
def play_verify(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    play = get_play_for(membership, pk, verify=True)
    return submit_and_redirect(
        request,
        None,
        lambda _: services.play_verify(membership=membership, play=play),
        done="Verified: the play is in the playbook until its next review.",
        back=_play_url(membership, play),
    )


@workspace_view()
@require_POST
def play_retire(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    play = get_play_for(membership, pk, edit=True)
    return submit_and_redirect(
        request,
        forms.RetireForm(request.POST),
        lambda data: services.play_retire(membership=membership, play=play, reason=data["reason"]),
        done="Retired; its applications and measured outcome stay on record.",
        back=_play_url(membership, play),
    )


@workspace_view()
@require_POST
def play_outcome_refresh(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    """Ask for a fresh measurement: queued for the background worker, never computed here."""
    play = get_play_for(membership, pk)
    return submit_and_redirect(
        request,
        None,
        lambda _: services.play_outcome_refresh(membership=membership, play=play),
        done=lambda queued: (
            "Queued: the outcome is measured again in the background; reload in a minute."
            if queued
            else "The outcome is already measured on today's data."
        ),
        back=_play_url(membership, play) + "#outcome",
    )


@workspace_view()
@require_POST
def play_apply(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    play = get_play_for(membership, pk)

    def apply(d: dict[str, Any]) -> PlayApplication:
        deal = get_deal_for(membership, d["deal"], write=True)
        session: Session | None = None
        if d["session"]:
            session = get_session_for(membership, d["session"], take_part=True)
        return services.play_apply(
            membership=membership,
            play=play,
            deal=deal,
            source=d["source"] or ("session" if session else "deal"),
            session=session,
            note=d["note"],
        )

    return submit_and_redirect(
        request,
        forms.ApplyForm(request.POST),
        apply,
        done=lambda applied: f"Recorded: “{play.title}” applied to {applied.deal.name}.",
        back=posted_next(request, _play_url(membership, play)),
    )


@workspace_view()
@require_POST
def play_promote(request: AppRequest, membership: Membership, session_pk: int) -> HttpResponse:
    session = get_session_for(membership, session_pk)
    try:
        play = submit(
            None, lambda _: services.play_promote_session(membership=membership, session=session)
        )
    except UnstuckError as exc:
        forbid(exc)  # any other refusal goes back to the session, said
        messages.error(request, exc.message)
        return redirect(
            reverse(
                "cocreate:session", kwargs={"slug": membership.workspace.slug, "pk": session.pk}
            )
        )
    messages.success(request, "Promoted to a draft play: check it, then verify it.")
    return redirect(_play_url(membership, play))
