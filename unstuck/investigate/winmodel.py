"""Win probability per open deal, learned from the workspace's closed deals as they looked
while still open (see stall_signals._snapshot_closed), so nothing known only at closing leaks in.

From 200 closed deals: scikit-learn's HistGradientBoosting, calibrated (sigmoid below 1,000
deals, isotonic above). Below that: stage win rates smoothed toward the overall rate. Either
way each deal gets its top factors, and the probability of comparable healthy deals that
the innovation queue uses: the smoothed win rate of closed deals that were in the same stage
and not stalled (stall score under 40) when seen.
"""

from __future__ import annotations

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


def base_features(row: dict[str, Any]) -> dict[str, float]:
    open_stage = row["stage_kind"] == "open"
    peak = _num(row["amount_peak"])
    now = _num(row["amount_now"])
    return {
        "stage_order": _num(row["stage_order"]) if open_stage else math.nan,
        "age_days": _num(row["age_days"]),
        "days_in_stage": _num(row["days_in_stage"]) if open_stage else math.nan,
        "log_amount": math.log1p(max(now, 0)) if not math.isnan(now) else math.nan,
        "n_act": _num(row["n_act"]),
        "n_act_30": _num(row["n_act_30"]),
        "days_silent": _num(row["days_silent"]),
        "n_inbound": _num(row["n_inbound"]),
        "n_sh": _num(row["n_sh"]),
        "n_eb": min(_num(row["n_eb"]), 1.0),
        "n_supporters": _num(row["n_supporters"]),
        "pushes": _num(row["pushes"]),
        "amount_ratio": now / peak if peak and peak > 0 else 1.0,
        "moved_back": 1.0 if row["moved_back_at"] else 0.0,
        "days_to_close": _num(row["days_to_close"]),
        "champion_days": _num(row["champion_days"]),
    }


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
        out = np.full((len(rows), len(self.all_names)), np.nan)
        for i, row in enumerate(rows):
            custom = customs.get(row["deal_id"]) or {}
            values = list(base_features(row).values())
            values += [_num(custom.get(k)) for k in self.numeric_custom]
            for key, cats in self.categorical.items():
                value = custom.get(key)
                values.append(float(cats.index(str(value))) if str(value) in cats else math.nan)
            out[i] = values
        return out if self.keep is None else out[:, np.array(self.keep, dtype=bool)]


def _customs(deal_ids: list[int]) -> dict[int, dict[str, Any]]:
    return dict(Deal.objects.filter(pk__in=deal_ids).values_list("pk", "custom"))


def training_data(
    workspace: Workspace,
) -> tuple[list[dict[str, Any]], np.ndarray, dict[int, dict[str, Any]]]:
    rows = signal_rows(workspace, closed_snapshots=True)
    y = np.array([1 if r["status_now"] == "won" else 0 for r in rows])
    customs = _customs([r["deal_id"] for r in rows]) if rows else {}
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


def _boosting(n: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold

    def make(spec: FeatureSpec) -> Any:
        # Capacity grows with the data: early stopping on a held-out tenth picks the number of
        # trees, so a small workspace gets a few shallow ones and a large one up to 500.
        base = HistGradientBoostingClassifier(
            max_iter=500,
            learning_rate=0.06,
            max_leaf_nodes=31,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=20,
            min_samples_leaf=20,
            l2_regularization=1.0,
            categorical_features=np.array(spec.categorical_mask, dtype=bool),
            random_state=0,
        )
        # Shuffled folds: rows come in deal order, so an import appended to a workspace forms
        # one block, and unshuffled folds could leave a feature known only on that block
        # (or only outside it) with no value at all in a training fold.
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
        return CalibratedClassifierCV(base, method="isotonic" if n >= 1000 else "sigmoid", cv=folds)

    return make


def fit(rows: list[dict[str, Any]], y: np.ndarray, customs: dict[int, dict[str, Any]]) -> Fitted:
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
    p = fitted.model.predict_proba(X)[:, 1]
    names = fitted.spec.names
    effects = np.zeros_like(X)
    assert fitted.reference is not None
    # A factor's effect: how the probability moves when this one fact is set to the
    # workspace's typical value (a cheap, model-agnostic attribution).
    # Only the rows whose value differs from the typical one are predicted again: for the
    # others the swap changes nothing and the effect is exactly 0 (most rows, for the counts
    # and flags; the largest cost of a recompute at 100,000 deals before).
    for j in range(X.shape[1] if explain else 0):
        typical = fitted.reference[j]
        same = (X[:, j] == typical) | (np.isnan(X[:, j]) & np.isnan(typical))
        differs = np.flatnonzero(~same)
        if not len(differs):
            continue
        swapped = X[differs]
        swapped[:, j] = typical
        effects[differs, j] = p[differs] - fitted.model.predict_proba(swapped)[:, 1]
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
                probability=float(p[i]),
                comparable=max(float(p[i]), fitted.rates.rate(row, healthy=True)),
                factors=factors,
            )
        )
    return out


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
    """Train on every closed deal of the workspace and store the model."""
    rows, y, customs = training_data(workspace)
    fitted = fit(rows, y, customs)
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
