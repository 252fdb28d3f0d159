"""The bias detector: a linear classifier over sentence embeddings and cues, with cue evidence.

Two heads share the rule and differ in what they read: `full` (the static embedding, the
MiniLM embedding and the cues) for saved text, the API and the command line, and `quick` (the
static embedding and the cues) for a note while someone types, where every keystroke pause
asks again. A text is flagged when the classifier's probability that it shows *some* bias
(one minus the probability of "none") passes a threshold, and the flag names the most probable
bias: the lower threshold applies when a cue of that bias is in the text (the cue is then the
evidence), the higher one when none is (the evidence is then the sentence that scores highest).
A cue does not count when the writer goes on to find out, test or weigh, unless the second half
of the move is there too. Any other bias whose own probability passes its threshold is flagged
as well. Thresholds were chosen on leave-one-author-out predictions of the corpus (each
statement scored by a model that never saw its writer; scripts/train_bias_classifier.py), never
on the blind set. A long text (WINDOW_FROM sentences or more) is also read two sentences at a
time and judged on its most biased reading, with thresholds of its own, chosen on long notes
made of the corpus (a head saved without them reads every text whole).
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from unstuck.thinking.biases import BIAS_KEYS, CATALOGUE, NONE
from unstuck.thinking.detector import cues
from unstuck.thinking.detector.features import featurise
from unstuck.thinking.question_bank import default_questions_for

WEIGHTS = Path(__file__).resolve().parent / "classifier.npz"
MAX_EVIDENCE = 160
# Sentences, for evidence: the sentence holding the cue, or the one that scores highest.
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
# Texts of this many sentences or more are also read two sentences at a time (reading_units),
# and judged with thresholds of their own, chosen on long texts.
WINDOW_FROM = 4


@dataclass
class BiasFlag:
    bias: str
    confidence: float
    evidence: str
    explanation: str
    questions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def probabilities(features: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Multinomial logistic regression: class probabilities per row of features, one column per
    bias and then none. A head may have more rows than that: the rows after none's are kinds of
    none learnt apart (sound reasoning on a bias's surface, beside plain notes), added to it."""
    logits = features @ weights.T + bias
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    probs: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    none = len(BIAS_KEYS)
    if probs.shape[1] > none + 1:
        probs = np.hstack([probs[:, :none], probs[:, none:].sum(axis=1, keepdims=True)])
    return probs


@dataclass(frozen=True)
class Head:
    """One fitted classifier: which encoders it reads, its weights and its thresholds (a cue
    and no cue; for texts read whole, and for long texts read also in windows)."""

    encoders: tuple[str, ...]
    weights: np.ndarray  # (classes, features)
    bias: np.ndarray  # (classes,)
    threshold_cue: float
    threshold_no_cue: float
    # None for a head trained before long texts were read in windows: it reads them whole.
    threshold_cue_long: float | None = None
    threshold_no_cue_long: float | None = None

    @property
    def reads_windows(self) -> bool:
        return self.threshold_cue_long is not None and self.threshold_no_cue_long is not None

    def thresholds(self, long: bool) -> tuple[float, float]:
        if long and self.threshold_cue_long is not None and self.threshold_no_cue_long is not None:
            return self.threshold_cue_long, self.threshold_no_cue_long
        return self.threshold_cue, self.threshold_no_cue

    def features(self, texts: list[str]) -> np.ndarray:
        return featurise(texts, self.encoders)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return probabilities(features, self.weights, self.bias)


@dataclass(frozen=True)
class Classifier:
    classes: tuple[str, ...]
    heads: dict[str, Head]

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> Classifier:
        data = np.load(path, allow_pickle=False)
        heads = {}
        for name in HEADS:
            heads[name] = Head(
                encoders=tuple(str(e) for e in data[f"{name}_encoders"]),
                weights=data[f"{name}_weights"].astype(np.float32),
                bias=data[f"{name}_intercept"].astype(np.float32),
                threshold_cue=float(data[f"{name}_threshold_cue"]),
                threshold_no_cue=float(data[f"{name}_threshold_no_cue"]),
                threshold_cue_long=_optional(data, f"{name}_threshold_cue_long"),
                threshold_no_cue_long=_optional(data, f"{name}_threshold_no_cue_long"),
            )
        return cls(classes=tuple(str(c) for c in data["classes"]), heads=heads)


HEADS = ("full", "quick")


def _optional(data: Any, key: str) -> float | None:
    return float(data[key]) if key in data.files else None


@functools.cache
def classifier() -> Classifier:
    return Classifier.load()


def _sentences(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans or [(0, len(text))]


def _evidence_around(text: str, start: int, end: int) -> str:
    """The sentence holding the cue, cut to a window around the cue when it is long."""
    for s, e in _sentences(text):
        if s <= start < e:
            if e - s <= MAX_EVIDENCE:
                return text[s:e].strip()
            left = max(s, start - 60)
            right = min(e, max(end + 60, left + MAX_EVIDENCE))
            snippet = text[left:right].strip()
            return ("…" if left > s else "") + snippet + ("…" if right < e else "")
    return text[start:end]


def _evidence_with_neighbour(text: str, hit: cues.CueHit) -> str:
    """The cue's sentence, joined with the sentence next to it when that one holds the other
    half of the move (“We've always sold annual contracts. No reason to change now.”)."""
    spans = _sentences(text)
    index = next((i for i, (s, e) in enumerate(spans) if s <= hit.start < e), None)
    if index is None:
        return _evidence_around(text, hit.start, hit.end)
    start, end = spans[index]
    for j in (index - 1, index + 1):
        if 0 <= j < len(spans):
            s, e = spans[j]
            part = text[s:e]
            if (cues.ANCHORS[hit.bias].search(part) or cues.support_hit(part, hit.bias)) and max(
                e, end
            ) - min(s, start) <= MAX_EVIDENCE:
                start, end = min(s, start), max(e, end)
                break
    if end - start <= MAX_EVIDENCE:
        return text[start:end].strip()
    return _evidence_around(text, hit.start, hit.end)


def _strongest_hit(text: str, found: list[cues.CueHit]) -> cues.CueHit:
    """The cue whose sentence also holds the second half of the move, else the first cue."""
    for hit in found:
        for s, e in _sentences(text):
            if s <= hit.start < e and cues.support_hit(text[s:e], hit.bias):
                return hit
    return found[0]


def _best_sentence(text: str, bias_index: int, head: Head) -> str:
    spans = _sentences(text)
    if len(spans) == 1:
        return _evidence_around(text, spans[0][0], spans[0][0])
    parts = [text[s:e] for s, e in spans]
    scores = head.probabilities(head.features(parts))[:, bias_index]
    s, _ = spans[int(np.argmax(scores))]
    return _evidence_around(text, s, s)


def _flags_for(
    text: str,
    probs: np.ndarray,
    classes: tuple[str, ...],
    head: Head,
    thresholds: tuple[float, float],
) -> list[BiasFlag]:
    hits = cues.anchor_hits(text)
    gated = cues.gated_biases(text, hits)
    indices = [classes.index(b) for b in BIAS_KEYS]
    biased = 1.0 - float(probs[classes.index(NONE)])
    best = max(BIAS_KEYS, key=lambda b: probs[classes.index(b)])
    flags: list[BiasFlag] = []
    for bias, index in zip(BIAS_KEYS, indices, strict=True):
        found = hits[bias] if bias in gated else []
        threshold = thresholds[0] if found else thresholds[1]
        # The most probable bias is judged on the probability of any bias at all, so a text
        # whose biased reading is split between two neighbouring biases is still flagged.
        p = biased if bias == best else float(probs[index])
        if p < threshold:
            continue
        if found:
            evidence = _evidence_with_neighbour(text, _strongest_hit(text, found))
        else:
            evidence = _best_sentence(text, index, head)
        flags.append(
            BiasFlag(
                bias=bias,
                confidence=min(round(p, 2), 0.99),
                evidence=evidence,
                explanation=CATALOGUE[bias].explanation,
                questions=default_questions_for(bias),
            )
        )
    flags.sort(key=lambda f: -f.confidence)
    return flags


def reading_units(text: str) -> list[str]:
    """What a text is read as, normalised: the whole, and for a text of WINDOW_FROM sentences
    or more also each sentence with the one after it (the last one alone), so one biased move
    inside a long note or review is not drowned by the rest, while a move and the sentence
    that tests or weighs it (the usual sound follow-up) are still read together."""
    whole = cues.normalise(text)
    spans = _sentences(text.strip())
    if len(spans) < WINDOW_FROM:
        return [whole]
    parts = [cues.normalise(text.strip()[s:e]) for s, e in spans]
    windows = [f"{a} {b}" for a, b in itertools.pairwise(parts)] + [parts[-1]]
    return [whole, *dict.fromkeys(w for w in windows if len(w) >= 8 and w != whole)]


def most_biased(probs: np.ndarray, none_index: int) -> int:
    """The row (reading unit) with the highest probability of some bias; the first on ties."""
    return int(np.argmax(1.0 - probs[:, none_index]))


def detect_many(texts: list[str], *, quick: bool = False) -> list[list[BiasFlag]]:
    """Flags for each text, in order; one batched pass through the model. `quick` reads with
    the static model only (for a note while someone types); the default reads with MiniLM too.
    Each text is judged on its most biased reading unit (`reading_units`)."""
    model = classifier()
    head = model.heads["quick" if quick else "full"]
    units = [
        reading_units(t or "") if head.reads_windows else [cues.normalise(t or "")] for t in texts
    ]
    results: list[list[BiasFlag]] = [[] for _ in texts]
    todo = [i for i, u in enumerate(units) if len(u[0]) >= 8]
    if not todo:
        return results
    flat = [u for i in todo for u in units[i]]
    probs = head.probabilities(head.features(flat))
    none_index = model.classes.index(NONE)
    start = 0
    for i in todo:
        mine = probs[start : start + len(units[i])]
        start += len(units[i])
        best = most_biased(mine, none_index)
        long = len(units[i]) > 1
        results[i] = _flags_for(
            units[i][best], mine[best], model.classes, head, head.thresholds(long)
        )
    return results


def detect(text: str, *, quick: bool = False) -> list[BiasFlag]:
    """Likely biases in one short text, most confident first; [] for sound reasoning."""
    return detect_many([text], quick=quick)[0]


def predict_label(flags: list[BiasFlag]) -> str:
    """One label for evaluation: the most confident flag, or none."""
    return flags[0].bias if flags else NONE
