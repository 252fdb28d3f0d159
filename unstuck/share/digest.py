"""The weekly digest, built for one person: a list of section builders (a registry each part
of the app adds to with one decorator), skipped when it would say nothing.

A section builder takes the `DigestContext` and returns a `Section` or None. It runs a fixed
number of queries whatever the size of the workspace (the digest bench and
tests/test_digest.py count them). A section marked `nudge` (a relationship gone quiet) is
shown but never makes an otherwise empty digest worth sending: no filler.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any, TypeVar

from django.conf import settings
from django.utils import timezone

from unstuck.core.access import DealScope, deal_scope
from unstuck.core.models import Membership, Role, Team
from unstuck.share.models import DigestSchedule, PersonPreference

WEEK = timedelta(days=7)
T = TypeVar("T")


@dataclass
class DigestItem:
    title: str
    url: str = ""  # a path of this site; the email makes it absolute
    lead: str = ""  # shown before the title: the manager's line on passed-on news
    lead_by: str = ""
    detail: str = ""


@dataclass
class Section:
    key: str
    title: str
    items: list[DigestItem]
    more: int = 0  # items beyond those shown
    nudge: bool = False  # shown, but not a reason to send


@dataclass
class DigestContext:
    """Who the digest is for and the week it covers. The membership must come with its
    workspace, team and user (select_related): builders read them without a query."""

    membership: Membership
    now: datetime
    week: date  # the Monday of the week, in the person's time zone
    # What one send run's digests share (e.g. a team's passed-on news, the same for all its
    # reps): a section may keep it here, keyed by what it depends on, and not ask again.
    shared: dict[Hashable, Any] = field(default_factory=dict)

    @property
    def since(self) -> datetime:
        return self.now - WEEK

    @property
    def slug(self) -> str:
        return self.membership.workspace.slug

    # The people whose digests are built together (a send run's chunk), this one among
    # them: what a section needs for all of them it loads at once (`for_batch`). A digest
    # built alone is a batch of one.
    people: Sequence[Membership] = ()

    @property
    def batch(self) -> Sequence[Membership]:
        return self.people or (self.membership,)

    def for_batch(self, name: str, load: Callable[[DigestContext], T]) -> T:
        """What `load` returns for the whole batch, loaded by the first digest of the batch
        that asks and kept for the others: a fixed number of queries for the batch,
        whatever its size."""
        key = ("batch", name, self.now, tuple(m.pk for m in self.batch))
        if key not in self.shared:
            self.shared[key] = load(self)
        value: T = self.shared[key]
        return value

    @cached_property
    def team_ids(self) -> list[int]:
        """The teams a manager manages (one query for the batch's managers)."""
        if self.membership.role != Role.MANAGER:
            return []
        return self.for_batch("managed-teams", managed_teams).get(self.membership.user_id, [])

    @cached_property
    def scope(self) -> DealScope:
        """Which deals this person may see (core.access's rule), without a query."""
        return deal_scope(self.membership, write=False, managed=self.team_ids)


def managed_teams(ctx: DigestContext) -> dict[int, list[int]]:
    managers = [m.user_id for m in ctx.batch if m.role == Role.MANAGER]
    teams: dict[int, list[int]] = {}
    if managers:
        for manager_id, pk in (
            Team.objects.filter(workspace_id=ctx.membership.workspace_id, manager_id__in=managers)
            .order_by("pk")
            .values_list("manager_id", "pk")
        ):
            teams.setdefault(manager_id, []).append(pk)
    return teams


SectionBuilder = Callable[[DigestContext], "Section | None"]
_REGISTRY: list[tuple[int, str, SectionBuilder]] = []


def digest_section(order: int, key: str) -> Callable[[SectionBuilder], SectionBuilder]:
    """Register a section builder; sections appear in `order`. A second registration of
    the same key replaces the first (so a module reloaded in a test does not double it)."""

    def register(builder: SectionBuilder) -> SectionBuilder:
        _REGISTRY[:] = [r for r in _REGISTRY if r[1] != key]
        _REGISTRY.append((order, key, builder))
        _REGISTRY.sort(key=lambda r: r[0])
        return builder

    return register


def registered_sections() -> list[str]:
    _load_builders()
    return [key for _, key, _ in _REGISTRY]


def _load_builders() -> None:
    # The builders register when their module is imported.
    from unstuck.share import digest_plays, digest_sections  # noqa: F401


@dataclass
class Digest:
    membership: Membership
    week: date
    sections: list[Section] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not any(s.items for s in self.sections if not s.nudge)

    @property
    def items(self) -> int:
        return sum(len(s.items) for s in self.sections if not s.nudge)


def person_zone(preference: PersonPreference | None) -> zoneinfo.ZoneInfo:
    name = (preference.time_zone if preference else "") or settings.TIME_ZONE
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def week_of(now: datetime, zone: zoneinfo.ZoneInfo) -> date:
    local = now.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


def is_due(now: datetime, zone: zoneinfo.ZoneInfo, schedule: DigestSchedule) -> bool:
    """Due from the chosen weekday and hour, in the person's time zone, to the end of their
    week: a cron run that was missed still sends later in the week (once)."""
    local = now.astimezone(zone)
    return (local.weekday(), local.hour) >= (schedule.weekday, schedule.hour)


def digest_build(
    membership: Membership,
    *,
    now: datetime | None = None,
    preference: PersonPreference | None = None,
    shared: dict[Hashable, Any] | None = None,
    people: Sequence[Membership] = (),
) -> Digest:
    """This person's digest for the week that holds `now` (default: now). `shared`: a dict
    kept across one run's digests (same `now`), for what several people's digests share;
    `people`: the batch this digest is built with (DigestContext.for_batch)."""
    _load_builders()
    now = now or timezone.now()
    week = week_of(now, person_zone(preference))
    context = DigestContext(
        membership=membership,
        now=now,
        week=week,
        shared={} if shared is None else shared,
        people=people,
    )
    digest = Digest(membership=membership, week=week)
    for _, _, builder in _REGISTRY:
        section = builder(context)
        if section is not None and section.items:
            digest.sections.append(section)
    return digest
