"""Shapes of the co-creation API's input and output."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Schema

from unstuck.core.validation import DbId, IsoDate, Unset


class SuggestionOut(Schema):
    key: str
    source: str
    title: str
    text: str
    why: list[str]
    score: float
    family: str
    terms: dict[str, Any]


class ScoreSummary(Schema):
    value: float | None
    risk: float | None
    feasibility: float | None
    payoff: float | None
    scorers: int


class OptionOut(Schema):
    id: int
    title: str
    description: str
    author: str | None
    source: str
    suggestion_key: str
    discount_pct: Decimal | None
    term_months: int | None
    payment_terms: str
    clauses: list[str]
    is_chosen: bool
    beyond_guardrails: list[str]
    approved: bool
    scores: ScoreSummary


class CommentOut(Schema):
    id: int
    option_id: int | None
    author: str | None
    text: str
    held: bool
    created_at: datetime


class ActionItemOut(Schema):
    id: int
    text: str
    owner: str | None
    due_date: date
    done: bool


class SessionOut(Schema):
    id: int
    deal_id: int
    phase: str
    ideal_outcome: str
    obstacles: list[int]
    min_options: int
    options: list[OptionOut]
    comments: list[CommentOut]
    alternatives_considered: str
    dissent_explored: str
    premortem: str
    rationale: str
    action_items: list[ActionItemOut]
    outcome: str
    outcome_note: str
    created_at: datetime


class SessionSummaryOut(Schema):
    id: int
    deal_id: int
    phase: str
    ideal_outcome: str
    outcome: str
    created_at: datetime


class SessionIn(Schema):
    deal_id: DbId
    ideal_outcome: str
    obstacle_ids: list[DbId] = []


class TermsIn(Schema):
    discount_pct: Decimal | None = None
    term_months: int | None = None
    payment_terms: str = ""
    clauses: list[str] = []


class OptionIn(TermsIn):
    title: str
    description: str = ""


class SuggestionIn(Schema):
    key: str
    title: str | None = None
    description: str | None = None
    discount_pct: Decimal | None = None
    term_months: int | None = None
    payment_terms: str | None = None
    clauses: list[str] | None = None


class CommentIn(Schema):
    text: str
    option_id: DbId | None = None


class ScoreIn(Schema):
    value: int
    risk: int
    feasibility: int
    payoff: int


class ChecklistIn(Schema):
    alternatives_considered: str
    dissent_explored: str
    premortem: str


class DecideIn(Schema):
    option_ids: list[DbId]
    rationale: str


class ActionItemIn(Schema):
    text: str
    owner_id: DbId
    due_date: IsoDate


class OutcomeIn(Schema):
    outcome: str
    note: str = ""


class ApprovalIn(Schema):
    note: str = ""


class ApprovalDecisionIn(Schema):
    approve: bool
    reason: str


class ApprovalOut(Schema):
    id: int
    option_id: int
    session_id: int
    status: str
    breaches: list[str]
    terms: dict[str, Any]
    note: str
    requested_by: str | None
    decided_by: str | None
    reason: str
    created_at: datetime
    decided_at: datetime | None


class LeverOut(Schema):
    id: int
    key: str
    family: str
    name: str
    template: str
    obstacle_kinds: list[str]
    phases: list[str]
    factors: list[str]
    is_active: bool


class GuardrailsIO(Schema):
    min_options: int
    max_discount_pct: Decimal
    max_term_months: int
    payment_terms: list[str]
    clauses: list[str]


class LeverIn(Schema):
    family: str
    name: str
    template: str
    obstacle_kinds: list[str] = []
    phases: list[str] = []
    factors: list[str] = []
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    discount_pct: Decimal | None = None
    term_months: int | None = None
    payment_terms: str = ""
    clauses: list[str] = []
    is_active: bool = True


class LeverPatch(Schema):
    """Only the fields sent change; only the amounts and terms may be null (no limit)."""

    family: str = Unset
    name: str = Unset
    template: str = Unset
    obstacle_kinds: list[str] = Unset
    phases: list[str] = Unset
    factors: list[str] = Unset
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    discount_pct: Decimal | None = None
    term_months: int | None = None
    payment_terms: str = Unset
    clauses: list[str] = Unset
    is_active: bool = Unset
