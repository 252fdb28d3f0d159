"""The subjects as arrays, checked, in a canonical order, and matched stratum by stratum
(exact matching, ATT weights); shared by compare() and the calibration bench."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from unstuck.insights.estimator.results import OUTCOMES, Subject
from unstuck.insights.estimator.survival import BoolArray, FloatArray, IntArray


@dataclass(frozen=True)
class Frame:
    """All subjects as arrays, in a canonical order (so input order never changes a figure)."""

    treated: BoolArray
    deal: IntArray  # cluster index per distinct deal id
    stratum: IntArray
    weight: FloatArray
    follow: FloatArray
    moved: FloatArray  # NaN: not moved within the follow-up
    closed: FloatArray  # NaN: open
    treated_after: FloatArray  # inf: never treated within the follow-up
    outcome: IntArray  # index into OUTCOMES

    @classmethod
    def build(cls, treated: Sequence[Subject], comparison: Sequence[Subject]) -> Frame:
        subjects = [*treated, *comparison]
        n_t = len(treated)
        nan = float("nan")
        arm = np.arange(len(subjects)) < n_t
        deal_ids = np.array([s.deal_id for s in subjects], dtype=np.int64)
        start = np.array([s.index_at.timestamp() for s in subjects], dtype=np.float64)
        outcome = np.array([OUTCOME_CODES.get(s.outcome, -1) for s in subjects], dtype=np.intp)
        weight = np.array([s.weight for s in subjects], dtype=np.float64)
        follow = np.array([s.follow_up_days for s in subjects], dtype=np.float64)
        moved = np.array(
            [nan if s.moved_after_days is None else s.moved_after_days for s in subjects]
        )
        closed = np.array(
            [nan if s.closed_after_days is None else s.closed_after_days for s in subjects]
        )
        treated_after = np.array(
            [np.inf if s.treated_after_days is None else s.treated_after_days for s in subjects],
            dtype=np.float64,
        )
        _validate(subjects, n_t, outcome, weight, follow, moved, closed, treated_after)
        # A canonical order (arm, deal, moment), so the input order never changes a figure.
        order = np.lexsort((start, deal_ids, ~arm))
        codes: dict[Hashable, int] = {}
        stratum = np.empty(len(subjects), dtype=np.intp)
        for pos, i in enumerate(order):
            try:
                stratum[pos] = codes.setdefault(subjects[i].stratum, len(codes))
            except TypeError as exc:
                msg = "stratum must be hashable (a tuple, a string or a number)"
                raise _bad(subjects, n_t, int(i), msg) from exc
        _, deal = np.unique(deal_ids[order], return_inverse=True)
        return cls(
            treated=arm[order],
            deal=deal.astype(np.intp),
            stratum=stratum,
            weight=weight[order],
            follow=follow[order],
            moved=moved[order],
            closed=closed[order],
            treated_after=treated_after[order],
            outcome=outcome[order],
        )


OUTCOME_CODES = {name: i for i, name in enumerate(OUTCOMES)}


def _bad(subjects: Sequence[Subject], n_t: int, i: int, msg: str) -> ValueError:
    where = f"treated[{i}]" if i < n_t else f"comparison[{i - n_t}]"
    return ValueError(f"{where} (deal {subjects[i].deal_id}): {msg}")


def _validate(
    subjects: Sequence[Subject],
    n_t: int,
    outcome: IntArray,
    weight: FloatArray,
    follow: FloatArray,
    moved: FloatArray,
    closed: FloatArray,
    treated_after: FloatArray,
) -> None:
    """Every subject checked at once; the first bad one is named with its arm and position."""
    with np.errstate(invalid="ignore"):
        checks = [
            (outcome < 0, f"outcome must be one of {', '.join(OUTCOMES)}"),
            (~(np.isfinite(follow) & (follow >= 0)), "follow_up_days must be a number >= 0"),
            (~(np.isfinite(weight) & (weight > 0)), "weight must be a number > 0"),
            (
                ~np.isnan(moved) & ~((moved >= 0) & (moved <= follow)),
                "moved_after_days must lie between 0 and follow_up_days",
            ),
            (
                ~np.isnan(closed) & ~((closed >= 0) & (closed <= follow)),
                "closed_after_days must lie between 0 and follow_up_days",
            ),
            (
                ~np.isinf(treated_after) & ~((treated_after >= 0) & (treated_after <= follow)),
                "treated_after_days must lie between 0 and follow_up_days",
            ),
            (
                (outcome == OUTCOME_CODES["open"]) != np.isnan(closed),
                "closed_after_days is given exactly when the outcome is won or lost",
            ),
        ]
    for failed, msg in checks:
        if failed.any():
            raise _bad(subjects, n_t, int(np.argmax(failed)), msg)


@dataclass(frozen=True)
class Match:
    mask: BoolArray  # subjects in a stratum that holds both arms
    weight: FloatArray  # ATT weights (0 outside the match)
    unmatched_treated: int
    strata: int

    def deals(self, frame: Frame, treated: bool) -> int:
        return int(np.unique(frame.deal[self.mask & (frame.treated == treated)]).size)

    def effective_n(self, frame: Frame, treated: bool) -> float:
        """Kish's effective sample size with each deal's weights summed first, because the
        same deal seen at several moments carries one outcome, not several."""
        arm = self.mask & (frame.treated == treated)
        by_deal = np.bincount(frame.deal[arm], weights=self.weight[arm])
        by_deal = by_deal[by_deal > 0]
        return float(by_deal.sum() ** 2 / (by_deal**2).sum()) if by_deal.size else 0.0


def match_strata(frame: Frame, usable: BoolArray) -> Match:
    """Exact matching on the stratum, then ATT weights: in each stratum the comparison
    subjects share the weight of that stratum's treated subjects, so the comparison arm is
    re-weighted to the treated arm's mix of strata."""
    n_strata = int(frame.stratum.max()) + 1 if frame.stratum.size else 0
    t_sel = usable & frame.treated
    c_sel = usable & ~frame.treated
    t_sum = np.bincount(frame.stratum[t_sel], weights=frame.weight[t_sel], minlength=n_strata)
    c_sum = np.bincount(frame.stratum[c_sel], weights=frame.weight[c_sel], minlength=n_strata)
    both = (t_sum > 0) & (c_sum > 0)
    mask = usable & both[frame.stratum]
    weight = np.where(mask, frame.weight, 0.0)
    comp = mask & ~frame.treated
    weight[comp] *= t_sum[frame.stratum[comp]] / c_sum[frame.stratum[comp]]
    return Match(
        mask=mask,
        weight=weight,
        unmatched_treated=int((t_sel & ~both[frame.stratum]).sum()),
        strata=int(both.sum()),
    )


def time_to_next_stage(frame: Frame, horizon: float) -> tuple[BoolArray, FloatArray]:
    """Whether and when each subject moved on, within the horizon. Winning is moving on (at
    the latest when won). A deal lost before it moved on is censored at the loss: the
    speed compares deals while they are still in play, and losses count in the win rate
    (cause-specific; see docs/outcomes.md). Open deals are censored at the end of their
    follow-up, a comparison deal treated later at its treatment."""
    won = frame.outcome == OUTCOMES.index("won")
    lost = frame.outcome == OUTCOMES.index("lost")
    moved = np.where(np.isnan(frame.moved) & won, frame.closed, frame.moved)
    moved = np.nan_to_num(moved, nan=np.inf)
    end = np.minimum(np.minimum(frame.follow, horizon), frame.treated_after)
    end = np.where(lost & (frame.closed < moved), np.minimum(end, frame.closed), end)
    event = moved <= end
    return event, np.where(event, moved, end)
