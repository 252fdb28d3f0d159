"""The stall score learnt from a workspace's own history.

Landmarks: at regular as-of dates in the past, every deal open then is seen as it stood
(the signal statement over the history known then, against the benchmarks known then) and
labelled with what happened next: won within the horizon, or not. A logistic regression on
the signals, time in stage against the won-deal benchmarks, the stage, age, amount and
recent changes gives the probability of *not* being won. A signal that points the wrong way
in this workspace is dropped from the model, so it stops counting there.

Judged by time: trained on the earlier landmarks, tested on the later ones, beside the three
single baselines (the stage's not-won rate, raw days in stage, Odoo's rotting rule). The
learnt model is used only when it is at least as good as the best of them on that back-test
and the history is thick enough; otherwise the best baseline scores, and the page says so.

Every method ends in the same logistic form, so a score reads the same way whichever is used:
    stall score = 100 * sigmoid(logit(p) - logit(p_typical) + logit(0.2))
p the deal's probability of not being won, p_typical the typical deal's: a typical deal scores 20,
one whose odds of not being won are 2.7 times the typical deal's scores 40 (stuck).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from unstuck.core.models import Workspace
from unstuck.deals.models import Deal
from unstuck.investigate.stall_signals import SIGNALS

HORIZON_MIN, HORIZON_MAX = 30, 180  # days a landmark waits for its outcome
MAX_LANDMARKS = 12
MIN_STEP_DAYS = 14
MIN_SNAPSHOTS = 300  # below this the history is too thin to learn from
MIN_MINORITY = 30  # snapshots of the rarer outcome below which nothing is learnt
ROT_DAYS = 30  # Odoo's default rotting threshold
BACKTEST_FOLDS = 3  # the latest landmarks, each tested by a model trained on those before it
BOOTSTRAP = 400  # resamples of the back-test's deals for the interval on the AUC difference
CONFIDENCE = 0.90  # one-sided: the learnt model must beat the best baseline this surely
FULL_STRENGTH = 3000  # snapshots from which the regularisation is the default (C = 1)
TYPICAL_SCORE = 0.2  # where a deal of typical risk lands on the 0-100 scale
# Deals seen at each landmark, at most: beyond this a fixed pseudo-random sample of them
# (by a hash of the deal's id, blind to its outcome), so retraining a large workspace reads
# 12 samples instead of 12 whole pipelines. 12 x 5,000 snapshots are ample for the two dozen
# weights of a logistic regression; smaller workspaces are seen whole, as before.
LANDMARK_SAMPLE = 5_000
_HASH_MULTIPLIER, _HASH_MODULUS = 2654435761, 1000003

# Signals the history cannot show (the CRM keeps no history of the next step).
NOT_LEARNABLE = {"no_next_step"}
LEARNT_FLAGS = [code for code in SIGNALS if code not in NOT_LEARNABLE]
# What a landmark snapshot holds: the statement's columns that _columns and
# _category_values read (a test holds them to it).
SNAPSHOT_COLUMNS = [
    "deal_id",
    "stage_id",
    "owner_id",
    "days_in_stage",
    "p50_days",
    "age_days",
    "amount_now",
    "pushes",
    "pulls",
    "moves",
    "n_act_30",
    *(f"f_{code}" for code in LEARNT_FLAGS),
]

METHOD_LABELS = {
    "learnt": "learnt from this workspace's history",
    "stage_rate": "the stage's not-won rate",
    "days_in_stage": "days in stage",
    "rotting": f"the rotting rule (more than {ROT_DAYS} days in stage)",
    "rules": "the fixed signal weights",
}


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _f(value: Any, default: float = 0.0) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(out) else out


def _floats(values: list[Any], default: float = 0.0) -> np.ndarray:
    """`_f(value, default)` for every value, as one array: numbers (ints, floats, decimals)
    converted by numpy in one call, None and NaN as the default. Anything else (text) takes
    `_f`'s path value by value, so the figures are the same either way."""
    try:
        out = np.array([default if v is None else v for v in values], dtype=float)
    except (TypeError, ValueError):
        return np.fromiter((_f(v, default) for v in values), float, len(values))
    if out.shape != (len(values),):
        return np.fromiter((_f(v, default) for v in values), float, len(values))
    out[np.isnan(out)] = default
    return out


def _category_values(rows: list[dict[str, Any]]) -> dict[str, list[str | None]]:
    """The owner of every row, as a string. (Custom attributes are left out: the row holds
    today's values, and some CRMs fill them in at closing, which would leak the outcome.)"""
    return {"owner": [None if r.get("owner_id") is None else str(r["owner_id"]) for r in rows]}


MIN_SUPPORT = 20  # snapshots an owner needs before getting a rate of their own


def _encodings(
    rows: list[dict[str, Any]], y: np.ndarray, overall: float
) -> dict[str, dict[str, float]]:
    """Smoothed not-won rate per owner, learnt from the snapshots like the stage's rate."""
    out: dict[str, dict[str, float]] = {}
    for name, values in _category_values(rows).items():
        by: dict[str, list[int]] = {}
        for value, label in zip(values, y, strict=True):
            if value is not None:
                by.setdefault(value, []).append(int(label))
        rates = {
            v: (sum(ls) + 10 * overall) / (len(ls) + 10)
            for v, ls in by.items()
            if len(ls) >= MIN_SUPPORT
        }
        if len(rates) >= 2:
            out[name] = rates
    return out


def _columns(
    rows: list[dict[str, Any]],
    stage_rates: dict[str, float],
    overall: float,
    encodings: dict[str, dict[str, float]] | None = None,
) -> dict[str, np.ndarray]:
    """Every candidate feature, one array each (rows in order)."""
    n = len(rows)
    cols: dict[str, np.ndarray] = {}
    overall_logit = _logit(overall)
    if encodings:
        values = _category_values(rows)
        for name, rates in encodings.items():
            seen = values.get(name) or [None] * n
            logits = {v: _logit(rate) for v, rate in rates.items()}
            cols[f"enc:{name}"] = np.fromiter(
                (logits.get(v, overall_logit) if v is not None else overall_logit for v in seen),
                float,
                n,
            )
    # Each value read as _f reads it, a column at a time (_floats), and each stage's logit
    # once: about half the time of a generator and a call per value (identical arrays).
    for code in LEARNT_FLAGS:
        cols[f"f_{code}"] = _floats([r[f"f_{code}"] for r in rows])
    days = np.maximum(_floats([r["days_in_stage"] for r in rows]), 0.0)
    p50 = _floats([r["p50_days"] for r in rows], math.nan)
    known = np.isfinite(p50) & (p50 > 0)
    cols["log_days_in_stage"] = np.log1p(days)
    ratio = np.where(known, days / np.where(known, p50, 1.0), 0.0)
    cols["log_days_vs_won"] = np.log1p(np.minimum(ratio, 50.0))
    stage_logits = {stage: _logit(rate) for stage, rate in stage_rates.items()}
    cols["stage_logit"] = np.fromiter(
        (stage_logits.get(str(r["stage_id"]), overall_logit) for r in rows), float, n
    )
    cols["log_age"] = np.log1p(np.maximum(_floats([r["age_days"] for r in rows]), 0.0))
    cols["log_amount"] = np.log1p(np.maximum(_floats([r["amount_now"] for r in rows]), 0.0))
    cols["pushes"] = np.minimum(_floats([r["pushes"] for r in rows]), 5)
    cols["pulls"] = np.minimum(_floats([r.get("pulls") for r in rows]), 5)
    cols["moves"] = np.minimum(_floats([r["moves"] for r in rows]), 10)
    cols["log_act_30"] = np.log1p(_floats([r["n_act_30"] for r in rows]))
    cols["rot"] = (days > ROT_DAYS).astype(float)
    return cols


# Each method is a logistic regression on some of the columns.
METHOD_COLUMNS: dict[str, list[str]] = {
    "learnt": [
        *(f"f_{c}" for c in LEARNT_FLAGS),
        "log_days_in_stage",
        "log_days_vs_won",
        "stage_logit",
        "log_age",
        "log_amount",
        "pushes",
        "pulls",
        "moves",
        "log_act_30",
        "rot",
    ],
    "stage_rate": ["stage_logit"],
    "days_in_stage": ["log_days_in_stage"],
    "rotting": ["rot"],
}
BASELINES = ["stage_rate", "days_in_stage", "rotting"]


@dataclass
class Fit:
    """One fitted method: standardised columns, coefficients, intercept."""

    columns: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float

    def probability(self, cols: dict[str, np.ndarray]) -> np.ndarray:
        if not self.columns:
            n = len(next(iter(cols.values()))) if cols else 0
            return np.full(n, 1 / (1 + math.exp(-self.intercept)))
        X = np.column_stack([cols[c] for c in self.columns])
        z = (X - np.array(self.mean)) / np.array(self.scale)
        return np.asarray(1 / (1 + np.exp(-(z @ np.array(self.coef) + self.intercept))))


def _strength(n: int) -> float:
    """The inverse L2 strength C for n snapshots: the default 1.0 from FULL_STRENGTH on, and
    proportionally stronger regularisation below (C = 0.1 at 300 snapshots), so that a short
    history cannot lend a dozen weights more confidence than it holds."""
    return float(min(1.0, max(0.05, n / FULL_STRENGTH)))


def _fit(cols: dict[str, np.ndarray], y: np.ndarray, columns: list[str]) -> Fit:
    """L2 logistic regression, regularised more on fewer snapshots (`_strength`); flags whose
    weight comes out negative (the signal goes with winning here) are dropped and the rest
    refitted, so a signal never lowers the score."""
    from sklearn.linear_model import LogisticRegression

    columns = [c for c in columns if np.ptp(cols[c]) > 0]
    while True:  # each round drops at least one column, so it ends
        if not columns:
            rate = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
            return Fit([], [], [], [], _logit(rate))
        X = np.column_stack([cols[c] for c in columns])
        mean, scale = X.mean(axis=0), X.std(axis=0)
        scale[scale == 0] = 1.0
        model = LogisticRegression(C=_strength(len(y)), max_iter=2000)
        model.fit((X - mean) / scale, y)
        coef = model.coef_[0]
        wrong = [c for c, w in zip(columns, coef, strict=True) if c.startswith("f_") and w < 0]
        if not wrong:
            return Fit(
                columns, mean.tolist(), scale.tolist(), coef.tolist(), float(model.intercept_[0])
            )
        columns = [c for c in columns if c not in wrong]


@dataclass
class Snapshots:
    rows: list[dict[str, Any]]
    y: np.ndarray  # 1: not won within the horizon
    landmark: np.ndarray  # index of the landmark each row was seen at
    landmarks: list[datetime]
    horizon_days: int


def _horizon(workspace: Workspace, known_at: datetime) -> int:
    """The time a deal is given to be won: the won deals' 75th-percentile cycle, within
    30-180 days."""
    cycles = sorted(
        (closed - created).total_seconds() / 86400
        for created, closed in Deal.objects.filter(
            workspace=workspace, status="won", closed_at__lte=known_at
        ).values_list("created_at", "closed_at")
        if closed is not None
    )
    if not cycles:
        return 90
    p75 = cycles[min(len(cycles) - 1, int(0.75 * len(cycles)))]
    return int(min(max(math.ceil(p75), HORIZON_MIN), HORIZON_MAX))


def landmark_snapshots(workspace: Workspace, *, known_at: datetime) -> Snapshots:
    """Deals as they stood at regular past dates whose horizon had passed by `known_at`,
    labelled from what was known at `known_at` alone."""
    from unstuck.investigate.stall_signals import landmark_signal_rows

    horizon = _horizon(workspace, known_at)
    first = (
        Deal.objects.filter(workspace=workspace, created_at__lte=known_at)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    last = known_at - timedelta(days=horizon)
    if first is None or last <= first + timedelta(days=MIN_STEP_DAYS):
        return Snapshots([], np.zeros(0), np.zeros(0, int), [], horizon)
    span = (last - first).days
    step = max(MIN_STEP_DAYS, math.ceil(span / MAX_LANDMARKS))
    landmarks = sorted(
        last - timedelta(days=step * k) for k in range(MAX_LANDMARKS) if step * k < span
    )
    won_at = dict(
        Deal.objects.filter(workspace=workspace, status="won", closed_at__lte=known_at).values_list(
            "pk", "closed_at"
        )
    )
    # Every landmark in one statement: the history is read once, not once per landmark; and
    # only the columns the score learns from (_columns, _category_values).
    rows = landmark_signal_rows(
        workspace,
        [(moment, _landmark_sample(workspace, moment)) for moment in landmarks],
        columns=SNAPSHOT_COLUMNS,
    )
    y: list[int] = []
    where: list[int] = []
    for row in rows:
        i = row.pop("lm")
        won = won_at.get(row["deal_id"])
        y.append(0 if won is not None and won <= landmarks[i] + timedelta(days=horizon) else 1)
        where.append(i)
    return Snapshots(rows, np.array(y), np.array(where, dtype=int), landmarks, horizon)


def _landmark_sample(workspace: Workspace, moment: datetime) -> Any:
    """The deals to see at a landmark: all of those open then, or, above LANDMARK_SAMPLE of
    them, a sample of about that many picked by a multiplicative hash of the id (spread
    evenly whatever pattern the ids follow)."""
    from django.db.models import F
    from django.db.models.functions import Mod

    open_then = (
        Deal.objects.filter(workspace=workspace, created_at__lte=moment)
        .exclude(closed_at__lte=moment)
        .count()
    )
    if open_then <= LANDMARK_SAMPLE:
        return None
    cut = math.ceil(LANDMARK_SAMPLE / open_then * _HASH_MODULUS)
    return Deal.objects.alias(bucket=Mod(F("id") * _HASH_MULTIPLIER, _HASH_MODULUS)).filter(
        workspace=workspace, bucket__lt=cut
    )


def _stage_rates(rows: list[dict[str, Any]], y: np.ndarray) -> tuple[dict[str, float], float]:
    overall = float(y.mean()) if len(y) else 0.5
    by: dict[str, list[int]] = {}
    for row, label in zip(rows, y, strict=True):
        by.setdefault(str(row["stage_id"]), []).append(int(label))
    smoothing = 10
    return {
        k: (sum(v) + smoothing * overall) / (len(v) + smoothing) for k, v in by.items()
    }, overall


@dataclass
class StallModel:
    """What is stored per workspace (as JSON) and applied to the signal rows."""

    method: str
    fit: Fit
    stage_rates: dict[str, float]
    overall: float
    horizon_days: int
    snapshots: int
    landmarks: int
    trained_until: str
    backtest: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    weights: dict[str, float] = field(default_factory=dict)
    encodings: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k != "fit"}
        out["fit"] = vars(self.fit)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StallModel:
        values = dict(data)
        values["fit"] = Fit(**values["fit"])
        return cls(**values)

    @property
    def label(self) -> str:
        return METHOD_LABELS.get(self.method, self.method)

    @property
    def is_learnt(self) -> bool:
        return self.method == "learnt"

    def probabilities(self, rows: list[dict[str, Any]]) -> np.ndarray:
        if not rows:
            return np.zeros(0)
        return self.fit.probability(_columns(rows, self.stage_rates, self.overall, self.encodings))

    def scores(self, rows: list[dict[str, Any]]) -> list[int]:
        """0-100, a typical deal at 20, stuck from 40 (see the module's docstring)."""
        p = np.clip(self.probabilities(rows), 1e-6, 1 - 1e-6)
        shift = _logit(TYPICAL_SCORE) - _logit(self.overall)
        z = np.log(p / (1 - p)) + shift
        return [round(100 / (1 + math.exp(-float(v)))) for v in z]


def _weights(fit: Fit) -> dict[str, float]:
    """Each signal's weight in this workspace: the odds multiplier when it fires (1.0: it
    does not count here, e.g. because it pointed the wrong way)."""
    out = {}
    for code in SIGNALS:
        name = f"f_{code}"
        if name in fit.columns:
            j = fit.columns.index(name)
            out[code] = round(math.exp(fit.coef[j] / fit.scale[j]), 2)
        else:
            out[code] = 1.0
    return out


def fit_method(
    snaps: Snapshots,
    method: str,
    *,
    known_at: datetime,
    reason: str = "",
    backtest: dict[str, float] | None = None,
) -> StallModel:
    """One method fitted on all the snapshots."""
    rows, y = snaps.rows, snaps.y
    rates, overall = _stage_rates(rows, y)
    encodings = _encodings(rows, y, overall) if method == "learnt" and rows else {}
    if method == "rules" or not rows:
        fit = Fit([], [], [], [], _logit(overall))
    else:
        fit = _fit(_columns(rows, rates, overall, encodings), y, _method_columns(method, encodings))
    return StallModel(
        method=method,
        fit=fit,
        stage_rates=rates,
        overall=overall,
        horizon_days=snaps.horizon_days,
        snapshots=len(rows),
        landmarks=len(snaps.landmarks),
        trained_until=known_at.isoformat(),
        backtest=backtest or {},
        reason=reason,
        weights=_weights(fit) if method == "learnt" else {},
        encodings={k: v for k, v in encodings.items() if f"enc:{k}" in fit.columns},
    )


def _method_columns(method: str, encodings: dict[str, dict[str, float]]) -> list[str]:
    if method != "learnt":
        return METHOD_COLUMNS[method]
    return [*METHOD_COLUMNS[method], *(f"enc:{name}" for name in encodings)]


def stall_model_fit(
    workspace: Workspace, *, known_at: datetime | None = None, snaps: Snapshots | None = None
) -> StallModel:
    """Learn from the landmarks known at `known_at` (default now), judge on the latest
    landmarks against the baselines (`time_backtest`), and keep the learnt model only if it
    beats the best baseline there by more than noise (`choose`); otherwise keep that baseline,
    with the reason."""
    known_at = known_at or timezone.now()
    if snaps is None:
        snaps = landmark_snapshots(workspace, known_at=known_at)
    rows, y = snaps.rows, snaps.y
    minority = int(min(y.sum(), len(y) - y.sum())) if len(y) else 0

    def build(method: str, reason: str, backtest: dict[str, float]) -> StallModel:
        return fit_method(snaps, method, known_at=known_at, reason=reason, backtest=backtest)

    if len(rows) < MIN_SNAPSHOTS or minority < MIN_MINORITY or len(snaps.landmarks) < 3:
        reason = (
            f"Too little history to learn from ({len(rows)} deal snapshots at "
            f"{len(snaps.landmarks)} past dates, {minority} of the rarer outcome)"
        )
        # Which baseline is best cannot be told on so little either, and a one-column model
        # squeezes every score between ~10 and ~30 (nothing would reach "stuck" at 40): the
        # fixed signal weights score until the history is long enough to learn from.
        return build("rules", reason + "; the fixed signal weights score until there is more.", {})
    backtest = time_backtest(snaps)
    method, reason = choose(backtest)
    return build(method, reason, backtest)


def choose(backtest: dict[str, float]) -> tuple[str, str]:
    """The method to score with, and why when it is not the learnt model: the learnt model
    when the lower end of the interval on its AUC difference with the best baseline is above
    zero (it is better beyond noise), else that baseline."""
    if "learnt" not in backtest:
        return "rules", (
            "The back-test could not be run (no past date with both outcomes on either side "
            "of it), so which method is best cannot be told; the fixed signal weights score."
        )
    best = max(BASELINES, key=lambda m: (backtest.get(m, 0.0), -BASELINES.index(m)))
    low, high = backtest["vs_best_low"], backtest["vs_best_high"]
    if low > 0:
        return "learnt", ""
    return best, (
        f"On this workspace's own back-test the learnt score (AUC {backtest['learnt']:.3f}) "
        f"was not better than {METHOD_LABELS[best]} ({backtest[best]:.3f}) beyond noise "
        f"(difference {backtest['learnt'] - backtest[best]:+.3f}, "
        f"{CONFIDENCE:.0%} interval {low:+.3f} to {high:+.3f}), so {METHOD_LABELS[best]} scores."
    )


def weighted_auc(y: np.ndarray, score: np.ndarray, weight: np.ndarray) -> float:
    """ROC AUC with a weight per row (ties count a half): the chance that a weighted random
    positive scores above a weighted random negative. With unit weights it is the usual AUC."""
    return _ranked_auc(y, np.unique(score, return_inverse=True), weight)


def _ranked_auc(y: np.ndarray, ranked: tuple[np.ndarray, np.ndarray], weight: np.ndarray) -> float:
    """weighted_auc from the scores' distinct values and each row's index among them
    (np.unique's): the bootstrap reweights the same scores hundreds of times, and sorting
    them once instead of each time is most of the back-test's CPU saved, for the same sums."""
    values, inverse = ranked
    neg = np.bincount(inverse, weights=weight * (1 - y), minlength=len(values))
    below = np.cumsum(neg) - neg
    pos_w = weight * y
    total = float(pos_w.sum()) * float(neg.sum())
    if total <= 0:
        return math.nan
    return float((pos_w * (below[inverse] + 0.5 * neg[inverse])).sum() / total)


def time_backtest(snaps: Snapshots, *, seed: int = 0) -> dict[str, float]:
    """Each method's AUC on the latest landmarks, each landmark scored by a model trained on
    the landmarks before it (rolling origin: the latest BACKTEST_FOLDS landmarks with both
    outcomes before and at them, averaged), and an
    interval on the learnt model's AUC minus the best baseline's: the deals of the tested
    landmarks resampled BOOTSTRAP times (a deal's snapshots go together, as they are alike).

    Keys: each method's mean AUC; `vs_best_low` / `vs_best_high`, the one-sided CONFIDENCE
    bounds on the difference (learnt minus the best baseline); `folds`. Empty when no fold
    has both outcomes on both sides."""
    deal_ids = np.array([r["deal_id"] for r in snaps.rows])
    folds: list[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]] = []
    # The latest landmarks that have both outcomes on both sides (the very latest may hold
    # one outcome only, e.g. when the history stops before the training date).
    for mark in range(len(snaps.landmarks) - 1, 0, -1):
        if len(folds) == BACKTEST_FOLDS:
            break
        train = snaps.landmark < mark
        test = snaps.landmark == mark
        y_train, y_test = snaps.y[train], snaps.y[test]
        if len(set(y_train.tolist())) < 2 or len(set(y_test.tolist())) < 2:
            continue
        train_rows = [r for r, t in zip(snaps.rows, train, strict=True) if t]
        test_rows = [r for r, t in zip(snaps.rows, test, strict=True) if t]
        rates, overall = _stage_rates(train_rows, y_train)
        encodings = _encodings(train_rows, y_train, overall)
        cols_train = _columns(train_rows, rates, overall, encodings)
        cols_test = _columns(test_rows, rates, overall, encodings)
        preds = {
            method: _fit(cols_train, y_train, _method_columns(method, encodings)).probability(
                cols_test
            )
            for method in METHOD_COLUMNS
        }
        folds.append((y_test, deal_ids[test], preds))
    if not folds:
        return {}

    # Each fold's scores sorted once (np.unique); the bootstrap only changes the weights.
    ranks = [{m: np.unique(p[m], return_inverse=True) for m in METHOD_COLUMNS} for *_, p in folds]

    def mean_aucs(weights: list[np.ndarray], methods: list[str] | None = None) -> dict[str, float]:
        return {
            m: float(
                np.mean(
                    [
                        _ranked_auc(y, r[m], w)
                        for (y, _, _), r, w in zip(folds, ranks, weights, strict=True)
                    ]
                )
            )
            for m in methods or METHOD_COLUMNS
        }

    point = mean_aucs([np.ones(len(y)) for y, _, _ in folds])
    best = max(BASELINES, key=lambda m: (point[m], -BASELINES.index(m)))
    # Cluster bootstrap: draw deals with replacement, each snapshot weighted by its deal's draws.
    deals, where = np.unique(np.concatenate([d for _, d, _ in folds]), return_inverse=True)
    cuts = np.cumsum([len(d) for _, d, _ in folds])[:-1]
    fold_index = np.split(where, cuts)
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(BOOTSTRAP):
        draws = np.bincount(rng.integers(0, len(deals), len(deals)), minlength=len(deals))
        # The two methods compared (the others' AUCs are not used here).
        aucs = mean_aucs([draws[i].astype(float) for i in fold_index], ["learnt", best])
        diffs.append(aucs["learnt"] - aucs[best])
    clean = np.array([d for d in diffs if math.isfinite(d)])
    out = {m: round(v, 4) for m, v in point.items()}
    out["vs_best_low"] = round(float(np.quantile(clean, 1 - CONFIDENCE)), 4)
    out["vs_best_high"] = round(float(np.quantile(clean, CONFIDENCE)), 4)
    out["folds"] = float(len(folds))
    return out


# --- storing and applying ----------------------------------------------------------------


def stall_model_train(*, workspace: Workspace) -> StallModel:
    """Fit on the workspace's history and store it (the nightly run and the first scoring)."""
    from unstuck.investigate.models import StallScoreModel
    from unstuck.investigate.scoring_cache import scoring_changed

    model = stall_model_fit(workspace)
    with transaction.atomic():
        StallScoreModel.objects.update_or_create(
            workspace=workspace,
            defaults={
                "method": model.method,
                "params": model.as_json(),
                "reason": model.reason,
                "trained_at": timezone.now(),
            },
        )
        scoring_changed(workspace)
    return model


def stored(workspace: Workspace) -> StallModel | None:
    from unstuck.investigate.models import StallScoreModel

    record = StallScoreModel.objects.filter(workspace=workspace).first()
    if record is None or not record.params:
        return None
    return StallModel.from_json(record.params)


def apply(model: StallModel | None, rows: list[dict[str, Any]]) -> None:
    """Replace each row's stall score by the model's (the fixed-weight one stays when there
    is no model or the history was too thin), and attach the signal weights."""
    if model is None or model.method == "rules":
        for row in rows:
            row["score_method"] = "rules"
        return
    for row, score in zip(rows, model.scores(rows), strict=True):
        row["rule_score"] = row["stall_score"]
        row["stall_score"] = score
        row["score_method"] = model.method
        row["signal_weights"] = model.weights


# --- the same score in SQL -------------------------------------------------------------------

# The linear part is clamped before exp() (PostgreSQL raises on overflow): beyond ±40 the
# probability is clipped to 1e-6 / 1 - 1e-6 either way, as `scores` clips it.
_LINEAR_BOUND = 40.0


def _lit(value: float) -> str:
    """A float as SQL text that parses back to the same double (repr is exact)."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a finite number: {value!r}")
    return f"({number!r})"


def score_sql(model: StallModel, *, alias: str = "q") -> tuple[str, str, list[Any]]:
    """The model's 0-100 score as SQL over the signal statement's columns (table `alias`),
    so the database can filter and order by it: (the probability clipped as `scores` clips
    it, its join, that join's parameters). `score_from_probability` turns the first into the
    score. The same arithmetic as `_columns`, `Fit.probability` and `scores`, step by step,
    so both give the same integers (a test holds them to it on both databases)."""
    from unstuck.investigate.sql import as_float, greatest, json_rows, least

    overall_logit = _logit(model.overall)

    def col(name: str) -> str:
        return f"COALESCE({as_float(f'{alias}.{name}')}, 0.0)"

    days = greatest(col("days_in_stage"), "0.0")
    ratio = (
        f"(CASE WHEN {alias}.p50_days > 0 THEN {days} / {as_float(f'{alias}.p50_days')} "
        "ELSE 0.0 END)"
    )
    stage_cases = " ".join(
        f"WHEN {int(stage)} THEN {_lit(_logit(rate))}"
        for stage, rate in sorted(model.stage_rates.items())
        if stage.lstrip("-").isdigit()
    )
    stage_logit = (
        f"(CASE {alias}.stage_id {stage_cases} ELSE {_lit(overall_logit)} END)"
        if stage_cases
        else _lit(overall_logit)
    )
    features = {
        **{f"f_{code}": col(f"f_{code}") for code in LEARNT_FLAGS},
        "log_days_in_stage": f"LN(1.0 + {days})",
        "log_days_vs_won": f"LN(1.0 + {least(ratio, '50.0')})",
        "stage_logit": stage_logit,
        "log_age": f"LN(1.0 + {greatest(col('age_days'), '0.0')})",
        "log_amount": f"LN(1.0 + {greatest(col('amount_now'), '0.0')})",
        "pushes": least(col("pushes"), "5.0"),
        "pulls": least(col("pulls"), "5.0"),
        "moves": least(col("moves"), "10.0"),
        "log_act_30": f"LN(1.0 + {col('n_act_30')})",
        "rot": f"(CASE WHEN {days} > {ROT_DAYS} THEN 1.0 ELSE 0.0 END)",
    }
    join, params = "", []
    owners = model.encodings.get("owner")
    if owners:  # the owners' rates as rows, joined (a CASE over hundreds of owners is slow)
        features["enc:owner"] = f"COALESCE(enc_owner.value, {_lit(overall_logit)})"
        join = (
            f"LEFT JOIN ({json_rows([('owner_id', 'int'), ('value', 'float')])}) enc_owner "
            f"ON enc_owner.owner_id = {alias}.owner_id"
        )
        params.append(
            json.dumps([[int(k), _logit(v)] for k, v in owners.items() if k.lstrip("-").isdigit()])
        )
    fit = model.fit
    terms = [
        f"(({features[name]} - {_lit(mean)}) / {_lit(scale)}) * {_lit(coef)}"
        for name, mean, scale, coef in zip(fit.columns, fit.mean, fit.scale, fit.coef, strict=True)
    ]
    linear = " + ".join([*terms, _lit(fit.intercept)]) if terms else _lit(fit.intercept)
    bounded = least(greatest(f"({linear})", _lit(-_LINEAR_BOUND)), _lit(_LINEAR_BOUND))
    probability = f"(1.0 / (1.0 + EXP(-({bounded}))))"
    clipped = least(greatest(probability, _lit(1e-6)), _lit(1 - 1e-6))
    return clipped, join, params


def score_from_probability(model: StallModel, probability: str) -> str:
    """SQL for the 0-100 score from the clipped probability column (`scores`' last step)."""
    shift = _logit(TYPICAL_SCORE) - _logit(model.overall)
    z = f"(LN({probability} / (1.0 - {probability})) + {_lit(shift)})"
    return f"ROUND(100.0 / (1.0 + EXP(-{z})))"
