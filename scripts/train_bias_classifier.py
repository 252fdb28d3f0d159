"""Train the bias detector's two heads on the corpus and save their weights.

    uv run python scripts/train_bias_classifier.py

Multinomial logistic regression over sentence embeddings and the cue features, one head per
reading (`full`: static + MiniLM embeddings; `quick`: static only; see detector/core.py). The
thresholds are chosen on leave-voices-out probabilities: each statement is scored by a model
fitted without any statement of its voice (voices held out in fitting.FOLDS groups), so they are
set on styles the model had not seen.
They maximise macro-F1 while keeping the false-flag rate on sound statements within
fitting.MAX_FALSE_FLAG. The weights are then fitted on the whole corpus (every voice; the old
`fresh54` split and the blind set are never read). Output: unstuck/thinking/detector/classifier.npz
(numpy only, so inference needs no scikit-learn). Embeddings are cached in
$UNSTUCK_BIAS_CACHE (default /tmp/unstuck-bias-cache), so a second run takes seconds.
"""

from __future__ import annotations

import numpy as np

from unstuck.thinking.dataset import load_statements
from unstuck.thinking.detector import cues
from unstuck.thinking.detector.core import WEIGHTS
from unstuck.thinking.detector.fitting import (
    CLASSES,
    HEAD_ENCODERS,
    MAX_FALSE_FLAG,
    C,
    choose_thresholds,
    cue_matrix,
    decide,
    false_flag_rate,
    featurise_cached,
    fit,
    leave_one_voice_out,
    macro_f1,
    out_of_voice,
    voice_folds,
)


def main() -> None:
    rows = load_statements("train")
    texts = [cues.normalise(r.text) for r in rows]
    y = [r.label for r in rows]
    voices = [r.voice for r in rows]
    groups = voice_folds(voices)
    has_cue = cue_matrix(texts)
    print(
        f"{len(rows)} statements in {len(set(voices))} voices, held out in "
        f"{len(set(groups))} groups of voices"
    )
    arrays: dict[str, np.ndarray] = {"classes": np.array(CLASSES)}
    for head, encoders in HEAD_ENCODERS.items():
        X = featurise_cached(texts, encoders)
        probs = out_of_voice(X, y, groups, C)
        t_cue, t_no = choose_thresholds(probs, has_cue, y)
        pooled = decide(probs, has_cue, t_cue, t_no)
        held_out = leave_one_voice_out(probs, has_cue, y, groups).pred
        print(
            f"{head} ({' + '.join(encoders)} + cues): leave-voices-out macro-F1 "
            f"{macro_f1(y, held_out):.3f}, false flags {false_flag_rate(y, held_out):.1%} "
            f"(thresholds per voice); with the shipped thresholds (a cue {t_cue:.3f}, none "
            f"{t_no:.3f}, budget {MAX_FALSE_FLAG:.0%}): {macro_f1(y, pooled):.3f}, "
            f"{false_flag_rate(y, pooled):.1%}"
        )
        weights, intercept = fit(X, y, C)
        arrays.update(
            {
                f"{head}_encoders": np.array(encoders),
                f"{head}_weights": weights,
                f"{head}_intercept": intercept,
                f"{head}_threshold_cue": np.float32(t_cue),
                f"{head}_threshold_no_cue": np.float32(t_no),
            }
        )
    np.savez_compressed(WEIGHTS, **arrays)
    print(f"saved {WEIGHTS}")


if __name__ == "__main__":
    main()
