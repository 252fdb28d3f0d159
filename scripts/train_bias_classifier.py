"""Train the bias detector's two heads on the corpus and save their weights.

    uv run python scripts/train_bias_classifier.py [full] [quick] [--keep-long-thresholds]
                                                   [--long-notes-share=N]
                                                     (default: both heads, every threshold)

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

--keep-long-thresholds fits the weights and the thresholds for texts read whole as usual, but
keeps each head's saved thresholds for long texts instead of choosing them again on the long
notes: for the full head, those notes' MiniLM encodings (about 23,000 windows and notes) cost
over half an hour of CPU when the cache is cold, while the corpus's own texts cost minutes.
The thresholds for texts read whole never depend on the long notes, so they come out the same.

--long-notes-share=N chooses the long texts' thresholds on one long note in N (fitting.long_notes:
the same notes every run, by a hash of their id) instead of all of them. The shipped full head
uses 4: about 1,500 notes, 6,700 windows to encode instead of 24,000 (the quick head, whose
static encodings cost seconds, reads them all).
"""

from __future__ import annotations

import sys

import numpy as np

from unstuck.thinking.dataset import load_statements
from unstuck.thinking.detector import cues
from unstuck.thinking.detector.core import WEIGHTS
from unstuck.thinking.detector.fitting import (
    CLASSES,
    HEAD_ENCODERS,
    MAX_FALSE_FLAG,
    C,
    Units,
    choose_thresholds_by_length,
    cue_matrix,
    decide_by_length,
    false_flag_rate,
    featurise_cached,
    fit,
    fits_without_each,
    long_notes,
    macro_f1,
    score_units,
    targets,
)


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    keep_long = "--keep-long-thresholds" in sys.argv[1:]
    share = next(
        (int(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("--long-notes-share=")), 1
    )
    rows = load_statements("train")
    texts = [cues.normalise(r.text) for r in rows]
    y = [r.label for r in rows]
    voices = [r.voice for r in rows]
    authors = [r.author for r in rows]
    # Long notes made of each voice's own statements (never trained on): the thresholds for
    # long texts, which are also read in windows (core.reading_units), are chosen on them.
    notes = [] if keep_long else long_notes(rows, share=share)
    saved = dict(np.load(WEIGHTS, allow_pickle=False)) if WEIGHTS.exists() else {}
    everything = [*rows, *notes]
    units = Units.build([r.text for r in everything])
    groups = [r.author for r in everything]
    y_all = [r.label for r in everything]
    print(
        f"{len(rows)} statements in {len(set(voices))} voices by {len(set(authors))} authors; "
        f"{len(notes)} long notes made of them"
    )
    arrays: dict[str, np.ndarray] = {"classes": np.array(CLASSES)}
    heads = args or list(HEAD_ENCODERS)
    # Retraining some heads only: the others keep their saved weights and thresholds.
    arrays.update({k: v for k, v in saved.items() if k.split("_")[0] not in [*heads, "classes"]})
    for head in heads:
        encoders = HEAD_ENCODERS[head]
        X = featurise_cached(texts, encoders)
        # Thresholds on out-of-*author* probabilities: each text scored by a model that never
        # saw its writer, as the shipped model will read text by someone new, and read as the
        # detector reads it (its most biased reading unit).
        X_units = featurise_cached(units.texts, encoders)
        models = fits_without_each(X, targets(rows), authors, C)
        probs, judged_on, long = score_units(models, groups, units, X_units)
        has_cue = cue_matrix(judged_on)
        short_t, long_t = choose_thresholds_by_length(probs, has_cue, y_all, long)
        if keep_long:
            long_t = (
                float(saved[f"{head}_threshold_cue_long"]),
                float(saved[f"{head}_threshold_no_cue_long"]),
            )
        pred = decide_by_length(probs, has_cue, long, short_t, long_t)
        n = len(rows)
        print(
            f"{head} ({' + '.join(encoders)} + cues): thresholds a cue / none {short_t[0]:.3f} / "
            f"{short_t[1]:.3f}, long texts {long_t[0]:.3f} / {long_t[1]:.3f} (budget "
            f"{MAX_FALSE_FLAG:.0%}); authors held out with them: corpus macro-F1 "
            f"{macro_f1(y, pred[:n]):.3f}, false flags {false_flag_rate(y, pred[:n]):.1%}"
            + (
                " (long texts' thresholds kept)"
                if keep_long
                else f"; long notes {macro_f1(y_all[n:], pred[n:]):.3f}, "
                f"{false_flag_rate(y_all[n:], pred[n:]):.1%}"
            ),
            flush=True,
        )
        if not keep_long and f"{head}_threshold_cue_long" in saved:
            # The same long notes with the long-text thresholds the saved head had: before/after.
            old_t = (
                float(saved[f"{head}_threshold_cue_long"]),
                float(saved[f"{head}_threshold_no_cue_long"]),
            )
            old = decide_by_length(probs, has_cue, long, short_t, old_t)
            print(
                f"  with the saved long-text thresholds {old_t[0]:.3f} / {old_t[1]:.3f}: long "
                f"notes {macro_f1(y_all[n:], old[n:]):.3f}, "
                f"{false_flag_rate(y_all[n:], old[n:]):.1%}",
                flush=True,
            )
        weights, intercept = fit(X, targets(rows), C)
        arrays.update(
            {
                f"{head}_encoders": np.array(encoders),
                f"{head}_weights": weights,
                f"{head}_intercept": intercept,
                f"{head}_threshold_cue": np.float32(short_t[0]),
                f"{head}_threshold_no_cue": np.float32(short_t[1]),
                f"{head}_threshold_cue_long": np.float32(long_t[0]),
                f"{head}_threshold_no_cue_long": np.float32(long_t[1]),
            }
        )
    np.savez_compressed(WEIGHTS, **arrays)
    print(f"saved {WEIGHTS}")


if __name__ == "__main__":
    main()
