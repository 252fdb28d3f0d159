"""Train the bias detector's classifier on the corpus's TRAIN split and save its weights.

    uv run python scripts/train_bias_classifier.py

Multinomial logistic regression over the static embedding and the cue features. The
regularisation and the two flag thresholds are chosen by 5-fold cross-validation on the
training split alone, so the dev split stays unseen until bench/eval_bias.py reads it. The
thresholds maximise macro-F1 while keeping the cross-validated false-flag rate on sound
statements at or below 3%; among regularisation strengths within 0.01 macro-F1 of the best,
the strongest is kept (the one-standard-error rule), since unseen statements are the goal.
Output: unstuck/thinking/detector/classifier.npz (numpy only, so
inference needs no scikit-learn).
"""

from __future__ import annotations

import itertools
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from unstuck.thinking.biases import BIAS_KEYS, NONE
from unstuck.thinking.dataset import load_statements
from unstuck.thinking.detector import cues
from unstuck.thinking.detector.core import WEIGHTS
from unstuck.thinking.detector.features import featurise

CLASSES = [*BIAS_KEYS, NONE]
MAX_FALSE_FLAG = 0.03
# A flag with no cue rests on the embedding alone, which cross-validates worst of all the
# features (about 0.65 macro-F1 by itself) and has no words to quote: it must be near-certain.
NO_CUE_THRESHOLD = 0.95


def decide(
    probs: np.ndarray,
    has_cue: np.ndarray,
    t_cue: float,
    t_no: float,
    has_both: np.ndarray | None = None,
    t_both: float = 1.0,
) -> list[str]:
    """The evaluation label the detector's rule gives (core._flags_for, most confident)."""
    if has_both is None:
        has_both = np.zeros_like(has_cue)
    labels = []
    for p, cue, both in zip(probs, has_cue, has_both, strict=True):
        best, best_p = NONE, 0.0
        for j, bias in enumerate(BIAS_KEYS):
            threshold = t_both if both[j] else t_cue if cue[j] else t_no
            if p[j] >= threshold and p[j] > best_p:
                best, best_p = bias, p[j]
        labels.append(best)
    return labels


def score(y: list[str], pred: list[str]) -> tuple[float, float]:
    macro = f1_score(y, pred, labels=CLASSES, average="macro", zero_division=0)
    neutral = [p for t, p in zip(y, pred, strict=True) if t == NONE]
    ffr = sum(p != NONE for p in neutral) / max(len(neutral), 1)
    return macro, ffr


def main() -> None:
    train = load_statements("train")
    texts = [cues.normalise(s.text) for s in train]
    y = [s.label for s in train]
    X = featurise(texts)
    has_cue = np.array([[b in cues.gated_biases(t) for b in BIAS_KEYS] for t in texts])
    has_both = np.array([[cues.support_hit(t, b) for b in BIAS_KEYS] for t in texts]) & has_cue
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=13)
    best_per_c: dict[float, tuple] = {}
    for c in (1.0, 3.0, 10.0):
        model = LogisticRegression(C=c, max_iter=4000, class_weight="balanced")
        probs = cross_val_predict(model, X, y, cv=folds, method="predict_proba")
        order = [sorted(set(y)).index(k) for k in BIAS_KEYS]
        bias_probs = probs[:, order]
        grid_both = np.arange(0.10, 0.86, 0.05)
        grid_cue = np.arange(0.20, 0.86, 0.05)
        grid_no = [NO_CUE_THRESHOLD]
        for t_both, t_cue, t_no in itertools.product(grid_both, grid_cue, grid_no):
            if not t_both <= t_cue <= t_no:
                continue
            pred = decide(bias_probs, has_cue, t_cue, t_no, has_both, t_both)
            macro, ffr = score(y, pred)
            # Ties go to the higher thresholds: fewer flags on statements not yet seen.
            key = (round(macro, 3), t_both + t_cue + t_no)
            current = best_per_c.get(c)
            if ffr <= MAX_FALSE_FLAG and (current is None or key > current[0]):
                best_per_c[c] = (key, ffr, c, float(t_both), float(t_cue), float(t_no))
    # One-standard-error rule: the most regularised model within 0.01 of the best score.
    best = None
    if best_per_c:
        top = max(v[0][0] for v in best_per_c.values())
        best = next(best_per_c[c] for c in sorted(best_per_c) if best_per_c[c][0][0] >= top - 0.01)
    if best is None:
        sys.exit("No setting kept the false-flag rate low enough.")
    (macro, _), ffr, c, t_both, t_cue, t_no = best
    print(
        f"cross-validated on train: macro-F1 {macro:.3f}, false flags {ffr:.1%} (C={c}, "
        f"thresholds: both halves of a cue {t_both:.2f}, a cue {t_cue:.2f}, none {t_no:.2f})"
    )
    model = LogisticRegression(C=c, max_iter=4000, class_weight="balanced").fit(X, y)
    order = [list(model.classes_).index(k) for k in CLASSES]
    np.savez_compressed(
        WEIGHTS,
        classes=np.array(CLASSES),
        weights=model.coef_[order].astype(np.float32),
        intercept=model.intercept_[order].astype(np.float32),
        threshold_both=np.float32(t_both),
        threshold_cue=np.float32(t_cue),
        threshold_no_cue=np.float32(t_no),
    )
    print(f"saved {WEIGHTS}")


if __name__ == "__main__":
    main()
