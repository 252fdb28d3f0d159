"""The weekly digest, built for one person: a list of section builders (a registry each part
of the app adds to with one decorator), skipped when it would say nothing.

A section builder takes the `DigestContext` and returns a `Section` or None. It runs a fixed
number of queries whatever the size of the workspace (the digest bench and
tests/test_digest.py count them). A section marked `nudge` (a relationship gone quiet) is
shown but never makes an otherwise empty digest worth sending: no filler.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property

from django.conf import settings
from django.utils import timezone

from unstuck.core.access import managed_team_ids
from unstuck.core.models import Membership, Role
from unstuck.share.models import DigestSchedule, PersonPreference

WEEK = timedelta(days=7)


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

    @property
    def since(self) -> datetime:
        return self.now - WEEK

    @property
    def slug(self) -> str:
        return self.membership.workspace.slug

    @cached_property
    def team_ids(self) -> list[int]:
        """The teams a manager manages (one query, once per digest)."""
        if self.membership.role != Role.MANAGER:
            return []
        return managed_team_ids(self.membership)


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
    from unstuck.share import digest_sections  # noqa: F401


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
) -> Digest:
    """This person's digest for the week that holds `now` (default: now)."""
    _load_builders()
    now = now or timezone.now()
    week = week_of(now, person_zone(preference))
    context = DigestContext(membership=membership, now=now, week=week)
    digest = Digest(membership=membership, week=week)
    for _, _, builder in _REGISTRY:
        section = builder(context)
        if section is not None and section.items:
            digest.sections.append(section)
    return digest
