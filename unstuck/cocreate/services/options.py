"""Writes of what participants contribute while a session runs: options (their own or
the generator's, as is or edited), comments (held while diverging if they judge), scores."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from unstuck.cocreate.judging import judging_reason
from unstuck.cocreate.models import (
    Clause,
    Comment,
    Lever,
    Option,
    OptionSource,
    PaymentTerms,
    Phase,
    Score,
    Session,
    SuggestionAction,
    SuggestionFeedback,
)
from unstuck.cocreate.services._common import _check, _require_part
from unstuck.core.errors import Conflict, UnstuckError
from unstuck.core.models import Membership
from unstuck.core.services import _clean
from unstuck.thinking.question_bank import Situation


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
    if source == OptionSource.PERSON or edited:
        # The generator's own wording is not the person's reasoning; what they write or
        # change is.
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
    score = Score(option=option, user=membership.user)
    score.value, score.risk, score.feasibility, score.payoff = value, risk, feasibility, payoff
    _clean(score, constraints=False)
    # One row per person and option even when two scores of theirs arrive at once: the row is
    # locked (or created) by update_or_create, and the unique constraint backs it.
    score, _ = Score.objects.update_or_create(
        option=option,
        user=membership.user,
        defaults={"value": value, "risk": risk, "feasibility": feasibility, "payoff": payoff},
    )
    return score
