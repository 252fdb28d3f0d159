"""Experiment (issue 13.5): does fine-tuning MiniLM's top layer(s) together with the head make
the full head generalise better to writers it never saw? Not used by the app (see DATA_CARD.md,
"Fine-tuning MiniLM's top layer", for the figures and why nothing was shipped yet).

    uv run --group train python scripts/finetune_bias_encoder.py [--split author|dev]
        [--top 1|2] [--epochs N] [--lr X] [--head-start zero|fitted] [--frozen-only]
        [--groups a0,w1,...]

The bottom layers stay frozen: their token states are computed once per reading unit (numpy,
encoder.MiniLM.hidden_states: about 4 minutes of CPU for the corpus's 8,185 units) and cached
in $UNSTUCK_BIAS_CACHE (default /tmp/unstuck-bias-cache). For each held-out group (an author,
or one of the ten voice groups of fitting.voice_folds) the top layer(s) are fine-tuned in JAX
(the `train` dependency group: CPU wheels, never an app dependency) with a linear softmax head
over [pooled MiniLM, static embedding, cues] on the other groups' statements (class-balanced
cross-entropy, Adam, decay toward the pretrained weights), keeping the epoch whose ROC AUC
(some bias against sound) is best on one *more* group held out of that training (the next
author in order), and stopping early when it falls. The fine-tuned layer then encodes every
reading unit, and the detector's own recipe follows unchanged: fitting.fit (the logistic head
on static + pooled MiniLM + cues) on the other groups, the held-out group's texts read as the
detector reads them (their most biased unit), thresholds for each group chosen on the other
groups' out-of-group probabilities within the 4% budget (as bench/eval_bias.py, without the
long notes). The frozen encoder goes through the same code as the reference, so the two are
compared on the same folds. About 40-50 s of CPU an epoch for one layer. Each group's
predictions are saved in the cache, so runs can split the groups (--groups) and the last one
reports on every group done so far. Never reads the blind set.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from unstuck.thinking.detector.encoder import MAX_TOKENS, minilm, padded

CACHE = Path(os.environ.get("UNSTUCK_BIAS_CACHE", "/tmp/unstuck-bias-cache"))
FROZEN_LAYERS = 4  # cached states are after this many layers (supports --top 1 and 2)


def cached_states(texts: list[str]) -> tuple[list[np.ndarray], np.ndarray]:
    """Per text, its token states after FROZEN_LAYERS layers (float16, (tokens, 384))."""
    from threadpoolctl import threadpool_limits

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"states{FROZEN_LAYERS}.npz"
    known: dict[str, np.ndarray] = {}
    if path.exists():
        data = np.load(path)
        flat, lengths, keys = data["states"], data["lengths"], data["keys"].tolist()
        ends = np.cumsum(lengths)
        for k, e, n in zip(keys, ends, lengths, strict=True):
            known[k] = flat[e - n : e]
    keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
    if missing:
        model = minilm()
        encodings = model.tokenizer.encode_batch([t for _, t in missing])
        order = sorted(range(len(missing)), key=lambda i: len(encodings[i].ids))
        start = time.process_time()
        with threadpool_limits(limits=1, user_api="blas"):
            for b in range(0, len(order), 32):
                chunk = order[b : b + 32]
                x = model.hidden_states(*padded(encodings, chunk), FROZEN_LAYERS)
                for row, i in enumerate(chunk):
                    n = len(encodings[i].ids)
                    known[missing[i][0]] = x[row, :n].astype(np.float16)
                if b % 1024 == 0:
                    print(
                        f"  states {b}/{len(order)}, {time.process_time() - start:.0f} s CPU",
                        flush=True,
                    )
        allk = list(known)
        np.savez(
            path,
            keys=np.array(allk),
            lengths=np.array([len(known[k]) for k in allk]),
            states=np.concatenate([known[k] for k in allk]),
        )
    out = [known[k] for k in keys]
    assert all(len(s) <= MAX_TOKENS for s in out)
    return out, np.array([len(s) for s in out])


# ---- the top layers and the head in JAX ------------------------------------------------------


def pretrained_top(top: int) -> list[dict[str, np.ndarray]]:
    """The package's weights of the top `top` layers, as float32 arrays (numpy layout)."""
    model = minilm()
    out = []
    for layer in model.layers[6 - top :]:
        out.append(
            {
                "qkv": layer.qkv,
                "qkv_bias": layer.qkv_bias,
                "out": layer.out,
                "out_bias": layer.out_bias,
                "ln1_w": layer.ln1[0],
                "ln1_b": layer.ln1[1],
                "up": layer.up,
                "up_bias": layer.up_bias,
                "down": layer.down,
                "down_bias": layer.down_bias,
                "ln2_w": layer.ln2[0],
                "ln2_b": layer.ln2[1],
            }
        )
    return [{k: np.array(v, dtype=np.float32) for k, v in p.items()} for p in out]


def _jax_fns(heads: int, eps: float):  # type: ignore[no-untyped-def]
    import jax
    import jax.numpy as jnp

    def ln(x, w, b):  # type: ignore[no-untyped-def]
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return (x - mean) / jnp.sqrt(var + eps) * w + b

    def gelu(x):  # type: ignore[no-untyped-def]
        return 0.5 * x * (1.0 + jnp.tanh(0.7978845608 * (x + 0.044715 * x**3)))

    def layer(p, x, attend):  # type: ignore[no-untyped-def]
        batch, length, hidden = x.shape
        head = hidden // heads
        qkv = x @ p["qkv"] + p["qkv_bias"]
        qkv = qkv.reshape(batch, length, 3, heads, head).transpose(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = q @ k.transpose(0, 1, 3, 2) * (1.0 / head**0.5) + attend
        weights = jax.nn.softmax(scores, axis=-1)
        context = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, length, hidden)
        x = ln(context @ p["out"] + p["out_bias"] + x, p["ln1_w"], p["ln1_b"])
        up = gelu(x @ p["up"] + p["up_bias"])
        return ln(up @ p["down"] + p["down_bias"] + x, p["ln2_w"], p["ln2_b"])

    def encode(layers, x, mask):  # type: ignore[no-untyped-def]
        attend = jnp.where(mask[:, None, None, :] > 0, 0.0, -1e9)
        for p in layers:
            x = layer(p, x, attend)
        pooled = (x * mask[:, :, None]).sum(axis=1) / jnp.maximum(
            mask.sum(axis=1, keepdims=True), 1.0
        )
        return pooled / jnp.maximum(jnp.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def loss(params, x, mask, side, y, cw, l2_head):  # type: ignore[no-untyped-def]
        pooled = encode(params["layers"], x, mask)
        feats = jnp.concatenate([pooled, side], axis=1)
        logits = feats @ params["w"] + params["b"]
        logp = jax.nn.log_softmax(logits, axis=1)
        nll = -(logp[jnp.arange(len(y)), y] * cw[y]).sum() / cw[y].sum()
        return nll + l2_head * (params["w"] ** 2).sum()

    def logits_fn(params, x, mask, side):  # type: ignore[no-untyped-def]
        pooled = encode(params["layers"], x, mask)
        return jnp.concatenate([pooled, side], axis=1) @ params["w"] + params["b"]

    def run(layers, x, mask):  # type: ignore[no-untyped-def]
        attend = jnp.where(mask[:, None, None, :] > 0, 0.0, -1e9)
        for p in layers:
            x = layer(p, x, attend)
        return x

    return (
        jax.jit(jax.value_and_grad(loss)),
        jax.jit(encode),
        jax.jit(logits_fn),
        jax.jit(run),
    )


def as_jax(layers: list[dict[str, np.ndarray]]) -> list[dict[str, Any]]:
    import jax.numpy as jnp

    return [{k: jnp.asarray(v) for k, v in p.items()} for p in layers]


def _batches(idx: np.ndarray, lengths: np.ndarray, size: int, rng: np.random.Generator | None):
    """Batches of similar length (less padding), shuffled when rng is given."""
    order = idx[np.argsort(lengths[idx], kind="stable")]
    if rng is not None:
        # Shuffle within length bands of a few batches, then the batches themselves.
        band = size * 4
        for s in range(0, len(order), band):
            rng.shuffle(order[s : s + band])
        order = order[np.argsort(lengths[order] // 16, kind="stable")]
    chunks = [order[s : s + size] for s in range(0, len(order), size)]
    if rng is not None:
        rng.shuffle(chunks)  # type: ignore[arg-type]
    return chunks


def _pad(states: list[np.ndarray], chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    length = max(len(states[i]) for i in chunk)
    length = int(np.ceil(length / 16) * 16)  # few shapes: few compilations
    x = np.zeros((len(chunk), length, states[chunk[0]].shape[1]), dtype=np.float32)
    mask = np.zeros((len(chunk), length), dtype=np.float32)
    for row, i in enumerate(chunk):
        n = len(states[i])
        x[row, :n] = states[i]
        mask[row, :n] = 1.0
    return x, mask


def encode_units(enc, layers, states: list[np.ndarray], lengths: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    out = np.zeros((len(states), 384), dtype=np.float32)
    for chunk in _batches(np.arange(len(states)), lengths, 64, None):
        x, mask = _pad(states, chunk)
        out[chunk] = np.asarray(enc(layers, x, mask))
    return out


def auc(positive: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(positive, score))


def finetune(
    fns,
    top: int,
    train: np.ndarray,
    val: np.ndarray,
    states: list[np.ndarray],  # type: ignore[no-untyped-def]
    lengths: np.ndarray,
    side: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    none_ids: list[int],
    epochs: int,
    lr: float,
    head: tuple[np.ndarray, np.ndarray] | None,
    seed: int = 0,
) -> tuple[list[dict[str, np.ndarray]], list[str]]:
    """The top layers after fine-tuning on `train` (statement rows into states/side/y), with
    the epoch kept whose AUC (some bias vs sound) on `val` was best; and a log per epoch."""
    import jax
    import jax.numpy as jnp

    grad, _, logits_fn, _ = fns
    start_layers = pretrained_top(top)
    params = {
        "layers": as_jax(start_layers),
        # The head starts where the detector's own fit (fitting.fit on the frozen features of
        # the same rows) ends, so epoch 0 is the frozen reference and training moves from it.
        # With head=None ("cold") it starts at zero and epoch 0 trains it alone (the layers
        # frozen) at a larger rate; the layers then learn under a head still far from its fit.
        "w": jnp.asarray(head[0].T) if head else jnp.zeros((384 + side.shape[1], n_classes)),
        "b": jnp.asarray(head[1]) if head else jnp.zeros(n_classes),
    }
    counts = np.bincount(y[train], minlength=n_classes).astype(np.float32)
    cw = jnp.asarray(len(train) / (n_classes * np.maximum(counts, 1)))
    l2_head = 1.0 / (2 * 4.0 * len(train))  # sklearn's C = 4, per row
    m = jax.tree.map(jnp.zeros_like, params)
    v = jax.tree.map(jnp.zeros_like, params)
    rng = np.random.default_rng(seed)
    head_lr = 1e-3 if head else 3e-3
    lrs = {"layers": lr, "w": head_lr, "b": head_lr}
    wd = 0.01
    step = 0
    pretrained = params["layers"]

    def val_auc(p):  # type: ignore[no-untyped-def]
        probs = []
        for chunk in _batches(val, lengths, 64, None):
            x, mask = _pad(states, chunk)
            lg = np.asarray(logits_fn(p, x, mask, side[chunk]))
            e = np.exp(lg - lg.max(axis=1, keepdims=True))
            pr = e / e.sum(axis=1, keepdims=True)
            probs.append((chunk, 1.0 - pr[:, none_ids].sum(axis=1)))
        order = np.concatenate([c for c, _ in probs])
        score = np.concatenate([s for _, s in probs])
        biased = ~np.isin(y[order], none_ids)
        return auc(biased, score)

    best = (-1.0, params)
    log = []
    for epoch in range(epochs + 1):
        t = time.process_time()
        total = 0.0
        for chunk in _batches(train, lengths, 32, rng) if epoch or not head else []:
            x, mask = _pad(states, chunk)
            value, g = grad(params, x, mask, side[chunk], y[chunk], cw, l2_head)
            total += float(value) * len(chunk)
            step += 1
            new = {}
            for key in ("layers", "w", "b"):
                if key == "layers" and epoch == 0:
                    new[key] = params[key]
                    continue
                m[key] = jax.tree.map(lambda a, b: 0.9 * a + 0.1 * b, m[key], g[key])
                v[key] = jax.tree.map(lambda a, b: 0.999 * a + 0.001 * b * b, v[key], g[key])
                c1, c2 = 1 - 0.9**step, 1 - 0.999**step
                new[key] = jax.tree.map(
                    lambda p_, m_, v_, lr_=lrs[key], c1=c1, c2=c2: (
                        p_ - lr_ * (m_ / c1) / (jnp.sqrt(v_ / c2) + 1e-8)
                    ),
                    params[key],
                    m[key],
                    v[key],
                )
            # Decoupled decay toward the pretrained weights.
            new["layers"] = jax.tree.map(
                lambda p_, p0: p_ - lr * wd * (p_ - p0), new["layers"], pretrained
            )
            params = new
        score = val_auc(params)
        log.append(
            f"epoch {epoch}{' (frozen layers)' if epoch == 0 else ''}: train loss "
            f"{total / len(train):.4f}, val AUC {score:.4f}, {time.process_time() - t:.0f} s CPU"
        )
        print("   ", log[-1], flush=True)
        if score > best[0]:
            best = (score, params)
        elif score < best[0] - 0.002 and epoch >= 2:
            break  # early stop on the held-out author
    layers = [{k: np.asarray(val_) for k, val_ in p.items()} for p in best[1]["layers"]]
    return layers, log


# ---- the experiment ------------------------------------------------------------------------


def main() -> None:
    from unstuck.thinking.dataset import load_statements
    from unstuck.thinking.detector import fitting

    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="author", choices=["author", "dev"])
    parser.add_argument("--top", type=int, default=1, choices=[1, 2])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--frozen-only", action="store_true")
    parser.add_argument("--groups", default="", help="comma-separated: only these held out")
    parser.add_argument(
        "--head-start",
        default="zero",
        choices=["zero", "fitted"],
        help="zero: the head from zero, trained alone for one epoch first; fitted: from "
        "fitting.fit on the frozen features (the layers then barely move)",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="report on the saved predictions only"
    )
    args = parser.parse_args()

    rows = load_statements("train")
    units = fitting.Units.build([r.text for r in rows])
    if args.split == "author":
        groups = np.array([r.author for r in rows])
    else:
        groups = np.array(fitting.voice_folds([r.voice for r in rows]))
    names = sorted(set(groups))
    only = [] if args.report_only else [g for g in args.groups.split(",") if g] or names

    def saved(g: str) -> Path:
        if args.frozen_only:  # the reference: the same whatever the recipe
            return CACHE / f"probs-frozen-{args.split}-top{args.top}-{g}.npz"
        return CACHE / f"probs-{args.head_start}-{args.split}-top{args.top}-lr{args.lr}-{g}.npz"

    results: dict[str, dict[str, np.ndarray]] = {"frozen": {}, "tuned": {}}
    if only:
        run_folds(args, rows, units, groups, names, only, saved, results)
    # Every group held out so far with this recipe (runs may split the groups between them),
    # and the frozen reference on every group (a --frozen-only run) where it was saved.
    frozen_ref = CACHE / f"probs-frozen-{args.split}-top{args.top}-"
    for g in names:
        for suffix, key in (("", g), ("-chosen", g + "/chosen")):
            for path in (saved(g + suffix), Path(f"{frozen_ref}{g}{suffix}.npz")):
                if path.exists():
                    for k, v in np.load(path).items():
                        results[k].setdefault(key, v)
    report(rows, groups, names, results, units)


def run_folds(args, rows, units, groups, names, only, saved, results) -> None:  # type: ignore[no-untyped-def]
    """Fine-tune and score each group in `only`, saving its predictions (see `saved`)."""
    from unstuck.thinking.biases import NONE
    from unstuck.thinking.detector import fitting
    from unstuck.thinking.detector.core import most_biased, probabilities

    states32, lengths = cached_states(units.texts)
    # Token states after the frozen layers, float32 for JAX.
    states = [s.astype(np.float32) for s in states32]
    model = minilm()
    fns = _jax_fns(model.heads, model.eps)
    _, enc, _, run = fns
    if args.top == 1:
        # The cache holds the states after four layers: run the fifth (frozen) once over it.
        layer5 = as_jax(pretrained_top(2)[:1])
        out = list(states)
        for chunk in _batches(np.arange(len(states)), lengths, 64, None):
            x, mask = _pad(states, chunk)
            res = np.asarray(run(layer5, x, mask))
            for row, i in enumerate(chunk):
                out[i] = res[row, : lengths[i]]
        states = out

    whole = np.array([of[0] for of in units.of])  # each statement's whole-text unit
    side_units = fitting.featurise_cached(units.texts, ("static",))  # static + cues
    targets = fitting.targets(rows)
    classes = [*fitting.CLASSES, fitting.SOUND]
    y = np.array([classes.index(t) for t in targets])
    none_ids = [classes.index(NONE), classes.index(fitting.SOUND)]
    frozen_pooled = encode_units(enc, as_jax(pretrained_top(args.top)), states, lengths)
    n_classes = len(classes)
    for g in only:
        t0 = time.process_time()
        held = groups == g
        train_groups = [h for h in names if h != g]
        val_group = train_groups[(names.index(g)) % len(train_groups)]
        variants = {"frozen": frozen_pooled}
        if not args.frozen_only:
            train = np.flatnonzero(~held & (groups != val_group))
            val = np.flatnonzero(groups == val_group)
            print(
                f"{g}: fine-tuning on {len(train)}, early stopping on {val_group} ({len(val)})",
                flush=True,
            )
            w_states = [states[i] for i in whole]
            w_lengths = lengths[whole]
            layers, _ = finetune(
                fns,
                args.top,
                train,
                val,
                w_states,
                w_lengths,
                side_units[whole],
                y,
                n_classes,
                none_ids,
                args.epochs,
                args.lr,
                fitting.fit(
                    np.hstack([frozen_pooled, side_units])[whole[train]],
                    [targets[i] for i in train],
                    fitting.C,
                )
                if args.head_start == "fitted"
                else None,
            )
            variants["tuned"] = encode_units(enc, as_jax(layers), states, lengths)
        for name, pooled in variants.items():
            X_units = np.hstack([side_units[:, :256], pooled, side_units[:, 256:]])
            w, b = fitting.fit(X_units[whole[~held]], np.array(targets)[~held], fitting.C)
            probs = np.zeros((int(held.sum()), len(fitting.CLASSES)), dtype=np.float32)
            chosen = []
            for row, i in enumerate(np.flatnonzero(held)):
                mine = probabilities(X_units[units.of[i]], w, b)
                best = most_biased(mine, fitting.CLASSES.index(NONE))
                probs[row] = mine[best]
                chosen.append(units.texts[units.of[i][best]])
            results[name][g] = probs
            results[name][g + "/chosen"] = np.array(chosen)
        print(
            f"{g}: done, {time.process_time() - t0:.0f} s CPU, load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        np.savez(saved(g), **{k: results[k][g] for k in results if g in results[k]})
        np.savez(
            saved(g + "-chosen"),
            **{k: results[k][g + "/chosen"] for k in results if g in results[k]},
        )


def _present_macro(gold: np.ndarray, pred: np.ndarray) -> float:
    """Macro-F1 over the labels present in gold (as bench/eval_bias.py's by-group figures)."""
    f1s = []
    for label in sorted(set(gold)):
        tp = np.sum((gold == label) & (pred == label))
        fp = np.sum((gold != label) & (pred == label))
        fn = np.sum((gold == label) & (pred != label))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(f1s))


def report(rows, groups, names, results, units) -> None:  # type: ignore[no-untyped-def]
    from unstuck.thinking.biases import NONE
    from unstuck.thinking.detector import fitting

    y = np.array([r.label for r in rows])
    long = np.array([len(units.of[i]) > 1 for i in range(len(rows))])
    frozen = results["frozen"]
    kept: dict[str, tuple[np.ndarray, ...]] = {}
    for name, res in results.items():
        scored = [g for g in names if g in res]
        if not scored:
            continue
        # Groups not (yet) fine-tuned lend their frozen out-of-group predictions to the pool
        # the tuned groups' thresholds are chosen on, so every group's thresholds come from
        # all the other groups whichever runs are done.
        only = [g for g in names if g in res or g in frozen]
        idx = np.flatnonzero(np.isin(groups, only))
        probs = np.zeros((len(rows), len(fitting.CLASSES)), dtype=np.float32)
        chosen = [""] * len(rows)
        for g in only:
            src = res if g in res else frozen
            sel = np.flatnonzero(groups == g)
            probs[sel] = src[g]
            for j, i in enumerate(sel):
                chosen[i] = str(src[g + "/chosen"][j])
        has_cue = fitting.cue_matrix([chosen[i] for i in idx])
        p_held, gold, grp, is_long = probs[idx], y[idx], groups[idx], long[idx]
        pred = np.array([NONE] * len(idx), dtype=object)
        for g in only:
            held = grp == g
            short_t, long_t = fitting.choose_thresholds_by_length(
                p_held[~held], has_cue[~held], list(gold[~held]), is_long[~held]
            )
            pred[held] = fitting.decide_by_length(
                p_held[held], has_cue[held], is_long[held], short_t, long_t
            )
        kept[name] = (grp, gold, pred, p_held)
        if name != "frozen" and "frozen" in kept:
            # The reference on the same groups, for a paired reading.
            f_grp, f_gold, f_pred, f_p = kept["frozen"]
            f_on = np.isin(f_grp, scored)
            print(
                f"frozen on the same groups: macro-F1 "
                f"{fitting.macro_f1(list(f_gold[f_on]), list(f_pred[f_on])):.3f}, false flags "
                f"{fitting.false_flag_rate(list(f_gold[f_on]), list(f_pred[f_on])):.1%}, ROC AUC "
                f"{auc(f_gold[f_on] != NONE, 1.0 - f_p[f_on, fitting.CLASSES.index(NONE)]):.4f}"
            )
        on = np.isin(grp, scored)
        none = fitting.CLASSES.index(NONE)
        macro = fitting.macro_f1(list(gold[on]), list(pred[on]))
        ffr = fitting.false_flag_rate(list(gold[on]), list(pred[on]))
        a = auc(gold[on] != NONE, 1.0 - p_held[on, none])
        per = ", ".join(
            f"{g} {_present_macro(gold[grp == g], pred[grp == g]):.3f} "
            f"(AUC {auc(gold[grp == g] != NONE, 1.0 - p_held[grp == g, none]):.3f})"
            for g in scored
        )
        print(
            f"{name}, {len(scored)} of {len(names)} groups held out ({','.join(scored)}): "
            f"macro-F1 {macro:.3f}, false flags {ffr:.1%}, ROC AUC {a:.4f}; by group {per}"
        )


if __name__ == "__main__":
    main()
