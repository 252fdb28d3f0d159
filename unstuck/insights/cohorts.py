"""The cohort builder: from the deals' stage history, the treated subjects for a list of
(deal, moment) and the comparison subjects matched at comparable moments, ready for
`unstuck.insights.estimator.compare`. Set-based SQL (unstuck.insights.cohort_sql), two
statements whatever the number of moments.

The comparison rule (docs/outcomes.md has it for managers):
- a treated moment's *cell* is its calendar quarter (UTC), the deal's stage then, its size
  band (the amount then, in the workspace's amount quartiles: `size_bands`) and how long it
  had been in that stage (days-in-stage band: weekly to 3 weeks, then 21-29, 30-44, 45-59,
  60-89, 90-119, 120-179 and 180 or more — narrow, because how long a deal has sat is what
  most decides both whether a manager takes it up and how soon it moves);
- a comparison subject is a deal in the same cell at one of the quarter's weekly landmarks
  (Mondays 00:00 UTC), not treated by then; its clock starts at that landmark, as the
  treated deal's starts at its moment. If it is itself treated later, its time to the next
  stage is censored there, while its result (won, lost, open) is followed to the end, as
  for every subject: intention to treat. The days-in-stage band keeps long-stuck treated
  deals from being compared with fresh arrivals;
- one landmark per deal and cell (pseudo-random among those that fit, reproducible), and at
  most `comparisons_per_treated` x (treated moments in the cell) deals per cell;
- callers add their own stratum parts (insights: a stall-score band) through
  `extra_parts`: each is called once with every (deal id, moment) pair of both arms and
  returns one hashable value per pair.
The stratum key given to the estimator is (quarter, stage id, size band, days band, *extras).
Deals without any recorded stage history are not used.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from django.db.models import Q
from django.utils import timezone

from unstuck.core.models import Workspace
from unstuck.deals.models import Deal
from unstuck.insights import cohort_sql
from unstuck.insights.estimator import Subject
from unstuck.investigate.sql import fetch_dicts

EPOCH = datetime(1970, 1, 5, tzinfo=UTC)  # a Monday: weekly landmarks are 7k days after it
DAYS_IN_STAGE_EDGES: tuple[int, ...] = (7, 14, 21, 30, 45, 60, 90, 120, 180)
QUARTILES = (0.25, 0.5, 0.75)
DAYS_IN_STAGE_LABELS = (
    "under 7 days",
    "7-13 days",
    "14-20 days",
    "21-29 days",
    "30-44 days",
    "45-59 days",
    "60-89 days",
    "90-119 days",
    "120-179 days",
    "180+ days",
)

StratumPart = Callable[[Sequence[tuple[int, datetime]]], Sequence[Hashable]]


@dataclass(frozen=True)
class SizeBands:
    """Deal-size bands: the quartiles of the workspace's deal amounts (every deal, open or
    closed), so "size band" means the same in every comparison of a workspace."""

    edges: tuple[float, ...]

    def band(self, amount: float) -> int:
        return bisect_right(self.edges, float(amount))

    def labels(self) -> list[str]:
        e = [f"{x:,.0f}" for x in self.edges]
        if not e:
            return ["all sizes"]
        middle = [f"{a} to under {b}" for a, b in pairwise(e)]
        return [f"under {e[0]}", *middle, f"{e[-1]} and over"]


def size_bands(workspace: Workspace) -> SizeBands:
    """The amount quartiles: the amounts at positions ceil(q * n) in amount order (the first
    amount at least a share q of the deals do not exceed), each read from the (workspace,
    amount) index rather than by sorting the workspace."""
    deals = Deal.objects.filter(workspace=workspace).order_by("amount")
    n = deals.count()
    if not n:
        return SizeBands(edges=())
    edges = {float(deals.values_list("amount", flat=True)[math.ceil(q * n) - 1]) for q in QUARTILES}
    return SizeBands(edges=tuple(sorted(edges)))


@dataclass(frozen=True)
class TreatedMoment:
    """A deal and the moment its clock starts (a play applied, a deal flagged). `extra`:
    the caller's own stratum values at that moment, when it already knows them (one per
    extra part); otherwise the extra parts compute them."""

    deal_id: int
    at: datetime
    extra: tuple[Hashable, ...] | None = None


@dataclass(frozen=True)
class CohortRules:
    # At most this many comparison deals per treated moment, cell by cell: beyond ~20 the
    # comparison arm adds little precision (the treated arm's size dominates the variance).
    comparisons_per_treated: int = 20
    days_in_stage_edges: tuple[int, ...] = DAYS_IN_STAGE_EDGES
    # Large workspaces: comparison deals come from a reproducible random sample of the deals
    # alive in the period, of this many deals (or `sample_per_treated` per treated moment,
    # if more). Cells that fill their cap inside the sample hold exactly the deals they
    # would hold without it.
    sample_deals: int = 10_000
    sample_per_treated: int = 10


@dataclass
class Cohort:
    treated: list[Subject]
    comparison: list[Subject]
    # Treated moments not used: the deal was not open then, had no stage history yet, or
    # is not in this workspace.
    skipped: list[TreatedMoment] = field(default_factory=list)
    size_bands: SizeBands = field(default_factory=lambda: SizeBands(()))


def quarter_of(moment: datetime) -> tuple[int, int]:
    m = moment.astimezone(UTC)
    return m.year, (m.month - 1) // 3 + 1


def _quarter_bounds(year: int, q: int) -> tuple[datetime, datetime]:
    start = datetime(year, 3 * (q - 1) + 1, 1, tzinfo=UTC)
    end = datetime(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1, tzinfo=UTC)
    return start, end


def _days(moment: datetime) -> float:
    return (moment - EPOCH) / timedelta(days=1)


def build_cohort(
    *,
    workspace: Workspace,
    treated: Sequence[TreatedMoment],
    exclude: Sequence[tuple[int, datetime]] = (),
    extra_parts: Sequence[StratumPart] = (),
    as_of: datetime | None = None,
    rules: CohortRules = CohortRules(),
) -> Cohort:
    """Treated subjects for `treated`, and comparison subjects from the deals that were in
    the same situation at a weekly landmark of the same quarter.

    `exclude`: more (deal id, moment) pairs that make a deal stop being a comparison from
    that moment on (e.g. any play applied, when measuring one play); the treated moments
    always do. `as_of` (default now) ends every follow-up."""
    as_of = as_of or timezone.now()
    for i, t in enumerate(treated):
        if timezone.is_naive(t.at):
            raise ValueError(f"treated[{i}] (deal {t.deal_id}): the moment must be timezone-aware")
        if t.at > as_of:
            raise ValueError(f"treated[{i}] (deal {t.deal_id}): the moment is after as_of")
        if t.extra is not None and len(t.extra) != len(extra_parts):
            raise ValueError(
                f"treated[{i}] (deal {t.deal_id}): {len(t.extra)} extra values for "
                f"{len(extra_parts)} extra parts"
            )
    bands = size_bands(workspace)
    if not treated:
        return Cohort(treated=[], comparison=[], size_bands=bands)
    now_d = _days(as_of)
    rows = fetch_dicts(
        cohort_sql.treated_sql(bands.edges),
        [_json([[i, t.deal_id, _days(t.at)] for i, t in enumerate(treated)]), workspace.pk, now_d],
    )
    found = {r["sid"] for r in rows}
    skipped = [t for i, t in enumerate(treated) if i not in found]
    if not rows:
        return Cohort(treated=[], comparison=[], skipped=skipped, size_bands=bands)

    # One cell per (quarter, stage, size band, days band) holding treated moments.
    cells: dict[tuple[Any, ...], dict[str, Any]] = {}
    edges = rules.days_in_stage_edges
    treated_cells: list[tuple[Any, ...]] = []
    for r in rows:
        days_band = bisect_right(edges, r["at_d"] - r["entered_d"])
        key = (quarter_of(treated[r["sid"]].at), r["stage_id"], r["size_band"], days_band)
        cell = cells.setdefault(key, {"id": len(cells), "n": 0, "ord": r["ord"]})
        cell["n"] += 1
        treated_cells.append(key)
    first: dict[int, float] = {}
    for deal_id, moment in [(t.deal_id, t.at) for t in treated] + list(exclude):
        first[deal_id] = min(first.get(deal_id, math.inf), _days(moment))
    quarter_rows, band_rows, cell_rows = _tables(cells, edges, now_d, rules)
    first_landmark = 7.0 * min(r[1] for r in quarter_rows)
    last_landmark = 7.0 * max(r[2] for r in quarter_rows)
    pool = fetch_dicts(
        cohort_sql.pool_sql(bands.edges, edges, sorted({key[1] for key in cells})),
        [
            _json(quarter_rows),
            _json(band_rows),
            _json(cell_rows),
            _json([[d, f] for d, f in first.items()]),
            workspace.pk,
            last_landmark,
            first_landmark,
            _sample_threshold(workspace, first_landmark, last_landmark, len(rows), rules),
            first_landmark,
            last_landmark,
            now_d,
        ],
    )
    key_of_cell = {cell["id"]: key for key, cell in cells.items()}

    pairs = [(treated[r["sid"]].deal_id, treated[r["sid"]].at) for r in rows]
    pairs += [(r["deal_id"], EPOCH + timedelta(days=float(r["at_d"]))) for r in pool]
    extras = _extras(extra_parts, pairs)
    t_subjects = []
    for i, (r, key) in enumerate(zip(rows, treated_cells, strict=True)):
        given = treated[r["sid"]].extra
        extra = given if given is not None else extras[i]
        t_subjects.append(_subject(r, pairs[i][1], (*_label(key), *extra)))
    c_subjects = [
        _subject(
            r, pairs[len(rows) + j][1], (*_label(key_of_cell[r["cell"]]), *extras[len(rows) + j])
        )
        for j, r in enumerate(pool)
    ]
    return Cohort(treated=t_subjects, comparison=c_subjects, skipped=skipped, size_bands=bands)


def _tables(
    cells: dict[tuple[Any, ...], dict[str, Any]],
    edges: tuple[int, ...],
    now_d: float,
    rules: CohortRules,
) -> tuple[list[list[Any]], list[list[Any]], list[list[Any]]]:
    """The small tables the pool query joins: quarters (their landmark weeks, up to now),
    days-in-stage bands, and cells (with their cap)."""
    quarters = sorted({key[0] for key in cells})
    quarter_rows = []
    for qi, (year, q) in enumerate(quarters):
        q_start, q_end = _quarter_bounds(year, q)
        k_hi = min(math.ceil(_days(q_end) / 7) - 1, math.floor(now_d / 7))
        quarter_rows.append([qi, math.ceil(_days(q_start) / 7), k_hi])
    band_rows = [
        [b, 0 if b == 0 else edges[b - 1], edges[b] if b < len(edges) else cohort_sql.FAR]
        for b in range(len(edges) + 1)
    ]
    cell_rows = [
        [
            cell["id"],
            quarters.index(quarter),
            stage_id,
            size_band,
            days_band,
            cell["ord"],
            rules.comparisons_per_treated * cell["n"],
        ]
        for (quarter, stage_id, size_band, days_band), cell in cells.items()
    ]
    return quarter_rows, band_rows, cell_rows


def _sample_threshold(
    workspace: Workspace, first_d: float, last_d: float, n_treated: int, rules: CohortRules
) -> int:
    """The hash threshold that keeps a sample of the deals alive between the landmarks."""
    alive = (
        Deal.objects.filter(workspace=workspace, created_at__lte=EPOCH + timedelta(days=last_d))
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gt=EPOCH + timedelta(days=first_d)))
        .count()
    )
    wanted = max(rules.sample_deals, rules.sample_per_treated * n_treated)
    share = 1.0 if alive <= wanted else wanted / alive
    return math.ceil(share * cohort_sql.HASH_MODULUS)


def _label(key: tuple[Any, ...]) -> tuple[Any, ...]:
    (year, q), stage_id, size_band, days_band = key
    return (f"{year}Q{q}", stage_id, size_band, days_band)


def _extras(
    parts: Sequence[StratumPart], pairs: list[tuple[int, datetime]]
) -> list[tuple[Any, ...]]:
    columns = []
    for part in parts:
        values = list(part(pairs))
        if len(values) != len(pairs):
            raise ValueError(
                f"the extra stratum part {getattr(part, '__name__', part)!r} returned "
                f"{len(values)} values for {len(pairs)} (deal, moment) pairs"
            )
        columns.append(values)
    return [tuple(col[i] for col in columns) for i in range(len(pairs))]


def _subject(row: dict[str, Any], at: datetime, stratum: tuple[Any, ...]) -> Subject:
    start = float(row["at_d"])
    moved = row["moved_d"]
    closed = row["closed_d"]
    return Subject(
        deal_id=int(row["deal_id"]),
        index_at=at,
        stratum=stratum,
        outcome=row["outcome"],
        follow_up_days=max(0.0, float(row["until_d"]) - start),
        moved_after_days=None if moved is None else float(moved) - start,
        closed_after_days=None if closed is None else max(0.0, float(closed) - start),
        weight=float(row.get("weight") or 1),
        treated_after_days=_treated_after(row, start),
    )


def _treated_after(row: dict[str, Any], start: float) -> float | None:
    """Days from a comparison subject's landmark to its own first treatment, if that came
    within its follow-up (treated subjects carry no first_d)."""
    first = row.get("first_d")
    if first is None or float(first) >= float(row["until_d"]):
        return None
    return max(0.0, float(first) - start)


def _json(rows: list[list[Any]]) -> str:
    return json.dumps(rows)
