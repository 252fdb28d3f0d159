"""The one outcome estimator that the playbook (share: "does this play work?") and insights
("what did innovation change?") share: treated deals against comparable deals, with honest
uncertainty. Pure statistics — no Django models; `unstuck.insights.cohorts` builds the
subjects from the database.

API
---
``Subject(deal_id, index_at, stratum, outcome, follow_up_days, moved_after_days=None,
closed_after_days=None, weight=1.0, treated_after_days=None)``
    One deal followed from one index moment (durations in days from `index_at`); `stratum`
    is an opaque hashable key — subjects are compared only within equal keys. A comparison
    deal treated later carries `treated_after_days`: its speed is censored there, its result
    followed to the end (intention to treat).

``compare(treated, comparison, *, level=0.9, horizon_days=180, min_treated=10,
min_comparison=10, noun="treated deals", replicates=1000, seed=0) -> Comparison``
    - matches exactly on the stratum and re-weights the comparison arm to the treated arm's
      mix of strata (ATT weights); treated subjects whose stratum has no comparison are left
      out and counted (`unmatched_treated`);
    - per arm (`Comparison.treated`, `.comparison`, an `ArmResult`): n, distinct deals,
      won / lost / open, moved on, the win rate *within horizon_days* (`WinRate`: Beta
      posterior mean and credible interval at `level`, on Kish effective counts by deal),
      the Kaplan-Meier curve of "not yet moved to the next stage" (`curve`: one
      `CurvePoint(day, survival, at_risk, moved)` per day with a move, ready to draw as
      steps), numbers at risk every 30 days, and the KM median;
    - `win` (`WinDifference`): treated minus comparison win rate, its interval and
      `p_better`, the probability the treated arm wins more often;
    - `speed` (`SpeedRatio`): how many times faster treated deals moved on — the factor by
      which the treated deals' waits must be stretched for the stratified log-rank statistic
      to find no difference (a rank-based accelerated-failure-time estimate), with a
      percentile cluster bootstrap interval (resampling whole deals);
    - `verdict` ("working", "no_evidence", "worse", "too_early") and `reason`, a sentence;
      `notes` for what a reader should know (left-out deals, a measure not ready yet);
    - `headline(subject)` → e.g. "Deals you innovated on moved 1.8x faster (90% interval
      1.2-2.6, n = 14 vs 31)"; `as_dict()` → plain JSON types.
    Below `min_treated` matched treated subjects or `min_comparison` distinct comparison
    deals, `win` and `speed` are None and the verdict is "too_early" ("too early to tell: 4
    applications, needs 10"). Results are deterministic: subjects are put in a canonical
    order and the random draws use fixed seeds, so a page, the API and the CLI print the
    same figures for the same subjects.

Building the subjects (unstuck.insights.cohorts)
------------------------------------------------
``build_cohort(*, workspace, treated: Sequence[TreatedMoment], exclude=(), extra_parts=(),
as_of=None, rules=CohortRules()) -> Cohort(treated, comparison, skipped, size_bands)``
    `TreatedMoment(deal_id, at, extra=None)`; comparison deals are those in the same quarter,
    stage, size band and days-in-stage band at a weekly landmark, not yet treated (a deal in
    `exclude` or `treated` stops being a comparison at its first such moment). `extra_parts`:
    callables `(pairs: Sequence[tuple[deal_id, moment]]) -> Sequence[Hashable]`, called once
    for both arms, whose values join the stratum key. `size_bands(workspace)` and
    `DAYS_IN_STAGE_LABELS` name the bands for display.

Example
-------
    from unstuck.insights.cohorts import TreatedMoment, build_cohort
    from unstuck.insights.estimator import compare

    # share: one play's applications; other plays' applications end a comparison too
    cohort = build_cohort(
        workspace=ws,
        treated=[TreatedMoment(a.deal_id, a.applied_at) for a in applications],
        exclude=[(o.deal_id, o.applied_at) for o in other_applications],
    )
    result = compare(cohort.treated, cohort.comparison, noun="applications")
    result.verdict, result.reason            # "working", "working: won 62% vs 41% ..."
    result.headline("Deals with this play")  # one sentence for the page
    result.as_dict()                         # for the API and `--format json`

    # insights: flagged deals a manager innovated on, with a stall-score band of their own
    cohort = build_cohort(workspace=ws, treated=flags, extra_parts=[stall_band_at])
    compare(cohort.treated, cohort.comparison, noun="deals you innovated on")

The method, the clock, the minimums, the verdict rule and the limits: docs/outcomes.md.
"""

from unstuck.insights.estimator.compare import compare
from unstuck.insights.estimator.results import (
    ArmResult,
    AtRisk,
    Comparison,
    CurvePoint,
    Interval,
    Outcome,
    SpeedRatio,
    Subject,
    Verdict,
    WinDifference,
    WinRate,
)

__all__ = [
    "ArmResult",
    "AtRisk",
    "Comparison",
    "CurvePoint",
    "Interval",
    "Outcome",
    "SpeedRatio",
    "Subject",
    "Verdict",
    "WinDifference",
    "WinRate",
    "compare",
]
