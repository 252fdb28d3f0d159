"""Writes of the playbook: write, edit, verify and retire plays, promote a decided
co-creation session to a play, and record that a play was applied to a deal. Each checks
who may do it; texts go through the bias detector like every other text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from unstuck.cocreate.models import LeverFamily, Phase, Session
from unstuck.core.access import can_edit_deal, deals_visible_to
from unstuck.core.errors import Conflict, NotAllowed, UnstuckError
from unstuck.core.models import Membership, Role, User
from unstuck.core.services import _clean, locked, row_version, save_fields
from unstuck.deals.models import Deal, Stage, StageChange
from unstuck.investigate.models import DealAssessment, ObstacleKind, ObstacleStatus
from unstuck.investigate.stall_signals import SIGNALS
from unstuck.share.models import Play, PlayApplication, PlaySource, PlayStatus
from unstuck.share.plays_access import can_curate, can_edit_play, can_verify_play
from unstuck.thinking.question_bank import Situation

EDITABLE = (
    "title",
    "situation",
    "what_to_do",
    "what_to_say",
    "obstacle_kinds",
    "stall_signals",
    "stages",
    "lever_families",
    "review_interval_days",
)


def _choices(values: Iterable[str], allowed: Iterable[str], field: str, noun: str) -> list[str]:
    values = [v for v in dict.fromkeys(values) if v]
    allowed_set = set(allowed)
    unknown = [v for v in values if v not in allowed_set]
    if unknown:
        raise UnstuckError(f"Unknown {noun}: {', '.join(unknown)}.", field=field)
    return values


def _stage_names(membership: Membership, names: Iterable[str]) -> list[str]:
    known = set(
        Stage.objects.filter(pipeline__workspace_id=membership.workspace_id).values_list(
            "name", flat=True
        )
    )
    return _choices(names, known, "stages", "stages")


def _verifier(membership: Membership, verifier: User | None) -> User:
    if verifier is None:
        return membership.user
    role = (
        Membership.objects.filter(workspace_id=membership.workspace_id, user=verifier)
        .values_list("role", flat=True)
        .first()
    )
    if role not in {Role.LEADER, Role.MANAGER}:
        raise UnstuckError("The verifier must be a manager or leader here.", field="verifier")
    return verifier


def _evidence(membership: Membership, deals: Sequence[Deal]) -> list[Deal]:
    ids = {d.pk for d in deals}
    seen = set(deals_visible_to(membership).filter(pk__in=ids).values_list("pk", flat=True))
    if seen != ids:
        raise UnstuckError("Some evidence deals are not deals you can see.", field="evidence")
    return list(deals)


def _fields(membership: Membership, values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for key in ("title", "situation", "what_to_do", "what_to_say"):
        if key in out:
            out[key] = (out[key] or "").strip()
    if "obstacle_kinds" in out:
        out["obstacle_kinds"] = _choices(
            out["obstacle_kinds"], ObstacleKind.values, "obstacle_kinds", "obstacle kinds"
        )
    if "stall_signals" in out:
        out["stall_signals"] = _choices(
            out["stall_signals"], SIGNALS, "stall_signals", "stall signals"
        )
    if "lever_families" in out:
        out["lever_families"] = _choices(
            out["lever_families"], LeverFamily.values, "lever_families", "lever families"
        )
    if "stages" in out:
        out["stages"] = _stage_names(membership, out["stages"])
    return out


def _check_text(membership: Membership, play: Play) -> None:
    from unstuck.thinking.services import text_check

    text = "\n".join(t for t in (play.situation, play.what_to_do, play.what_to_say) if t)
    if text.strip():
        text_check(
            workspace=membership.workspace,
            author=membership.user,
            text=text[:5000],
            subject=play,
            context="play",
            situation=Situation.EVALUATING,
        )


@transaction.atomic
def play_create(
    *,
    membership: Membership,
    title: str,
    what_to_do: str,
    situation: str = "",
    what_to_say: str = "",
    obstacle_kinds: Sequence[str] = (),
    stall_signals: Sequence[str] = (),
    stages: Sequence[str] = (),
    lever_families: Sequence[str] = (),
    evidence: Sequence[Deal] = (),
    verifier: User | None = None,
    review_interval_days: int = 90,
) -> Play:
    """A manager or leader writes a play by hand; it starts as a draft until verified."""
    if not can_curate(membership):
        raise NotAllowed("Only managers and leaders write plays.")
    values = _fields(
        membership,
        {
            "title": title,
            "situation": situation,
            "what_to_do": what_to_do,
            "what_to_say": what_to_say,
            "obstacle_kinds": list(obstacle_kinds),
            "stall_signals": list(stall_signals),
            "stages": list(stages),
            "lever_families": list(lever_families),
        },
    )
    play = Play(
        workspace_id=membership.workspace_id,
        owner=membership.user,
        verifier=_verifier(membership, verifier),
        review_interval_days=review_interval_days,
        **values,
    )
    _clean(play)
    play.save()
    play.evidence_deals.set(_evidence(membership, evidence))
    _check_text(membership, play)
    return play


@transaction.atomic
@transaction.atomic
def play_update(
    *,
    membership: Membership,
    play: Play,
    evidence: Sequence[Deal] | None = None,
    verifier: User | None = None,
    version: str | None = None,
    **changes: Any,
) -> Play:
    """Edit a play (owner, verifier or leader). Changing what it says keeps its status; the
    verifier confirms it at the next review.

    The row is locked and only what is given is saved, so a verification (or retirement) at
    the same moment is not undone by the edit. The edit form passes the version it showed
    (core.services.row_version): over a newer save nothing is saved and the Conflict says so."""
    if not can_edit_play(membership, play):
        raise NotAllowed("Only the play's owner, its verifier or a leader edits it.")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise UnstuckError(f"Cannot change {', '.join(sorted(unknown))}.")
    row = locked(play)
    if version is not None and version != row_version(row):
        raise Conflict(
            f"Someone saved “{row.title}” since you opened it, so your edit was not saved. "
            "Reload to see their change, then edit again."
        )
    values = _fields(membership, changes)
    for key, value in values.items():
        setattr(row, key, value)
    changed = list(values)
    if verifier is not None:
        row.verifier = _verifier(membership, verifier)
        changed.append("verifier")
    _clean(row)
    save_fields(row, changed)
    if evidence is not None:
        row.evidence_deals.set(_evidence(membership, evidence))
    if {"situation", "what_to_do", "what_to_say"} & set(changes):
        _check_text(membership, row)
    return row


def play_verify(*, membership: Membership, play: Play) -> Play:
    """The verifier (or a leader) confirms the play is right; the review clock restarts."""
    if not can_verify_play(membership, play):
        raise NotAllowed("Only the play's verifier or a leader verifies it.")
    if play.status == PlayStatus.RETIRED:
        raise Conflict("The play is retired; restore it by editing a copy.")
    play.status = PlayStatus.VERIFIED
    play.verified_at = timezone.now()
    play.save(update_fields=["status", "verified_at", "updated_at"])
    return play


def play_retire(*, membership: Membership, play: Play, reason: str = "") -> Play:
    """Take a play out of the playbook; its applications and measured outcome stay."""
    if not can_edit_play(membership, play):
        raise NotAllowed("Only the play's owner, its verifier or a leader retires it.")
    if play.status == PlayStatus.RETIRED:
        raise Conflict("The play is already retired.")
    play.status = PlayStatus.RETIRED
    play.retired_at = timezone.now()
    play.retired_reason = reason.strip()[:300]
    play.save(update_fields=["status", "retired_at", "retired_reason", "updated_at"])
    return play


def _stage_at(deal: Deal, moment: datetime | None) -> Stage:
    if moment is None:
        return deal.stage
    change = (
        StageChange.objects.filter(deal=deal, changed_at__lte=moment)
        .select_related("to_stage")
        .order_by("-changed_at", "-pk")
        .first()
    )
    return change.to_stage if change else deal.stage


@transaction.atomic
def play_promote_session(*, membership: Membership, session: Session) -> Play:
    """One click from a decided session to a draft play: the chosen option says what to do,
    the rationale why; the deal's obstacles, its stage at the decision, the chosen levers'
    families and the outcome are prefilled; the deal is the first evidence."""
    from unstuck.cocreate.access import can_lead
    from unstuck.cocreate.selectors import outcome_proposal

    if not (membership.role == Role.LEADER or can_lead(membership, session)):
        raise NotAllowed("Only the session's manager or a leader promotes its decision.")
    if session.phase not in {Phase.DECIDED, Phase.CLOSED}:
        raise Conflict("Promote a session once it is decided.")
    existing = Play.objects.filter(source_session=session).first()
    if existing is not None:
        raise Conflict(f"This decision is already the play “{existing.title}”.")
    chosen = list(session.options.filter(is_chosen=True).select_related("lever"))
    if not chosen:
        raise Conflict("The session has no chosen option to promote.")
    deal = session.deal
    obstacles = list(session.obstacles.all()) or list(
        deal.obstacles.filter(status=ObstacleStatus.OPEN)
    )
    assessment = DealAssessment.objects.filter(deal=deal).first()
    signals = [s.get("code", "") for s in (assessment.signals if assessment else [])]
    outcome = session.outcome
    if not outcome:
        proposal = outcome_proposal(session)
        outcome = proposal.outcome if proposal else ""
    what = "\n\n".join(
        f"{o.title}: {o.description}".rstrip(": ") if o.description else o.title for o in chosen
    )
    play = Play(
        workspace_id=session.workspace_id,
        title=" + ".join(o.title for o in chosen)[:200],
        situation=(
            f"Promoted from the session on {deal.name} "
            f"({session.decided_at:%b %d, %Y}). Customer's ideal outcome: "
            f"{session.ideal_outcome.strip()}"
            if session.decided_at
            else session.ideal_outcome.strip()
        ),
        obstacle_kinds=list(dict.fromkeys(o.kind for o in obstacles)),
        stall_signals=[s for s in dict.fromkeys(signals) if s in SIGNALS],
        stages=[_stage_at(deal, session.decided_at).name],
        lever_families=list(dict.fromkeys(o.lever.family for o in chosen if o.lever)),
        what_to_do=what,
        what_to_say=session.rationale,
        owner=membership.user,
        verifier=membership.user,
        source_session=session,
        source_outcome=outcome,
    )
    _clean(play)
    play.save()
    play.evidence_deals.set([deal])
    return play


def play_apply(
    *,
    membership: Membership,
    play: Play,
    deal: Deal,
    source: str = PlaySource.DEAL,
    session: Session | None = None,
    note: str = "",
    at: datetime | None = None,
) -> PlayApplication:
    """Record that a play was applied to a deal, with the deal's stage and stall score at
    that moment (the clock of the play's measured outcome starts here)."""
    if deal.workspace_id != membership.workspace_id or play.workspace_id != deal.workspace_id:
        raise UnstuckError("That play and deal are not in this workspace.")
    if not can_edit_deal(membership, deal):
        raise NotAllowed("Only people who work the deal record a play on it.")
    if play.status == PlayStatus.RETIRED:
        raise Conflict("The play is retired.")
    if not deal.is_open:
        raise Conflict("The deal is closed; plays are applied to open deals.")
    if session is not None and session.deal_id != deal.pk:
        raise UnstuckError("That session is on another deal.", field="session")
    if source not in PlaySource.values:
        raise UnstuckError("Unknown source.", field="source")
    score = DealAssessment.objects.filter(deal=deal).values_list("stall_score", flat=True).first()
    if score is None:  # not assessed yet (no recomputation since it arrived): score it now
        from unstuck.investigate.stall_signals import signals_for_deal

        row = signals_for_deal(deal.workspace, deal.pk)
        score = int(row["stall_score"]) if row else 0
    application = PlayApplication(
        workspace_id=deal.workspace_id,
        play=play,
        deal=deal,
        applied_by=membership.user,
        applied_at=at or timezone.now(),
        stage_id=deal.stage_id,
        stall_score=score,
        session=session,
        source=source,
        note=note.strip()[:300],
    )
    _clean_application(application)
    try:
        with transaction.atomic():
            application.save()
    except IntegrityError:
        raise Conflict("This play is already recorded on this deal.") from None
    from unstuck.share.plays_tasks import refresh_play_outcome

    transaction.on_commit(lambda: refresh_play_outcome.enqueue(play.pk))
    return application


def play_outcome_refresh(*, membership: Membership, play: Play) -> bool:
    """Queue a fresh measurement of the play's outcome (the background task stores it; a
    page or API read never computes it). Anyone who may see the play may ask; nothing is
    queued when the stored figure is already today's for the current applications. Returns
    whether a refresh was queued."""
    from unstuck.share.plays_outcomes import outcome_is_fresh
    from unstuck.share.plays_tasks import refresh_play_outcome

    if play.workspace_id != membership.workspace_id:
        raise UnstuckError("That play is not in this workspace.")
    if outcome_is_fresh(play):
        return False
    transaction.on_commit(lambda: refresh_play_outcome.enqueue(play.pk))
    return True


def _clean_application(application: PlayApplication) -> None:
    # The unique (play, deal) pair is checked by the insert itself, so two clicks at once
    # cannot both pass a check made before it.
    existing = PlayApplication.objects.filter(play=application.play, deal=application.deal)
    first = existing.values_list("applied_at", flat=True).first()
    if first is not None:
        raise Conflict(f"This play is already recorded on this deal (since {first:%b %d, %Y}).")
    _clean_fields(application)


def _clean_fields(obj: PlayApplication) -> None:
    try:
        obj.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise UnstuckError("; ".join(exc.messages)) from exc
