"""Win probability per open deal, learned from the workspace's closed deals as they looked
while still open (see stall_signals._snapshot_closed), so nothing known only at closing leaks in.

From 200 closed deals: scikit-learn's HistGradientBoosting, calibrated (sigmoid below 1,000
deals, isotonic above). Below that: stage win rates smoothed toward the overall rate. Either
way each deal gets its top factors, and the probability of comparable healthy deals that
the innovation queue uses: the smoothed win rate of closed deals that were in the same stage
and not stalled (stall score under 40) when seen.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from unstuck.core.models import Workspace
from unstuck.deals.models import Deal
from unstuck.investigate.models import WinModel
from unstuck.investigate.stall_signals import STALL_WARNING, signal_rows

log = logging.getLogger(__name__)

MIN_CLOSED_FOR_BOOSTING = 200
SMOOTHING = 10  # pseudo-deals at the overall rate added to each stage's rate
MIN_CATEGORY_SUPPORT = 20
MIN_MINORITY = 10  # closed deals of the rarer outcome below which no model is learnt

# name: (label, how to read it from a signal row)
NUMERIC: dict[str, str] = {
    "stage_order": "Stage",
    "age_days": "Deal age",
    "days_in_stage": "Time in stage",
    "log_amount": "Amount",
    "n_act": "Activities",
    "n_act_30": "Activities in the last 30 days",
    "days_silent": "Days since last activity",
    "n_inbound": "Replies from the customer",
    "n_sh": "People on the buying committee",
    "n_eb": "Economic buyer named",
    "n_supporters": "Supporters on the committee",
    "pushes": "Close-date push-outs",
    "amount_ratio": "Amount versus its peak",
    "moved_back": "Moved backwards",
    "days_to_close": "Days to the close date",
    "champion_days": "Days since the champion was heard from",
}


def _num(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _nums(values: list[Any]) -> np.ndarray:
    """`_num` of every value as one array: numbers (ints, floats, decimals) converted by numpy
    in one call (float() on each, as _num), None as NaN; anything else (text) value by value
    through _num, so the figures are the same either way."""
    try:
        out = np.array([math.nan if v is None else v for v in values], dtype=float)
    except (TypeError, ValueError):
        return np.fromiter((_num(v) for v in values), float, len(values))
    if out.shape != (len(values),):
        return np.fromiter((_num(v) for v in values), float, len(values))
    return out


def base_columns(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """The win model's own features of every row, a column each (in NUMERIC's order)."""
    open_stage = np.array([r["stage_kind"] == "open" for r in rows], dtype=bool)
    now = _nums([r["amount_now"] for r in rows])
    peak = _nums([r["amount_peak"] for r in rows])
    with np.errstate(divide="ignore", invalid="ignore"):
        # peak > 0 is False for NaN, as `peak and peak > 0` is.
        ratio = np.where(peak > 0, now / np.where(peak > 0, peak, 1.0), 1.0)
    cols = {
        "stage_order": np.where(open_stage, _nums([r["stage_order"] for r in rows]), math.nan),
        "age_days": _nums([r["age_days"] for r in rows]),
        "days_in_stage": np.where(open_stage, _nums([r["days_in_stage"] for r in rows]), math.nan),
        # math.log1p, not numpy's: the same bits as math on each value, whatever numpy's build.
        "log_amount": np.fromiter(
            (math.nan if math.isnan(v) else math.log1p(max(v, 0)) for v in now.tolist()),
            float,
            len(rows),
        ),
    }
    for name in ("n_act", "n_act_30", "days_silent", "n_inbound", "n_sh"):
        cols[name] = _nums([r[name] for r in rows])
    cols["n_eb"] = np.minimum(_nums([r["n_eb"] for r in rows]), 1.0)
    cols["n_supporters"] = _nums([r["n_supporters"] for r in rows])
    cols["pushes"] = _nums([r["pushes"] for r in rows])
    cols["amount_ratio"] = ratio
    cols["moved_back"] = np.array([1.0 if r["moved_back_at"] else 0.0 for r in rows])
    cols["days_to_close"] = _nums([r["days_to_close"] for r in rows])
    cols["champion_days"] = _nums([r["champion_days"] for r in rows])
    assert list(cols) == list(NUMERIC), "base_columns and NUMERIC disagree"
    return cols


@dataclass
class FeatureSpec:
    """Which custom attributes become features, and the codes of their categories."""

    numeric_custom: list[str] = field(default_factory=list)
    categorical: dict[str, list[str]] = field(default_factory=dict)
    # Features with fewer than two values, or known on fewer than 20 deals, are dropped
    # (e.g. stage when deals came without history): they say nothing, and the booster fails
    # on a column that is empty in one of the calibration folds.
    keep: list[bool] | None = None

    @classmethod
    def learn(cls, customs: list[dict[str, Any]]) -> FeatureSpec:
        spec = cls()
        n = len(customs)
        keys = Counter(k for c in customs for k in c)
        for key, count in sorted(keys.items()):
            if count < max(MIN_CATEGORY_SUPPORT, n // 2):
                continue
            values = [c.get(key) for c in customs if c.get(key) not in (None, "")]
            numbers = [_num(v) for v in values]
            if values and all(not math.isnan(x) for x in numbers):
                spec.numeric_custom.append(key)
                continue
            support = Counter(str(v) for v in values)
            kept = sorted(v for v, c in support.items() if c >= MIN_CATEGORY_SUPPORT)
            if len(kept) >= 2:
                spec.categorical[key] = kept[:250]
        return spec

    @property
    def all_names(self) -> list[str]:
        return [*NUMERIC, *(f"custom:{k}" for k in self.numeric_custom), *self.categorical]

    def _kept(self, values: list[Any]) -> list[Any]:
        if self.keep is None:
            return values
        return [v for v, k in zip(values, self.keep, strict=True) if k]

    @property
    def names(self) -> list[str]:
        return self._kept(self.all_names)

    @property
    def categorical_mask(self) -> list[bool]:
        mask = [False] * (len(NUMERIC) + len(self.numeric_custom))
        return self._kept(mask + [True] * len(self.categorical))

    def matrix(self, rows: list[dict[str, Any]], customs: dict[int, dict[str, Any]]) -> np.ndarray:
        """One row per signal row: the base features, then the custom attributes. Built a
        column at a time (base_columns), the same values to the last bit as computing each
        row on its own (a test holds them equal) in about a fifth of the time: a full
        recompute at 100,000 deals builds it for 69,388 closed and 30,612 open deals."""
        n = len(rows)
        out = np.empty((n, len(self.all_names)))
        base = base_columns(rows)
        for j, name in enumerate(NUMERIC):
            out[:, j] = base[name]
        j = len(NUMERIC)
        custom = [customs.get(row["deal_id"]) or {} for row in rows]
        for key in self.numeric_custom:
            out[:, j] = _nums([c.get(key) for c in custom])
            j += 1
        for key, cats in self.categorical.items():
            codes = {cat: float(i) for i, cat in reversed(list(enumerate(cats)))}
            out[:, j] = [codes.get(str(c.get(key)), math.nan) for c in custom]
            j += 1
        return out if self.keep is None else out[:, np.array(self.keep, dtype=bool)]


def _customs(
    deal_ids: list[int], within: QuerySet[Deal] | None = None
) -> dict[int, dict[str, Any]]:
    """The custom attributes of these deals. `within`: deals that hold them all (e.g. the
    workspace's closed ones), read by that filter instead of tens of thousands of ids in an
    IN list, which Django resolves one by one (about a second at 100,000 deals)."""
    if within is None:
        return dict(Deal.objects.filter(pk__in=deal_ids).values_list("pk", "custom"))
    wanted = set(deal_ids)
    return {pk: custom for pk, custom in within.values_list("pk", "custom") if pk in wanted}


def training_data(
    workspace: Workspace,
) -> tuple[list[dict[str, Any]], np.ndarray, dict[int, dict[str, Any]]]:
    # In deal order, whatever order the database's plan returns them in: the booster's
    # validation split, the category codes and the training fingerprint follow the rows'
    # order, so the same closed deals must always give the same model.
    rows = sorted(signal_rows(workspace, closed_snapshots=True), key=lambda r: r["deal_id"])
    y = np.array([1 if r["status_now"] == "won" else 0 for r in rows])
    closed = Deal.objects.filter(workspace=workspace).exclude(status="open")
    customs = _customs([r["deal_id"] for r in rows], closed) if rows else {}
    return rows, y, customs


# --- the two estimators -----------------------------------------------------------------


class StageRates:
    """Win rate by stage at snapshot, smoothed toward the overall rate; also split by
    whether the deal was stalled then, for the 'comparable healthy deals' figure."""

    def __init__(self) -> None:
        self.overall = 0.0
        self.rates: dict[str, float] = {}
        self.healthy: dict[str, float] = {}

    def fit(self, rows: list[dict[str, Any]], y: np.ndarray) -> StageRates:
        self.overall = float(y.mean()) if len(y) else 0.0
        by: dict[str, list[int]] = {}
        healthy: dict[str, list[int]] = {}
        for row, won in zip(rows, y, strict=True):
            key = str(row["stage_order"]) if row["stage_kind"] == "open" else "?"
            by.setdefault(key, []).append(int(won))
            if row["stall_score"] < STALL_WARNING:
                healthy.setdefault(key, []).append(int(won))
        for key, outcomes in by.items():
            self.rates[key] = (sum(outcomes) + SMOOTHING * self.overall) / (
                len(outcomes) + SMOOTHING
            )
        for key, outcomes in healthy.items():
            self.healthy[key] = (sum(outcomes) + SMOOTHING * self.rates[key]) / (
                len(outcomes) + SMOOTHING
            )
        return self

    def rate(self, row: dict[str, Any], *, healthy: bool = False) -> float:
        key = str(row["stage_order"]) if row["stage_kind"] == "open" else "?"
        table = self.healthy if healthy else self.rates
        return table.get(key, self.rates.get(key, self.overall))


@dataclass
class Fitted:
    kind: str
    spec: FeatureSpec
    rates: StageRates
    model: Any = None
    reference: np.ndarray | None = None
    # Why the stage rates are used instead of the booster, in words for the page and the CLI.
    fallback_reason: str = ""
    # What the booster was fitted on (training_fingerprint): a retraining on the same data
    # keeps it instead of fitting the same model again.
    fingerprint: str = ""


# Capacity grows with the data: early stopping on a held-out tenth picks the number of trees,
# so a small workspace gets a few shallow ones and a large one up to 500.
BOOSTING_SETTINGS: dict[str, Any] = {
    "max_iter": 500,
    "learning_rate": 0.06,
    "max_leaf_nodes": 31,
    "early_stopping": True,
    "validation_fraction": 0.1,
    "n_iter_no_change": 20,
    "min_samples_leaf": 20,
    "l2_regularization": 1.0,
}
# From this many closed deals, twice the learning rate: about half the trees, so half the time
# to train, predict and explain, for the same back-test (bench/eval_win_model.py, 5 folds, 2026-
# 11-30: IBM 77,829 deals AUC 0.8364 -> 0.8368, Brier 0.1232 -> 0.1230, ECE 0.0048 -> 0.0053;
# the 100,000-deal demo's 69,388 AUC 0.9386 and Brier 0.0984 both unchanged, ECE 0.0019 ->
# 0.0022). Below it the time is small, and a 2,136-deal demo's ECE rose 0.016 -> 0.020.
LARGE_TRAINING = 20_000
LARGE_LEARNING_RATE = 0.12


def boosting_settings(n: int) -> dict[str, Any]:
    """The booster's settings for n closed deals."""
    if n >= LARGE_TRAINING:
        return {**BOOSTING_SETTINGS, "learning_rate": LARGE_LEARNING_RATE}
    return dict(BOOSTING_SETTINGS)


def _boosting(n: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold

    def make(spec: FeatureSpec) -> Any:
        base = HistGradientBoostingClassifier(
            **boosting_settings(n),
            categorical_features=np.array(spec.categorical_mask, dtype=bool),
            random_state=0,
        )
        # Shuffled folds: rows come in deal order, so an import appended to a workspace forms
        # one block, and unshuffled folds could leave a feature known only on that block
        # (or only outside it) with no value at all in a training fold.
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
        return CalibratedClassifierCV(base, method="isotonic" if n >= 1000 else "sigmoid", cv=folds)

    return make


def training_fingerprint(spec: FeatureSpec, X: np.ndarray, y: np.ndarray) -> str:
    """A digest of everything the booster's fit depends on: the features and their category
    codes, the matrix and outcomes to the last bit, the settings and scikit-learn's version.
    The fit is deterministic (fixed random states), so the same digest means the same model."""
    import sklearn

    digest = hashlib.sha256()
    setup = [spec.names, spec.categorical, spec.categorical_mask, sklearn.__version__]
    settings = boosting_settings(len(y))
    digest.update(repr((setup, settings, X.shape, X.dtype.str, y.dtype.str)).encode())
    digest.update(np.ascontiguousarray(X).tobytes())
    digest.update(np.ascontiguousarray(y).tobytes())
    return digest.hexdigest()


def fit(
    rows: list[dict[str, Any]],
    y: np.ndarray,
    customs: dict[int, dict[str, Any]],
    *,
    previous: Fitted | None = None,
) -> Fitted:
    """The estimator for these closed deals. `previous` (the stored one): its booster is
    kept when it was fitted on exactly this training data (see training_fingerprint)."""
    rates = StageRates().fit(rows, y)
    spec = FeatureSpec.learn([customs.get(r["deal_id"]) or {} for r in rows])

    def stage_rates(reason: str) -> Fitted:
        return Fitted(
            kind=WinModel.Kind.STAGE_RATES, spec=spec, rates=rates, fallback_reason=reason
        )

    if len(rows) < MIN_CLOSED_FOR_BOOSTING:
        return stage_rates(
            f"{len(rows)} closed deals; a learnt model needs {MIN_CLOSED_FOR_BOOSTING}."
        )
    minority = int(min(y.sum(), len(y) - y.sum()))
    if minority < MIN_MINORITY:
        return stage_rates(
            f"Only {minority} closed deals {'won' if y.sum() <= len(y) / 2 else 'lost'}; "
            f"a learnt model needs {MIN_MINORITY} of each outcome."
        )
    full = spec.matrix(rows, customs)
    spec.keep = [
        len(np.unique(c[np.isfinite(c)])) >= 2 and np.isfinite(c).sum() >= MIN_CATEGORY_SUPPORT
        for c in full.T
    ]
    if not any(spec.keep):
        return stage_rates("No fact varies across the closed deals, so there is nothing to learn.")
    X = full[:, np.array(spec.keep, dtype=bool)]  # what spec.matrix gives now, not rebuilt
    fingerprint = training_fingerprint(spec, X, y)
    if (
        previous is not None
        and previous.model is not None
        and previous.fingerprint == fingerprint
        and previous.reference is not None
    ):
        # The same closed deals seen the same way: fitting again would give this very model.
        return Fitted(
            kind=WinModel.Kind.BOOSTING,
            spec=spec,
            rates=rates,
            model=previous.model,
            reference=previous.reference,
            fingerprint=fingerprint,
        )
    try:
        model = _boosting(len(rows))(spec).fit(X, y)
    except (ValueError, FloatingPointError) as error:
        # Degenerate data (e.g. a feature present in too few deals of a fold) must not stop
        # the scoring: the stage rates still rank the deals, and the reason is shown.
        log.warning("Win model fell back to stage rates: %s", error)
        return stage_rates(f"The learnt model could not be fitted on this data ({error}).")
    reference = np.nanmedian(X, axis=0)
    return Fitted(
        kind=WinModel.Kind.BOOSTING,
        spec=spec,
        rates=rates,
        model=model,
        reference=reference,
        fingerprint=fingerprint,
    )


@dataclass
class Prediction:
    probability: float
    comparable: float
    factors: list[dict[str, Any]]


def predict(
    fitted: Fitted,
    rows: list[dict[str, Any]],
    customs: dict[int, dict[str, Any]],
    *,
    explain: bool = True,
) -> list[Prediction]:
    """Win probability, comparable-healthy probability and top factors for each row."""
    if not rows:
        return []
    if fitted.kind == WinModel.Kind.STAGE_RATES or fitted.model is None:
        out = []
        for row in rows:
            p = fitted.rates.rate(row)
            out.append(
                Prediction(
                    probability=p,
                    comparable=max(p, fitted.rates.rate(row, healthy=True)),
                    factors=[
                        {
                            "factor": "Stage",
                            "effect": 0.0,
                            "text": f"{round(p * 100)} % of deals seen in "
                            f"{row['stage_name']} went on to win.",
                        }
                    ],
                )
            )
        return out
    X = fitted.spec.matrix(rows, customs)
    names = fitted.spec.names
    assert fitted.reference is not None
    # A factor's effect: how the probability moves when this one fact is set to the
    # workspace's typical value (a cheap, model-agnostic attribution).
    if explain:
        probability, effects = swap_effects(fitted.model, X, fitted.reference)
    else:
        probability, effects = fitted.model.predict_proba(X)[:, 1], np.zeros_like(X)
    out = []
    for i, row in enumerate(rows):
        order = np.argsort(-np.abs(effects[i]))[:3]
        factors = [
            {
                "factor": _label(names[j]),
                "effect": round(float(effects[i, j]), 3),
                "text": _factor_text(names[j], X[i, j], float(effects[i, j]), row, fitted.spec),
            }
            for j in order
            if abs(effects[i, j]) >= 0.005
        ]
        out.append(
            Prediction(
                probability=float(probability[i]),
                comparable=max(float(probability[i]), fitted.rates.rate(row, healthy=True)),
                factors=factors,
            )
        )
    return out


def swap_effects(model: Any, X: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The probability of each row and, per fact, how much it drops when that fact alone is
    set to its typical value: `p[i] - predict_proba(X[i] with X[i, j] = reference[j])`.

    From 2,000 rows, by the boosted trees directly (`_swap_effects_by_trees`), which gives
    exactly the figures of predicting every swapped row again; checked on a few rows against
    that generic way, which is used instead if the model is not what the shortcut knows (and
    for fewer rows, where it is the cheaper)."""
    if len(X) < _TREES_FROM:
        return _swap_effects_by_predicting(model, X, reference)
    check = min(len(X), 64)
    try:
        p, effects = _swap_effects_by_trees(model, X, reference)
        want_p, want_effects = _swap_effects_by_predicting(model, X[:check], reference)
        if np.array_equal(p[:check], want_p) and np.array_equal(effects[:check], want_effects):
            return p, effects
        log.warning("Win factors: the trees' shortcut disagreed with the model; predicting.")
    except (AttributeError, TypeError, ValueError, IndexError) as error:
        log.warning("Win factors: the trees' shortcut failed (%s); predicting.", error)
    return _swap_effects_by_predicting(model, X, reference)


def _swap_effects_by_predicting(
    model: Any, X: np.ndarray, reference: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The generic way: predict again the rows whose value differs from the typical one (for
    the others the swap changes nothing and the effect is exactly 0)."""
    p = model.predict_proba(X)[:, 1]
    effects = np.zeros_like(X)
    for j in range(X.shape[1]):
        typical = reference[j]
        same = (X[:, j] == typical) | (np.isnan(X[:, j]) & np.isnan(typical))
        differs = np.flatnonzero(~same)
        if not len(differs):
            continue
        swapped = X[differs]
        swapped[:, j] = typical
        effects[differs, j] = p[differs] - model.predict_proba(swapped)[:, 1]
    return p, effects


# Below this many rows (an incremental recompute) reading the trees costs more to set up
# than predicting the swapped rows again.
_TREES_FROM = 2000
# Rows per pass: each pass holds one prediction per tree per row (500 trees: 33 MB).
_SWAP_BLOCK = 8192


def _swap_effects_by_trees(
    model: Any, X: np.ndarray, reference: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """What predict_proba gives for the rows and for every swapped row, computed as
    scikit-learn computes it (each calibrated booster's raw score is its baseline plus its
    trees' leaf values added in order, then calibrated, then averaged), but re-reading only
    the trees whose path can change: a swap of fact j changes a tree's leaf only if the tree
    splits on j at a threshold between the row's value and the typical one (or the value is
    missing, or a category). Every other tree keeps the row's own leaf, so the sums are the
    same additions in the same order, and the figures identical to the last bit."""
    n, m = X.shape
    calibrated = model.calibrated_classifiers_
    total = np.zeros(n)
    total_swapped = np.zeros((n, m))
    for member in calibrated:
        raw, raw_swapped = _BoosterSwaps(member.estimator, reference, m).raw(X)
        (calibrator,) = member.calibrators
        for acc, values in ((total, raw), (total_swapped, raw_swapped)):
            proba = calibrator.predict(values.ravel()).reshape(values.shape)
            proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0  # as CalibratedClassifierCV
            acc += proba
    total /= len(calibrated)
    total_swapped /= len(calibrated)
    return total, total[:, None] - total_swapped


class _BoosterSwaps:
    """One fitted HistGradientBoostingClassifier (binary) read tree by tree."""

    def __init__(self, booster: Any, reference: np.ndarray, m: int) -> None:
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

        self.booster = booster
        self.trees = [iteration for (iteration,) in booster._predictors]
        self.bitsets, self.f_idx_map = booster._bin_mapper.make_known_categories_bitsets()
        self.threads = _openmp_effective_n_threads()
        # The booster reads its input re-ordered (categorical columns first) and re-coded
        # (categories it never saw become missing): the column of each fact, and the typical
        # row as the booster reads it.
        if booster._preprocessor is None:
            self.column = np.arange(m)
            categorical = np.zeros(m, dtype=bool)
        else:
            order = np.concatenate(
                [np.flatnonzero(booster.is_categorical_), np.flatnonzero(~booster.is_categorical_)]
            )
            self.column = np.empty(m, dtype=int)
            self.column[order] = np.arange(m)
            categorical = np.asarray(booster._is_categorical_remapped, dtype=bool)
        self.typical = booster._preprocess_X(reference[None, :], reset=False)[0]
        # Per column: the numeric thresholds of all trees (sorted), and per tree that splits
        # on it the positions among them from which a value takes the typical value's path
        # in that tree (lo to hi: the same thresholds of that tree below it), or None for a
        # categorical column or a missing typical value (any other value may change it).
        self.categorical = categorical
        self.thresholds: list[np.ndarray] = []
        self.users: list[list[tuple[int, int | None, int | None]]] = []
        nodes = np.concatenate([tree.nodes for tree in self.trees])
        tree_of = np.repeat(np.arange(len(self.trees)), [len(t.nodes) for t in self.trees])
        split = nodes["is_leaf"] == 0
        nodes, tree_of = nodes[split], tree_of[split]
        for c in range(m):
            on = nodes["feature_idx"] == c
            threshold, trees = nodes["num_threshold"][on], tree_of[on]
            everything = np.unique(threshold)
            self.thresholds.append(everything)
            typical = self.typical[c]
            if categorical[c] or np.isnan(typical):
                self.users.append([(int(t), None, None) for t in np.unique(trees)])
                continue
            # A tree's thresholds below the typical value: a value takes its path from just
            # past the highest of them (lo) to the lowest one at or above it (hi, inclusive).
            where = np.searchsorted(everything, threshold)
            below = threshold < typical
            lo = np.zeros(len(self.trees), dtype=int)
            np.maximum.at(lo, trees[below], where[below] + 1)
            hi = np.full(len(self.trees), len(everything) + 1)
            np.minimum.at(hi, trees[~below], where[~below] + 1)
            self.users.append([(int(t), int(lo[t]), int(hi[t])) for t in np.unique(trees)])

    def _predict(self, t: int, X: np.ndarray) -> np.ndarray:
        threads = self.threads if len(X) >= 4096 else 1
        out: np.ndarray = self.trees[t].predict(X, self.bitsets, self.f_idx_map, threads)
        return out

    def _sum(self, leaves: np.ndarray) -> np.ndarray:
        # As HistGradientBoosting._raw_predict: the baseline, then each tree in turn.
        raw: np.ndarray = np.zeros((leaves.shape[1], 1), order="F")
        raw += self.booster._baseline_prediction
        for values in leaves:
            raw[:, 0] += values
        return raw[:, 0]

    def raw(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, m = X.shape
        raw = np.empty(n)
        raw_swapped = np.empty((n, m))
        Xp = np.ascontiguousarray(self.booster._preprocess_X(X, reset=False))
        for start in range(0, n, _SWAP_BLOCK):
            block = Xp[start : start + _SWAP_BLOCK]
            leaves = np.empty((len(self.trees), len(block)))
            for t in range(len(self.trees)):
                leaves[t] = self._predict(t, block)
            mine = self._sum(leaves)
            raw[start : start + len(block)] = mine
            for j in range(m):
                raw_swapped[start : start + len(block), j] = mine
                changed = self._swapped(block, leaves, self.column[j])
                if changed is not None:
                    rows, values = changed
                    raw_swapped[start + rows, j] = values
        return raw, raw_swapped

    def _swapped(
        self, block: np.ndarray, leaves: np.ndarray, c: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The raw scores of the rows of the block whose path can change when column c is set
        to its typical value (their indices, their scores), None if no row's can."""
        typical = self.typical[c]
        values = block[:, c]
        missing = np.isnan(values)
        if self.categorical[c] or np.isnan(typical):
            rows = np.flatnonzero(~((values == typical) | (missing & np.isnan(typical))))
            position = None
        else:
            # Position among the thresholds; a missing value after all of them (it follows
            # each split's missing side, so any tree that splits on c may change it).
            everything = self.thresholds[c]
            position = np.searchsorted(everything, values, side="left")
            position[missing] = len(everything) + 1
            rows = np.flatnonzero(position != np.searchsorted(everything, typical, side="left"))
            # Sorted by position, the rows a tree leaves on the typical path are one run.
            rows = rows[np.argsort(position[rows], kind="stable")]
            position = position[rows]
        if not len(rows) or not self.users[c]:
            return None
        swapped = block[rows]
        swapped[:, c] = typical
        own = leaves[:, rows]
        for t, lo, hi in self.users[c]:
            if lo is None or hi is None or position is None:
                own[t] = self._predict(t, swapped)
                continue
            a, b = np.searchsorted(position, [lo, hi], side="left")
            if a:
                own[t, :a] = self._predict(t, swapped[:a])
            if b < len(rows):
                own[t, b:] = self._predict(t, swapped[b:])
        return rows, self._sum(own)


def _label(name: str) -> str:
    return NUMERIC.get(name) or name.removeprefix("custom:").replace("_", " ").capitalize()


def _factor_text(name: str, value: float, effect: float, row: dict[str, Any], spec: Any) -> str:
    direction = "raises" if effect > 0 else "lowers"
    points = abs(round(effect * 100))
    if name == "stage_order":
        shown = row["stage_name"]
    elif name == "log_amount":
        shown = f"{math.expm1(value):,.0f}"
    elif name == "amount_ratio":
        shown = f"{value:.0%} of peak"
    elif name in spec.categorical:
        cats = spec.categorical[name]
        shown = cats[int(value)] if not math.isnan(value) else "not set"
    elif math.isnan(value):
        shown = "unknown"
    else:
        shown = f"{value:,.0f}"
    return f"{_label(name)} ({shown}) {direction} the odds by {points} pts."


# --- storing and loading ----------------------------------------------------------------


def _model_path(workspace: Workspace) -> Path:
    return Path(settings.DATA_DIR) / "models" / f"win-{workspace.slug}.joblib"


@transaction.atomic
def win_model_train(*, workspace: Workspace) -> WinModel:
    """Train on every closed deal of the workspace and store the model (the stored booster is
    kept, not fitted again, when the training data is the same to the last bit)."""
    rows, y, customs = training_data(workspace)
    try:
        previous = load(workspace)
    except Exception:  # an unreadable file (e.g. from another scikit-learn): fit afresh
        log.warning("Win model: the stored model could not be read; fitting afresh.")
        previous = None
    fitted = fit(rows, y, customs, previous=previous)
    path = _model_path(workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(fitted, path)
    record, _ = WinModel.objects.update_or_create(
        workspace=workspace,
        defaults={
            "kind": fitted.kind,
            "path": str(path),
            "closed_deals": len(rows),
            "stage_rates": fitted.rates.rates,
            "metrics": {"fallback_reason": fitted.fallback_reason}
            if fitted.fallback_reason
            else {},
            "trained_at": timezone.now(),
        },
    )
    return record


def load(workspace: Workspace) -> Fitted | None:
    record = WinModel.objects.filter(workspace=workspace).first()
    if record is None or not record.path or not Path(record.path).exists():
        return None
    fitted: Fitted = joblib.load(record.path)
    return fitted
