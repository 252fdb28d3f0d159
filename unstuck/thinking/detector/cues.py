"""Explicit cue patterns: the words that show a bias, and the words that show sound reasoning.

They do three jobs. An *anchor* is the biased move itself (“it failed in Denver”, “we've always”,
“I wouldn't buy it”) and gives the evidence a flag quotes. A *support* is the second half of the
move (“…so it will fail here”, “…so they won't either”). A *guard* is a sign of sound reasoning —
asking, testing, naming a reason, weighing another explanation — and is how a statement that
mentions the past, a price or a preference but reasons well escapes a flag. All three feed the
classifier as features; an anchor is also required before a flag is raised on a middling score.

The patterns describe how people write these moves in general, not the corpus's sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from unstuck.thinking.biases import Bias

_CONTRACTIONS = [
    (r"\b(do|does|did|is|are|was|were|would|could|should|have|has|had|ca|wo)nt\b", r"\1n't"),
    (r"\bcant\b", "can't"),
    (r"\bwont\b", "won't"),
    (r"\bim\b", "i'm"),
    (r"\bive\b", "i've"),
    (
        r"\bits\b(?= (?:obvious|def|always|just|the|a|clearly|pricing|price|budget|not|been))",
        "it's",
    ),
    (r"\bthats\b", "that's"),
    (r"\bweve\b", "we've"),
    (r"\btheyll\b", "they'll"),
    (r"\bdef\b", "definitely"),
    (r"\bprob\b", "probably"),
    (r"\bw/", "with "),
    (r"\btbh\b", ""),
]
_CONTRACTIONS_RE = [(re.compile(p, re.I), r) for p, r in _CONTRACTIONS]


_TYPOGRAPHY = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2014": ",", "\u2013": ","}
)


def normalise(text: str) -> str:
    """Straight quotes, expanded chat spellings, single spaces: patterns then need one spelling."""
    text = text.translate(_TYPOGRAPHY)
    for pattern, replacement in _CONTRACTIONS_RE:
        text = pattern.sub(replacement, text)
    return re.sub(r"\s+", " ", text).strip()


def _re(*parts: str) -> re.Pattern[str]:
    return re.compile(r"(?:" + "|".join(parts) + r")", re.I)


_FAIL = (
    r"\b(?:fail(?:ed|s)?|flop(?:ped|s)?|bomb(?:ed|s)?|died|tanked|backfired|fell flat"
    r"|went (?:nowhere|badly|south)|was a (?:disaster|mess|flop|failure)"
    r"|(?:didn't|did not|never) (?:work|fly|land|take off|stick|convert|bite|catch on|help"
    r"|sway|move the needle|go for|get anywhere|pan out|accept)\w*"
    r"|never (?:worked|caught on|converted|works)|did (?:nothing|little)|underperformed"
    r"|(?:said|says) no|rejected|hated it|killed (?:it|the|margins)|nobody came|zero leads"
    r"|scared off|stalled|lost|walked away|(?:still|they) walked(?! through| us)|didn't buy"
    r"|went nowhere|blew up|didn't change anything"
    r"|could(?:n't| not) make (?:\w+ ){0,3}work)\b"
)

ANCHORS: dict[str, re.Pattern[str]] = {
    Bias.EXPORTABILITY: re.compile(_FAIL, re.I),
    Bias.LEGACY: _re(
        r"\bwe(?:'ve| have)? always\b",
        r"\balways (?:have|been|done|sold|priced|billed|gone|had|handled|run|trained|quoted?"
        r"|lead|led|insist|sent|send|went|worked|used|offered)\b",
        r"\bas always\b",
        r"\b(?:how|the way) (?:we(?:'ve| have)? )?(?:always )?(?:do|did|done|does|work|operate"
        r"|roll|sell|sold|handle)(?: things)?(?: around)?(?: here)?\b",
        r"\bnot how we\b",
        r"\bnot our (?:style|thing|way)\b",
        r"\btradition(?:al|ally)?\b",
        r"\bhistorically\b",
        r"\bfor (?:years|a decade|decades|ever|\d+ (?:yrs|years))\b",
        r"\bsince (?:day one|forever|\d{4}|i joined|the start)\b",
        r"\btried and tested\b",
        r"\bproven (?:process|track|approach|method|sales motion)\b",
        r"\btrack record\b",
        r"\b(?:stick to|follow) the (?:playbook|process|script)\b",
        r"\bstandard (?:operating )?(?:process|procedure)\b",
        r"\bcompany policy\b",
        r"\bif it ain't broke\b",
        r"\breinvent(?:ing)? the wheel\b",
        r"\bnever have,? never will\b",
        r"\b(?:been|always been) (?:doing it )?(?:this|that) way\b",
        r"\bthe (?:old|usual) (?:way|approach|pitch|script|format)\b",
        r"\bthat's (?:the drill|just how|how it's (?:always )?done|the way it's always)\b",
        r"\blong[- ]established\b",
        r"\bwe(?:'ve| have)? never (?:done|offered|used|had|needed|negotiated|given|sold)\b",
        r"\b(?:has|have) always (?:been|worked|served|had)\b",
        r"\bthe way (?:it|things) (?:has|have) always\b",
        r"\bsame (?:as always|pitch as)\b",
        r"\bforever\b",
        r"\bthat's (?:what|how) we do\b",
        r"\bthat's how it's done\b",
        r"\bbuilt (?:this|the|our) (?:business|company) on\b",
    ),
    Bias.PRACTICALITY: _re(
        r"\bimpractical\b",
        r"\bnot (?:practical|realistic|feasible|doable|workable|possible)\b",
        r"\bisn't (?:realistic|practical|feasible|doable|possible)\b",
        r"\bunrealistic\b",
        r"\bunworkable\b",
        r"\binfeasible\b",
        r"\bcan(?:'t|not) be done\b",
        r"\bimpossible\b",
        r"\btoo (?:complicated|complex|hard|difficult|ambitious|risky|messy|expensive|unwieldy"
        r"|much (?:work|effort|hassle|admin|trouble)|big a lift|far-fetched)\b",
        r"\bnightmare\b",
        r"\bpipe dream\b",
        r"\bfantasy\b",
        r"\bfar-fetched\b",
        r"\blogistical(?:ly)? (?:mess|impossible|nightmare)\b",
        r"\bred tape\b",
        r"\b(?:would|will|could|we'd) never (?:work|happen|fly|get|be able|manage|staff|go for"
        r"|pull)\b",
        r"\bnever (?:gonna|going to) happen\b",
        r"\bwon't fly\b",
        r"\bout of the question\b",
        r"\bnon-?starter\b",
        r"\btoo many (?:moving parts|approvals|departments|steps)\b",
        r"\bcan't (?:realistically|pull|staff|see how|happen in practice)\b",
        r"\bnot something we can\b",
        r"\b(?:nice|good|great) (?:idea|theory)\b[^.]{0,30}\bbut\b",
        r"\bsounds (?:great|good|nice)\b[^.]{0,40}\bbut\b",
        r"\bon paper\b",
        r"\bin theory\b",
        r"\bwho has time\b",
        r"\b(?:don't|do not) have the bandwidth\b",
        r"\bcan't (?:do|be done with|offer) (?:that|it|this)\b",
        r"\btake forever\b",
        r"\bmess up\b",
        r"\bno way (?:legal|finance|procurement|the board|we|our)\b",
        r"\bnever (?:sign|signs|approve|approves) (?:off|that|it)\b",
    ),
    Bias.CONFIRMATION: _re(
        r"\b(?:doesn't|does not|won't|didn't|don't) (?:matter|mean (?:anything|a thing)"
        r"|change (?:anything|a thing)|count|affect (?:this|us)|touch us)\b",
        r"\bdoesn't mean (?:anything|they're not|they aren't)\b",
        r"\bthat's (?:just|normal|noise)\b",
        r"\bjust (?:a formality|noise|a tactic|negotiating|box-ticking|busy|procurement)\b",
        r"\b(?:is|are|that's) noise\b",
        r"\birrelevant\b",
        r"\bignor(?:e|ing)\b",
        r"\bwhatever\b",
        r"\bwho cares\b",
        r"\b(?:i'm )?not worried\b",
        r"\bnothing to (?:worry about|see)\b",
        r"\bnot reading anything\b",
        r"\bstill (?:keen|on track|the favou?rite|winning|strong|ours)\b",
        r"\bstill \d+ ?%",
        r"\bit's a win\b",
        r"\b(?:deal|it)(?:'s| is) (?:still )?(?:solid|fine|ours|strong|happening)\b",
        r"\bdeal's (?:fine|solid|ours)\b",
        r"\bi(?:'m| am) (?:sure|certain|confident|choosing to see|sticking with my)\b",
        r"\bi know (?:these|they|this customer|it)\b",
        r"\bthey'll (?:come around|sign|buy|renew|find the money|take the)\b",
        r"\bi don't buy it\b",
        r"\bbluffing\b",
        r"\bforget the (?:survey|data|numbers|rfp|scores)\b",
        r"\bdiscount(?:ing)? the (?:feedback|data|survey)\b",
        r"\bdespite\b",
        r"\bmust be a mistake\b",
        r"\bthey (?:always say|say that every)\b",
        r"\bthey don't (?:really )?mean it\b",
        r"\bnothing (?:has )?changed\b",
        r"\bno need to look into\b",
        r"\bkeep (?:it )?(?:at|in) commit\b",
        r"\bforecast stays\b",
        r"\ball that matters\b",
        r"\bdon't count\b",
        r"\bwon't touch us\b",
        r"\baren't leaving\b",
        r"\bdon't overthink\b",
        r"\bnot a (?:bad )?sign\b",
        r"\bnot an obstacle\b",
        r"\bsign of commitment\b",
        r"\bi still (?:think|believe)\b",
        r"\bi'm not changing the plan\b",
        r"\bkeep pushing the same\b",
        r"\bi think (?:she|he|they)(?:'s|'re| is| are) wrong\b",
        r"\bthey know it\b",
        r"\bnothing changes\b",
        r"\bmeh\b",
    ),
    Bias.FIRST_CONCLUSION: _re(
        r"\bobvious(?:ly)?\b",
        r"\bclearly\b",
        r"\bhas to be\b",
        r"\bmust be\b",
        r"\bsurely\b",
        r"\bdefinitely\b",
        r"\bcase closed\b",
        r"\bend of (?:story|analysis)\b",
        r"\bplain and simple\b",
        r"\bsimple\.",
        r"\bthat's (?:it|all|the whole story|all there is(?: to it)?|the answer|the reason"
        r"|the diagnosis|the explanation)\b",
        r"\ball there is to it\b",
        r"\bno need to (?:dig|look|investigate|check|ask|talk)\b",
        r"\b(?:not gonna|not going to|won't|no point) (?:bother )?(?:checking|asking"
        r"|investigating)\b",
        r"\bnothing (?:more|else) to (?:it|look at|find|investigate|dig)\b",
        r"\bnothing (?:more|else) (?:to it|explains)\b",
        r"\bstopped looking\b",
        r"\bdidn't look at anything else\b",
        r"\bclos(?:ed|ing) the investigation\b",
        r"\bno further questions\b",
        r"\bdon't need (?:more|any more|further) (?:investigation|digging|analysis)\b",
        r"\bi knew it from\b",
        r"\bfrom (?:the first|day one)\b",
        r"\bthe only (?:reason|thing|explanation|cause)\b",
        r"\bmy conclusion\b",
        r"\bit's final\b",
        r"\bi'm sure of it\b",
        r"\bno more digging\b",
        r"\bwon't spend more time\b",
        r"\blet's not (?:waste|overanaly[sz]e)\b",
        r"\bjumped to\b",
        r"\bso it's (?!worth|not|possible|fine|ok|likely|unclear)(?:a )?\w+\b",
        r"\bso (?:the \w+|that|it) is the (?:problem|reason|cause|issue)\b",
        r"\bthe reason is\b[^.]{0,40}\bwe know\b",
        r"\bso it is a\b",
        r"\bwe (?:all |already )?know (?:why|it's|the blocker|the reason)\b",
        r"\balways is\b",
        r"\bit's always (?:pricing|price|budget|procurement)\b",
        r"\bthe answer is\b",
        r"\broot cause is\b",
        r"\bthat explains it\b",
        r"\bthe first (?:reason|explanation|thing|thought)\b",
        r"\bthat's the (?:explanation|problem|cause)\b",
    ),
    Bias.PERSONAL: _re(
        r"\bi(?:'d| would) (?:never|hate|be annoyed|be put off|find|not want|not pay|not buy)\b",
        r"\bi (?:wouldn't|would not|would never|would hate"
        r"|don't like|dislike|hate|personally|'m not a fan|am not a fan|don't see the appeal"
        r"|don't care about|can't imagine|don't get why|don't use|never liked|'ve never liked"
        r"|wouldn't want|wouldn't trust|wouldn't pay|don't find|find (?:it|the|their|outcome)"
        r"|'m not someone|would find)\b",
        r"\bi'd never\b",
        r"\bpersonally\b",
        r"\bif i were (?:them|the|their|running|in)\b",
        r"\bin their shoes\b",
        r"\bif it (?:was|were) (?:me|my)\b",
        r"\bas a (?:buyer|customer)\b",
        r"\bspeaking (?:as|for myself)\b",
        r"\bfrom my point of view\b",
        r"\bmy gut\b",
        r"\bwould i (?:pay|buy)\b",
        r"\bme, i'd\b",
        r"\b(?:buy|pay for) it myself\b",
        r"\bi think [^.]{0,40}(?:childish|rip-off|overpriced|boring|pointless|a waste)\b",
    ),
}

SUPPORTS: dict[str, re.Pattern[str]] = {
    Bias.EXPORTABILITY: _re(
        r"\b(?:will|'ll|won't|will not|would|going to|gonna)\b[^.;?]{0,30}?\b(?:fail|flop|work"
        r"|fly|happen|react|say no|reject|hate|stall|die|backfire|fall flat|lose|bomb|same|either"
        r"|too|as well|convert|sway|move|help|stick|walk|save|land)\b",
        r"\b(?:here|this one|these guys|this \w+|them) (?:too|either|as well)\b",
        r"\bsame (?:thing|answer|way|here|result)\b",
        r"\bpointless\b",
        r"\bno point\b",
        r"\bnot worth\b",
        r"\bdon't bother\b",
        r"\bnot doing (?:it|that) (?:again|anywhere|here)\b",
        r"\bnot doing (?:it|that)\b",
        r"\bshouldn't bother\b",
        r"\b(?:\w+s) don't want (?:it|that|this)\b",
        r"\b(?:skip|drop|give up on) (?:it|the)\b",
        r"\boff the table\b",
        r"\bnon-?starter\b",
        r"\bwhy would (?:they|it)\b",
        r"\b(?:are|is) (?:all |basically )?the same\b",
        r"\bthey all\b",
        r"\basking for trouble\b",
        r"\bguaranteed\b",
        r"\bwe already know\b",
        r"\bseen it before\b",
        r"\btells us\b",
        r"\bproved it\b",
        r"\bi doubt\b",
        r"\bany different\b",
        r"\bno reason it would\b",
        r"\b(?:cancel|not offering|not running|not proposing|not pitching|let's not)\b",
        r"\b(?:every|any|all) \w+s?\b",
        r"= dead",
        r"\btherefore\b",
    ),
    Bias.LEGACY: _re(
        r"\bno (?:reason|need) to (?:change|rethink)\b",
        r"\bnot (?:changing|starting now|going to (?:change|rethink))\b",
        r"\bwon't (?:change|start)\b",
        r"\bstick(?:s)? (?:to|with)\b",
        r"\bkeep (?:to|it|with)\b",
        r"\bstays?\b",
        r"\bfull stop\b",
        r"\bend of discussion\b",
        r"\b(?:it|that) works\b",
        r"\bhas worked\b",
        r"\bworked (?:before|every time|for)\b",
        r"\bserved us well\b",
        r"\bdon't see why\b",
        r"\bwhy (?:would we )?change\b",
        r"\bnobody complained\b",
        r"\blet's not get creative\b",
        r"\bbreaks how we work\b",
        r"\blike every other\b",
        r"\bfollow it\b",
        r"\bmakes no sense\b",
        r"\bnot how we\b",
        r"\bisn't (?:our|how)\b",
        r"\bthe process stays\b",
        r"\bso (?:\w+ )?it is\b",
        r"\bnever (?:have|will|needed)\b",
        r"\bno need\b",
        r"\bnothing to fix\b",
        r"\bbad precedent\b",
    ),
    Bias.PRACTICALITY: _re(
        r"\bforget (?:it|about it)\b",
        r"\bdrop(?:ped|ping)? (?:it|the idea|that)\b",
        r"\bscrap(?:ped)?\b",
        r"\bskip\b",
        r"\bpass\b",
        r"\bnot worth\b",
        r"\blet's not\b",
        r"\bwon't (?:try|ask|push|propose|raise)\b",
        r"\bnot going to (?:ask|try|propose|suggest)\b",
        r"\boff the table\b",
        r"\bdead\b",
        r"\brul(?:e|ed|ing) (?:it )?out\b",
        r"\bdismiss(?:ing)?\b",
        r"\bnext idea\b",
        r"\bmove on\b",
        r"\bnot an option\b",
        r"\bnot happening\b",
        r"\bno point\b",
        r"\bcut it\b",
        r"\bleav(?:e|ing) (?:that|it)(?: idea)? out\b",
        r"\bnot gonna\b",
        r"\bperiod\b",
        r"\bthat's a no\b",
        r"\bso no\b",
        r"\bshouldn't bother\b",
        r"\bno way\b",
        r"\bi won't\b",
    ),
    Bias.CONFIRMATION: _re(
        r"\b(?:gone|went) quiet\b",
        r"\bsilen(?:ce|t)\b",
        r"\bghost(?:ed)?\b",
        r"\bno (?:reply|response|answer)\b",
        r"\bhasn't (?:replied|responded|said|logged)\b",
        r"\bhaven't (?:replied|logged)\b",
        r"\bdidn't (?:open|reply|respond)\b",
        r"\bstopped answering\b",
        r"\bskipped\b",
        r"\bcancel(?:l)?(?:ed|ing)\b",
        r"\bpushed (?:the date|back|out)\b",
        r"\bpostponed\b",
        r"\bmoved the meeting\b",
        r"\bdeclined\b",
        r"\brejected\b",
        r"\bcut (?:the|their) budget\b",
        r"\bbudget (?:line )?(?:is |went )?(?:gone|cut)\b",
        r"\busage (?:dropped|is down|down|fell)\b",
        r"\bcomplain(?:ed|ts)?\b",
        r"\bcompetitor\b",
        r"\bother vendors\b",
        r"\brfp\b",
        r"\balternatives\b",
        r"\bredlines\b",
        r"\bnot a priority\b",
        r"\bnot now\b",
        r"\btoo expensive\b",
        r"\bdealbreaker\b",
        r"\bnps\b",
        r"\btickets\b",
        r"\bcancellation\b",
        r"\bmonth-to-month\b",
        r"\bcheaper\b",
        r"\bengagement\b",
        r"\bdowngraded\b",
        r"\bpause\b",
        r"\bchampion left\b",
        r"\bheadcount cuts\b",
        r"\bnice to have\b",
        r"\bincumbent\b",
        r"\bwent badly\b",
    ),
    Bias.FIRST_CONCLUSION: _re(
        r"\bno need\b",
        r"\bnot gonna bother\b",
        r"\bnothing (?:more|else)\b",
        r"\bcase closed\b",
        r"\bmoving on\b",
        r"\bmove on\b",
        r"\bnext\b",
        r"\bdone\b",
        r"\bclos(?:ing|ed)\b",
        r"\bfinal\b",
        r"\bno further\b",
        r"\bnot revisiting\b",
        r"\bstopped\b",
        r"\bno point\b",
        r"\bdon't need\b",
        r"\bnot waste\b",
        r"\blet's (?:just )?(?:cut|shorten|fix|build the plan)\b",
        r"\bnothing to\b",
        r"\bi'm (?:confident|sure)\b",
    ),
    Bias.PERSONAL: _re(
        r"\b(?:so|therefore|which is why|thus)\b[^.]{0,30}\b(?:they|the customer|customers"
        r"|their|theirs|no customer|users|team)\b[^.]{0,40}\b(?:won't|will|'ll|either|too|same"
        r"|wouldn't|would|don't|hate|refuse|pass|walk)\b",
        r"\b(?:they|customers|theirs)\b[^.]{0,20}\b(?:won't|either|too|as well)\b",
        r"\bneither will\b",
        r"\bwon't either\b",
        r"\bwill too\b",
        r"\bthey'll (?:pass|hate|think|say no|walk)\b",
        r"\bi (?:assume|doubt|can't see them)\b",
        r"\bi'm sure (?:they|their)\b",
        r"\bso (?:forget|skip|i won't|i'm not|let's not|don't|we shouldn't|no way)\b",
        r"\bpointless\b",
        r"\bno way (?:they|their)\b",
        r"\bthey won't\b",
    ),
}

GUARD = _re(
    r"\blet's (?:find out|ask|check|test|look|see|compare|try|understand|list|weigh|model"
    r"|rule out|talk|get|write|run|define|pick|not settle|not lock)\b",
    r"\blet me (?:check|ask|find|know)\b",
    r"\b(?:i'll|i will|i've|i have|we'll|we will|gonna|going to|i'd like to|i want to) (?:ask|check"
    r"|test|find out|confirm|look|talk|call|meet|model|understand|hear|send|read)\b",
    r"\basked (?:them|the|her|him|three|two|whether|what|how|if|for a|deal desk|finance)\b",
    r"\basking\b",
    r"\bbefore (?:we |deciding|decide|we decide|we rule|we discount|we call|we reuse|we drop)\b",
    r"\bwhat (?:differed|was different|made|would (?:it take|have to be true|need|we)|evidence"
    r"|else|do they|does their|is behind|'s behind)\b",
    r"\bbecause\b",
    r"\bdue to\b",
    r"\bworth (?:a )?(?:test|testing|trying|asking|proposing)\b",
    r"\bcould (?:also|be)\b",
    r"\bmight\b",
    r"\bmay (?:be|not|suit|help)\b",
    r"\bmaybe\b",
    r"\bnot sure\b",
    r"\bidk\b",
    r"\bi'm not (?:them|the buyer)\b",
    r"\bmy (?:view|taste|preference|instinct|hunch)\b",
    r"\bturns out\b",
    r"\bactually\b",
    r"\bcompare\b",
    r"\bestimate\b",
    r"\brather than (?:assume|guess|drop)\b",
    r"\bfind out\b",
    r"\bunderstand\b",
    r"\bwhich of (?:those|these)\b",
    r"\bwhat would\b",
    r"\brather\b",
    r"\binstead\b",
    r"\bi (?:suggest|propose|'d suggest)\b",
    r"\bwhether\b",
    r"\bcheck(?:ing)? (?:if|whether|with|what)\b",
    r"\bwant to (?:check|know|see|hear|understand)\b",
    r"\badapt\b",
    r"\bwhich one\b",
    r"\bstill fits?\b",
    r"\bworth (?:it|proposing|a try|a look|exploring|testing)\b",
    r"\bbefore\b",
    r"\bcost(?:s)? (?:us|about|of)\b",
    r"\?",
)

# A reason given for the contrast (“…but their budget cycle is quarterly, so…”) counts as
# weighing the situation rather than waving it away.
CONTRAST_REASON = _re(
    r"\bbut (?:their|they|the customer|this (?:customer|one|time)|she|he|i asked|the \w+"
    r" (?:asked|said|wants|has|have|is|are))\b",
)


@dataclass(frozen=True)
class CueHit:
    bias: str
    start: int
    end: int


def anchor_hits(text: str) -> dict[str, list[CueHit]]:
    return {
        bias: [CueHit(bias, m.start(), m.end()) for m in pattern.finditer(text)]
        for bias, pattern in ANCHORS.items()
    }


def support_hit(text: str, bias: str) -> bool:
    return SUPPORTS[bias].search(text) is not None


def guard_count(text: str) -> int:
    return len(GUARD.findall(text)) + len(CONTRAST_REASON.findall(text))
