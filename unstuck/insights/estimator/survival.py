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
# bisection (the estimate) or by a binary search over a grid around the estimate (the
# bootstrap, every replicate at once). _Score evaluates U for many replicates: only the
# treated waits are stretched, so each arm's order of waits is fixed and each θ costs one
# binary search into the other arm and one row read per move, not a sort and a running sum
# over every subject and replicate (1,000 vs 20,000 subjects: 19-20 s before, see
# docs/outcomes.md for the figure now).

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
        score = _Score(self, w)
        lo, hi = -_GRID_SPAN * 3, _GRID_SPAN * 3
        # Beyond the bracket (about 1/120 to 120 times), its end stands for the estimate.
        if score.u(math.exp(lo))[0] <= 0:
            return math.exp(lo)
        if score.u(math.exp(hi))[0] > 0:
            return math.exp(hi)
        for _ in range(_BISECTIONS):
            mid = (lo + hi) / 2
            if score.u(math.exp(mid))[0] > 0:
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
        `around` (the estimate) by a binary search, between grid points by linear
        interpolation of U; a resample beyond the grid gets the grid's end (the interval is
        then at least that wide)."""
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
            crossing = _crossing(logs, _Score(self, w))
            out[start : start + r] = np.where(self._defined(w), crossing, np.nan)
        return out

    def _att(self, multiplicity: FloatArray) -> FloatArray:
        """Subject weights per replicate column: the caller's weight times the multiplicity,
        the comparison arm rescaled to the treated arm's weight in each stratum (a stratum
        left with one arm only counts for nothing)."""
        n = self.cluster.size
        groups = int(self.stratum.max()) + 1
        base = multiplicity * self.weight[:, None]
        sums = []
        for arm in (self.treated, ~self.treated):
            rows = np.flatnonzero(arm)
            member = (np.ones(rows.size), (self.stratum[rows], rows))
            sums.append(np.asarray(sparse.csr_matrix(member, (groups, n)) @ base))
        t_sum, c_sum = sums
        both = (t_sum > 0) & (c_sum > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            att = np.where(both, t_sum / np.where(c_sum > 0, c_sum, 1.0), 0.0)
        factor = np.where(self.treated[:, None], both[self.stratum], att[self.stratum])
        base *= factor
        return base

    def _defined(self, w: FloatArray) -> BoolArray:
        moves = w * self.event[:, None]
        return np.asarray(
            ((moves * self.treated[:, None]).sum(axis=0) > 0)
            & ((moves * ~self.treated[:, None]).sum(axis=0) > 0)
        )


class _Arm:
    """One arm's subjects in a stratum-by-stratum order of their waits, with each subject's
    weight still waiting from it on (its stratum's suffix sum, one column per replicate), so
    that "weight of this arm waiting at time t in stratum s" is one binary search and one
    row read."""

    def __init__(self, stratum: IntArray, time: FloatArray, w: FloatArray) -> None:
        order = np.lexsort((time, stratum))
        self.order = order
        self.stratum = stratum[order]
        self.time = time[order]
        n = order.size
        starts = np.r_[True, self.stratum[1:] != self.stratum[:-1]] if n else np.zeros(0, bool)
        group = np.cumsum(starts) - 1
        ends = np.r_[np.flatnonzero(starts)[1:], n]
        self.end = ends[group] if n else np.zeros(0, dtype=np.intp)  # its stratum's end
        self.w = w[order]
        prefix = np.vstack([np.zeros((1, w.shape[1])), np.cumsum(self.w, axis=0)])
        # Row n is zero: the place past a stratum's last subject reads "nobody waiting".
        suffix = np.zeros((n + 1, w.shape[1]))
        suffix[:n] = prefix[self.end] - prefix[:n]
        self.suffix = suffix

    def waiting(self, stratum: IntArray, time: FloatArray, scale: float) -> IntArray:
        """Rows of `suffix` holding this arm's weight with (time x scale) >= `time` in
        `stratum`, for each query (row n when nobody is)."""
        n = self.order.size
        # Complex numbers sort by (real, imaginary): one binary search finds a place within a
        # stratum, the order of waits being the same at any positive scale.
        key = self.stratum + 1j * (self.time * scale)
        place = np.searchsorted(key, stratum + 1j * time, side="left")
        # A place inside another stratum, or past the end, means nobody of this stratum.
        valid = place < n
        valid[valid] = self.stratum[place[valid]] == stratum[valid]
        return np.where(valid, place, n)


class _Score:
    """U(θ) for every column of weights w (subjects x replicates), as the sum over moves of
    (moved treated? 1 : 0) - (treated share of the weight waiting then). Only the treated
    waits are stretched by θ, so within an arm the order of waits never changes: the weight
    of a subject's own arm waiting at its move is read once, and each θ costs a binary
    search into the other arm and one row read per move."""

    def __init__(self, data: SpeedData, w: FloatArray) -> None:
        treated = data.treated
        self.t = _Arm(data.stratum[treated], data.exposure[treated], w[treated])
        self.c = _Arm(data.stratum[~treated], data.exposure[~treated], w[~treated])
        self.moves_t = self._moves(self.t, data.event[treated])
        self.moves_c = self._moves(self.c, data.event[~treated])

    @staticmethod
    def _moves(arm: _Arm, event: BoolArray) -> tuple[IntArray, FloatArray, FloatArray, FloatArray]:
        """The arm's moves: stratum, wait, weight that moved, and own arm's weight waiting
        then (everyone of the arm in the stratum with a wait at least as long)."""
        moved = np.flatnonzero(event[arm.order])
        stratum, time = arm.stratum[moved], arm.time[moved]
        own = arm.suffix[arm.waiting(stratum, time, 1.0)]
        return stratum, time, arm.w[moved], own

    def u(self, theta: float, cols: IntArray | None = None) -> FloatArray:
        """U(θ) for each column of the weights, or for the columns `cols` only."""
        # Treated moves at θ x wait: comparison waiting = comparisons with wait >= that.
        stratum, time, weight, own = self.moves_t
        rows = self.c.waiting(stratum, time * theta, 1.0)
        every = np.arange(rows.size)
        other, own, weight = (
            _take(x, r, cols) for x, r in ((self.c.suffix, rows), (own, every), (weight, every))
        )
        total = own + other
        with np.errstate(divide="ignore", invalid="ignore"):
            part = (weight * np.where(total > 0, other / total, 0.0)).sum(axis=0)
        # Comparison moves at their wait: treated waiting = treated with θ x wait >= it; only
        # the moves that some treated subject waits at count.
        stratum, time, weight, own = self.moves_c
        rows = self.t.waiting(stratum, time, theta)
        hit = np.flatnonzero(rows < self.t.order.size)
        other, own, weight = (
            _take(x, r, cols) for x, r in ((self.t.suffix, rows[hit]), (own, hit), (weight, hit))
        )
        total = own + other
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(total > 0, other / total, 0.0)
        return np.asarray(part - (weight * share).sum(axis=0))


def _take(x: FloatArray, rows: IntArray, cols: IntArray | None) -> FloatArray:
    return np.asarray(x[rows] if cols is None else x[np.ix_(rows, cols)])


def _crossing(logs: FloatArray, score: _Score) -> FloatArray:
    """exp of where each column's U (decreasing along the grid `logs`) crosses zero: the
    first grid point at which U is at or below zero, found for every column by a binary
    search over the grid (U evaluated for each column at about log2(len(logs)) points, not
    all of them), and interpolated linearly from the point before it. A column whose U is
    still above zero at the grid's end gets the end, one already at or below it at the start
    gets the start."""
    last = logs.size - 1
    u_first, u_last = score.u(math.exp(logs[0])), score.u(math.exp(logs[last]))
    columns = u_first.size
    lo = np.zeros(columns, dtype=np.intp)  # U > 0 there
    hi = np.full(columns, last, dtype=np.intp)  # U <= 0 there
    u_lo, u_hi = u_first.copy(), u_last.copy()
    searching = (u_first > 0) & (u_last <= 0)
    while True:
        open_ = np.flatnonzero(searching & (hi - lo > 1))
        if open_.size == 0:
            break
        mid = (lo[open_] + hi[open_]) // 2
        for point in np.unique(mid):
            cols = open_[mid == point]
            u = score.u(math.exp(logs[point]), cols)
            above = u > 0
            lo[cols[above]], u_lo[cols[above]] = point, u[above]
            hi[cols[~above]], u_hi[cols[~above]] = point, u[~above]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(u_lo != u_hi, u_lo / (u_lo - u_hi), 0.5)
    x = logs[lo] + (logs[hi] - logs[lo]) * frac
    x = np.where(u_first <= 0, logs[0], np.where(u_last > 0, logs[last], x))
    return np.asarray(np.exp(x), dtype=np.float64)
