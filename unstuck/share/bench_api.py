"""API for the bench: the directory, asks for help on a deal, answers and ratings, "who
helped on deals like this", and when each function last helped a team."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import PermissionDenied
from ninja import Field, Router, Schema, Status

from unstuck.core.access import get_deal_for, membership_for
from unstuck.core.apidocs import responses
from unstuck.core.http import AppRequest
from unstuck.core.models import Role, Team
from unstuck.core.validation import DbId, IsoDate
from unstuck.share import bench_selectors as selectors
from unstuck.share import bench_services as services
from unstuck.share.models import BenchAsk, BenchPerson, Function

router = Router(tags=["bench"])


class BenchPersonOut(Schema):
    id: int
    email: str = Field(..., alias="user.email")
    name: str = Field(..., alias="user.display_name")
    function: str
    helps_with: str
    active: bool


class BenchPersonIn(Schema):
    email: str = Field(..., max_length=254)
    name: str = Field("", max_length=200)
    function: Function
    helps_with: str = Field(..., max_length=2_000)


class AskIn(Schema):
    deal_id: DbId
    person_id: DbId
    what: str = Field(..., max_length=2_000)
    due_date: IsoDate


class AskOut(Schema):
    id: int
    deal_id: int
    deal: str = Field(..., alias="deal.name")
    person_id: int
    person: str = Field(..., alias="person.user.email")
    asked_by: str | None = Field(None, alias="asked_by.email")
    what: str
    due_date: date
    status: str
    answer: str
    answered_at: datetime | None
    helpful: bool | None
    created_at: datetime


class AnswerIn(Schema):
    answer: str = Field(..., max_length=5_000)


class RateIn(Schema):
    helpful: bool


class HelperOut(Schema):
    person_id: int
    name: str
    function: str
    similar_wins_worked_on: int
    marked_helpful: int
    text: str


class WhoHelpedOut(Schema):
    similar_wins: int
    basis: str
    helpers: list[HelperOut]


class InvolvementOut(Schema):
    team_id: int
    team: str
    function: str
    label: str
    last_asked_at: datetime | None
    people: int


@router.get("/{slug}/share/bench", response=responses({200: list[BenchPersonOut]}, 404))
def bench_list(request: AppRequest, slug: str) -> list[BenchPerson]:
    """Who is on the bench and what each helps with (a partner sees only their own entry)."""
    return list(selectors.bench_directory(membership_for(request.user, slug)))


@router.post("/{slug}/share/bench", response=responses({201: BenchPersonOut}, 403, 404, 409, 422))
def bench_add(request: AppRequest, slug: str, payload: BenchPersonIn) -> Status[BenchPerson]:
    """A leader puts someone outside sales on the bench (new people join as partners)."""
    membership = membership_for(request.user, slug)
    entry = services.bench_person_add(
        membership=membership,
        email=payload.email,
        name=payload.name,
        function=payload.function,
        helps_with=payload.helps_with,
    )
    return Status(201, entry)


@router.get("/{slug}/share/bench/asks", response=responses({200: list[AskOut]}, 404))
def ask_list(request: AppRequest, slug: str) -> list[BenchAsk]:
    """Asks on the deals one may see, newest first (a partner: those made to them)."""
    membership = membership_for(request.user, slug)
    return list(
        selectors.asks_visible_to(membership).select_related("deal", "person__user", "asked_by")[
            :100
        ]
    )


@router.post("/{slug}/share/bench/asks", response=responses({201: AskOut}, 403, 404, 422))
def ask_create(request: AppRequest, slug: str, payload: AskIn) -> Status[BenchAsk]:
    """Ask someone on the bench for help on a deal one works; they are invited to it."""
    membership = membership_for(request.user, slug)
    if membership.role == Role.PARTNER:
        raise PermissionDenied("Partners answer asks; who works the deal asks.")
    deal = get_deal_for(membership, payload.deal_id, write=True)
    person = selectors.get_bench_person_for(membership, payload.person_id)
    ask = services.bench_ask(
        membership=membership,
        deal=deal,
        person=person,
        what=payload.what,
        due_date=payload.due_date,
    )
    return Status(201, ask)


@router.get("/{slug}/share/bench/asks/{ask_id}", response=responses({200: AskOut}, 404))
def ask_get(request: AppRequest, slug: str, ask_id: DbId) -> BenchAsk:
    return selectors.get_ask_for(membership_for(request.user, slug), ask_id)


@router.post(
    "/{slug}/share/bench/asks/{ask_id}/answer",
    response=responses({200: AskOut}, 403, 404, 409, 422),
)
def ask_answer(request: AppRequest, slug: str, ask_id: DbId, payload: AnswerIn) -> BenchAsk:
    """The person asked answers."""
    membership = membership_for(request.user, slug)
    ask = selectors.get_ask_for(membership, ask_id)
    return services.ask_answer(membership=membership, ask=ask, answer=payload.answer)


@router.post(
    "/{slug}/share/bench/asks/{ask_id}/rate",
    response=responses({200: AskOut}, 403, 404, 409, 422),
)
def ask_rate(request: AppRequest, slug: str, ask_id: DbId, payload: RateIn) -> BenchAsk:
    """Who asked says whether the answer helped."""
    membership = membership_for(request.user, slug)
    ask = selectors.get_ask_for(membership, ask_id)
    return services.ask_rate(membership=membership, ask=ask, helpful=payload.helpful)


@router.get(
    "/{slug}/share/bench/deals/{deal_id}/who-helped",
    response=responses({200: WhoHelpedOut}, 403, 404),
)
def who_helped(request: AppRequest, slug: str, deal_id: DbId) -> dict[str, object]:
    """People who worked on won deals like this one, among the deals the caller may see."""
    membership = membership_for(request.user, slug)
    if membership.role == Role.PARTNER:
        raise PermissionDenied("Partners see only the deals they are given.")
    deal = get_deal_for(membership, deal_id)
    found = selectors.who_helped(membership, deal)
    return {
        "similar_wins": found.similar,
        "basis": found.basis,
        "helpers": [
            {
                "person_id": h.person.pk,
                "name": h.person.user.display_name,
                "function": h.person.function,
                "similar_wins_worked_on": h.deals,
                "marked_helpful": h.helpful,
                "text": h.sentence(found.similar),
            }
            for h in found.helpers
        ],
    }


@router.get(
    "/{slug}/share/bench/involvement", response=responses({200: list[InvolvementOut]}, 403, 404)
)
def involvement(request: AppRequest, slug: str) -> list[dict[str, object]]:
    """For each team (a manager's own; a leader's all), when each function last helped."""
    membership = membership_for(request.user, slug)
    teams = Team.objects.filter(workspace_id=membership.workspace_id)
    if membership.role == Role.MANAGER:
        teams = teams.filter(manager_id=membership.user_id)
    elif membership.role != Role.LEADER:
        raise PermissionDenied("Managers and leaders see how their teams use the bench.")
    return [
        {
            "team_id": team.pk,
            "team": team.name,
            "function": i.function,
            "label": i.label,
            "last_asked_at": i.last,
            "people": i.people,
        }
        for team in teams[:100]
        for i in selectors.function_involvement(
            workspace_id=membership.workspace_id, team_ids=[team.pk]
        )
    ]
