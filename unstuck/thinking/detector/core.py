"""The bias detector: a linear classifier over static embeddings and cues, with cue evidence.

A bias is flagged when the classifier's probability for it passes a threshold: a lower one
when a cue for that bias is in the text (the cue is then the evidence), a higher one when not
(the evidence is then the sentence that scores highest). Thresholds were chosen by
cross-validation on the training split only (scripts/train_bias_classifier.py).
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from unstuck.thinking.biases import BIAS_KEYS, CATALOGUE, NONE
from unstuck.thinking.detector import cues
from unstuck.thinking.detector.features import featurise
from unstuck.thinking.question_bank import default_questions_for

WEIGHTS = Path(__file__).resolve().parent / "classifier.npz"
MAX_EVIDENCE = 160
# Longer texts are read sentence by sentence windows; the whole text is still scored once.
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")


@dataclass
class BiasFlag:
    bias: str
    confidence: float
    evidence: str
    explanation: str
    questions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Classifier:
    classes: tuple[str, ...]
    weights: np.ndarray  # (classes, features)
    bias: np.ndarray  # (classes,)
    threshold_cue: float
    threshold_no_cue: float

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> Classifier:
        data = np.load(path, allow_pickle=False)
        return cls(
            classes=tuple(str(c) for c in data["classes"]),
            weights=data["weights"].astype(np.float32),
            bias=data["intercept"].astype(np.float32),
            threshold_cue=float(data["threshold_cue"]),
            threshold_no_cue=float(data["threshold_no_cue"]),
        )

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        logits = features @ self.weights.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


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


def _strongest_hit(text: str, found: list[cues.CueHit]) -> cues.CueHit:
    """The cue whose sentence also holds the second half of the move, else the first cue."""
    for hit in found:
        for s, e in _sentences(text):
            if s <= hit.start < e and cues.support_hit(text[s:e], hit.bias):
                return hit
    return found[0]


def _best_sentence(text: str, bias_index: int, model: Classifier) -> str:
    spans = _sentences(text)
    if len(spans) == 1:
        return _evidence_around(text, spans[0][0], spans[0][0])
    parts = [text[s:e] for s, e in spans]
    scores = model.probabilities(featurise(parts))[:, bias_index]
    s, _ = spans[int(np.argmax(scores))]
    return _evidence_around(text, s, s)


def _flags_for(text: str, probs: np.ndarray, model: Classifier) -> list[BiasFlag]:
    hits = cues.anchor_hits(text)
    flags: list[BiasFlag] = []
    for bias in BIAS_KEYS:
        index = model.classes.index(bias)
        p = float(probs[index])
        found = hits[bias]
        if found and p >= model.threshold_cue:
            hit = _strongest_hit(text, found)
            evidence = _evidence_around(text, hit.start, hit.end)
        elif not found and p >= model.threshold_no_cue:
            evidence = _best_sentence(text, index, model)
        else:
            continue
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


def detect_many(texts: list[str]) -> list[list[BiasFlag]]:
    """Flags for each text, in order; one batched pass through the model."""
    model = classifier()
    normalised = [cues.normalise(t or "") for t in texts]
    results: list[list[BiasFlag]] = [[] for _ in texts]
    todo = [i for i, t in enumerate(normalised) if len(t) >= 8]
    if not todo:
        return results
    probs = model.probabilities(featurise([normalised[i] for i in todo]))
    for row, i in enumerate(todo):
        results[i] = _flags_for(normalised[i], probs[row], model)
    return results


def detect(text: str) -> list[BiasFlag]:
    """Likely biases in one short text, most confident first; [] for sound reasoning."""
    return detect_many([text])[0]


def predict_label(flags: list[BiasFlag]) -> str:
    """One label for evaluation: the most confident flag, or none."""
    return flags[0].bias if flags else NONE
