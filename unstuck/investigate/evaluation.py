"""How good the win model is on the workspace's own deals: AUC, Brier score and expected
calibration error on a time-ordered holdout (the latest quarter of closings), or on
stratified 5-fold cross-validation when deals carry no dates. The stage-only rates are
scored on the same split as the baseline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from unstuck.core.models import Workspace
from unstuck.deals.models import Deal
from unstuck.investigate.winmodel import StageRates, fit, predict, training_data


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Weighted mean gap between predicted and observed win rates over equal-width bins."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(p[mask].mean() - y[mask].mean())
    return float(total)


@dataclass
class Scores:
    auc: float
    brier: float
    ece: float

    @classmethod
    def of(cls, y: np.ndarray, p: np.ndarray) -> Scores:
        from sklearn.metrics import brier_score_loss, roc_auc_score

        auc = float(roc_auc_score(y, p)) if len(set(y.tolist())) == 2 else float("nan")
        return cls(
            auc=auc, brier=float(brier_score_loss(y, p)), ece=expected_calibration_error(y, p)
        )


@dataclass
class Evaluation:
    method: str
    closed_deals: int
    test_deals: int
    model_kind: str
    model: Scores
    baseline: Scores

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "closed_deals": self.closed_deals,
            "test_deals": self.test_deals,
            "model_kind": self.model_kind,
            "model": vars(self.model),
            "stage_only_baseline": vars(self.baseline),
        }


def win_model_evaluate(*, workspace: Workspace, holdout: float = 0.25) -> Evaluation:
    rows, y, customs = training_data(workspace)
    if len(rows) < 20 or len(set(y.tolist())) < 2:
        raise ValueError("Too few closed deals (or only one outcome) to evaluate a model.")
    closed = dict(
        Deal.objects.filter(pk__in=[r["deal_id"] for r in rows]).values_list("pk", "closed_at")
    )
    dates = [closed.get(r["deal_id"]) for r in rows]
    p_model = np.zeros(len(rows))
    p_base = np.zeros(len(rows))
    kind = ""
    if all(d is not None for d in dates):
        order = np.argsort(np.array([d.timestamp() for d in dates]), kind="stable")  # type: ignore[union-attr]
        cut = int(len(rows) * (1 - holdout))
        folds = [(order[:cut], order[cut:])]
        method = f"time-ordered holdout (latest {holdout:.0%} of closings)"
    else:
        from sklearn.model_selection import StratifiedKFold

        splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
        folds = list(splitter.split(np.zeros(len(y)), y))
        method = "stratified 5-fold cross-validation (deals carry no close dates)"
    tested: list[int] = []
    for train, test in folds:
        train_rows = [rows[i] for i in train]
        test_rows = [rows[i] for i in test]
        fitted = fit(train_rows, y[train], customs)
        kind = fitted.kind
        p_model[test] = [
            pr.probability for pr in predict(fitted, test_rows, customs, explain=False)
        ]
        rates = StageRates().fit(train_rows, y[train])
        p_base[test] = [rates.rate(r) for r in test_rows]
        tested += list(test)
    idx = np.array(tested)
    return Evaluation(
        method=method,
        closed_deals=len(rows),
        test_deals=len(idx),
        model_kind=kind,
        model=Scores.of(y[idx], p_model[idx]),
        baseline=Scores.of(y[idx], p_base[idx]),
    )
