"""Time to the next stage: the weighted Kaplan-Meier curve of one arm, and the stratified
speed ratio (how many times faster, from the log-rank's estimating equation) with its
cluster bootstrap.

Kaplan-Meier here is the product-limit estimate S(t) = Π_{tⱼ ≤ t} (1 - dⱼ / nⱼ) with dⱼ the
weight of the subjects that moved on at tⱼ and nⱼ the weight still waiting and observed at
tⱼ (subjects censored at tⱼ count as at risk there, the usual convention). With unit weights
it is exactly scipy.stats.ecdf on censored data (the tests check it); weights are needed
for the comparison arm, which scipy does not take (see docs/outcomes.md for why not
lifelines).
"""

from __future__ import annotations

import math
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


# ---- The speed ratio: how many times faster, by the log-rank's estimating equation --------
# If the treated deals' waiting ran θ times faster, multiplying each treated subject's time
# (its wait, or the time it was observed for) by θ would make the two arms alike, stratum by
# stratum. So θ is estimated as the factor at which the stratified log-rank statistic
#     U(θ) = Σ over moves (moved treated? 1 : 0) - (treated share of the weight waiting then)
# crosses zero: the rank-based estimate of an accelerated-failure-time model (Wei, Ying and
# Lin 1990; Tsiatis 1990). U only depends on the order of waits within each stratum, so the
# estimate needs no assumption on the shape of the waiting times, and under no effect it is
# unbiased however thin the strata (one treated deal per stratum is common here). A ratio of
# rates (moves per deal-day, e.g. Mantel-Haenszel) has neither property: with one treated
# subject per stratum its exposure ends at its own move, and in simulation a null read 1.4
# (exponential waits) to 1.7 (long-tailed waits); on generated history with random take-ups,
# 1.2-1.5 (docs/outcomes.md has the figures).
# The comparison arm is rescaled, stratum by stratum, to the treated arm's weight (ATT), as
# everywhere else; U is a step function decreasing in θ, and its crossing is located by
# bisection (the estimate) or on a grid around the estimate (the bootstrap, all replicates
# at once).

_BISECTIONS = 40
_GRID_SPAN = 1.6  # the bootstrap grid: the estimate times e^±1.6 (about 1/5 to 5 times)
_GRID_POINTS = 33  # steps of 10% on that span, U interpolated between them


@dataclass(frozen=True)
class SpeedData:
    """The subjects of the speed analysis, one entry each."""

    cluster: IntArray  # deal index (0..K-1), shared across arms
    stratum: IntArray  # matched stratum index (0..G-1)
    treated: BoolArray
    weight: FloatArray  # caller's weight (base weight before the ATT rescaling)
    event: BoolArray  # moved on within the horizon
    exposure: FloatArray  # days waited within the horizon

    def ratio(self) -> float:
        """θ: treated deals moved on θ times as fast (NaN if an arm has no move)."""
        w = self._att(np.ones((self.cluster.size, 1)))
        if not self._defined(w)[0]:
            return float("nan")
        lo, hi = -_GRID_SPAN * 3, _GRID_SPAN * 3
        # Beyond the bracket (about 1/120 to 120 times), its end stands for the estimate.
        if self._u(math.exp(lo), w)[0] <= 0:
            return math.exp(lo)
        if self._u(math.exp(hi), w)[0] > 0:
            return math.exp(hi)
        for _ in range(_BISECTIONS):
            mid = (lo + hi) / 2
            if self._u(math.exp(mid), w)[0] > 0:
                lo = mid
            else:
                hi = mid
        return float(math.exp((lo + hi) / 2))

    def bootstrap(
        self, *, replicates: int, seed: int, chunk: int = 250, around: float | None = None
    ) -> FloatArray:
        """θ over `replicates` resamples of whole deals (a deal that appears several times —
        in both arms, or at several moments — is drawn or left out as one); NaN for a
        resample in which an arm has no move. Located on a grid of steps of 10% around
        `around` (the estimate), between grid points by linear interpolation of U; a resample
        beyond the grid gets the grid's end (the interval is then at least that wide)."""
        estimate = self.ratio() if around is None else around
        centre = math.log(estimate) if math.isfinite(estimate) and estimate > 0 else 0.0
        logs = centre + np.linspace(-_GRID_SPAN, _GRID_SPAN, _GRID_POINTS)
        clusters = int(self.cluster.max()) + 1
        rng = np.random.default_rng(seed)
        out = np.empty(replicates)
        for start in range(0, replicates, chunk):
            r = min(chunk, replicates - start)
            draws = rng.integers(0, clusters, size=(r, clusters), dtype=np.int32)
            # Column j: how many times each deal was drawn in replicate j.
            multiplicity = np.empty((clusters, r))
            for j in range(r):
                multiplicity[:, j] = np.bincount(draws[j], minlength=clusters)
            w = self._att(multiplicity[self.cluster])
            u = np.stack([self._u(math.exp(x), w) for x in logs])  # grid x replicates
            out[start : start + r] = np.where(self._defined(w), _crossing(logs, u), np.nan)
        return out

    def _att(self, multiplicity: FloatArray) -> FloatArray:
        """Subject weights per replicate column: the caller's weight times the multiplicity,
        the comparison arm rescaled to the treated arm's weight in each stratum (a stratum
        left with one arm only counts for nothing)."""
        n = self.cluster.size
        groups = int(self.stratum.max()) + 1
        base = multiplicity * self.weight[:, None]
        in_stratum = sparse.csr_matrix((np.ones(n), (self.stratum, np.arange(n))), (groups, n))
        t_sum = np.asarray(in_stratum @ (base * self.treated[:, None]))
        c_sum = np.asarray(in_stratum @ (base * ~self.treated[:, None]))
        both = (t_sum > 0) & (c_sum > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            att = np.where(both, t_sum / np.where(c_sum > 0, c_sum, 1.0), 0.0)
        treated = self.treated[:, None]
        return np.asarray(np.where(treated, base * both[self.stratum], base * att[self.stratum]))

    def _defined(self, w: FloatArray) -> BoolArray:
        moves = w * self.event[:, None]
        return np.asarray(
            ((moves * self.treated[:, None]).sum(axis=0) > 0)
            & ((moves * ~self.treated[:, None]).sum(axis=0) > 0)
        )

    def _u(self, theta: float, w: FloatArray) -> FloatArray:
        """U(θ) for each column of weights w (subjects x replicates)."""
        n = self.cluster.size
        time = np.where(self.treated, self.exposure * theta, self.exposure)
        # Stratum by stratum, longest wait first: a running sum is the weight still waiting.
        order = np.lexsort((-time, self.stratum))
        stratum, time, treated = self.stratum[order], time[order], self.treated[order]
        w = w[order]
        new_stratum = np.r_[True, stratum[1:] != stratum[:-1]]
        # Subjects with equal times are all waiting at that time: read each running sum at
        # the last subject of its (stratum, time) run, and only where someone moved.
        new_run = new_stratum | np.r_[True, time[1:] != time[:-1]]
        run_end = np.r_[np.flatnonzero(new_run)[1:] - 1, n - 1][np.cumsum(new_run) - 1]
        moved = np.flatnonzero(self.event[order])
        read = run_end[moved]
        # The running sum just before each stratum starts, subtracted from the stratum's rows.
        start = np.flatnonzero(new_stratum)
        before = (np.cumsum(new_stratum) - 1)[moved]

        def waiting(x: FloatArray) -> FloatArray:
            total = np.cumsum(x, axis=0)
            offset = np.vstack([np.zeros((1, x.shape[1])), total[start[1:] - 1]])
            return np.asarray(total[read] - offset[before])

        at_risk = waiting(w)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(at_risk > 0, waiting(w * treated[:, None]) / at_risk, 0.0)
        moves = w[moved]
        return np.asarray((moves * (treated[moved][:, None] - share)).sum(axis=0))


def _crossing(logs: FloatArray, u: FloatArray) -> FloatArray:
    """exp of where each column of u (decreasing along the grid `logs`) crosses zero."""
    positive = u > 0
    # The first grid point at or below zero; 0 if already there, len(logs) if never.
    k = np.where(positive.all(axis=0), logs.size, np.argmin(positive, axis=0))
    inside = (k > 0) & (k < logs.size)
    kk = np.clip(k, 1, logs.size - 1)
    cols = np.arange(u.shape[1])
    a, b = u[kk - 1, cols], u[kk, cols]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(a != b, a / (a - b), 0.5)
    x = logs[kk - 1] + (logs[kk] - logs[kk - 1]) * frac
    x = np.where(inside, x, np.where(k == 0, logs[0], logs[-1]))
    return np.asarray(np.exp(x), dtype=np.float64)
