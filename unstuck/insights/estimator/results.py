"""The estimator's input record (`Subject`) and its typed, JSON-ready results."""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

Outcome = Literal["won", "lost", "open"]
Verdict = Literal["working", "no_evidence", "worse", "too_early"]
OUTCOMES: tuple[Outcome, ...] = ("won", "lost", "open")
TIMES = "\u00d7"  # the multiplication sign of "1.8x faster", as readers expect it
DASH = "\u2013"  # the en dash of a range, "1.2-2.6"


@dataclass(frozen=True, slots=True)
class Subject:
    """One deal followed from one index moment (a play applied, a deal flagged, or, for a
    comparison deal, the landmark at which it was in the same situation).

    All durations are in days from `index_at`:
    - `follow_up_days`: until the end of observation (now).
    - `moved_after_days`: until it first reached a later stage (a later open stage, or won)
      within the follow-up; None if it had not.
    - `closed_after_days`: until it was won or lost, for `outcome` "won"/"lost"; None if open.
    - `treated_after_days`: for a comparison deal that was itself treated later, until that
      moment; None otherwise. Its time to the next stage is censored there (it stops being a
      comparison for speed), while its result is followed to the end of observation: the
      comparison arm is "not treated at the index moment", whatever came later (intention to
      treat). Dropping those deals from the win rate instead would drop exactly the ones that
      stayed stuck long enough to be taken up, and flatter the comparison arm.
    `outcome` is the deal's state at the end of the follow-up. `stratum` is an opaque,
    hashable key chosen by the caller: subjects are only compared within equal keys.
    `weight` (default 1) multiplies the subject's say in its arm.
    """

    deal_id: int
    index_at: datetime
    stratum: Hashable
    outcome: Outcome
    follow_up_days: float
    moved_after_days: float | None = None
    closed_after_days: float | None = None
    weight: float = 1.0
    treated_after_days: float | None = None


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class CurvePoint:
    """One step of a Kaplan-Meier curve of "not yet moved to the next stage"."""

    day: int  # whole days since the index moment; the step applies from this day on
    survival: float  # (weighted) share still waiting after this day
    at_risk: int  # subjects still waiting and under observation at the start of the day
    moved: int  # subjects that moved on during the day


@dataclass(frozen=True)
class AtRisk:
    day: int
    at_risk: int


@dataclass(frozen=True)
class WinRate:
    """Share won within the horizon: a Beta posterior (Jeffreys prior) on effective counts."""

    n: int  # subjects whose result at the horizon is known
    won: int  # of them, won within the horizon (unweighted count)
    effective_n: float  # Kish effective sample size, by deal, after weighting
    mean: float  # posterior mean
    interval: Interval  # equal-tailed credible interval at the comparison's level


@dataclass(frozen=True)
class ArmResult:
    """One arm (treated or comparison) after matching."""

    n: int  # subjects
    deals: int  # distinct deals
    won: int  # outcome at the end of follow-up, unweighted
    lost: int
    open: int
    moved: int  # moved on to a later stage within the horizon, unweighted
    median_days: float | None  # KM median days to the next stage (None: not reached)
    curve: list[CurvePoint]
    at_risk_by_day: list[AtRisk]  # every 30 days, for the table under a chart
    win_rate: WinRate | None  # None below the minimum sample


@dataclass(frozen=True)
class WinDifference:
    """Treated minus comparison win rate (percentage points / 100)."""

    estimate: float  # posterior mean of the difference
    interval: Interval
    p_better: float  # posterior probability that the treated win rate is higher


@dataclass(frozen=True)
class SpeedRatio:
    """How many times faster treated deals moved to the next stage: the factor θ such that the
    treated deals' waits, stretched by θ, are no different from their comparisons' by the
    stratified log-rank statistic (a rank-based accelerated-failure-time estimate; waits
    within the horizon, > 1 meaning faster). Interval: percentile cluster bootstrap (by
    deal). survival.SpeedData has the method."""

    estimate: float
    interval: Interval
    replicates: int  # bootstrap replicates that gave a finite ratio


@dataclass(frozen=True)
class Comparison:
    level: float
    horizon_days: int
    noun: str
    treated: ArmResult
    comparison: ArmResult
    strata: int  # strata holding both arms
    unmatched_treated: int  # treated subjects whose stratum had no comparison subject
    win: WinDifference | None
    speed: SpeedRatio | None
    verdict: Verdict
    reason: str
    notes: list[str] = field(default_factory=list)

    def headline(self, subject: str) -> str:
        """One sentence for the top of a page, e.g. headline("Deals you innovated on") →
        "Deals you innovated on moved 1.8x faster (90% interval 1.2-2.6, n = 14 vs 31)".
        Below the minimum sample it says so instead of a number."""
        pct = f"{self.level:.0%}"
        sizes = f"n = {self.treated.n} vs {self.comparison.deals}"
        if self.verdict == "too_early":
            return f"{subject}: {self.reason}."
        if self.speed is not None and (self.win is None or self._speed_leads()):
            s = self.speed
            word = "faster" if s.estimate >= 1 else "slower"
            factor = s.estimate if s.estimate >= 1 else 1 / s.estimate
            return (
                f"{subject} moved {factor:.1f}{TIMES} {word} "
                f"({pct} interval {_ratio(s.interval.low)}{DASH}{_ratio(s.interval.high)}, {sizes})"
            )
        assert self.win is not None and self.treated.win_rate and self.comparison.win_rate
        return (
            f"{subject} won {self.treated.win_rate.mean:.0%} vs "
            f"{self.comparison.win_rate.mean:.0%} within {self.horizon_days} days "
            f"({pct} interval for the difference {_points(self.win.interval.low)} to "
            f"{_points(self.win.interval.high)} points, {sizes})"
        )

    def _speed_leads(self) -> bool:
        # Lead with whichever measure carries the verdict; speed when both or neither do.
        assert self.speed is not None and self.win is not None
        alpha = 1 - self.level
        win_decisive = self.win.p_better >= 1 - alpha / 2 or self.win.p_better <= alpha / 2
        speed_decisive = self.speed.interval.low > 1 or self.speed.interval.high < 1
        return speed_decisive or not win_decisive

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON types only (no infinities or NaN)."""
        safe: dict[str, Any] = _json_safe(asdict(self))
        return safe


def _ratio(x: float) -> str:
    return "∞" if math.isinf(x) else f"{x:.1f}"


def _points(x: float) -> str:
    return f"{x * 100:+.0f}"


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
