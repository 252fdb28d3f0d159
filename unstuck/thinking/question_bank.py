"""The default perspective questions: every workspace starts its editable bank from these, and
the detector uses them directly where there is no workspace (the CLI).

Each question looks from one perspective and is tagged with the biases it helps against and the
situations it suits.
"""

from __future__ import annotations

from dataclasses import dataclass

from unstuck.core.choices import TextChoices
from unstuck.thinking.biases import Bias


class Perspective(TextChoices):
    OPENING = "opening", "Open the view"
    CUSTOMER_CFO = "customer_cfo", "The customer's CFO"
    PROCUREMENT = "procurement", "Procurement"
    END_USER = "end_user", "The end user"
    IT_SECURITY = "it_security", "IT and security"
    CUSTOMERS_CUSTOMER = "customers_customer", "The customer's own customer"
    COMPETITOR = "competitor", "A competitor"
    NEW_HIRE = "new_hire", "A new hire with no history here"
    WHAT_TRUE = "what_true", "What would have to be true"
    PREMORTEM = "premortem", "Premortem"


class Situation(TextChoices):
    REJECTING = "rejecting", "Rejecting an option"
    EVALUATING = "evaluating", "Weighing an option"
    DIAGNOSING = "diagnosing", "Explaining why a deal is stuck"
    READING_SIGNALS = "reading_signals", "Reading what the customer does"


P = Perspective
S = Situation
B = Bias
ALL_SITUATIONS = tuple(S.values)


@dataclass(frozen=True)
class DefaultQuestion:
    text: str
    perspective: str
    biases: tuple[str, ...]
    situations: tuple[str, ...] = ALL_SITUATIONS


DEFAULT_QUESTIONS: tuple[DefaultQuestion, ...] = (
    # Opening questions: one or two straight at each bias.
    DefaultQuestion(
        "What would it take to make this work, and who could tell us the real cost?",
        P.OPENING,
        (B.PRACTICALITY,),
        (S.REJECTING, S.EVALUATING),
    ),
    DefaultQuestion(
        "What is the smallest version of this idea we could try with this customer?",
        P.OPENING,
        (B.PRACTICALITY, B.EXPORTABILITY),
        (S.REJECTING, S.EVALUATING),
    ),
    DefaultQuestion(
        "Which of the customer's signals would we explain differently if we had no view yet?",
        P.OPENING,
        (B.CONFIRMATION,),
        (S.READING_SIGNALS, S.DIAGNOSING),
    ),
    DefaultQuestion(
        "What would we expect to see if the deal were in trouble, and are we seeing any of it?",
        P.OPENING,
        (B.CONFIRMATION,),
        (S.READING_SIGNALS,),
    ),
    DefaultQuestion(
        "What made it fail there, and does this customer share that reason?",
        P.OPENING,
        (B.EXPORTABILITY,),
        (S.REJECTING, S.EVALUATING),
    ),
    DefaultQuestion(
        "How is this customer different from the one where it failed: size, buyer, timing, need?",
        P.OPENING,
        (B.EXPORTABILITY,),
        (S.REJECTING, S.EVALUATING),
    ),
    DefaultQuestion(
        "If we were setting up our way of selling today, for this customer, would we choose it?",
        P.OPENING,
        (B.LEGACY,),
        (S.REJECTING, S.EVALUATING),
    ),
    DefaultQuestion(
        "What has changed, in the market or at this customer, since our usual way was set?",
        P.OPENING,
        (B.LEGACY,),
        ALL_SITUATIONS,
    ),
    DefaultQuestion(
        "What are two other explanations, and what evidence would tell them apart?",
        P.OPENING,
        (B.FIRST_CONCLUSION,),
        (S.DIAGNOSING, S.READING_SIGNALS),
    ),
    DefaultQuestion(
        "Who on the customer's side have we not yet asked why the deal is stuck?",
        P.OPENING,
        (B.FIRST_CONCLUSION, B.CONFIRMATION),
        (S.DIAGNOSING,),
    ),
    DefaultQuestion(
        "What has the customer said or done that tells us how they see it?",
        P.OPENING,
        (B.PERSONAL,),
        (S.REJECTING, S.EVALUATING),
    ),
    DefaultQuestion(
        "How does their situation differ from ours when we buy: budget, risk, who decides?",
        P.OPENING,
        (B.PERSONAL,),
        (S.REJECTING, S.EVALUATING),
    ),
    # The customer's CFO.
    DefaultQuestion(
        "How would the customer's CFO weigh this against the cost of doing nothing?",
        P.CUSTOMER_CFO,
        (B.PRACTICALITY, B.PERSONAL, B.LEGACY),
        (S.REJECTING, S.EVALUATING),
    ),
    DefaultQuestion(
        "What does this deal look like on the CFO's cash flow and budget cycle?",
        P.CUSTOMER_CFO,
        (B.FIRST_CONCLUSION, B.PERSONAL),
        (S.DIAGNOSING, S.EVALUATING),
    ),
    DefaultQuestion(
        "Would the CFO read the customer's silence the way we do?",
        P.CUSTOMER_CFO,
        (B.CONFIRMATION,),
        (S.READING_SIGNALS,),
    ),
    # Procurement.
    DefaultQuestion(
        "What does their procurement team need to see to say yes, and have we asked them?",
        P.PROCUREMENT,
        (B.CONFIRMATION, B.FIRST_CONCLUSION),
        (S.READING_SIGNALS, S.DIAGNOSING),
    ),
    DefaultQuestion(
        "Which terms would procurement happily trade for the one we think is impossible?",
        P.PROCUREMENT,
        (B.PRACTICALITY, B.LEGACY),
        (S.REJECTING, S.EVALUATING),
    ),
    # The end user.
    DefaultQuestion(
        "How would the people who use it every day describe the problem?",
        P.END_USER,
        (B.PERSONAL, B.FIRST_CONCLUSION),
        ALL_SITUATIONS,
    ),
    DefaultQuestion(
        "What are the end users doing that doesn't fit our story of this deal?",
        P.END_USER,
        (B.CONFIRMATION,),
        (S.READING_SIGNALS, S.DIAGNOSING),
    ),
    DefaultQuestion(
        "Which end users could we ask this week, rather than guess for them?",
        P.END_USER,
        (B.PERSONAL,),
        (S.REJECTING, S.EVALUATING),
    ),
    # IT and security.
    DefaultQuestion(
        "What would IT and security need for this to be easy for them?",
        P.IT_SECURITY,
        (B.PRACTICALITY,),
        (S.REJECTING, S.EVALUATING),
    ),
    DefaultQuestion(
        "Could the hold-up sit with IT or security rather than where we think it is?",
        P.IT_SECURITY,
        (B.FIRST_CONCLUSION,),
        (S.DIAGNOSING,),
    ),
    # The customer's own customer.
    DefaultQuestion(
        "What would the customer's own customers gain if this worked?",
        P.CUSTOMERS_CUSTOMER,
        (B.PRACTICALITY, B.PERSONAL, B.LEGACY),
        (S.REJECTING, S.EVALUATING),
    ),
    DefaultQuestion(
        "What pressure from their own customers might explain what they are doing now?",
        P.CUSTOMERS_CUSTOMER,
        (B.CONFIRMATION, B.FIRST_CONCLUSION),
        (S.READING_SIGNALS, S.DIAGNOSING),
    ),
    # A competitor.
    DefaultQuestion(
        "If a competitor offered exactly this tomorrow, how would we answer it?",
        P.COMPETITOR,
        (B.PRACTICALITY, B.LEGACY),
        (S.REJECTING, S.EVALUATING),
    ),
    DefaultQuestion(
        "What would a competitor conclude from the same signals?",
        P.COMPETITOR,
        (B.CONFIRMATION, B.FIRST_CONCLUSION),
        (S.READING_SIGNALS, S.DIAGNOSING),
    ),
    DefaultQuestion(
        "Where has a competitor made this work, and what did they do differently?",
        P.COMPETITOR,
        (B.EXPORTABILITY, B.PRACTICALITY),
        (S.REJECTING, S.EVALUATING),
    ),
    # A new hire.
    DefaultQuestion(
        "What would a new hire with no history here suggest?",
        P.NEW_HIRE,
        (B.LEGACY, B.EXPORTABILITY),
        ALL_SITUATIONS,
    ),
    DefaultQuestion(
        "Which of our assumptions would a new hire ask us to prove?",
        P.NEW_HIRE,
        (B.LEGACY, B.FIRST_CONCLUSION, B.CONFIRMATION),
        ALL_SITUATIONS,
    ),
    # What would have to be true.
    DefaultQuestion(
        "What would have to be true for this to work?",
        P.WHAT_TRUE,
        (B.PRACTICALITY, B.EXPORTABILITY, B.PERSONAL),
        (S.REJECTING, S.EVALUATING),
    ),
    DefaultQuestion(
        "What would have to be true for our explanation to be wrong?",
        P.WHAT_TRUE,
        (B.FIRST_CONCLUSION, B.CONFIRMATION),
        (S.DIAGNOSING, S.READING_SIGNALS),
    ),
    DefaultQuestion(
        "What would have to be true for a new approach to beat our usual one here?",
        P.WHAT_TRUE,
        (B.LEGACY,),
        (S.REJECTING, S.EVALUATING),
    ),
    # Premortem.
    DefaultQuestion(
        "It's six months later and this deal was lost. Why?",
        P.PREMORTEM,
        (B.CONFIRMATION, B.FIRST_CONCLUSION, B.LEGACY),
        ALL_SITUATIONS,
    ),
    DefaultQuestion(
        "It's six months later and the approach we kept failed. What did we miss?",
        P.PREMORTEM,
        (B.LEGACY, B.EXPORTABILITY),
        (S.EVALUATING, S.REJECTING),
    ),
    DefaultQuestion(
        "It's six months later and we fixed the wrong problem. What was the real one?",
        P.PREMORTEM,
        (B.FIRST_CONCLUSION,),
        (S.DIAGNOSING,),
    ),
)


def default_questions_for(bias: str, *, limit: int = 3) -> list[str]:
    """Questions for one bias: its opening question first, then other perspectives."""
    tagged = [q for q in DEFAULT_QUESTIONS if bias in q.biases]
    opening = sorted(
        (q for q in tagged if q.perspective == P.OPENING), key=lambda q: q.biases[0] != bias
    )[:1]
    others = [q for q in tagged if q.perspective != P.OPENING]
    chosen: list[DefaultQuestion] = list(opening)
    seen = {q.perspective for q in chosen}
    for q in others:
        if len(chosen) >= limit:
            break
        if q.perspective not in seen:
            chosen.append(q)
            seen.add(q.perspective)
    return [q.text for q in chosen]
