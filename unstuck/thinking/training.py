"""Bias-awareness training content: a short lesson per bias and a quiz that explains itself.

The statements here are written for teaching and are not in the detector's corpus.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.utils.crypto import salted_hmac

from unstuck.thinking.biases import BIAS_KEYS, CATALOGUE, NONE, Bias


@dataclass(frozen=True)
class Lesson:
    bias: str
    summary: str
    why_it_matters: str
    signs: tuple[str, ...]
    biased: tuple[str, ...]
    sound: tuple[str, ...]

    @property
    def name(self) -> str:
        return CATALOGUE[self.bias].name

    @property
    def short(self) -> str:
        return CATALOGUE[self.bias].short


LESSONS: dict[str, Lesson] = {
    Bias.PRACTICALITY: Lesson(
        Bias.PRACTICALITY,
        "An idea is dropped because it looks hard, before anyone has found out what it would "
        "take. The new options that unstick deals often look impractical at first sight.",
        "Stuck deals need something the usual offer doesn't give. If every unusual idea is "
        "killed on sight, only the usual offer is left.",
        (
            "“Unrealistic”, “never work in practice”, “too complicated”, “a nightmare”.",
            "The idea is rejected in the same breath as it is judged hard.",
            "Nobody has asked finance, legal or delivery what it would cost.",
        ),
        (
            "Paying on outcomes? Great in theory, impossible to run. Next.",
            "Finance would never agree to a payment holiday, so I haven't asked.",
        ),
        (
            "Paying on outcomes needs data we don't collect; I've asked the SE what it would "
            "cost to start with one metric.",
            "A payment holiday is unusual for us; finance says it works with a three-year term.",
        ),
    ),
    Bias.CONFIRMATION: Lesson(
        Bias.CONFIRMATION,
        "What the customer does is read to fit the view already held of the deal, and the "
        "signals that don't fit are explained away.",
        "A stuck deal is usually telling you something. Silence, a new vendor in the room or "
        "falling usage are facts; waving them off keeps the forecast and loses the deal.",
        (
            "A warning sign followed by “but”, “doesn't matter”, “just noise”, “still on track”.",
            "Certainty (“I know these people”) standing in for evidence.",
            "Only the friendly stakeholder's view counts.",
        ),
        (
            "They invited two other vendors, but that's procurement box-ticking. We're in.",
            "Usage halved since spring; the sponsor is happy though, so no risk.",
        ),
        (
            "They invited two other vendors. I've asked procurement what they want to compare.",
            "Usage halved since spring while the sponsor says all is well; I'm meeting the "
            "team leads to see which is true.",
        ),
    ),
    Bias.EXPORTABILITY: Lesson(
        Bias.EXPORTABILITY,
        "“It didn't work there, so it won't work here.” One failure elsewhere is taken as "
        "proof, without asking why it failed or whether this customer is alike.",
        "Ideas fail for reasons. If the reason doesn't apply here, a good idea is lost for "
        "nothing; if it does, naming it tells you what to change.",
        (
            "A place or customer where it failed, then “so it will fail here / for them too”.",
            "A whole segment judged from one or two cases (“banks don't do pilots”).",
            "No reason given for the first failure.",
        ),
        (
            "The bundle bombed in Lyon. It'll bomb in Marseille.",
            "Hospitals don't do pilots; St Mary's proved that.",
        ),
        (
            "The bundle failed in Lyon because they had no budget owner. Marseille has one, "
            "so it's worth a try there.",
            "St Mary's pilot failed without success criteria; let's agree them up front here.",
        ),
    ),
    Bias.LEGACY: Lesson(
        Bias.LEGACY,
        "An approach is kept because it is how things have always been done here, not because "
        "it fits this customer now.",
        "The usual way is why most deals close; it is also why the stuck ones stay stuck. "
        "Habit is a reason to start from, not a reason to stop.",
        (
            "“We've always…”, “that's not how we do things”, “for years”, “the playbook”.",
            "Tradition offered as the whole argument.",
            "A customer's request refused with no word on what it would cost us.",
        ),
        (
            "We've always billed annually upfront. That won't change for one customer.",
            "That's not how we sell here; we always demo first.",
        ),
        (
            "We usually bill annually, but their budget is released quarterly; finance can do "
            "quarterly with a small uplift.",
            "We normally demo first; this CFO wants the business case first, so we'll switch.",
        ),
    ),
    Bias.FIRST_CONCLUSION: Lesson(
        Bias.FIRST_CONCLUSION,
        "The first explanation that comes up is taken as the answer, and the looking stops.",
        "Deals stall for several reasons at once, and the first one heard is often the "
        "politest (“timing”, “budget”). Fixing the wrong cause costs a discount and a quarter.",
        (
            "“Obviously”, “clearly”, “that's the whole story”, “case closed”.",
            "One person's word taken as the diagnosis.",
            "“No need to dig further”; the investigation closed on day one.",
        ),
        (
            "It's obviously price. Let's cut 10% and move on.",
            "They said timing, so it's timing. Nothing else to look at.",
        ),
        (
            "Price might be it, or the integration, or the new CIO. I'll ask the CFO and IT "
            "before we touch the price.",
            "They said timing; I asked what would make now the right time.",
        ),
    ),
    Bias.PERSONAL: Lesson(
        Bias.PERSONAL,
        "“I wouldn't buy it, so they won't either.” The writer's own taste as a buyer is used "
        "to predict the customer's choice.",
        "The customer has a different budget, risk, process and problem. What annoys us may be "
        "exactly what their procurement or operations need.",
        (
            "“I wouldn't…”, “if I were them”, “personally”, “as a buyer”.",
            "…followed by “so they won't either”.",
            "Nothing the customer said is quoted.",
        ),
        (
            "I'd never pay for premium support, so they won't.",
            "If I were their CIO I'd hate a three-year lock-in. Don't offer it.",
        ),
        (
            "I'd skip premium support myself, but their plant runs 24/7; I'll show what an "
            "hour of downtime costs them.",
            "Their CFO asked for price stability, so a three-year term may suit them; I'll ask.",
        ),
    ),
}


@dataclass(frozen=True)
class QuizItem:
    key: str
    text: str
    answer: str  # a bias key or "none"
    explanation: str


QUIZ: tuple[QuizItem, ...] = (
    QuizItem(
        "q-practicality-1",
        "Sharing the savings with them sounds nice, but our billing could never handle it. "
        "Drop it.",
        Bias.PRACTICALITY,
        "The idea is killed because it looks hard to run, with no estimate of what it would "
        "take. Practicality.",
    ),
    QuizItem(
        "q-practicality-2",
        "A pilot in all 60 branches is too much for us. Let's propose six branches and expand "
        "if it works.",
        NONE,
        "The writer finds the idea hard but keeps it alive in a smaller form. That is working "
        "out what it takes, not rejecting it: no bias.",
    ),
    QuizItem(
        "q-practicality-3",
        "Getting their COO and CIO to agree on anything is a fantasy. Not worth a meeting.",
        Bias.PRACTICALITY,
        "An option is dismissed as unrealistic before it has been tried. Practicality.",
    ),
    QuizItem(
        "q-confirmation-1",
        "They asked twice how to export their data. Whatever, they're not going anywhere.",
        Bias.CONFIRMATION,
        "A real warning sign (asking how to leave) is waved off to keep the view that the "
        "customer is happy. Confirmation.",
    ),
    QuizItem(
        "q-confirmation-2",
        "Our champion says it's a done deal, yet the CFO cancelled our last two meetings. I'm "
        "asking the champion what the CFO is worried about.",
        NONE,
        "The writer notices the signal that doesn't fit and goes to find out. No bias.",
    ),
    QuizItem(
        "q-confirmation-3",
        "The end users scored the trial 3 out of 10, but the VP loves it, so I'm not worried.",
        Bias.CONFIRMATION,
        "Bad feedback from the people who will use it is set aside because one stakeholder "
        "agrees with us. Confirmation.",
    ),
    QuizItem(
        "q-exportability-1",
        "We tried outcome pricing with a retailer in Ohio and it flopped, so it'll flop with "
        "this retailer too.",
        Bias.EXPORTABILITY,
        "One failure elsewhere is taken as proof for here, with no reason given for the "
        "failure. Exportability.",
    ),
    QuizItem(
        "q-exportability-2",
        "Outcome pricing failed in Ohio because they couldn't measure the outcome. This "
        "retailer tracks it daily, so let's look at it again.",
        NONE,
        "The writer names why it failed there and checks whether that reason applies here. "
        "That is the sound way to use the past: no bias.",
    ),
    QuizItem(
        "q-exportability-3",
        "Universities never go for multi-year deals. Two of them said no last year.",
        Bias.EXPORTABILITY,
        "A whole segment is judged from two cases, without asking why they said no. Exportability.",
    ),
    QuizItem(
        "q-legacy-1",
        "We've always sent a full proposal after the first meeting. Not changing that now.",
        Bias.LEGACY,
        "The approach is kept because it is the habit, with no word on whether it fits this "
        "customer. Legacy.",
    ),
    QuizItem(
        "q-legacy-2",
        "We usually quote per seat; this customer asked for per site, so I asked finance what "
        "that would look like.",
        NONE,
        "The writer starts from the habit but adapts it to what the customer asked. No bias.",
    ),
    QuizItem(
        "q-legacy-3",
        "That's not how we do renewals here. They get the standard uplift like everyone else.",
        Bias.LEGACY,
        "“That's not how we do it” is the whole argument. Legacy.",
    ),
    QuizItem(
        "q-first-1",
        "The deal stalled right after their reorg, so the reorg is obviously why. No need to "
        "ask around.",
        Bias.FIRST_CONCLUSION,
        "The first explanation is taken as the answer and the looking stops. First conclusion.",
    ),
    QuizItem(
        "q-first-2",
        "It could be the reorg, but it could also be that our champion lost budget. I'll ask "
        "her and the new director.",
        NONE,
        "Two explanations are kept open and each is tested. No bias.",
    ),
    QuizItem(
        "q-first-3",
        "They said budget on the first call. It's budget, case closed.",
        Bias.FIRST_CONCLUSION,
        "The first reason heard closes the case. First conclusion.",
    ),
    QuizItem(
        "q-personal-1",
        "I'd never sit through a two-day onboarding, so their team won't want it either.",
        Bias.PERSONAL,
        "The writer's own taste predicts the customer's. Personal.",
    ),
    QuizItem(
        "q-personal-2",
        "Personally I dislike long contracts, but their CFO asked for locked pricing, so a "
        "three-year term may suit them.",
        NONE,
        "The writer names their own preference and then sets it aside for what the customer "
        "said. No bias.",
    ),
    QuizItem(
        "q-personal-3",
        "If it were my money I wouldn't pay for the analytics add-on. Leave it out.",
        Bias.PERSONAL,
        "“If it were my money” decides for the customer. Personal.",
    ),
    QuizItem(
        "q-none-1",
        "Sent the revised pricing to procurement; they'll reply after their Thursday review.",
        NONE,
        "A plain record of what happened. No bias.",
    ),
)

QUIZ_BY_KEY: dict[str, QuizItem] = {item.key: item for item in QUIZ}


# The page never names an item by its key ("q-legacy-1" would give the answer away): it names
# it by a token derived from the key and the secret key, which the server maps back.
def quiz_token(item: QuizItem) -> str:
    return salted_hmac("unstuck.thinking.quiz", item.key).hexdigest()[:16]


def quiz_item_for_token(token: str) -> QuizItem | None:
    return next((item for item in QUIZ if quiz_token(item) == token), None)


def quiz_order(*, workspace_id: int, user_id: int) -> list[QuizItem]:
    """Each person's own order of the statements (stable, so "next" means the same thing on
    every page), rather than one order for everybody."""
    order = list(QUIZ)
    random.Random(f"quiz:{workspace_id}:{user_id}").shuffle(order)
    return order


def quiz_choices(item: QuizItem, *, user_id: int) -> list[tuple[str, str]]:
    """The six biases in an order of their own for this person and statement, then "No bias"
    (always last, as the way out)."""
    biases = [(k, CATALOGUE[k].name) for k in BIAS_KEYS]
    random.Random(f"choices:{user_id}:{item.key}").shuffle(biases)
    return [*biases, (NONE, "No bias")]
