"""Writes for the bench: a leader adds people outside sales to it; a manager or rep asks one
of them for help on a deal (which invites them to that deal only, through the deal's partner
invitation); the person answers; the asker says whether it helped."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from unstuck.core.access import can_edit_deal
from unstuck.core.errors import Conflict, NotAllowed, UnstuckError
from unstuck.core.models import Membership, Role
from unstuck.core.services import _clean, member_add
from unstuck.deals.models import Deal
from unstuck.deals.services import deal_invite_partner
from unstuck.share.models import AskStatus, BenchAsk, BenchPerson, Function


@transaction.atomic
def bench_person_add(
    *, membership: Membership, email: str, function: str, helps_with: str, name: str = ""
) -> BenchPerson:
    """A leader puts someone outside sales on the bench. Someone new joins the workspace as
    a partner (who sees only the deals they are asked about)."""
    if membership.role != Role.LEADER:
        raise NotAllowed("Only a leader adds people to the bench.")
    if function not in Function.values:
        raise UnstuckError("Choose the person's function.", field="function")
    email = email.strip().lower()
    person = Membership.objects.filter(
        workspace_id=membership.workspace_id, user__email=email
    ).first()
    if person is None:
        person = member_add(
            workspace=membership.workspace,
            email=email,
            role=Role.PARTNER,
            name=name,
            title=Function(function).label,
        )
    elif person.role != Role.PARTNER:
        raise UnstuckError(
            "The bench is for people outside sales, who join as partners.", field="email"
        )
    if BenchPerson.objects.filter(workspace_id=membership.workspace_id, user=person.user).exists():
        raise Conflict(f"{email} is already on the bench.", field="email")
    entry = BenchPerson(
        workspace=membership.workspace,
        user=person.user,
        function=function,
        helps_with=helps_with.strip(),
    )
    _clean(entry)
    entry.save()
    return entry


@transaction.atomic
def bench_ask(
    *, membership: Membership, deal: Deal, person: BenchPerson, what: str, due_date: date
) -> BenchAsk:
    """Ask someone on the bench for help on a deal one works: what is needed, by when. They
    are invited to this deal (and no other) as its partner."""
    if membership.role not in {Role.MANAGER, Role.REP, Role.LEADER} or not can_edit_deal(
        membership, deal
    ):
        raise NotAllowed("Only who works the deal asks the bench for help on it.")
    if person.workspace_id != deal.workspace_id or not person.active:
        raise UnstuckError("That person is not on this workspace's bench.", field="person")
    if due_date < timezone.localdate():
        raise UnstuckError("The date it is needed by has passed.", field="due_date")
    partner = Membership.objects.get(workspace_id=deal.workspace_id, user_id=person.user_id)
    ask = BenchAsk(
        workspace_id=deal.workspace_id,
        deal=deal,
        person=person,
        asked_by=membership.user,
        stage_id=deal.stage_id,
        what=what.strip(),
        due_date=due_date,
    )
    if not ask.what:
        raise UnstuckError("Say what you need.", field="what")
    _clean(ask)
    ask.save()
    # Its own rule is checked above (who works the deal asks), so the invitation is the
    # system's, recorded as the asker's.
    deal_invite_partner(deal=deal, partner=partner, by=None, inviter=membership.user)
    return ask


def ask_check_answerer(*, membership: Membership, ask: BenchAsk) -> None:
    """Only the person asked answers."""
    if ask.person.user_id != membership.user_id:
        raise NotAllowed("Only the person asked answers.")


def ask_answer(*, membership: Membership, ask: BenchAsk, answer: str) -> BenchAsk:
    """The person asked answers."""
    ask_check_answerer(membership=membership, ask=ask)
    if ask.status == AskStatus.WITHDRAWN:
        raise Conflict("This ask was withdrawn.")
    if not answer.strip():
        raise UnstuckError("Write the answer.", field="answer")
    ask.answer = answer.strip()
    ask.status = AskStatus.ANSWERED
    ask.answered_at = timezone.now()
    _clean(ask)
    ask.save(update_fields=["answer", "status", "answered_at"])
    return ask


def ask_check_rater(*, membership: Membership, ask: BenchAsk) -> None:
    """Who asked (or a manager or leader who may change the deal) rates the answer."""
    if ask.asked_by_id != membership.user_id and not (
        membership.role in {Role.MANAGER, Role.LEADER} and can_edit_deal(membership, ask.deal)
    ):
        raise NotAllowed("Only who asked says whether it helped.")


def ask_rate(*, membership: Membership, ask: BenchAsk, helpful: bool) -> BenchAsk:
    """Who asked says whether the answer helped."""
    ask_check_rater(membership=membership, ask=ask)
    if ask.status != AskStatus.ANSWERED:
        raise Conflict("Say whether it helped once it is answered.")
    ask.helpful = helpful
    ask.rated_by = membership.user
    ask.save(update_fields=["helpful", "rated_by"])
    return ask


def ask_withdraw(*, membership: Membership, ask: BenchAsk) -> BenchAsk:
    if ask.asked_by_id != membership.user_id:
        raise NotAllowed("Only who asked withdraws the ask.")
    if ask.status == AskStatus.OPEN:
        ask.status = AskStatus.WITHDRAWN
        ask.save(update_fields=["status"])
    return ask
