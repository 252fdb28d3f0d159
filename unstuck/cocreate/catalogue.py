"""The built-in innovation levers every workspace starts from (leaders edit and add their own).

Each lever says when it fits — obstacle kinds, deal phase, deal size, what the committee
weighs — and holds a template that the generator fills with the deal's own facts:
{account} {amount} {stage} {obstacle} {concern} {pain} {outcome} {economic_buyer}
{term_months} {longer_term}. {obstacle} is what the rep wrote, a sentence, filled in with its
quotation marks: put it where a quotation reads ("the doubt they raised ({obstacle})"), never
where a noun belongs ("the {obstacle} risk").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from unstuck.cocreate.models import Clause, LeverFamily, PaymentTerms

F = LeverFamily
PT = PaymentTerms
C = Clause


@dataclass(frozen=True)
class DefaultLever:
    key: str
    family: str
    name: str
    template: str
    obstacle_kinds: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    factors: tuple[str, ...] = ()
    min_amount: int | None = None
    max_amount: int | None = None
    discount_pct: int | None = None
    term_months: int | None = None
    payment_terms: str = ""
    clauses: tuple[str, ...] = field(default=())


DEFAULT_LEVERS: tuple[DefaultLever, ...] = (
    # Commercial terms ------------------------------------------------------------------
    DefaultLever(
        "multi-year-for-price",
        F.COMMERCIAL,
        "Lower yearly price for a longer commitment",
        "Offer {account} a lower yearly price in exchange for a {longer_term}-month "
        "commitment, so the {amount} deal fits this year's budget while our total grows.",
        ("budget", "competitor"),
        ("mid", "late"),
        ("price", "roi"),
        discount_pct=10,
        term_months=36,
    ),
    DefaultLever(
        "opex-subscription",
        F.COMMERCIAL,
        "Move it from capex to opex",
        "Restructure the {amount} as a monthly subscription with no upfront fee, so {account} "
        "pays from operating budget instead of waiting for capital approval.",
        ("budget", "timing"),
        ("mid", "late"),
        ("price",),
        payment_terms=PT.NET_30,
    ),
    DefaultLever(
        "deferred-start",
        F.COMMERCIAL,
        "Sign now, pay from the new budget year",
        "Sign this quarter with the first invoice deferred to {account}'s next budget year, "
        "so the slot is kept and the objection they raised ({obstacle}) is answered.",
        ("budget", "timing"),
        ("late",),
        ("price",),
        payment_terms=PT.DEFERRED,
    ),
    DefaultLever(
        "milestone-billing",
        F.COMMERCIAL,
        "Bill on milestones, not up front",
        "Tie the {amount} invoices to delivery milestones {account} already tracks, so they "
        "only pay as value lands.",
        ("budget", "technical"),
        ("mid", "late"),
        ("risk", "time_to_value"),
        payment_terms=PT.MILESTONES,
    ),
    DefaultLever(
        "price-lock",
        F.COMMERCIAL,
        "Lock today's price for three years",
        "Offer a three-year price lock in return for signing now — {account} gets budget "
        "certainty, we get the commitment.",
        ("competitor", "budget"),
        ("late",),
        ("price", "vendor_viability"),
        term_months=36,
        clauses=(C.PRICE_LOCK,),
    ),
    DefaultLever(
        "usage-tiers",
        F.COMMERCIAL,
        "Pay for what is used",
        "Replace the seat count with usage tiers so {account} pays for adoption, not for "
        "licences nobody uses — answering '{concern}'.",
        ("budget", "priority"),
        ("early", "mid"),
        ("price", "roi", "usability"),
    ),
    # Risk sharing ----------------------------------------------------------------------
    DefaultLever(
        "risk-for-term",
        F.RISK,
        "Shift risk to us for a longer term",
        "We carry the risk: a performance guarantee on {outcome}, with service credits if we "
        "miss, in exchange for a {longer_term}-month contract.",
        ("budget", "competitor", "politics"),
        ("mid", "late"),
        ("risk", "roi", "vendor_viability"),
        min_amount=50_000,
        term_months=48,
        clauses=(C.PERFORMANCE_GUARANTEE, C.SERVICE_CREDITS),
    ),
    DefaultLever(
        "outcome-pricing",
        F.RISK,
        "Outcome-based pricing",
        "Put part of the {amount} at risk on a measured outcome {economic_buyer} cares "
        "about ({outcome}); we earn the rest when it is met.",
        ("budget", "priority", "politics"),
        ("mid", "late"),
        ("roi", "risk"),
        min_amount=40_000,
        payment_terms=PT.ON_OUTCOME,
        clauses=(C.OUTCOME_FEE,),
    ),
    DefaultLever(
        "paid-pilot",
        F.RISK,
        "Paid pilot with conversion terms",
        "A paid 60-day pilot on one team at {account}, with success criteria agreed up front "
        "and the pilot fee credited when they convert to the full {amount}.",
        ("technical", "priority", "competitor"),
        ("early", "mid"),
        ("risk", "integration", "time_to_value"),
        clauses=(C.PILOT_CONVERSION,),
    ),
    DefaultLever(
        "exit-right",
        F.RISK,
        "An exit right after year one",
        "Give {account} the right to leave after twelve months if the agreed results are not "
        "there, so the doubt they raised ({obstacle}) no longer carries a risk for them.",
        ("politics", "competitor", "priority"),
        ("late",),
        ("risk", "vendor_viability"),
        term_months=36,
        clauses=(C.EXIT_RIGHT,),
    ),
    DefaultLever(
        "service-credits",
        F.RISK,
        "Service credits they can count on",
        "Write service credits into the contract for the support levels {account} worries "
        "about, so the risk has a price we pay, not them.",
        ("technical", "legal"),
        ("late",),
        ("support", "risk"),
        clauses=(C.SERVICE_CREDITS,),
    ),
    DefaultLever(
        "compliance-warranty",
        F.RISK,
        "Carry the compliance risk",
        "Offer a compliance warranty and our standard data-processing terms pre-agreed, so "
        "{account}'s legal review shortens to a check (their open point: {obstacle}).",
        ("legal",),
        ("mid", "late"),
        ("compliance", "risk"),
    ),
    # Scope and phasing -----------------------------------------------------------------
    DefaultLever(
        "phased-rollout",
        F.SCOPE,
        "Phased rollout",
        "Start with the part of {account} where the pain is sharpest ({pain}) and expand in "
        "phases with agreed gates, so the first decision is smaller than {amount}.",
        ("budget", "technical", "priority"),
        ("mid", "late"),
        ("risk", "time_to_value"),
        min_amount=30_000,
    ),
    DefaultLever(
        "land-small",
        F.SCOPE,
        "Land one team, expand on results",
        "Propose one team or region first, at a price under {economic_buyer}'s sign-off "
        "limit, with expansion pricing fixed now.",
        ("budget", "politics"),
        ("early", "mid"),
        ("price", "risk"),
        min_amount=60_000,
    ),
    DefaultLever(
        "quick-win",
        F.SCOPE,
        "A 30-day quick win",
        "Define one result {account} can see within 30 days and build the first phase "
        "around it, so the project earns its place on the priority list.",
        ("priority", "timing"),
        (),
        ("time_to_value",),
    ),
    DefaultLever(
        "descope-integration",
        F.SCOPE,
        "Take the hard integration out of phase one",
        "Move the integration IT doubts ({obstacle}) to phase two and start on a file "
        "feed, so the technical review stops blocking the decision.",
        ("technical",),
        ("mid", "late"),
        ("integration", "time_to_value"),
    ),
    DefaultLever(
        "bundle-services",
        F.SCOPE,
        "Bundle the services they would buy anyway",
        "Bundle onboarding and training into the {amount} so {account} compares one "
        "complete outcome, not our licence against a cheaper tool.",
        ("competitor",),
        ("mid", "late"),
        ("support", "usability", "time_to_value"),
    ),
    DefaultLever(
        "right-size",
        F.SCOPE,
        "Right-size the first order",
        "Cut the first order to the users who will use it in month one and commit the rest "
        "as options, so the {amount} shrinks to what {economic_buyer} can approve now.",
        ("budget",),
        ("late",),
        ("price", "roi"),
        min_amount=50_000,
    ),
    # Stakeholders and process ----------------------------------------------------------
    DefaultLever(
        "exec-sponsor",
        F.STAKEHOLDERS,
        "Executive sponsor pairing",
        "Pair one of our executives with {economic_buyer} at {account} for a 30-minute "
        "conversation about {outcome}, not about the product.",
        ("politics", "priority"),
        ("mid", "late"),
        ("vendor_viability", "risk"),
        min_amount=50_000,
    ),
    DefaultLever(
        "multi-thread",
        F.STAKEHOLDERS,
        "Reach the rest of the committee",
        "Map who else weighs in at {account} and give the champion a short brief for each — "
        "the deal is stuck in {stage} with too few people involved.",
        ("politics", "priority", "other"),
        ("early", "mid"),
        (),
    ),
    DefaultLever(
        "mutual-plan",
        F.STAKEHOLDERS,
        "A mutual action plan",
        "Agree a dated plan with {account} for every step left to signature, with owners on "
        "both sides, so what holds it up ({obstacle}) gets a date instead of a shrug.",
        ("timing", "legal", "priority"),
        ("mid", "late"),
        (),
    ),
    DefaultLever(
        "procurement-early",
        F.STAKEHOLDERS,
        "Bring procurement in early",
        "Meet {account}'s procurement now with our standard terms and pricing logic, before "
        "the business sign-off, so legal does not restart the negotiation.",
        ("legal",),
        ("mid",),
        ("compliance", "price"),
    ),
    DefaultLever(
        "architect-session",
        F.STAKEHOLDERS,
        "Our architect with their IT",
        "Put our solution architect with {account}'s IT for a working session on their "
        "open point ({obstacle}), with a written answer to each question afterwards.",
        ("technical",),
        (),
        ("integration", "compliance"),
    ),
    DefaultLever(
        "champion-kit",
        F.STAKEHOLDERS,
        "Arm the champion",
        "Give the champion a one-page business case in {economic_buyer}'s terms ({concern}) "
        "that they can forward without us in the room.",
        ("priority", "budget", "politics"),
        (),
        ("roi",),
    ),
    # Value and positioning -------------------------------------------------------------
    DefaultLever(
        "cost-of-inaction",
        F.VALUE,
        "Reframe around the cost of inaction",
        "Show {account} what another quarter of '{pain}' costs them, in their numbers, so "
        "doing nothing stops looking like the safe choice.",
        ("priority", "timing", "budget"),
        (),
        ("roi",),
    ),
    DefaultLever(
        "business-case-cfo",
        F.VALUE,
        "A business case for the CFO",
        "Build the payback case with {account}'s finance team against their own hurdle "
        "({concern}) instead of our ROI calculator.",
        ("budget",),
        ("mid", "late"),
        ("roi", "price"),
    ),
    DefaultLever(
        "reference-peer",
        F.VALUE,
        "A peer who solved the same problem",
        "Connect {economic_buyer} with a customer who had the same problem ('{pain}') for a "
        "peer call without us on the line.",
        ("competitor", "politics", "technical"),
        ("mid", "late"),
        ("vendor_viability", "risk"),
    ),
    DefaultLever(
        "reposition-outcome",
        F.VALUE,
        "Sell the outcome, not the tool",
        "Rewrite the proposal around {outcome}: what changes for {account}, by when, and how "
        "we will both measure it.",
        ("competitor", "priority"),
        (),
        ("roi", "time_to_value"),
    ),
    DefaultLever(
        "differentiate-vs-incumbent",
        F.VALUE,
        "Make the incumbent's discount irrelevant",
        "Show the three things the incumbent's cheaper renewal does not solve for {account}, "
        "priced as what they cost the customer per year.",
        ("competitor",),
        ("mid", "late"),
        ("price", "roi"),
    ),
    DefaultLever(
        "teach-insight",
        F.VALUE,
        "Teach them something about their business",
        "Bring {account} one insight about their own operation they have not seen, drawn "
        "from comparable customers, that reframes '{pain}'.",
        ("priority", "other"),
        ("early", "mid"),
        (),
    ),
    # Partners and financing ------------------------------------------------------------
    DefaultLever(
        "vendor-financing",
        F.PARTNERS,
        "Financing through a partner",
        "Offer the {amount} through our financing partner over 36 months, so {account} "
        "spreads the cost without us discounting.",
        ("budget",),
        ("late",),
        ("price",),
        min_amount=75_000,
        term_months=36,
        payment_terms=PT.QUARTERLY,
    ),
    DefaultLever(
        "si-partner",
        F.PARTNERS,
        "Bring in the integrator they trust",
        "Deliver the implementation with the systems integrator {account} already uses, so "
        "their concern ({obstacle}) is their partner's job, not a new vendor's risk.",
        ("technical", "politics"),
        ("mid", "late"),
        ("integration", "risk", "support"),
    ),
    DefaultLever(
        "marketplace",
        F.PARTNERS,
        "Buy through their cloud marketplace",
        "Let {account} buy through their cloud marketplace and draw down committed spend "
        "they already have, skipping a new vendor onboarding.",
        ("budget", "legal"),
        ("late",),
        ("price", "compliance"),
    ),
    DefaultLever(
        "co-funding",
        F.PARTNERS,
        "Co-fund the first phase",
        "Ask our technology partner to co-fund the first phase at {account}, lowering the "
        "entry price without touching our list price.",
        ("budget", "priority"),
        ("mid", "late"),
        ("price", "roi"),
        min_amount=50_000,
    ),
    DefaultLever(
        "joint-value-team",
        F.PARTNERS,
        "A joint value team",
        "Set up a small joint team (our customer success, their operations) with a 90-day "
        "target on {outcome}, paid from our success budget.",
        ("priority", "technical"),
        ("mid", "late"),
        ("time_to_value", "support"),
    ),
    DefaultLever(
        "finance-partner-review",
        F.PARTNERS,
        "Our finance team with theirs",
        "Have our deal desk walk {account}'s finance team through payment options that "
        "answer '{concern}' — one call, three concrete structures.",
        ("budget",),
        ("mid", "late"),
        ("price", "roi"),
    ),
)
