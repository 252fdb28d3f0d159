"""Train the bias detector's two heads on the corpus and save their weights.

    uv run python scripts/train_bias_classifier.py

Multinomial logistic regression over sentence embeddings and the cue features, one head per
reading (`full`: static + MiniLM embeddings; `quick`: static only; see detector/core.py). The
thresholds are chosen on leave-one-author-out probabilities: each statement is scored by a model
fitted without any statement of its author, so they are set on writers the model had not seen.
(Leave-voices-out and leave-one-author-out figures are bench/eval_bias.py's: --split dev, author.)
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
    macro_f1,
    out_of_voice,
)


def main() -> None:
    rows = load_statements("train")
    texts = [cues.normalise(r.text) for r in rows]
    y = [r.label for r in rows]
    voices = [r.voice for r in rows]
    authors = [r.author for r in rows]
    has_cue = cue_matrix(texts)
    print(f"{len(rows)} statements in {len(set(voices))} voices by {len(set(authors))} authors")
    arrays: dict[str, np.ndarray] = {"classes": np.array(CLASSES)}
    for head, encoders in HEAD_ENCODERS.items():
        X = featurise_cached(texts, encoders)
        # Thresholds on out-of-*author* probabilities: each statement scored by a model that
        # never saw its writer, as the shipped model will read text by someone new. (Chosen on
        # out-of-voice probabilities they came out higher, tuned to a writer the model knows,
        # and left most biased text by other writers unflagged.)
        by_author = out_of_voice(X, y, authors, C)
        t_cue, t_no = choose_thresholds(by_author, has_cue, y)
        pooled = decide(by_author, has_cue, t_cue, t_no)
        print(
            f"{head} ({' + '.join(encoders)} + cues): thresholds a cue {t_cue:.3f}, none "
            f"{t_no:.3f} (budget {MAX_FALSE_FLAG:.0%}); authors held out with them: macro-F1 "
            f"{macro_f1(y, pooled):.3f}, false flags {false_flag_rate(y, pooled):.1%}",
            flush=True,
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
