"""The option generator: proposals for one deal from its obstacles, its committee's concerns
and its stage, through the workspace's levers and through perspective questions.

Suggestions come from providers behind one small interface (`SuggestionProvider`), so the
playbook's "tactics that worked on similar deals" can plug in as another provider without
touching the rest. What people accepted, edited, ignored and chose is a per-workspace prior
that reorders the suggestions, so the generator learns what this team finds useful.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from django.db.models import Count, Q

from unstuck.cocreate.models import Lever, SuggestionAction, SuggestionFeedback
from unstuck.cocreate.perspectives import PERSPECTIVE_PROMPTS
from unstuck.core.templatetags.unstuck import format_money
from unstuck.deals.models import BuyingRole, Deal, Stage, StageKind
from unstuck.investigate.models import (
    Factor,
    ObstacleKind,
)
from unstuck.investigate.selectors import DealReads, deal_reads


@dataclass
class DealFacts:
    """What the generator knows about a deal, read in a fixed number of queries."""

    deal_id: int
    workspace_id: int
    account: str
    amount: Decimal
    currency: str
    stage: str
    phase: str  # early, mid or late among the pipeline's open stages
    obstacles: list[tuple[str, str]]  # (kind, description) of open obstacles
    factors: Counter[str]
    concerns: list[str]
    economic_buyer: str
    pain: str
    outcome: str

    @property
    def obstacle_kinds(self) -> set[str]:
        return {k for k, _ in self.obstacles}


@dataclass
class Suggestion:
    key: str  # lever:<key> or perspective:<key> or playbook:<id>
    source: str  # lever, perspective, playbook (OptionSource values)
    title: str
    text: str
    why: list[str]
    score: float
    family: str = ""
    lever_key: str = ""
    terms: dict[str, Any] = field(default_factory=dict)
    # The open obstacle it answers ("" when none): the ranking spreads the suggestions over
    # the deal's obstacles instead of answering one of them again and again.
    obstacle: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class SuggestionProvider(Protocol):
    """Anything that proposes options for a deal. The playbook adds one of these."""

    name: str

    def suggest(self, facts: DealFacts, workspace_id: int) -> list[Suggestion]: ...


# --- facts ------------------------------------------------------------------------------


def phase_of(stage: Stage, open_orders: list[int]) -> str:
    if stage.kind != StageKind.OPEN or len(open_orders) < 2:
        return "late"
    position = sorted(open_orders).index(stage.order) / (len(open_orders) - 1)
    return "early" if position < 0.34 else "mid" if position < 0.67 else "late"


def deal_facts(deal: Deal, *, outcome: str = "", reads: DealReads | None = None) -> DealFacts:
    """The deal as the generator sees it; `reads` is what the deal page has read already."""
    if reads is None:
        open_orders = list(
            Stage.objects.filter(pipeline_id=deal.pipeline_id, kind=StageKind.OPEN).values_list(
                "order", flat=True
            )
        )
        reads = deal_reads(deal)
    else:  # the page's read of the pipeline's stages
        open_orders = [s.order for s in reads.stages if s.kind == StageKind.OPEN]
    obstacles = [(o.kind, o.description) for o in reads.open_obstacles]
    factors: Counter[str] = Counter()
    concerns: list[str] = []
    economic_buyer = ""
    for s in reads.stakeholders_by_influence:
        view = getattr(s, "view", None)
        if view is not None:
            factors.update(view.factors)
            if view.financial_concerns:
                concerns.append(view.financial_concerns)
        if not economic_buyer and s.buying_role == BuyingRole.ECONOMIC_BUYER:
            economic_buyer = s.name
    pain = reads.pain
    return DealFacts(
        deal_id=deal.pk,
        workspace_id=deal.workspace_id,
        account=deal.account.name if deal.account else deal.name,
        amount=deal.amount,
        currency=deal.currency,
        stage=deal.stage.name,
        phase=phase_of(deal.stage, open_orders),
        obstacles=obstacles,
        factors=factors,
        concerns=concerns,
        economic_buyer=economic_buyer,
        pain=pain.pain if pain else "",
        outcome=outcome or (pain.resolution if pain else ""),
    )


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _money(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency, compact=False)


def _short(text: str, limit: int = 90) -> str:
    """At most `limit` characters: whole when it fits, else cut at the last clause break
    (";", ":", ", ", " — ") past its first third, else at a word, with an ellipsis."""
    text = " ".join(text.split()).rstrip(".")
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    breaks = [head.rfind(mark) for mark in ("; ", ": ", ", ", " — ")]
    cut = max(breaks)
    if cut >= limit // 3:
        return head[:cut] + "…"
    return head.rsplit(" ", 1)[0] + "…"


def _inline(text: str) -> str:
    """A sentence's start made fit for the middle of another ("Has to…" → "has to…")."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def fill(template: str, facts: DealFacts, *, obstacle: str = "", term_months: int = 0) -> str:
    """The template with the deal's own facts; a fact the deal lacks reads as plain words.

    {obstacle} is the obstacle the proposal answers (never an unrelated one), quoted as the
    rep wrote it: a sentence, so templates put it where a quotation reads, e.g. "the doubt they
    raised ({obstacle})"; with no obstacle logged it reads "not logged yet". Quotes a template
    already puts around it (an edited lever's '{obstacle}') are not doubled.
    """
    for quoted in ("'{obstacle}'", "“{obstacle}”", '"{obstacle}"'):
        template = template.replace(quoted, "{obstacle}")
    values = _Blank(
        account=facts.account,
        amount=_money(facts.amount, facts.currency),
        stage=facts.stage,
        obstacle=f"“{_short(_inline(obstacle))}”" if obstacle.strip() else "not logged yet",
        concern=_short(_inline(facts.concerns[0]), 80) if facts.concerns else "their budget hurdle",
        pain=_short(_inline(facts.pain)) or "the problem they told us about",
        outcome=_short(_inline(facts.outcome), 80) or "the result they want",
        economic_buyer=facts.economic_buyer or "the economic buyer",
        term_months=str(term_months or 36),
        longer_term=str(max(term_months or 0, 36)),
    )
    return string.Formatter().vformat(template, (), values)


# --- the usefulness prior -----------------------------------------------------------------


def usefulness_priors(workspace_id: int) -> dict[str, float]:
    """Per suggestion key, how useful this team found it: a smoothed share of accepts (a
    choice in a decision counts double) over everything done with it; 0.5 when unknown."""
    rows = (
        SuggestionFeedback.objects.filter(workspace_id=workspace_id)
        .values("key")
        .annotate(
            good=Count(
                "pk", filter=Q(action__in=[SuggestionAction.ACCEPTED, SuggestionAction.EDITED])
            ),
            chosen=Count("pk", filter=Q(action=SuggestionAction.CHOSEN)),
            ignored=Count("pk", filter=Q(action=SuggestionAction.IGNORED)),
        )
    )
    priors = {}
    for r in rows:
        good = r["good"] + 2 * r["chosen"]
        priors[r["key"]] = (good + 1) / (good + r["ignored"] + 2)
    return priors


# --- providers ----------------------------------------------------------------------------

KIND_LABELS = dict(ObstacleKind.choices)
FACTOR_LABELS = dict(Factor.choices)


class LeverProvider:
    """The workspace's active levers that fit the deal, filled with its facts."""

    name = "levers"

    def __init__(self, levers: Iterable[Lever]) -> None:
        self.levers = list(levers)

    def suggest(self, facts: DealFacts, workspace_id: int) -> list[Suggestion]:
        out = []
        kinds = facts.obstacle_kinds
        for lever in self.levers:
            if lever.min_amount is not None and facts.amount < lever.min_amount:
                continue
            if lever.max_amount is not None and facts.amount > lever.max_amount:
                continue
            matched = [k for k in lever.obstacle_kinds if k in kinds]
            # One candidate per open obstacle it answers; the ranking keeps the one that
            # widens the list most (see `diversify`).
            answers = [(k, d) for k, d in facts.obstacles if k in matched] or [("", "")]
            for kind, obstacle_text in answers:
                out.append(self._candidate(lever, facts, matched, kind, obstacle_text))
        return out

    def _candidate(
        self, lever: Lever, facts: DealFacts, matched: list[str], kind: str, obstacle_text: str
    ) -> Suggestion:
        why: list[str] = []
        score = 0.5
        if kind:
            score += 4 + len(matched) - 1
            why.append(
                f"answers the {KIND_LABELS.get(kind, kind).lower()} obstacle "
                f"“{_short(obstacle_text, 70)}”"
            )
        weighed = [f for f in lever.factors if facts.factors.get(f)]
        if weighed:
            score += min(2.0, 0.75 * len(weighed))
            names = ", ".join(FACTOR_LABELS.get(f, f).lower() for f in weighed)
            why.append(f"the committee weighs {names}")
        if lever.phases:
            if facts.phase in lever.phases:
                score += 1
                why.append(f"suits a deal in {facts.stage}")
            else:
                score -= 1.5
        if lever.min_amount is not None:
            why.append(f"the deal is large enough ({_money(facts.amount, facts.currency)})")
        if not kind and not weighed:
            why.append("widens the options beyond this deal's logged obstacles")
        terms = {
            "discount_pct": lever.discount_pct,
            "term_months": lever.term_months,
            "payment_terms": lever.payment_terms,
            "clauses": list(lever.clauses),
        }
        return Suggestion(
            key=f"lever:{lever.key}",
            source="lever",
            title=lever.name,
            text=fill(
                lever.template,
                facts,
                obstacle=obstacle_text,
                term_months=lever.term_months or 0,
            ),
            why=why,
            score=score,
            family=lever.get_family_display(),
            lever_key=lever.key,
            terms=terms,
            obstacle=obstacle_text,
        )


class PerspectiveProvider:
    """Proposals that come from looking at the deal from another seat."""

    name = "perspectives"

    def suggest(self, facts: DealFacts, workspace_id: int) -> list[Suggestion]:
        out = []
        for p in PERSPECTIVE_PROMPTS:
            matched = [k for k in p.obstacle_kinds if k in facts.obstacle_kinds]
            answers = [(k, d) for k, d in facts.obstacles if k in matched] or [("", "")]
            for kind, obstacle in answers:
                why = [f"{p.perspective}: “{fill(p.question, facts)}”"]
                if kind:
                    why.append(f"speaks to the {KIND_LABELS.get(kind, kind).lower()} obstacle")
                out.append(
                    Suggestion(
                        key=f"perspective:{p.key}",
                        source="perspective",
                        title=f"{p.perspective}'s view",
                        text=fill(p.proposal, facts, obstacle=obstacle),
                        why=why,
                        score=1.0 + (2.5 if kind else 0),
                        family="Perspective",
                        obstacle=obstacle,
                    )
                )
        return out


# Extra providers (the playbook's tactics from similar deals) register here.
EXTRA_PROVIDERS: list[SuggestionProvider] = []


# How much a suggestion's fit counts down for each answer to its obstacle ranked above it
# beyond the least-answered obstacle's, and likewise for its lever family: enough that the
# second answer to one obstacle comes before a third to another, never so much that a
# suggestion answering none of the deal's obstacles overtakes one that does (a match is
# worth 4).
REPEAT_OBSTACLE_PENALTY = 1.5
REPEAT_FAMILY_PENALTY = 0.5


def diversify(candidates: list[Suggestion]) -> list[Suggestion]:
    """Rank for fit and for range: greedily take the candidate whose fit, less how far its
    obstacle and its lever family are ahead of the least used ones still on offer, is
    highest; one per key (a lever answering two obstacles is a candidate for each and is
    ranked once, for the one that widens the list more)."""
    pool = sorted(candidates, key=lambda s: (-s.score, s.key))
    per_obstacle: Counter[str] = Counter()
    per_family: Counter[str] = Counter()
    ranked: list[Suggestion] = []
    while pool:
        obstacles = {s.obstacle for s in pool if s.obstacle}
        least_obstacle = min((per_obstacle[o] for o in obstacles), default=0)
        least_family = min(per_family[s.family] for s in pool)

        def worth(
            s: Suggestion, least_obstacle: int = least_obstacle, least_family: int = least_family
        ) -> float:
            ahead = per_obstacle[s.obstacle] - least_obstacle if s.obstacle else 0
            return (
                s.score
                - REPEAT_OBSTACLE_PENALTY * ahead
                - REPEAT_FAMILY_PENALTY * (per_family[s.family] - least_family)
            )

        best = max(pool, key=worth)  # max keeps the first of equals: the pool's order
        ranked.append(best)
        if best.obstacle:
            per_obstacle[best.obstacle] += 1
        per_family[best.family] += 1
        pool = [s for s in pool if s.key != best.key]
    return ranked


def suggest_for(
    deal: Deal,
    *,
    outcome: str = "",
    facts: DealFacts | None = None,
    providers: list[SuggestionProvider] | None = None,
    exclude: set[str] | frozenset[str] = frozenset(),
) -> list[Suggestion]:
    """Every suggestion for the deal (but the keys excluded), best first: fit to the deal
    times the team's prior, spread over the deal's obstacles and the lever families."""
    facts = facts or deal_facts(deal, outcome=outcome)
    if providers is None:
        levers = Lever.objects.filter(workspace_id=deal.workspace_id, is_active=True)
        providers = [LeverProvider(levers), PerspectiveProvider(), *EXTRA_PROVIDERS]
    priors = usefulness_priors(deal.workspace_id)
    candidates: list[Suggestion] = []
    for provider in providers:
        for s in provider.suggest(facts, deal.workspace_id):
            if s.key in exclude:
                continue
            prior = priors.get(s.key)
            if prior is not None:
                s.score *= 0.5 + prior
                if prior >= 0.6:
                    s.why.append("your team has found it useful before")
            candidates.append(s)
    return diversify(candidates)
