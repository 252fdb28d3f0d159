"""Synthetic subjects with a planted effect and a known truth, for the estimator's tests and
its calibration bench (bench/estimator_eval.py). Nothing here touches the database.

The process, per stratum s and arm (treated multiplies the rate of moving on by `speed`
and the odds of winning by `win_odds`):
- a deal waits for its next stage an exponential time with rate `move_rate[s]` (x speed);
- while waiting it may be lost, at rate `loss_rate` (a competing event);
- once it has moved on it closes an exponential time later (rate `close_rate`), won with
  probability `win_prob[s]` (odds x win_odds), else lost;
- it is observed for a follow-up drawn uniformly from `follow_up` days (then open).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from unstuck.insights.estimator.results import Subject

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Scenario:
    move_rate: tuple[float, ...] = (1 / 20, 1 / 45, 1 / 90)  # per day, per stratum
    win_prob: tuple[float, ...] = (0.6, 0.4, 0.2)  # once moved on, per stratum
    treated_mix: tuple[float, ...] = (1 / 3, 1 / 3, 1 / 3)
    comparison_mix: tuple[float, ...] = (1 / 3, 1 / 3, 1 / 3)
    speed: float = 1.0
    win_odds: float = 1.0
    loss_rate: float = 0.0
    close_rate: float = 1 / 30
    follow_up: tuple[float, float] = (60.0, 400.0)
    repeat_share: float = 0.2  # comparison deals seen at a second moment, as a cohort does

    def _win(self, s: np.ndarray, treated: bool) -> np.ndarray:
        p: np.ndarray = np.asarray(self.win_prob)[s]
        if not treated:
            return p
        odds = p / (1 - p) * self.win_odds
        treated_p: np.ndarray = odds / (1 + odds)
        return treated_p


def _draw(
    sc: Scenario, rng: np.random.Generator, n: int, treated: bool, first_id: int
) -> list[Subject]:
    mix = np.asarray(sc.treated_mix if treated else sc.comparison_mix)
    strata = rng.choice(len(mix), size=n, p=mix / mix.sum())
    rate = np.asarray(sc.move_rate)[strata] * (sc.speed if treated else 1.0)
    move = rng.exponential(1 / rate)
    lose = rng.exponential(1 / sc.loss_rate, n) if sc.loss_rate > 0 else np.full(n, np.inf)
    close = move + rng.exponential(1 / sc.close_rate, n)
    won = rng.random(n) < sc._win(strata, treated)
    follow = rng.uniform(*sc.follow_up, n)
    ids = np.arange(first_id, first_id + n)
    if not treated and sc.repeat_share > 0:
        # Some comparison deals come back at a later moment in the same stratum: same deal,
        # same fate, so the rows are correlated and the bootstrap must draw them together.
        again = rng.random(n) < sc.repeat_share
        ids = np.where(again, np.roll(ids, 1), ids)
        strata = np.where(again, np.roll(strata, 1), strata)
        move, lose, close, won, follow = (
            np.where(again, np.roll(a, 1), a) for a in (move, lose, close, won, follow)
        )
    out = []
    for i in range(n):
        lost_first = lose[i] < move[i]
        end = lose[i] if lost_first else close[i]
        closed = end <= follow[i]
        outcome = "open" if not closed else ("lost" if lost_first or not won[i] else "won")
        out.append(
            Subject(
                deal_id=int(ids[i]),
                index_at=EPOCH + timedelta(days=i % 97),
                stratum=int(strata[i]),
                outcome=outcome,  # type: ignore[arg-type]
                follow_up_days=float(follow[i]),
                moved_after_days=None if lost_first or move[i] > follow[i] else float(move[i]),
                closed_after_days=float(end) if closed else None,
            )
        )
    return out


def simulate(
    sc: Scenario, *, n_treated: int, n_comparison: int, seed: int
) -> tuple[list[Subject], list[Subject]]:
    rng = np.random.default_rng(seed)
    treated = _draw(sc, rng, n_treated, True, 1)
    comparison = _draw(sc, rng, n_comparison, False, 1_000_000)
    return treated, comparison


@dataclass(frozen=True)
class Truth:
    win_difference: float  # treated - comparison P(won within the horizon), treated's mix
    # The population value of a stratified ratio of rates (MH); with constant rates it equals
    # `speed`, which is also the time ratio that compare()'s speed estimates.
    speed_ratio: float


def truth(sc: Scenario, *, horizon_days: int, seed: int = 12345, n: int = 400_000) -> Truth:
    """The estimands' values for this process, from a very large sample per stratum. The
    rates of moving on are constant and losses independent, so the speed ratio's truth is
    the planted `speed` (the sample only confirms it)."""
    rng = np.random.default_rng(seed)
    h = float(horizon_days)
    mix = np.asarray(sc.treated_mix) / sum(sc.treated_mix)
    p_win = {True: 0.0, False: 0.0}
    num = den = 0.0
    for s, share in enumerate(mix):
        sums = {}
        for treated in (True, False):
            rate = sc.move_rate[s] * (sc.speed if treated else 1.0)
            move = rng.exponential(1 / rate, n)
            lose = rng.exponential(1 / sc.loss_rate, n) if sc.loss_rate > 0 else np.inf
            close = move + rng.exponential(1 / sc.close_rate, n)
            won = rng.random(n) < sc._win(np.full(n, s), treated)
            p_win[treated] += share * float(((lose > move) & won & (close <= h)).mean())
            follow = rng.uniform(*sc.follow_up, n)
            # Cause-specific, as compare() measures it: a loss ends the wait (censored).
            end = np.minimum(np.minimum(follow, h), lose)
            event = move <= end
            sums[treated] = (event.mean(), np.where(event, move, end).mean())
        (e_t, x_t), (e_c, x_c) = sums[True], sums[False]
        # The MH terms with the comparison scaled to the treated count (share) of the stratum.
        e_t, x_t, e_c, x_c = (share * v for v in (e_t, x_t, e_c, x_c))
        num += e_t * x_c / (x_t + x_c)
        den += e_c * x_t / (x_t + x_c)
    return Truth(win_difference=p_win[True] - p_win[False], speed_ratio=num / den)
