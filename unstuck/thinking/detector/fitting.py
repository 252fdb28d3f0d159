"""Fit and evaluate the detector's classifier: shared by scripts/train_bias_classifier.py and
bench/eval_bias.py, never imported by the running app (it needs scikit-learn).

Evaluation is by voice: every statement's out-of-voice probability comes from a model fitted
without any statement of its voice, so the figures measure a style the model never saw. The
voices are held out in FOLDS groups (`voice_folds`: every voice whole in one group, groups of
similar size), which asks ten fits instead of one per voice (about eighty) and measures the same
thing: no statement is scored by a model that saw its voice. Thresholds for a group are chosen
on the *other* groups' out-of-voice probabilities, never on the group being scored. The same
functions hold out whole authors (`group` = the statement's author) for the stricter reading:
a writer the model never saw.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from unstuck.thinking.biases import BIAS_KEYS, NONE
from unstuck.thinking.dataset import Statement
from unstuck.thinking.detector import cues
from unstuck.thinking.detector.core import most_biased, probabilities, reading_units
from unstuck.thinking.detector.encoder import minilm
from unstuck.thinking.detector.features import cue_features, embed

CLASSES = [*BIAS_KEYS, NONE]
# The false-flag budget on sound statements when choosing thresholds (out-of-voice).
MAX_FALSE_FLAG = 0.04
CACHE = Path(os.environ.get("UNSTUCK_BIAS_CACHE", "/tmp/unstuck-bias-cache"))

Encoder = Callable[[list[str]], np.ndarray]


def _strong(texts: list[str]) -> np.ndarray:
    return minilm().encode(texts)


ENCODERS: dict[str, Encoder] = {"static": embed, "minilm": _strong}
# What each head of the detector reads (core.HEADS).
HEAD_ENCODERS: dict[str, tuple[str, ...]] = {"full": ("static", "minilm"), "quick": ("static",)}
# Regularisation chosen once on leave-one-voice-out macro-F1 (C in 1, 4, 16: 4 and 16 were
# within 0.01 for the full head; the stronger regularisation is kept).
C = 4.0


def encode_cached(texts: Sequence[str], encoder: str) -> np.ndarray:
    """Embeddings of normalised texts, cached on disk by text so that re-runs are quick."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{encoder}.npz"
    known: dict[str, np.ndarray] = {}
    if path.exists():
        data = np.load(path)
        known = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
    if missing:
        vectors = ENCODERS[encoder]([t for _, t in missing])
        known.update({k: v for (k, _), v in zip(missing, vectors, strict=True)})
        np.savez(path, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
    return np.stack([known[k] for k in keys]).astype(np.float32)


def featurise_cached(texts: Sequence[str], encoders: tuple[str, ...]) -> np.ndarray:
    """The same features as features.featurise, for normalised texts."""
    cue_rows = np.stack([cue_features(t) for t in texts])
    embeddings = [encode_cached(texts, e) for e in encoders]
    return np.hstack([*embeddings, cue_rows]).astype(np.float32)


FOLDS = 10


def voice_folds(voices: Sequence[str], k: int = FOLDS) -> list[str]:
    """Each statement's group for leave-voices-out: voices, largest first, go whole to the
    group with the fewest statements so far, so groups are of similar size and no voice is split.
    Deterministic (sizes, then names), so every run holds out the same voices together."""
    sizes = Counter(voices)
    load = [0] * k
    fold_of: dict[str, str] = {}
    for voice, n in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])):
        fold = min(range(k), key=lambda i: (load[i], i))
        fold_of[voice] = f"voices-{fold}"
        load[fold] += n
    return [fold_of[v] for v in voices]


def cue_matrix(texts: Sequence[str]) -> np.ndarray:
    """Per text and bias: is a (gated) anchor cue of that bias in the text?"""
    return np.array([[b in cues.gated_biases(t) for b in BIAS_KEYS] for t in texts])


# Hard negatives are learnt as a class of their own (a kind of none: core.probabilities adds it
# back): sound reasoning on a bias's surface differs from a plain note, and one class for both
# blurred what separates a biased move from the check that answers it. Chosen on the author
# split (quick head, 4% budget): macro-F1 0.750 -> 0.752, ranking of biased against sound
# (ROC AUC) 0.934 -> 0.940, six of eight authors held out better.
SOUND = "none_sound"


def targets(rows: Sequence[Statement]) -> list[str]:
    """What the classifier is fitted to: each statement's label, SOUND for hard negatives."""
    return [SOUND if r.kind == "hard_negative" else r.label for r in rows]


def fit(X: np.ndarray, y: Sequence[str], c: float) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression; (weights, intercept) in CLASSES order, then SOUND's
    row when the targets hold it (`targets`)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(X, list(y))
    order = [list(model.classes_).index(k) for k in [*CLASSES, SOUND] if k in model.classes_]
    return model.coef_[order].astype(np.float32), model.intercept_[order].astype(np.float32)


def out_of_voice(X: np.ndarray, y: Sequence[str], groups: Sequence[str], c: float) -> np.ndarray:
    """Each text's class probabilities from a model fitted without its group (its voice's
    group from voice_folds, or its author)."""
    probs = np.zeros((len(y), len(CLASSES)), dtype=np.float32)
    voice_arr = np.array(groups)
    y_arr = np.array(y)
    for voice in sorted(set(groups)):
        held = voice_arr == voice
        w, b = fit(X[~held], y_arr[~held], c)
        probs[held] = probabilities(X[held], w, b)
    return probs


@dataclass(frozen=True)
class Units:
    """Every text's reading units (core.reading_units), flattened: `texts` the unique units,
    `of` per text the rows of `texts` it is read as (its whole text first)."""

    texts: list[str]
    of: list[list[int]]

    @classmethod
    def build(cls, raw: Sequence[str]) -> Units:
        index: dict[str, int] = {}
        of = []
        for text in raw:
            of.append([index.setdefault(u, len(index)) for u in reading_units(text)])
        return cls(list(index), of)


def fits_without_each(
    X: np.ndarray, y: Sequence[str], groups: Sequence[str], c: float
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per group, the model fitted on whole texts of every other group."""
    group_arr = np.array(groups)
    y_arr = np.array(y)
    return {g: fit(X[group_arr != g], y_arr[group_arr != g], c) for g in sorted(set(groups))}


def score_units(
    models: dict[str, tuple[np.ndarray, np.ndarray]],
    groups: Sequence[str],
    units: Units,
    X_units: np.ndarray,
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Each text read as the detector reads it, by the model that never saw its group: every
    reading unit scored, the text taking its most biased unit's probabilities. Returns those
    probabilities, the unit each text was judged on (for its cues), and whether it was long
    (read in windows too)."""
    probs = np.zeros((len(groups), len(CLASSES)), dtype=np.float32)
    chosen = [""] * len(groups)
    none_index = CLASSES.index(NONE)
    for i, group in enumerate(groups):
        rows = units.of[i]
        mine = probabilities(X_units[rows], *models[group])
        best = most_biased(mine, none_index)
        probs[i] = mine[best]
        chosen[i] = units.texts[rows[best]]
    long = np.array([len(rows) > 1 for rows in units.of])
    return probs, chosen, long


def long_notes(rows: Sequence[Statement], seed: int = 13, share: int = 1) -> list[Statement]:
    """Long notes made of a voice's own statements, to set the thresholds for long texts on
    (never trained on): each biased statement and hard negative among two to four plain notes
    of its voice, and runs of four plain notes. Labels follow the statement inside. Each voice
    draws from its own seeded generator, so adding a batch leaves every other voice's notes (and
    their cached encodings) as they were. `share` > 1 keeps one note in `share`, chosen by a
    hash of its id (the same notes every run, whatever else is added): the full head's MiniLM
    encodings of all of them cost hours of CPU on a shared machine, a quarter of them one."""
    import random
    import zlib

    by_voice: dict[str, list[Statement]] = {}
    for r in rows:
        by_voice.setdefault(r.voice, []).append(r)
    out = []

    def join(parts: list[str]) -> str:
        return " ".join(p if p.rstrip()[-1:] in ".!?" else p + "." for p in parts)

    for voice, mine in sorted(by_voice.items()):
        rng = random.Random(f"{seed}-{voice}")
        plain = [cues.normalise(r.text) for r in mine if r.kind == "neutral"]
        if len(plain) < 4:
            continue
        for r in mine:
            if r.kind == "neutral":
                continue
            k = rng.randint(2, 4)
            context = rng.sample(plain, k)
            at = rng.randint(0, k)
            text = join([*context[:at], cues.normalise(r.text), *context[at:]])
            out.append(replace(r, id=f"{r.id}-long", text=text, medium="long_note"))
        for n in range(max(1, len(plain) // 3)):
            text = join(rng.sample(plain, 4))
            out.append(
                replace(
                    mine[0],
                    id=f"{voice}-plain-{n}",
                    text=text,
                    label=NONE,
                    kind="neutral",
                    resembles=None,
                    medium="long_note",
                )
            )
    if share > 1:
        out = [r for r in out if zlib.crc32(r.id.encode()) % share == 0]
    return out


def choose_thresholds_by_length(
    probs: np.ndarray, has_cue: np.ndarray, y: Sequence[str], long: np.ndarray
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(thresholds for texts read whole, thresholds for long texts), each chosen on its own
    kind of text within the false-flag budget."""
    y_arr = np.array(y)
    short = choose_thresholds(probs[~long], has_cue[~long], list(y_arr[~long]))
    longer = choose_thresholds(probs[long], has_cue[long], list(y_arr[long]))
    return short, longer


def decide_by_length(
    probs: np.ndarray,
    has_cue: np.ndarray,
    long: np.ndarray,
    short_t: tuple[float, float],
    long_t: tuple[float, float],
) -> list[str]:
    pred = [NONE] * len(probs)
    for mask, t in ((~long, short_t), (long, long_t)):
        idx = np.flatnonzero(mask)
        for i, label in zip(idx, decide(probs[idx], has_cue[idx], *t), strict=True):
            pred[i] = label
    return pred


def decide_index(probs: np.ndarray, has_cue: np.ndarray, t_cue: float, t_no: float) -> np.ndarray:
    """Class indices (into CLASSES) that the detector's rule gives as its most confident flag
    (core._flags_for): the most probable bias when the probability of any bias passes its
    threshold (the lower one when a cue of that bias is in the text); else another bias whose
    own probability passes its threshold; else none."""
    n = len(BIAS_KEYS)
    p = probs[:, :n]
    rows = np.arange(len(p))
    best = p.argmax(axis=1)
    thresholds = np.where(has_cue, t_cue, t_no)
    biased = 1.0 - probs[:, n]
    primary = biased >= thresholds[rows, best]
    others = np.where(p >= thresholds, p, -1.0)
    others[rows, best] = -1.0
    secondary = others.argmax(axis=1)
    has_secondary = others.max(axis=1) >= 0
    return np.where(primary, best, np.where(has_secondary, secondary, n))


def decide(probs: np.ndarray, has_cue: np.ndarray, t_cue: float, t_no: float) -> list[str]:
    return [CLASSES[i] for i in decide_index(probs, has_cue, t_cue, t_no)]


def _scores(gold: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """(macro-F1 over CLASSES, false-flag rate on gold none) for class-index arrays."""
    k = len(CLASSES)
    confusion = np.bincount(gold * k + pred, minlength=k * k).reshape(k, k)
    tp = np.diag(confusion).astype(float)
    denom = confusion.sum(axis=0) + confusion.sum(axis=1)
    f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=denom > 0)
    none = k - 1
    sound = confusion[none].sum()
    ffr = (sound - confusion[none, none]) / sound if sound else 0.0
    return float(f1.mean()), float(ffr)


def indices(labels: Sequence[str]) -> np.ndarray:
    return np.array([CLASSES.index(label) for label in labels])


def macro_f1(y: Sequence[str], pred: Sequence[str]) -> float:
    return _scores(indices(y), indices(pred))[0]


def false_flag_rate(y: Sequence[str], pred: Sequence[str]) -> float:
    return _scores(indices(y), indices(pred))[1]


GRID = np.round(
    np.concatenate(
        [
            np.arange(0.20, 0.95, 0.025),
            np.arange(0.95, 0.99, 0.01),
            [0.99, 0.993, 0.995, 0.997, 0.998, 0.999],
        ]
    ),
    4,
)


def choose_thresholds(
    probs: np.ndarray, has_cue: np.ndarray, y: Sequence[str], max_ff: float = MAX_FALSE_FLAG
) -> tuple[float, float]:
    """(t_cue, t_no) with the best macro-F1 whose false-flag rate stays within the budget;
    ties go to higher thresholds (fewer flags on text not yet seen)."""
    gold = indices(y)
    best: tuple[tuple[float, float], float, float] | None = None
    for t_cue, t_no in itertools.product(GRID, GRID):
        if t_cue > t_no:
            continue
        macro, ffr = _scores(gold, decide_index(probs, has_cue, float(t_cue), float(t_no)))
        if ffr > max_ff:
            continue
        key = (round(macro, 3), float(t_cue + t_no))
        if best is None or key > best[0]:
            best = (key, float(t_cue), float(t_no))
    if best is None:
        return 0.95, 0.95
    return best[1], best[2]


@dataclass(frozen=True)
class VoiceEvaluation:
    """Leave-one-voice-out predictions, with the thresholds each voice was scored with."""

    pred: list[str]
    thresholds: dict[str, tuple[float, float]]


def leave_one_voice_out(
    probs: np.ndarray, has_cue: np.ndarray, y: Sequence[str], groups: Sequence[str]
) -> VoiceEvaluation:
    """Predictions for each group with thresholds chosen on the other groups' out-of-group
    probabilities (`probs` from out_of_voice with the same groups)."""
    pred: list[str] = [NONE] * len(y)
    thresholds = {}
    voice_arr = np.array(groups)
    y_arr = np.array(y)
    for voice in sorted(set(groups)):
        held = voice_arr == voice
        t = choose_thresholds(probs[~held], has_cue[~held], list(y_arr[~held]))
        thresholds[voice] = t
        for i, label in zip(
            np.flatnonzero(held), decide(probs[held], has_cue[held], *t), strict=True
        ):
            pred[i] = label
    return VoiceEvaluation(pred, thresholds)
