"""Does a comment judge an option? In diverge such comments are held back until converge.

Two signals: plain evaluative cues ("won't work", "great idea", "too expensive") and the
bias detector (its biases — practicality, exportability, legacy, personal… — are judgements
of an idea). Either is enough; the reason is shown to the writer.
"""

from __future__ import annotations

import re

from unstuck.thinking.biases import bias_name
from unstuck.thinking.detector import detect

EVALUATIVE = re.compile(
    r"\b(?:"
    r"(?:won'?t|will ?not|wouldn'?t|would ?not|can'?t|cannot|never) (?:ever )?(?:work|fly|"
    r"happen|sell|land|pass|get approved)|"
    r"(?:bad|good|great|terrible|awful|brilliant|stupid|silly|dumb|weak|strong|best|worst|"
    r"nice|excellent|poor) (?:idea|option|one|plan|call|move)|"
    r"(?:too|way too|far too) (?:expensive|risky|complicated|complex|slow|cheap|much|hard|late)|"
    r"(?:love|like|hate|dislike) (?:this|that|it)\b|"
    r"(?:i|we) (?:don'?t|do not) like|"
    r"makes? no sense|doesn'?t make sense|no way|not realistic|unrealistic|impossible|"
    r"non-?starter|dead on arrival|waste of (?:time|money)|"
    r"(?:is|are|seems?|sounds?) (?:better|worse|pointless|naive|crazy|unworkable)|"
    r"(?:would|will) (?:never|not) (?:agree|accept|approve|sign|go for)"
    r")",
    re.IGNORECASE,
)


def judging_reason(text: str) -> str:
    """Why this text judges an option, or "" when it does not."""
    cleaned = text.replace("\u2019", "'")
    match = EVALUATIVE.search(cleaned)
    if match:
        return f"It judges an option (“{match.group(0)}”)."
    flags = detect(cleaned)
    if flags:
        return f"It reads as a judgement ({bias_name(flags[0].bias).lower()} bias?)."
    return ""
