"""Where the time goes: the recorded actions (unstuck.insights.classes) turned into minutes per
person, week and category, and the weeks as a person sees them once their check-ins are
laid over the estimate. Weeks start on Monday 00:00 UTC.

`time_spent_recompute` runs in the background recomputation (set-based: one grouped
statement per block source, and the few session rows fetched to cut them into sittings);
the page only reads the stored weeks (`weeks_for`, `side_by_side`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from unstuck.core.models import Workspace
from unstuck.insights.classes import (
    CATEGORIES,
    SITTING_CAP_MINUTES,
    SITTING_GAP_MINUTES,
    SOURCES,
    Source,
)
from unstuck.insights.models import CheckIn, TimeSpent, replace_stored
from unstuck.investigate.sql import fetch_dicts, is_postgres, timestamp_param

WEEKS_SHOWN = 12
WEEKS_KEPT = 53  # a year of weeks is recomputed and kept
EPOCH_MONDAY = date(1970, 1, 5)


def week_start(moment: datetime | date) -> date:
    """The Monday (UTC) of the week holding `moment`."""
    day = moment.astimezone(UTC).date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


def last_weeks(today: date, n: int = WEEKS_SHOWN) -> list[date]:
    """The Mondays of the last `n` weeks, oldest first, the current week last."""
    this = week_start(today)
    return [this - timedelta(weeks=k) for k in range(n - 1, -1, -1)]


def _week_index(expr: str) -> str:
    """Whole weeks since Monday 1970-01-05 (UTC) of a timestamp column."""
    if is_postgres():
        return f"CAST(FLOOR((EXTRACT(EPOCH FROM ({expr})) / 86400.0 - 4) / 7) AS BIGINT)"
    return f"CAST((julianday({expr}) - 2440591.5) / 7 AS INTEGER)"


def _monday(index: int) -> date:
    return EPOCH_MONDAY + timedelta(weeks=int(index))


def _where(source: Source) -> str:
    extra = f" AND {source.where}" if source.where else ""
    return (
        f"{source.workspace} = %s AND {source.actor} IS NOT NULL "
        f"AND {source.at} >= %s AND {source.at} < %s{extra}"
    )


def _block_sql(source: Source) -> str:
    return (
        f"SELECT {source.actor} AS user_id, {_week_index(source.at)} AS wk, COUNT(*) AS n "
        f"FROM {source.table} t {source.joins} WHERE {_where(source)} GROUP BY 1, 2"
    )


def _session_sql(source: Source) -> str:
    return (
        f"SELECT {source.actor} AS user_id, {source.session} AS session_id, "
        f"{source.at} AS at FROM {source.table} t {source.joins} WHERE {_where(source)}"
    )


@dataclass
class _Tally:
    minutes: dict[tuple[int, date, str], float] = field(default_factory=lambda: defaultdict(float))
    events: dict[tuple[int, date, str], int] = field(default_factory=lambda: defaultdict(int))

    def add(self, user_id: int, week: date, category: str, minutes: float, events: int) -> None:
        self.minutes[(user_id, week, category)] += minutes
        self.events[(user_id, week, category)] += events


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def sittings(rows: Iterable[tuple[datetime, int]]) -> list[tuple[datetime, float, int]]:
    """One person's contributions to one session, (moment, block minutes), cut into sittings:
    (start, minutes, contributions) each. See unstuck.insights.classes."""
    gap = timedelta(minutes=SITTING_GAP_MINUTES)
    groups: list[list[tuple[datetime, int]]] = []
    for at, block in sorted(rows):
        if not groups or at - groups[-1][-1][0] > gap:
            groups.append([])
        groups[-1].append((at, block))
    out = []
    for g in groups:
        span = (g[-1][0] - g[0][0]).total_seconds() / 60
        blocks = float(sum(b for _, b in g))
        out.append((g[0][0], min(float(SITTING_CAP_MINUTES), max(span, blocks)), len(g)))
    return out


def estimate(workspace: Workspace, *, since: datetime, until: datetime) -> _Tally:
    """Minutes per (person, week, category) from the recorded actions in [since, until)."""
    tally = _Tally()
    params = [workspace.pk, timestamp_param(since), timestamp_param(until)]
    by_session: dict[tuple[int, int], list[tuple[datetime, int]]] = defaultdict(list)
    for source in SOURCES:
        if source.is_span:
            for row in fetch_dicts(_session_sql(source), params):
                key = (int(row["user_id"]), int(row["session_id"]))
                by_session[key].append((_as_datetime(row["at"]), source.minutes))
            continue
        for row in fetch_dicts(_block_sql(source), params):
            n = int(row["n"])
            tally.add(
                int(row["user_id"]), _monday(row["wk"]), source.category, n * source.minutes, n
            )
    for (user_id, _), rows in by_session.items():
        for start, minutes, count in sittings(rows):
            tally.add(user_id, week_start(start), "innovation", minutes, count)
    return tally


def time_spent_recompute(*, workspace: Workspace, today: date) -> int:
    """Recompute and store the last `WEEKS_KEPT` weeks; returns the rows stored."""
    first = last_weeks(today, WEEKS_KEPT)[0]
    since = datetime.combine(first, time(0), tzinfo=UTC)
    until = datetime.combine(week_start(today) + timedelta(weeks=1), time(0), tzinfo=UTC)
    tally = estimate(workspace, since=since, until=until)
    rows = [
        TimeSpent(
            workspace=workspace,
            user_id=user_id,
            week=week,
            category=category,
            minutes=round(minutes),
            events=tally.events[(user_id, week, category)],
        )
        for (user_id, week, category), minutes in tally.minutes.items()
    ]
    return replace_stored(TimeSpent, workspace, rows)


# --- reading -----------------------------------------------------------------------------


def _shares(values: dict[str, float]) -> dict[str, float]:
    total = sum(values.values())
    if total <= 0:
        return dict.fromkeys(CATEGORIES, 0.0)
    return {c: round(100 * values.get(c, 0) / total, 1) for c in CATEGORIES}


@dataclass
class Week:
    start: date
    estimated: dict[str, int]  # minutes per category, from the recorded actions
    check_in: dict[str, int] | None  # percent per category, the person's own correction
    events: int

    @property
    def source(self) -> str:
        if self.check_in is not None:
            return "check-in"
        return "estimate" if sum(self.estimated.values()) else "none"

    @property
    def share(self) -> dict[str, float]:
        """Percent of the week per category: the check-in where there is one."""
        if self.check_in is not None:
            return {c: float(self.check_in[c]) for c in CATEGORIES}
        return _shares({c: float(m) for c, m in self.estimated.items()})

    @property
    def estimated_hours(self) -> float:
        return round(sum(self.estimated.values()) / 60, 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "week": self.start.isoformat(),
            "source": self.source,
            "share": self.share,
            "estimated_minutes": self.estimated,
            "check_in": self.check_in,
            "events": self.events,
        }


def weeks_for(
    workspace: Workspace, user_ids: Sequence[int], weeks: Sequence[date]
) -> dict[int, list[Week]]:
    """Each person's weeks (in the order given), estimate and check-in, in two queries."""
    est: dict[tuple[int, date], dict[str, int]] = defaultdict(lambda: dict.fromkeys(CATEGORIES, 0))
    events: dict[tuple[int, date], int] = defaultdict(int)
    for row in TimeSpent.objects.filter(
        workspace=workspace, user_id__in=user_ids, week__in=weeks
    ).values("user_id", "week", "category", "minutes", "events"):
        key = (row["user_id"], row["week"])
        est[key][row["category"]] = row["minutes"]
        events[key] += row["events"]
    checks: dict[tuple[int, date], dict[str, int]] = {
        (c.user_id, c.week): {cat: getattr(c, cat) for cat in CATEGORIES}
        for c in CheckIn.objects.filter(workspace=workspace, user_id__in=user_ids, week__in=weeks)
    }
    return {
        uid: [
            Week(
                start=w,
                estimated=dict(est[(uid, w)]),
                check_in=checks.get((uid, w)),
                events=events[(uid, w)],
            )
            for w in weeks
        ]
        for uid in user_ids
    }


def totals(weeks: Sequence[Week]) -> dict[str, float]:
    """Share per category over several weeks, each week weighing the same."""
    counted = [w for w in weeks if w.source != "none"]
    if not counted:
        return dict.fromkeys(CATEGORIES, 0.0)
    return {c: round(sum(w.share[c] for w in counted) / len(counted), 1) for c in CATEGORIES}
