"""The six biases that block expansive thinking: their keys, names and plain-language meaning.

One catalogue for the detector, the question bank, the training and every page that names a bias.
"""

from __future__ import annotations

from dataclasses import dataclass

from unstuck.core.choices import TextChoices


class Bias(TextChoices):
    PRACTICALITY = "practicality", "Practicality"
    CONFIRMATION = "confirmation", "Confirmation"
    EXPORTABILITY = "exportability", "Exportability"
    LEGACY = "legacy", "Legacy"
    FIRST_CONCLUSION = "first_conclusion", "First conclusion"
    PERSONAL = "personal", "Personal"


BIAS_KEYS: tuple[str, ...] = tuple(Bias.values)
NONE = "none"


@dataclass(frozen=True)
class BiasInfo:
    key: str
    name: str
    short: str  # what the bias is, in one line
    explanation: str  # what the note says to the writer when it is flagged


CATALOGUE: dict[str, BiasInfo] = {
    Bias.PRACTICALITY: BiasInfo(
        Bias.PRACTICALITY,
        "Practicality",
        "Rejecting an idea because it seems impractical, before working out what it would take.",
        "This turns an idea down because it looks hard to do, before anyone has worked out "
        "what it would take.",
    ),
    Bias.CONFIRMATION: BiasInfo(
        Bias.CONFIRMATION,
        "Confirmation",
        "Setting aside what the customer does when it doesn't fit the view we already hold.",
        "This sets aside something the customer did or said because it doesn't fit the view "
        "already held of the deal.",
    ),
    Bias.EXPORTABILITY: BiasInfo(
        Bias.EXPORTABILITY,
        "Exportability",
        "“It didn't work there, so it won't work here.”",
        "This concludes it will fail here because it failed somewhere else, without saying "
        "what the two situations have in common.",
    ),
    Bias.LEGACY: BiasInfo(
        Bias.LEGACY,
        "Legacy",
        "“The way we've always done it is best.”",
        "This keeps an approach because it is how things have always been done, not because "
        "it fits this customer.",
    ),
    Bias.FIRST_CONCLUSION: BiasInfo(
        Bias.FIRST_CONCLUSION,
        "First conclusion",
        "Taking the first explanation that comes up as the answer.",
        "This settles on the first explanation and stops looking, though other causes have "
        "not been ruled out.",
    ),
    Bias.PERSONAL: BiasInfo(
        Bias.PERSONAL,
        "Personal",
        "“I wouldn't buy it, so the customer won't either.”",
        "This predicts the customer's choice from the writer's own taste rather than from "
        "what the customer needs or has said.",
    ),
}


def bias_name(key: str) -> str:
    info = CATALOGUE.get(key)
    return info.name if info else key
