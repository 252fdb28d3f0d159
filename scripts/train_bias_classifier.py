"""Train the bias detector's classifier on the corpus's TRAIN split and save its weights.

    uv run python scripts/train_bias_classifier.py

Multinomial logistic regression over the static embedding and the cue features. The
regularisation and the two flag thresholds are chosen by 5-fold cross-validation on the
training split alone, so the dev split stays unseen until bench/eval_bias.py reads it. The
thresholds maximise macro-F1 while keeping the cross-validated false-flag rate on sound
statements at or below 3%. Output: unstuck/thinking/detector/classifier.npz (numpy only, so
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
from unstuck.thinking.detector.features import cue_features, featurise

CLASSES = [*BIAS_KEYS, NONE]
MAX_FALSE_FLAG = 0.03


def decide(probs: np.ndarray, has_cue: np.ndarray, t_cue: float, t_no: float) -> list[str]:
    labels = []
    for p, cue in zip(probs, has_cue, strict=True):
        best, best_p = NONE, 0.0
        for j, bias in enumerate(BIAS_KEYS):
            threshold = t_cue if cue[j] else t_no
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
    has_cue = np.stack([cue_features(t)[0 : 3 * len(BIAS_KEYS) : 3] > 0 for t in texts])
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=13)
    best = None
    for c in (1.0, 3.0, 10.0):
        model = LogisticRegression(C=c, max_iter=4000, class_weight="balanced")
        probs = cross_val_predict(model, X, y, cv=folds, method="predict_proba")
        order = [sorted(set(y)).index(k) for k in BIAS_KEYS]
        bias_probs = probs[:, order]
        grid_cue = np.arange(0.20, 0.86, 0.05)
        grid_no = np.arange(0.50, 0.96, 0.05)
        for t_cue, t_no in itertools.product(grid_cue, grid_no):
            if t_no < t_cue:
                continue
            macro, ffr = score(y, decide(bias_probs, has_cue, t_cue, t_no))
            if ffr <= MAX_FALSE_FLAG and (best is None or macro > best[0]):
                best = (macro, ffr, c, float(t_cue), float(t_no))
    if best is None:
        sys.exit("No setting kept the false-flag rate low enough.")
    macro, ffr, c, t_cue, t_no = best
    print(
        f"cross-validated on train: macro-F1 {macro:.3f}, false flags {ffr:.1%} "
        f"(C={c}, threshold with cue {t_cue:.2f}, without {t_no:.2f})"
    )
    model = LogisticRegression(C=c, max_iter=4000, class_weight="balanced").fit(X, y)
    order = [list(model.classes_).index(k) for k in CLASSES]
    np.savez_compressed(
        WEIGHTS,
        classes=np.array(CLASSES),
        weights=model.coef_[order].astype(np.float32),
        intercept=model.intercept_[order].astype(np.float32),
        threshold_cue=np.float32(t_cue),
        threshold_no_cue=np.float32(t_no),
    )
    print(f"saved {WEIGHTS}")


if __name__ == "__main__":
    main()
