"""compare(): treated subjects against comparison subjects, stratum by stratum — win rates
with Beta posteriors, Kaplan-Meier curves, the speed ratio with its bootstrap interval, and
a verdict in plain words. The method is written down in docs/outcomes.md."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from unstuck.insights.estimator.frame import Frame, Match, match_strata, time_to_next_stage
from unstuck.insights.estimator.results import (
    DASH,
    OUTCOMES,
    TIMES,
    ArmResult,
    Comparison,
    Interval,
    SpeedRatio,
    Subject,
    Verdict,
    WinDifference,
    WinRate,
)
from unstuck.insights.estimator.survival import (
    BoolArray,
    FloatArray,
    SpeedData,
    kaplan_meier,
)

JEFFREYS = 0.5  # Beta(½, ½) prior: intervals with close to nominal frequentist coverage
POSTERIOR_DRAWS = 100_000
AT_RISK_STEP_DAYS = 30


def compare(
    treated: Sequence[Subject],
    comparison: Sequence[Subject],
    *,
    level: float = 0.9,
    horizon_days: int = 180,
    min_treated: int = 10,
    min_comparison: int = 10,
    noun: str = "treated deals",
    replicates: int = 1000,
    seed: int = 0,
) -> Comparison:
    """Compare treated with comparison subjects within equal strata; see the package
    docstring for the API and docs/outcomes.md for the method."""
    if not 0.5 <= level < 1:
        raise ValueError(f"level must be between 0.5 and 1, not {level!r}")
    if horizon_days < 1 or min_treated < 1 or min_comparison < 1:
        raise ValueError("horizon_days, min_treated and min_comparison must be at least 1")
    if replicates < 100:
        raise ValueError(f"replicates must be at least 100, not {replicates!r}")
    frame = Frame.build(treated, comparison)
    horizon = float(horizon_days)
    everyone = np.ones(frame.treated.size, dtype=bool)
    match = match_strata(frame, everyone)

    event, exposure = time_to_next_stage(frame, horizon)

    # Won within the horizon, for the subjects whose result at the horizon is known.
    closed_in_time = ~np.isnan(frame.closed) & (np.nan_to_num(frame.closed, nan=np.inf) <= horizon)
    mature = closed_in_time | (frame.follow >= horizon)
    won = closed_in_time & (frame.outcome == OUTCOMES.index("won"))
    win_match = match_strata(frame, mature)

    alpha = 1 - level
    n_t = int((match.mask & frame.treated).sum())
    n_c = match.deals(frame, treated=False)
    sample_short = _shortfall(n_t, n_c, match.unmatched_treated, min_treated, min_comparison, noun)
    notes: list[str] = []
    if match.unmatched_treated:
        notes.append(
            f"{match.unmatched_treated} {noun} had no comparable deal in their situation "
            "and are left out"
        )

    speed: SpeedRatio | None = None
    if sample_short is None:
        events_t = int((event & match.mask & frame.treated).sum())
        events_c = int((event & match.mask & ~frame.treated).sum())
        if events_t and events_c:
            speed = _speed(frame, match, event, exposure, alpha, replicates, seed)
        else:
            notes.append("no deal in one of the groups has moved on yet, so no speed ratio")

    win: WinDifference | None = None
    rates: tuple[WinRate, WinRate] | None = None
    mature_t = int((win_match.mask & frame.treated).sum())
    mature_c = win_match.deals(frame, treated=False)
    win_short = _shortfall(mature_t, mature_c, 0, min_treated, min_comparison, noun)
    if win_short is None:
        rates, win = _win_rates(frame, win_match, won, alpha, seed)
    elif sample_short is None:
        notes.append(f"win rate within {horizon_days} days: {win_short}")

    arms = [
        _arm(frame, match, event, exposure, treated=is_t, horizon=horizon_days, rate=r)
        for is_t, r in ((True, rates[0] if rates else None), (False, rates[1] if rates else None))
    ]
    verdict, reason = _verdict(win, speed, rates, alpha, horizon_days, sample_short, win_short)
    return Comparison(
        level=level,
        horizon_days=horizon_days,
        noun=noun,
        treated=arms[0],
        comparison=arms[1],
        strata=match.strata,
        unmatched_treated=match.unmatched_treated,
        win=win,
        speed=speed,
        verdict=verdict,
        reason=reason,
        notes=notes,
    )


def _shortfall(n_t: int, n_c: int, unmatched: int, min_t: int, min_c: int, noun: str) -> str | None:
    if n_t < min_t:
        of = f" of {n_t + unmatched}" if unmatched else ""
        have = f"{n_t}{of} {noun} with comparable deals" if unmatched else f"{n_t} {noun}"
        return f"too early to tell: {have}, needs {min_t}"
    if n_c < min_c:
        return f"too early to tell: {n_c} comparable deals, needs {min_c}"
    return None


def _speed(
    frame: Frame,
    match: Match,
    event: BoolArray,
    exposure: FloatArray,
    alpha: float,
    replicates: int,
    seed: int,
) -> SpeedRatio:
    m = match.mask
    _, stratum = np.unique(frame.stratum[m], return_inverse=True)
    _, cluster = np.unique(frame.deal[m], return_inverse=True)
    data = SpeedData(
        cluster=cluster.astype(np.intp),
        stratum=stratum.astype(np.intp),
        treated=frame.treated[m],
        weight=frame.weight[m],
        event=event[m],
        exposure=exposure[m],
    )
    estimate = data.ratio()
    boot = data.bootstrap(replicates=replicates, seed=seed, around=estimate)
    boot = boot[~np.isnan(boot)]
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2], method="inverted_cdf")
    return SpeedRatio(
        estimate=estimate, interval=Interval(float(low), float(high)), replicates=boot.size
    )


def _win_rates(
    frame: Frame, match: Match, won: BoolArray, alpha: float, seed: int
) -> tuple[tuple[WinRate, WinRate], WinDifference]:
    rng = np.random.default_rng([seed, 1])
    rates: list[WinRate] = []
    draws: list[FloatArray] = []
    for is_t in (True, False):
        arm = match.mask & (frame.treated == is_t)
        w = match.weight[arm]
        share = float((w * won[arm]).sum() / w.sum())
        ess = match.effective_n(frame, treated=is_t)
        a, b = JEFFREYS + share * ess, JEFFREYS + (1 - share) * ess
        lo, hi = stats.beta.ppf([alpha / 2, 1 - alpha / 2], a, b)
        rates.append(
            WinRate(
                n=int(arm.sum()),
                won=int(won[arm].sum()),
                effective_n=ess,
                mean=a / (a + b),
                interval=Interval(float(lo), float(hi)),
            )
        )
        draws.append(rng.beta(a, b, POSTERIOR_DRAWS))
    diff = draws[0] - draws[1]
    low, high = np.quantile(diff, [alpha / 2, 1 - alpha / 2])
    return (rates[0], rates[1]), WinDifference(
        estimate=rates[0].mean - rates[1].mean,
        interval=Interval(float(low), float(high)),
        p_better=float((diff > 0).mean()),
    )


def _arm(
    frame: Frame,
    match: Match,
    event: BoolArray,
    exposure: FloatArray,
    *,
    treated: bool,
    horizon: int,
    rate: WinRate | None,
) -> ArmResult:
    arm = match.mask & (frame.treated == treated)
    km = kaplan_meier(exposure[arm], event[arm], match.weight[arm])
    counts = np.bincount(frame.outcome[arm], minlength=len(OUTCOMES))
    return ArmResult(
        n=int(arm.sum()),
        deals=match.deals(frame, treated),
        won=int(counts[0]),
        lost=int(counts[1]),
        open=int(counts[2]),
        moved=int((event & arm).sum()),
        median_days=km.median(),
        curve=km.points(),
        at_risk_by_day=km.at_risk_every(AT_RISK_STEP_DAYS, horizon),
        win_rate=rate,
    )


def _verdict(
    win: WinDifference | None,
    speed: SpeedRatio | None,
    rates: tuple[WinRate, WinRate] | None,
    alpha: float,
    horizon: int,
    sample_short: str | None,
    win_short: str | None,
) -> tuple[Verdict, str]:
    """working: one measure is clearly better (win: P(better) ≥ 1 - alpha/2; speed: the interval
    above 1) and none clearly worse; worse: the mirror image; otherwise no_evidence. Two
    one-sided checks at alpha/2 each, so a treatment with no effect is called working in at most
    about alpha of cases."""
    if win is None and speed is None:
        return "too_early", sample_short or win_short or "too early to tell"
    level = f"{1 - alpha:.0%}"
    win_text = speed_text = ""
    better = worse = False
    if win is not None and rates is not None:
        win_text = (
            f"won {rates[0].mean:.0%} vs {rates[1].mean:.0%} within {horizon} days "
            f"({_chance(win.p_better)} probability of doing better)"
        )
        better |= win.p_better >= 1 - alpha / 2
        worse |= win.p_better <= alpha / 2
    if speed is not None:
        speed_text = (
            f"moved on {speed.estimate:.1f}{TIMES} as fast ({level} interval "
            f"{speed.interval.low:.1f}{DASH}{speed.interval.high:.1f})"
        )
        better |= speed.interval.low > 1
        worse |= speed.interval.high < 1
    evidence = "; ".join(t for t in (win_text, speed_text) if t)
    if better and not worse:
        return "working", f"working: {evidence}"
    if worse and not better:
        return "worse", f"worse than comparable deals: {evidence}"
    if better and worse:
        return "no_evidence", f"mixed evidence: {evidence}"
    return "no_evidence", f"no clear difference yet: {evidence}"


def _chance(p: float) -> str:
    """A probability in words that never claims certainty: ">99%", not "100%"."""
    if p > 0.99:
        return ">99%"
    if p < 0.01:
        return "<1%"
    return f"{p:.0%}"
