"""Decision guardrails: what a manager may offer alone. The check is mechanical, on an
option's structured terms (discount, contract term, payment terms, clauses)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from unstuck.cocreate.models import (
    ApprovalRequest,
    ApprovalStatus,
    Clause,
    CocreateSettings,
    Option,
    PaymentTerms,
)

DEFAULT_PAYMENT_TERMS = [
    PaymentTerms.NET_30,
    PaymentTerms.NET_60,
    PaymentTerms.QUARTERLY,
    PaymentTerms.MILESTONES,
]
DEFAULT_CLAUSES = [Clause.SERVICE_CREDITS, Clause.PILOT_CONVERSION]


def option_terms(option: Option) -> dict[str, Any]:
    """The option's terms as plain values: what an approval is given for."""
    return {
        "discount_pct": str(option.discount_pct) if option.discount_pct is not None else None,
        "term_months": option.term_months,
        "payment_terms": option.payment_terms,
        "clauses": sorted(option.clauses),
    }


def breaches(
    *,
    rules: CocreateSettings,
    discount_pct: Decimal | None,
    term_months: int | None,
    payment_terms: str,
    clauses: list[str],
) -> list[str]:
    """What in these terms goes beyond what a manager may offer alone, in plain words."""
    out = []
    if discount_pct is not None and Decimal(discount_pct) > rules.max_discount_pct:
        out.append(
            f"A {Decimal(discount_pct).normalize():f}% discount is above the "
            f"{rules.max_discount_pct.normalize():f}% a manager may offer alone."
        )
    if term_months and term_months > rules.max_term_months:
        out.append(
            f"A {term_months}-month term is longer than the {rules.max_term_months} months "
            "a manager may offer alone."
        )
    if payment_terms and payment_terms not in rules.payment_terms:
        label = PaymentTerms(payment_terms).label if payment_terms in PaymentTerms.values else ""
        out.append(f"Payment terms “{label or payment_terms}” need a leader's approval.")
    labels = dict(Clause.choices)
    for clause in clauses:
        if clause not in rules.clauses:
            out.append(f"The clause “{labels.get(clause, clause)}” needs a leader's approval.")
    return out


def option_breaches(option: Option, rules: CocreateSettings) -> list[str]:
    return breaches(
        rules=rules,
        discount_pct=option.discount_pct,
        term_months=option.term_months,
        payment_terms=option.payment_terms,
        clauses=list(option.clauses),
    )


def approval_covers(option: Option, approvals: list[ApprovalRequest] | None = None) -> bool:
    """An approval counts only for the terms it was given for; edited terms need a new one."""
    terms = option_terms(option)
    rows = approvals if approvals is not None else list(option.approvals.all())
    return any(a.status == ApprovalStatus.APPROVED and a.terms == terms for a in rows)
