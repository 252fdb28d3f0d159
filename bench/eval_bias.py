"""Evaluate the bias detector on the corpus's dev split (or another split) and time it.

    uv run python bench/eval_bias.py [--split dev|train|fresh|all] [--errors]

Prints per-bias precision / recall / F1, macro-F1 over the six biases and "none", the false-flag
rate on statements labelled none (all of them, and the hard negatives alone), and throughput
in statements per second pinned to one CPU core, for batched scans and for one call per
statement. A statement's predicted label is its most confident flag, or none.
"""

from __future__ import annotations

import argparse
import os

# One core, and numpy's BLAS kept to one thread, before numpy is imported.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

import time  # noqa: E402

from unstuck.thinking.biases import BIAS_KEYS, NONE  # noqa: E402
from unstuck.thinking.dataset import load_statements  # noqa: E402
from unstuck.thinking.detector import detect, detect_many, predict_label  # noqa: E402

CLASSES = [*BIAS_KEYS, NONE]


def prf(gold: list[str], pred: list[str], label: str) -> tuple[float, float, float, int]:
    tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=True))
    fp = sum(g != label and p == label for g, p in zip(gold, pred, strict=True))
    fn = sum(g == label and p != label for g, p in zip(gold, pred, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, tp + fn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", help="dev (default), train, fresh or all")
    parser.add_argument("--errors", action="store_true", help="List the misclassified statements.")
    args = parser.parse_args()
    rows = load_statements(None if args.split == "all" else args.split)
    if not rows:
        raise SystemExit(f"No statements in split {args.split!r}.")
    texts = [r.text for r in rows]
    gold = [r.label for r in rows]

    detect("warm-up: load the model once")
    pred = [predict_label(flags) for flags in detect_many(texts)]

    print(f"Bias detector on the {args.split} split: {len(rows)} statements")
    print(f"{'label':18} {'precision':>9} {'recall':>7} {'F1':>6} {'n':>4}")
    f1s = []
    for label in CLASSES:
        p, r, f, n = prf(gold, pred, label)
        f1s.append(f)
        print(f"{label:18} {p:9.2f} {r:7.2f} {f:6.2f} {n:4d}")
    accuracy = sum(g == p for g, p in zip(gold, pred, strict=True)) / len(rows)
    print(f"macro-F1 (6 biases + none): {sum(f1s) / len(f1s):.3f}   accuracy: {accuracy:.3f}")

    def false_flag_rate(kinds: set[str]) -> tuple[float, int]:
        chosen = [p for r, p in zip(rows, pred, strict=True) if r.kind in kinds]
        return (sum(p != NONE for p in chosen) / len(chosen) if chosen else 0.0), len(chosen)

    ffr, n = false_flag_rate({"neutral", "hard_negative"})
    ffr_hard, n_hard = false_flag_rate({"hard_negative"})
    ffr_plain, n_plain = false_flag_rate({"neutral"})
    print(
        f"false-flag rate on sound statements: {ffr:.1%} of {n} "
        f"(hard negatives {ffr_hard:.1%} of {n_hard}; plain notes {ffr_plain:.1%} of {n_plain})"
    )

    batch = (texts * (2000 // len(texts) + 1))[:2000]
    start = time.perf_counter()
    detect_many(batch)
    batched = len(batch) / (time.perf_counter() - start)
    single = batch[:500]
    start = time.perf_counter()
    for text in single:
        detect(text)
    one_by_one = len(single) / (time.perf_counter() - start)
    print(
        f"throughput on one core: {batched:,.0f} statements/s batched, "
        f"{one_by_one:,.0f} statements/s one call each "
        f"(shared 2-core machine; figures vary with its load)"
    )

    if args.errors:
        print("\nmisclassified:")
        for r, p in zip(rows, pred, strict=True):
            if r.label != p:
                print(f"  {r.id} {r.label:16} -> {p:16} {r.text}")


if __name__ == "__main__":
    main()
