"""Perspective prompts: a question from another seat at the table and the proposal it leads
to, with the obstacle kinds it speaks to. The generator fills them with the deal's facts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PerspectivePrompt:
    key: str
    perspective: str
    question: str
    proposal: str
    obstacle_kinds: tuple[str, ...] = ()


PERSPECTIVE_PROMPTS: tuple[PerspectivePrompt, ...] = (
    PerspectivePrompt(
        "cfo-hurdle",
        "The customer's CFO",
        "What would make this an easy yes for the CFO?",
        "Meet {account}'s CFO hurdle head-on: a one-page view of payback against “{concern}”.",
        ("budget",),
    ),
    PerspectivePrompt(
        "procurement-standard",
        "Procurement",
        "What would procurement need to sign without another round?",
        "Send {account}'s procurement a pre-filled pack: standard terms, security answers and "
        "a pricing rationale, so their open point ({obstacle}) closes in one pass.",
        ("legal", "budget"),
    ),
    PerspectivePrompt(
        "end-user-pull",
        "The end user",
        "What would the people who use it every day ask their boss for?",
        "Run a hands-on session with the end users at {account} on “{pain}” and let them "
        "make the case upward.",
        ("priority", "politics"),
    ),
    PerspectivePrompt(
        "it-first",
        "IT and security",
        "What would IT need to see to stop being the blocker?",
        "Offer {account}'s IT a sandbox and a written integration plan before they ask, "
        "answering their doubt ({obstacle}).",
        ("technical",),
    ),
    PerspectivePrompt(
        "customers-customer",
        "The customer's own customer",
        "What does {account}'s own customer gain if this goes ahead?",
        "Frame the proposal around what {account}'s customers will notice — faster answers, "
        "fewer errors — so it becomes a growth project, not an IT cost.",
        ("priority", "competitor"),
    ),
    PerspectivePrompt(
        "competitor-move",
        "A competitor",
        "What would our strongest competitor offer tomorrow?",
        "Pre-empt the competitor's move on {account}: offer what they would lead with, "
        "on our terms, before the next meeting.",
        ("competitor",),
    ),
    PerspectivePrompt(
        "new-hire",
        "A new hire with no history here",
        "What would someone new try, who does not know how we usually sell?",
        "Drop the standard proposal for {account}: ask the champion what a deal they could "
        "sign this month would look like, and build that.",
        (),
    ),
    PerspectivePrompt(
        "what-true",
        "What would have to be true",
        "What would have to be true for {account} to sign this quarter?",
        "List what would have to be true for {account} to sign by the close date and turn "
        "each into a step with an owner on their side.",
        ("timing", "priority"),
    ),
    PerspectivePrompt(
        "premortem-first",
        "Premortem",
        "Six months on the deal is lost — what killed it?",
        "Ask the champion at {account} what would kill this deal, and design the next "
        "proposal to remove the top answer.",
        (),
    ),
)
