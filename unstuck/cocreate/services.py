"""Writes of co-creation: sessions and their phases, options (written or from suggestions),
comments held back while diverging, scores, the checklist and decision, action items, the
outcome, approvals beyond the guardrails, levers and the workspace's settings.

Everything people write is checked by the bias detector and the flags are tied to what was
saved, so the session shows them with their questions.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from unstuck.cocreate import guardrails
from unstuck.cocreate.catalogue import DEFAULT_LEVERS
from unstuck.cocreate.judging import judging_reason
from unstuck.cocreate.models import (
    ActionItem,
    ApprovalRequest,
    ApprovalStatus,
    Clause,
    CocreateSettings,
    Comment,
    Lever,
    LeverFamily,
    Option,
    OptionSource,
    Outcome,
    Participant,
    PaymentTerms,
    Phase,
    Score,
    Session,
    SuggestionAction,
    SuggestionFeedback,
)
from unstuck.core.errors import Conflict, NotAllowed, UnstuckError
from unstuck.core.models import Membership, Role, User, Workspace
from unstuck.core.services import _clean
from unstuck.deals.models import Deal
from unstuck.investigate.models import Obstacle
from unstuck.thinking.question_bank import Situation
from unstuck.thinking.services import flags_attach, text_check

# --- settings and levers -------------------------------------------------------------------


def settings_for(workspace: Workspace) -> CocreateSettings:
    rules, _ = CocreateSettings.objects.get_or_create(
        workspace=workspace,
        defaults={
            "payment_terms": list(guardrails.DEFAULT_PAYMENT_TERMS),
            "clauses": list(guardrails.DEFAULT_CLAUSES),
        },
    )
    return rules


def settings_update(
    *,
    membership: Membership,
    min_options: int,
    max_discount_pct: Decimal,
    max_term_months: int,
    payment_terms: list[str],
    clauses: list[str],
) -> CocreateSettings:
    if membership.role != Role.LEADER:
        raise NotAllowed("Only leaders set the guardrails.")
    if unknown := set(payment_terms) - set(PaymentTerms.values):
        raise UnstuckError(f"Unknown payment terms: {', '.join(sorted(unknown))}.")
    if unknown := set(clauses) - set(Clause.values):
        raise UnstuckError(f"Unknown clauses: {', '.join(sorted(unknown))}.")
    rules = settings_for(membership.workspace)
    rules.min_options = min_options
    rules.max_discount_pct = max_discount_pct
    rules.max_term_months = max_term_months
    rules.payment_terms = [p for p in PaymentTerms.values if p in payment_terms]
    rules.clauses = [c for c in Clause.values if c in clauses]
    _clean(rules)
    rules.save()
    return rules


@transaction.atomic
def levers_ensure(*, workspace: Workspace) -> int:
    """Seed the built-in levers the first time a workspace uses them; later, leave the
    catalogue as its leaders made it. Returns how many were added."""
    if Lever.objects.filter(workspace=workspace).exists():
        return 0
    Lever.objects.bulk_create(
        Lever(
            workspace=workspace,
            key=d.key,
            family=d.family,
            name=d.name,
            template=d.template,
            obstacle_kinds=list(d.obstacle_kinds),
            phases=list(d.phases),
            factors=list(d.factors),
            min_amount=d.min_amount,
            max_amount=d.max_amount,
            discount_pct=d.discount_pct,
            term_months=d.term_months,
            payment_terms=d.payment_terms,
            clauses=list(d.clauses),
            is_default=True,
        )
        for d in DEFAULT_LEVERS
    )
    return len(DEFAULT_LEVERS)


LEVER_FIELDS = (
    "family",
    "name",
    "template",
    "obstacle_kinds",
    "phases",
    "factors",
    "min_amount",
    "max_amount",
    "discount_pct",
    "term_months",
    "payment_terms",
    "clauses",
    "is_active",
)


def lever_save(
    *, membership: Membership, lever: Lever | None = None, key: str = "", **fields: Any
) -> Lever:
    """Add a lever (lever=None) or change one; leaders only."""
    if membership.role != Role.LEADER:
        raise NotAllowed("Only leaders edit the levers.")
    levers_ensure(workspace=membership.workspace)
    if lever is None:
        from django.utils.text import slugify

        key = slugify(key or fields.get("name", ""))[:60]
        if not key:
            raise UnstuckError("Name the lever.", field="name")
        if Lever.objects.filter(workspace=membership.workspace, key=key).exists():
            raise Conflict("A lever with that name already exists.", field="name")
        lever = Lever(workspace=membership.workspace, key=key)
    for name, value in fields.items():
        if name not in LEVER_FIELDS:
            raise UnstuckError(f"Unknown lever field '{name}'.")
        setattr(lever, name, value)
    if lever.family not in LeverFamily.values:
        raise UnstuckError("Pick one of the six families.", field="family")
    if unknown := set(lever.clauses) - set(Clause.values):
        raise UnstuckError(f"Unknown clauses: {', '.join(sorted(unknown))}.", field="clauses")
    if unknown := set(lever.phases) - {"early", "mid", "late"}:
        raise UnstuckError(f"Unknown phases: {', '.join(sorted(unknown))}.", field="phases")
    _clean(lever)
    lever.save()
    return lever


# --- the bias check on everything written --------------------------------------------------


def _check(
    *,
    session: Session,
    author: User,
    text: str,
    subject: models.Model,
    context: str,
    situation: str,
    draft_key: str = "",
) -> None:
    if not text.strip():
        return
    text_check(
        workspace=session.deal.workspace,
        author=author,
        text=text[:5000],
        deal=session.deal,
        subject=subject,
        context=context,
        situation=situation,
        draft_key=draft_key,
    )
    flags_attach(
        workspace=session.deal.workspace, author=author, draft_key=draft_key, subject=subject
    )


# --- sessions ------------------------------------------------------------------------------


def _require_lead(membership: Membership, session: Session) -> None:
    from unstuck.cocreate.access import can_lead

    if not can_lead(membership, session):
        raise NotAllowed("Only the deal's manager leads and decides in this session.")


def _require_part(membership: Membership, session: Session) -> None:
    from unstuck.cocreate.access import can_take_part

    if not can_take_part(membership, session):
        raise NotAllowed("You can read this session but not take part in it.")


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


def _clean_terms(
    *,
    discount_pct: Decimal | None,
    term_months: int | None,
    payment_terms: str,
    clauses: list[str],
) -> dict[str, Any]:
    if payment_terms and payment_terms not in PaymentTerms.values:
        raise UnstuckError("Unknown payment terms.", field="payment_terms")
    if unknown := set(clauses) - set(Clause.values):
        raise UnstuckError(f"Unknown clauses: {', '.join(sorted(unknown))}.", field="clauses")
    return {
        "discount_pct": discount_pct,
        "term_months": term_months or None,
        "payment_terms": payment_terms,
        "clauses": [c for c in Clause.values if c in clauses],
    }


@transaction.atomic
def session_add_option(
    *,
    membership: Membership,
    session: Session,
    title: str,
    description: str = "",
    discount_pct: Decimal | None = None,
    term_months: int | None = None,
    payment_terms: str = "",
    clauses: list[str] | None = None,
    source: str = OptionSource.PERSON,
    suggestion_key: str = "",
    edited: bool = False,
    draft_key: str = "",
) -> Option:
    """Anyone taking part adds an option while the session diverges."""
    _require_part(membership, session)
    if session.phase != Phase.DIVERGE:
        raise Conflict("Options are added while the session diverges.")
    if not title.strip():
        raise UnstuckError("Give the option a short title.", field="title")
    if suggestion_key and session.options.filter(suggestion_key=suggestion_key).exists():
        raise Conflict("That suggestion is already an option in this session.")
    lever = None
    if suggestion_key.startswith("lever:"):
        lever = Lever.objects.filter(
            workspace_id=session.workspace_id, key=suggestion_key.split(":", 1)[1]
        ).first()
    option = Option(
        session=session,
        title=title.strip()[:200],
        description=description.strip(),
        author=membership.user,
        source=source,
        suggestion_key=suggestion_key,
        lever=lever,
        edited=edited,
        **_clean_terms(
            discount_pct=discount_pct,
            term_months=term_months,
            payment_terms=payment_terms,
            clauses=list(clauses or []),
        ),
    )
    _clean(option)
    option.save()
    if suggestion_key:
        SuggestionFeedback.objects.create(
            workspace_id=session.workspace_id,
            session=session,
            key=suggestion_key,
            action=SuggestionAction.EDITED if edited else SuggestionAction.ACCEPTED,
            user=membership.user,
        )
    _check(
        session=session,
        author=membership.user,
        text=f"{option.title}. {option.description}",
        subject=option,
        context="session_option",
        situation=Situation.EVALUATING,
        draft_key=draft_key,
    )
    return option


def suggestion_accept(
    *, membership: Membership, session: Session, key: str, edits: dict[str, Any] | None = None
) -> Option:
    """Add a generated suggestion as an option, as it is or edited."""
    from unstuck.cocreate.generator import suggest_for

    found = next(
        (s for s in suggest_for(session.deal, outcome=session.ideal_outcome) if s.key == key),
        None,
    )
    if found is None:
        raise UnstuckError("That suggestion is no longer offered for this deal.", field="key")
    values: dict[str, Any] = {
        "title": found.title,
        "description": found.text,
        "discount_pct": found.terms.get("discount_pct"),
        "term_months": found.terms.get("term_months"),
        "payment_terms": found.terms.get("payment_terms", ""),
        "clauses": found.terms.get("clauses", []),
    }
    changed = {k: v for k, v in (edits or {}).items() if k in values and v != values[k]}
    values.update(changed)
    return session_add_option(
        membership=membership,
        session=session,
        source=found.source,
        suggestion_key=key,
        edited=bool(changed),
        **values,
    )


def suggestion_ignore(*, membership: Membership, session: Session, key: str) -> None:
    _require_part(membership, session)
    SuggestionFeedback.objects.get_or_create(
        workspace_id=session.workspace_id,
        session=session,
        key=key,
        action=SuggestionAction.IGNORED,
        defaults={"user": membership.user},
    )


@transaction.atomic
def session_comment(
    *,
    membership: Membership,
    session: Session,
    text: str,
    option: Option | None = None,
    draft_key: str = "",
) -> Comment:
    """Discussion. While diverging, a comment that judges an option is held, visibly, and
    released to everyone when the session converges."""
    _require_part(membership, session)
    if session.phase not in {Phase.DIVERGE, Phase.CONVERGE}:
        raise Conflict("The session is decided; discussion is closed.")
    if not text.strip():
        raise UnstuckError("Write the comment first.", field="text")
    if option is not None and option.session_id != session.pk:
        raise UnstuckError("That option is not in this session.", field="option")
    reason = judging_reason(text) if session.phase == Phase.DIVERGE else ""
    comment = Comment(
        session=session,
        option=option,
        author=membership.user,
        text=text.strip(),
        held=bool(reason),
        held_reason=reason[:200],
    )
    _clean(comment)
    comment.save()
    _check(
        session=session,
        author=membership.user,
        text=comment.text,
        subject=comment,
        context="session_comment",
        situation=Situation.REJECTING if reason else Situation.EVALUATING,
        draft_key=draft_key,
    )
    return comment


@transaction.atomic
def session_converge(*, membership: Membership, session: Session) -> Session:
    """The manager moves on to scoring once there are enough options; held comments are
    released."""
    _require_lead(membership, session)
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


def option_score(
    *,
    membership: Membership,
    option: Option,
    value: int,
    risk: int,
    feasibility: int,
    payoff: int,
) -> Score:
    """Each participant scores each option once (a second score replaces the first)."""
    session = option.session
    _require_part(membership, session)
    if session.phase != Phase.CONVERGE:
        raise Conflict("Options are scored while the session converges.")
    score = Score.objects.filter(option=option, user=membership.user).first() or Score(
        option=option, user=membership.user
    )
    score.value, score.risk, score.feasibility, score.payoff = value, risk, feasibility, payoff
    _clean(score)
    score.save()
    return score


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


def approval_request(*, membership: Membership, option: Option, note: str = "") -> ApprovalRequest:
    """The manager asks a leader to allow an option beyond the guardrails."""
    session = option.session
    _require_lead(membership, session)
    rules = settings_for(session.deal.workspace)
    found = guardrails.option_breaches(option, rules)
    if not found:
        raise Conflict("This option is within the guardrails; no approval is needed.")
    terms = guardrails.option_terms(option)
    if option.approvals.filter(status=ApprovalStatus.PENDING, terms=terms).exists():
        raise Conflict("An approval for these terms is already waiting for a leader.")
    request = ApprovalRequest(
        option=option,
        workspace_id=session.workspace_id,
        requested_by=membership.user,
        breaches=found,
        terms=terms,
        note=note.strip(),
    )
    _clean(request)
    request.save()
    return request


def approval_decide(
    *, membership: Membership, approval: ApprovalRequest, approve: bool, reason: str
) -> ApprovalRequest:
    """A leader approves or declines, with a reason that stays in the record."""
    if membership.role != Role.LEADER or membership.workspace_id != approval.workspace_id:
        raise NotAllowed("Only leaders approve options beyond the guardrails.")
    if approval.status != ApprovalStatus.PENDING:
        raise Conflict(f"This request was already {approval.get_status_display().lower()}.")
    if not reason.strip():
        raise UnstuckError("Give the manager a reason.", field="reason")
    approval.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.DECLINED
    approval.reason = reason.strip()
    approval.decided_by = membership.user
    approval.decided_at = timezone.now()
    _clean(approval)
    approval.save()
    return approval


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
    session.save()
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


def action_item_done(*, membership: Membership, item: ActionItem) -> ActionItem:
    _require_part(membership, item.session)
    item.done_at = None if item.done_at else timezone.now()
    item.save(update_fields=["done_at"])
    return item


def session_record_outcome(
    *, membership: Membership, session: Session, outcome: str, note: str = ""
) -> Session:
    """Later: did the deal move, was it won? Closes the loop on the deal's history."""
    _require_lead(membership, session)
    if session.phase not in {Phase.DECIDED, Phase.CLOSED}:
        raise Conflict("Record the outcome after the decision.")
    if outcome not in Outcome.values:
        raise UnstuckError("Pick an outcome.", field="outcome")
    session.outcome = outcome
    session.outcome_note = note.strip()
    session.outcome_at = timezone.now()
    session.phase = Phase.CLOSED
    _clean(session)
    session.save()
    _check(
        session=session,
        author=membership.user,
        text=session.outcome_note,
        subject=session,
        context="session_outcome_note",
        situation=Situation.READING_SIGNALS,
    )
    return session
