"""Writes of a session through its phases: start, options (written or from suggestions),
comments held while diverging, scores, checklist, decision, action items and outcome.
Everything people write is checked by the bias detector and the flags tied to what was saved."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from unstuck.cocreate import guardrails
from unstuck.cocreate.models import (
    ActionItem,
    Option,
    Outcome,
    Participant,
    Phase,
    Session,
    SuggestionAction,
    SuggestionFeedback,
)
from unstuck.cocreate.services._common import _check, _require_lead, _require_part
from unstuck.cocreate.services.levers import settings_for
from unstuck.core.errors import Conflict, NotAllowed, UnstuckError
from unstuck.core.models import Membership, User
from unstuck.core.services import _clean, locked, save_fields
from unstuck.deals.models import Deal
from unstuck.investigate.models import Obstacle
from unstuck.thinking.question_bank import Situation


@transaction.atomic
def session_start(
    *,
    membership: Membership,
    deal: Deal,
    ideal_outcome: str,
    obstacles: list[Obstacle] | None = None,
    draft_key: str = "",
) -> Session:
    """The deal's manager starts a session from the customer's ideal business outcome."""
    from unstuck.cocreate.access import can_start_session

    if not can_start_session(membership, deal):
        raise NotAllowed("Only the deal's manager starts a co-creation session.")
    if not deal.is_open:
        raise Conflict("The deal is closed; start sessions on open deals.")
    if not ideal_outcome.strip():
        raise UnstuckError(
            "Start from the customer's ideal business outcome.", field="ideal_outcome"
        )
    if Session.objects.filter(deal=deal, phase__in=[Phase.DIVERGE, Phase.CONVERGE]).exists():
        raise Conflict("This deal already has a session in progress.")
    obstacles = list(obstacles or [])
    if any(o.deal_id != deal.pk for o in obstacles):
        raise UnstuckError("Those obstacles are not on this deal.", field="obstacles")
    session = Session(
        workspace_id=deal.workspace_id,
        deal=deal,
        started_by=membership.user,
        ideal_outcome=ideal_outcome.strip(),
    )
    _clean(session)
    session.save()
    session.obstacles.set(obstacles)
    _check(
        session=session,
        author=membership.user,
        text=session.ideal_outcome,
        subject=session,
        context="session_outcome",
        situation=Situation.DIAGNOSING,
        draft_key=draft_key,
    )
    return session


def session_invite(*, membership: Membership, session: Session, invitee: Membership) -> Participant:
    """The manager invites someone (a partner from finance or legal, another rep)."""
    _require_lead(membership, session)
    if invitee.workspace_id != session.workspace_id:
        raise UnstuckError("That person is not in this workspace.", field="user")
    participant, _ = Participant.objects.get_or_create(
        session=session, user=invitee.user, defaults={"invited_by": membership.user}
    )
    return participant


@transaction.atomic
def session_converge(*, membership: Membership, session: Session) -> Session:
    """The manager moves on to scoring once there are enough options; held comments are
    released."""
    _require_lead(membership, session)
    session = locked(session)
    if session.phase != Phase.DIVERGE:
        raise Conflict("The session is not diverging.")
    need = settings_for(session.deal.workspace).min_options
    have = session.options.count()
    if have < need:
        raise Conflict(
            f"Keep diverging: {have} option{'s' if have != 1 else ''} so far, and this "
            f"workspace asks for at least {need} before narrowing."
        )
    now = timezone.now()
    session.phase = Phase.CONVERGE
    session.converge_at = now
    session.save(update_fields=["phase", "converge_at"])
    session.comments.filter(held=True, released_at__isnull=True).update(released_at=now)
    return session


@transaction.atomic
def session_checklist(
    *,
    membership: Membership,
    session: Session,
    alternatives_considered: str,
    dissent_explored: str,
    premortem: str,
) -> Session:
    """The pre-decision checklist, answered in the record by the manager."""
    _require_lead(membership, session)
    session = locked(session)
    if session.phase != Phase.CONVERGE:
        raise Conflict("The checklist is answered while converging, before the decision.")
    session.alternatives_considered = alternatives_considered.strip()
    session.dissent_explored = dissent_explored.strip()
    session.premortem = premortem.strip()
    _clean(session)
    session.save(update_fields=["alternatives_considered", "dissent_explored", "premortem"])
    for field, text in (
        ("alternatives", session.alternatives_considered),
        ("dissent", session.dissent_explored),
        ("premortem", session.premortem),
    ):
        _check(
            session=session,
            author=membership.user,
            text=text,
            subject=session,
            context=f"session_{field}",
            situation=Situation.EVALUATING,
        )
    return session


@transaction.atomic
def session_decide(
    *,
    membership: Membership,
    session: Session,
    options: list[Option],
    rationale: str,
    draft_key: str = "",
) -> Session:
    """The manager picks one or more options, with a rationale, once the checklist is
    answered. An option beyond the guardrails needs a leader's approval of its terms."""
    _require_lead(membership, session)
    session = locked(session)
    if session.phase != Phase.CONVERGE:
        raise Conflict("Decide after converging.")
    if not options:
        raise UnstuckError("Pick at least one option.", field="options")
    if any(o.session_id != session.pk for o in options):
        raise UnstuckError("Those options are not in this session.", field="options")
    if not rationale.strip():
        raise UnstuckError("Say why these options.", field="rationale")
    if not (session.alternatives_considered and session.dissent_explored and session.premortem):
        raise Conflict("Answer the checklist first: alternatives, dissent and the premortem.")
    rules = settings_for(session.deal.workspace)
    for option in options:
        if guardrails.option_breaches(option, rules) and not guardrails.approval_covers(option):
            raise NotAllowed(
                f"“{option.title}” goes beyond the guardrails and needs a leader's approval "
                "before it can be chosen."
            )
    session.options.filter(pk__in=[o.pk for o in options]).update(is_chosen=True)
    session.rationale = rationale.strip()
    session.phase = Phase.DECIDED
    session.decided_by = membership.user
    session.decided_at = timezone.now()
    _clean(session)
    save_fields(session, ["rationale", "phase", "decided_by", "decided_at"])
    SuggestionFeedback.objects.bulk_create(
        SuggestionFeedback(
            workspace_id=session.workspace_id,
            session=session,
            key=o.suggestion_key,
            action=SuggestionAction.CHOSEN,
            user=membership.user,
        )
        for o in options
        if o.suggestion_key
    )
    _check(
        session=session,
        author=membership.user,
        text=session.rationale,
        subject=session,
        context="session_rationale",
        situation=Situation.EVALUATING,
        draft_key=draft_key,
    )
    return session


def action_item_add(
    *, membership: Membership, session: Session, text: str, owner: User, due_date: date
) -> ActionItem:
    _require_lead(membership, session)
    if session.phase != Phase.DECIDED:
        raise Conflict("Action items follow the decision.")
    if not Membership.objects.filter(workspace_id=session.workspace_id, user=owner).exists():
        raise UnstuckError("The owner must be in this workspace.", field="owner")
    item = ActionItem(session=session, text=text.strip(), owner=owner, due_date=due_date)
    _clean(item)
    item.save()
    return item


@transaction.atomic
def action_item_done(*, membership: Membership, item: ActionItem) -> ActionItem:
    _require_part(membership, item.session)
    # Locked: two people ticking it at once toggle it twice, each from the other's result.
    item = locked(item)
    item.done_at = None if item.done_at else timezone.now()
    item.save(update_fields=["done_at"])
    return item


@transaction.atomic
def session_record_outcome(
    *, membership: Membership, session: Session, outcome: str, note: str = ""
) -> Session:
    """Later: did the deal move, was it won? Closes the loop on the deal's history. An empty
    `outcome` confirms the one the deal's stage moves propose (selectors.outcome_proposal)."""
    from unstuck.cocreate.selectors import outcome_proposal

    _require_lead(membership, session)
    session = locked(session)
    if session.phase not in {Phase.DECIDED, Phase.CLOSED}:
        raise Conflict("Record the outcome after the decision.")
    if not outcome:
        proposal = outcome_proposal(session)
        if proposal is None:
            raise UnstuckError(
                "Too soon to propose an outcome from the deal's stage moves; pick one.",
                field="outcome",
            )
        outcome = proposal.outcome
    if outcome not in Outcome.values:
        raise UnstuckError("Pick an outcome.", field="outcome")
    session.outcome = outcome
    session.outcome_note = note.strip()
    session.outcome_at = timezone.now()
    session.phase = Phase.CLOSED
    _clean(session)
    save_fields(session, ["outcome", "outcome_note", "outcome_at", "phase"])
    _check(
        session=session,
        author=membership.user,
        text=session.outcome_note,
        subject=session,
        context="session_outcome_note",
        situation=Situation.READING_SIGNALS,
    )
    return session
