"""Time to the next stage: the weighted Kaplan-Meier curve of one arm, and the stratified
Mantel-Haenszel ratio of the rates of moving on with its cluster bootstrap.

Kaplan-Meier here is the product-limit estimate S(t) = Π_{tⱼ ≤ t} (1 - dⱼ / nⱼ) with dⱼ the
weight of the subjects that moved on at tⱼ and nⱼ the weight still waiting and observed at
tⱼ (subjects censored at tⱼ count as at risk there, the usual convention). With unit weights
it is exactly scipy.stats.ecdf on censored data (the tests check it); weights are needed
for the comparison arm, which scipy does not take (see docs/outcomes.md for why not
lifelines).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from unstuck.insights.estimator.results import AtRisk, CurvePoint

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class KaplanMeier:
    times: FloatArray  # distinct times (events or censorings), ascending
    survival: FloatArray  # S just after each time
    at_risk: IntArray  # unweighted subjects with time >= times[j]
    events: IntArray  # unweighted events at times[j]

    def median(self) -> float | None:
        """The first time at which half (or more) had moved on; None if never reached."""
        hit = np.flatnonzero(self.survival <= 0.5)
        return float(self.times[hit[0]]) if hit.size else None

    def points(self) -> list[CurvePoint]:
        """The curve by whole day: a point for day 0 and for each day someone moved on
        (times in (d - 1, d] belong to day d, so the survival shown is S(d))."""
        n = int(self.at_risk[0]) if self.times.size else 0
        out = [CurvePoint(day=0, survival=1.0, at_risk=n, moved=0)]
        has_event = self.events > 0
        days = np.ceil(self.times[has_event]).astype(np.intp)
        surv = self.survival[has_event]
        risk = self.at_risk[has_event]
        moved = self.events[has_event]
        for day in np.unique(days):
            idx = np.flatnonzero(days == day)
            point = CurvePoint(
                day=int(day),
                survival=float(surv[idx[-1]]),
                at_risk=int(risk[idx[0]]),
                moved=int(moved[idx].sum()),
            )
            if point.day == 0:
                out[0] = point
            else:
                out.append(point)
        return out

    def at_risk_every(self, step: int, until: int) -> list[AtRisk]:
        out = []
        for day in range(0, until + 1, step):
            # Subjects whose time is >= day: the first distinct time >= day holds them all.
            j = np.searchsorted(self.times, day, side="left")
            out.append(AtRisk(day=day, at_risk=int(self.at_risk[j]) if j < self.times.size else 0))
        return out


def kaplan_meier(time: FloatArray, event: BoolArray, weight: FloatArray) -> KaplanMeier:
    order = np.argsort(time, kind="stable")
    t, e, w = time[order], event[order], weight[order]
    if t.size == 0:
        empty_f = np.zeros(0)
        empty_i = np.zeros(0, dtype=np.intp)
        return KaplanMeier(empty_f, empty_f, empty_i, empty_i)
    times, first = np.unique(t, return_index=True)
    weight_at_risk = np.cumsum(w[::-1])[::-1][first]
    weight_moved = np.add.reduceat(w * e, first)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(weight_at_risk > 0, weight_moved / weight_at_risk, 0.0)
    return KaplanMeier(
        times=times,
        survival=np.cumprod(1.0 - hazard).astype(np.float64),
        at_risk=(t.size - first).astype(np.intp),
        events=np.add.reduceat(e.astype(np.intp), first),
    )


# ---- Mantel-Haenszel rate ratio ---------------------------------------------------------
# Per stratum s: treated unit count n_T, events E_T and exposure X_T (deal-days); comparison
# base weight b_C, events E_C and exposure X_C. The comparison arm is rescaled to the treated
# arm's size in each stratum (ATT weights f = n_T / b_C) and
#     ratio = Σ_s E_T·X_C/(X_T + X_C)  /  Σ_s E_C·X_T/(X_T + X_C)
# which is consistent for a common rate ratio across strata and never lets a stratum with
# many fast-moving deals stand in for one with slow ones (the confounding a pooled ratio
# suffers from).
_QUANTITIES = 6  # n_T, E_T, X_T, b_C, E_C, X_C


def _ratio_from_sums(sums: FloatArray) -> FloatArray:
    """sums: (..., 6, G) → MH ratio per leading index (NaN where undefined)."""
    n_t, e_t, x_t, b_c, e_c, x_c = (sums[..., k, :] for k in range(_QUANTITIES))
    valid = (n_t > 0) & (b_c > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(valid, n_t / np.where(b_c > 0, b_c, 1.0), 0.0)
        e_t = np.where(valid, e_t, 0.0)
        x_t = np.where(valid, x_t, 0.0)
        e_c = e_c * f
        x_c = x_c * f
        total = x_t + x_c
        safe = np.where(total > 0, total, 1.0)
        num = np.where(total > 0, e_t * x_c / safe, 0.0).sum(axis=-1)
        den = np.where(total > 0, e_c * x_t / safe, 0.0).sum(axis=-1)
        ratio = num / den
    ratio = np.where((num == 0) & (den == 0), np.nan, ratio)
    return np.asarray(ratio, dtype=np.float64)


@dataclass(frozen=True)
class RateData:
    """The subjects of the speed analysis, one entry each."""

    cluster: IntArray  # deal index (0..K-1), shared across arms
    stratum: IntArray  # matched stratum index (0..G-1)
    treated: BoolArray
    weight: FloatArray  # caller's weight (base weight before the ATT rescaling)
    event: BoolArray  # moved on within the horizon
    exposure: FloatArray  # days waited within the horizon

    def _design(self) -> sparse.csr_matrix:
        """Subjects x (6·G): each subject's weight, weighted event and weighted exposure in
        the three columns of its arm and stratum."""
        n = self.cluster.size
        groups = int(self.stratum.max()) + 1
        arm_offset = np.where(self.treated, 0, 3)
        rows = np.repeat(np.arange(n), 3)
        cols = np.concatenate(
            [(arm_offset + k)[:, None] * groups + self.stratum[:, None] for k in range(3)],
            axis=1,
        ).ravel()
        vals = np.stack(
            [self.weight, self.weight * self.event, self.weight * self.exposure], axis=1
        ).ravel()
        return sparse.csr_matrix((vals, (rows, cols)), shape=(n, _QUANTITIES * groups))

    def ratio(self) -> float:
        design = self._design()
        sums = np.asarray(design.sum(axis=0)).reshape(_QUANTITIES, -1)
        return float(_ratio_from_sums(sums))

    def bootstrap(self, *, replicates: int, seed: int, chunk: int = 100) -> FloatArray:
        """MH ratios over `replicates` resamples of whole deals (a deal that appears several
        times — in both arms, or at several moments — is drawn or left out as one)."""
        design = self._design()
        clusters = int(self.cluster.max()) + 1
        to_cluster = sparse.csr_matrix(
            (np.ones(self.cluster.size), (self.cluster, np.arange(self.cluster.size))),
            shape=(clusters, self.cluster.size),
        )
        by_cluster_t = (to_cluster @ design).T.tocsr()  # (6*G) x clusters
        rng = np.random.default_rng(seed)
        out = np.empty(replicates)
        for start in range(0, replicates, chunk):
            r = min(chunk, replicates - start)
            draws = rng.integers(0, clusters, size=(r, clusters), dtype=np.int32)
            # Column j: how many times each deal was drawn in replicate j.
            multiplicity = np.empty((clusters, r))
            for j in range(r):
                multiplicity[:, j] = np.bincount(draws[j], minlength=clusters)
            sums = np.asarray(by_cluster_t @ multiplicity).T
            out[start : start + r] = _ratio_from_sums(sums.reshape(r, _QUANTITIES, -1))
        return out
