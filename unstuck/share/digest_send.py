"""Sending the weekly digest: who is due (the workspace's weekday and hour, in each person's
time zone), exactly once per person and week, by email with HTML and plain text, absolute
links and one-click unsubscribe (RFC 8058).

Exactly once: a person's week is claimed by inserting their `DigestDelivery` row, whose
unique constraint lets only one of two workers (or a rerun) win (a chunk of people is
claimed in one `INSERT … ON CONFLICT DO NOTHING RETURNING` statement). The row then says sent,
skipped (nothing to say) or failed (the mail server refused: the next run retries it). A
worker that dies between the mail server's acceptance and marking the row leaves it
"sending", never retried: at most once, rather than twice.
"""

from __future__ import annotations

import contextlib
import queue
import zoneinfo
from collections.abc import Hashable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from unstuck.core.errors import NotAllowed, UnstuckError
from unstuck.core.http import absolute_url
from unstuck.core.models import Membership, Role, User, Workspace
from unstuck.core.services import _clean
from unstuck.share.digest import Digest, digest_build, is_due, person_zone, week_of
from unstuck.share.models import DeliveryStatus, DigestDelivery, DigestSchedule, PersonPreference

UNSUBSCRIBE_SALT = "unstuck.share.digest.unsubscribe"


def unsubscribe_token(workspace_id: int, user_id: int) -> str:
    return signing.dumps([workspace_id, user_id], salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token: str) -> tuple[int, int] | None:
    try:
        workspace_id, user_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        return int(workspace_id), int(user_id)
    except (signing.BadSignature, ValueError, TypeError):
        return None


def absolute(path: str) -> str:
    return absolute_url(path)


def digest_message(digest: Digest, *, connection: object = None) -> EmailMultiAlternatives:
    m = digest.membership
    unsubscribe = absolute(
        reverse(
            "share:digest-unsubscribe",
            kwargs={
                "slug": m.workspace.slug,
                "token": unsubscribe_token(m.workspace_id, m.user_id),
            },
        )
    )
    context = {
        "digest": digest,
        "workspace": m.workspace,
        "person": m.user,
        "site": settings.SITE_URL,
        "this_week": absolute(reverse("share:digest", kwargs={"slug": m.workspace.slug})),
        "unsubscribe": unsubscribe,
    }
    things = f"{digest.items} thing{'s' if digest.items != 1 else ''}"
    subject = f"Your week in {m.workspace.name}: {things} for you"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("share/digest/email.txt", context),
        to=[m.user.email],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "List-Id": f"Unstuck weekly digest <digest.{m.workspace.slug}.unstuck>",
            "Auto-Submitted": "auto-generated",
        },
        connection=connection,
    )
    message.attach_alternative(render_to_string("share/digest/email.html", context), "text/html")
    return message


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # nothing to say
    already: int = 0  # this week's digest had gone (or is going) already
    not_due: int = 0
    unsubscribed: int = 0
    failed: list[str] = field(default_factory=list)
    would_send: list[str] = field(default_factory=list)  # --dry-run


CHUNK = 100  # people claimed, built and marked together
SENDERS = 8  # SMTP connections sending at once (each message still goes out once)


def _people(workspace: Workspace) -> Iterator[Membership]:
    return (
        Membership.objects.filter(workspace=workspace, user__is_active=True)
        .select_related("workspace", "team", "user")
        .order_by("pk")
        .iterator(chunk_size=500)
    )


def _claim(
    workspace: Workspace, user: User, week: date, existing: DigestDelivery | None
) -> DigestDelivery | None:
    """Take this person's week, or None if another worker or run has it."""
    if existing is None:
        claimed = _claim_many(workspace.pk, [(user.pk, week)], timezone.now())
        return DigestDelivery.objects.get(pk=claimed[user.pk]) if user.pk in claimed else None
    if existing.status != DeliveryStatus.FAILED:
        return None
    taken = DigestDelivery.objects.filter(pk=existing.pk, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.SENDING, claimed_at=timezone.now(), error=""
    )
    return existing if taken else None


def _claim_many(workspace_id: int, weeks: list[tuple[int, date]], now: datetime) -> dict[int, int]:
    """Take these people's weeks in one statement: a row is inserted for each week nobody
    has yet, and the unique constraint skips those another worker or run holds (`ON
    CONFLICT DO NOTHING`; PostgreSQL and SQLite). Returns {user id: delivery id} of the
    weeks this call took — exactly the rows it inserted (`RETURNING`)."""
    if not weeks:
        return {}
    table = connection.ops.quote_name(DigestDelivery._meta.db_table)
    claimed_at = connection.ops.adapt_datetimefield_value(now)
    rows = ", ".join(["(%s, %s, %s, %s, %s, 0, '')"] * len(weeks))
    params: list[Any] = []
    for user_id, week in weeks:
        params += [
            workspace_id,
            user_id,
            connection.ops.adapt_datefield_value(week),
            DeliveryStatus.SENDING.value,
            claimed_at,
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (workspace_id, user_id, week, status, claimed_at, items, "
            f"error) VALUES {rows} ON CONFLICT (workspace_id, user_id, week) DO NOTHING "
            "RETURNING id, user_id",
            params,
        )
        return {user_id: pk for pk, user_id in cursor.fetchall()}


class _Mailer:
    """SENDERS SMTP connections, each used by one thread at a time: while one waits for the
    mail server's answer, another sends (the round trips overlap; the database is used only
    by the caller's thread). The connections are opened first, so an unreachable server
    fails the run before anyone's week is claimed."""

    def __init__(self, senders: int) -> None:
        self.senders = max(1, senders)
        self.free: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.opened: list[Any] = []
        self.pool = ThreadPoolExecutor(self.senders, thread_name_prefix="digest-smtp")

    def __enter__(self) -> _Mailer:
        try:
            for _ in range(self.senders):
                conn = get_connection()
                conn.open()
                self.opened.append(conn)
                self.free.put(conn)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _send(self, message: EmailMultiAlternatives) -> None:
        conn = self.free.get()
        try:
            message.connection = conn
            message.send()
        except Exception:
            # The connection may be broken: the next message on it starts a fresh one.
            with contextlib.suppress(Exception):
                conn.close()
            raise
        finally:
            self.free.put(conn)

    def submit(self, message: EmailMultiAlternatives) -> Future[None]:
        return self.pool.submit(self._send, message)

    def __exit__(self, *exc: object) -> None:
        self.pool.shutdown(wait=True)
        for conn in self.opened:
            with contextlib.suppress(Exception):
                conn.close()


@dataclass
class _Pending:
    """A chunk whose messages are on their way: marked when they have all been answered."""

    sent: list[tuple[int, Membership, int, Future[None]]] = field(default_factory=list)
    skipped: list[tuple[int, Membership]] = field(default_factory=list)


def digest_send(
    *,
    workspace: Workspace,
    now: datetime | None = None,
    force: bool = False,
    dry_run: bool = False,
    senders: int = SENDERS,
) -> SendReport:
    """Send this week's digest to everyone in the workspace it is due for; `force` sends
    without waiting for the chosen weekday and hour (still once per person and week).

    People go in chunks: a chunk's weeks are claimed in one statement, its digests built
    (what they share, once: digest.DigestContext.shared) and handed to `senders` SMTP
    connections; while they send, the next chunk is built; then the chunk's deliveries are
    marked sent, skipped or failed together."""
    now = now or timezone.now()
    report = SendReport()
    schedule = DigestSchedule.objects.filter(workspace=workspace).first() or DigestSchedule(
        workspace=workspace
    )
    if not schedule.enabled and not force:
        return report
    preferences = {p.user_id: p for p in PersonPreference.objects.filter(workspace=workspace)}
    weeks = {week_of(now, person_zone(p)) for p in preferences.values()} | {
        week_of(now, person_zone(None))
    }
    delivered = {
        (d.user_id, d.week): d
        for d in DigestDelivery.objects.filter(workspace=workspace, week__in=weeks)
    }
    shared: dict[Hashable, Any] = {}  # what the run's digests share (digest.DigestContext)

    def due() -> Iterator[tuple[Membership, PersonPreference | None, date]]:
        for membership in _people(workspace):
            preference = preferences.get(membership.user_id)
            zone = person_zone(preference)
            if not force and not is_due(now, zone, schedule):
                report.not_due += 1
                continue
            if preference and preference.digest_unsubscribed_at:
                report.unsubscribed += 1
                continue
            week = week_of(now, zone)
            existing = delivered.get((membership.user_id, week))
            if existing is not None and existing.status != DeliveryStatus.FAILED:
                report.already += 1
                continue
            yield membership, preference, week

    if dry_run:
        for chunk in _chunks(due(), CHUNK):
            people = [m for m, _, _ in chunk]
            for membership, preference, _ in chunk:
                digest = digest_build(
                    membership, now=now, preference=preference, shared=shared, people=people
                )
                (report.skipped if digest.is_empty else report.would_send).append(
                    membership.user.email
                )
        return report

    with _Mailer(senders) as mailer:
        pending: _Pending | None = None
        for chunk in _chunks(due(), CHUNK):
            claimed = _claim_many(
                workspace.pk,
                [(m.user_id, w) for m, _, w in chunk if (m.user_id, w) not in delivered],
                now,
            )
            built = _Pending()
            people = [m for m, _, _ in chunk]  # built together: DigestContext.for_batch
            for membership, preference, week in chunk:
                existing = delivered.get((membership.user_id, week))
                if existing is not None:  # failed last time: retried, if still failed
                    retried = _claim(workspace, membership.user, week, existing)
                    delivery_id = retried.pk if retried else None
                else:
                    delivery_id = claimed.get(membership.user_id)
                if delivery_id is None:  # another worker or run has this week
                    report.already += 1
                    continue
                digest = digest_build(
                    membership, now=now, preference=preference, shared=shared, people=people
                )
                if digest.is_empty:
                    built.skipped.append((delivery_id, membership))
                    continue
                future = mailer.submit(digest_message(digest))
                built.sent.append((delivery_id, membership, digest.items, future))
            if pending is not None:
                _mark(pending, report)
            pending = built
        if pending is not None:
            _mark(pending, report)
    return report


def _chunks(
    people: Iterator[tuple[Membership, PersonPreference | None, date]], size: int
) -> Iterator[list[tuple[Membership, PersonPreference | None, date]]]:
    chunk: list[tuple[Membership, PersonPreference | None, date]] = []
    for person in people:
        chunk.append(person)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _mark(pending: _Pending, report: SendReport) -> None:
    """Wait for the chunk's messages and mark its deliveries: sent, skipped (nothing to
    say) or failed (the mail server refused: the next run retries it)."""
    if pending.skipped:
        DigestDelivery.objects.filter(pk__in=[pk for pk, _ in pending.skipped]).update(
            status=DeliveryStatus.SKIPPED
        )
        report.skipped += [m.user.email for _, m in pending.skipped]
    sent: list[DigestDelivery] = []
    for delivery_id, membership, items, future in pending.sent:
        try:
            future.result()
        except Exception as exc:
            DigestDelivery.objects.filter(pk=delivery_id).update(
                status=DeliveryStatus.FAILED, error=str(exc)[:300]
            )
            report.failed.append(membership.user.email)
            continue
        sent.append(
            DigestDelivery(
                pk=delivery_id,
                status=DeliveryStatus.SENT,
                sent_at=timezone.now(),
                items=min(items, 32767),
            )
        )
        report.sent.append(membership.user.email)
    DigestDelivery.objects.bulk_update(sent, ["status", "sent_at", "items"])


def digest_unsubscribe(*, workspace_id: int, user_id: int) -> PersonPreference:
    preference, _ = PersonPreference.objects.get_or_create(
        workspace_id=workspace_id, user_id=user_id
    )
    if preference.digest_unsubscribed_at is None:
        preference.digest_unsubscribed_at = timezone.now()
        preference.save(update_fields=["digest_unsubscribed_at"])
    return preference


def preference_update(
    *, membership: Membership, time_zone: str | None = None, subscribed: bool | None = None
) -> PersonPreference:
    """A person sets their own time zone and whether the digest comes by email."""
    preference, _ = PersonPreference.objects.get_or_create(
        workspace_id=membership.workspace_id, user_id=membership.user_id
    )
    if time_zone is not None:
        time_zone = time_zone.strip()
        if time_zone and time_zone not in zoneinfo.available_timezones():
            raise UnstuckError(
                f"'{time_zone}' is not a time zone such as Europe/Berlin.", field="time_zone"
            )
        preference.time_zone = time_zone
    if subscribed is not None:
        preference.digest_unsubscribed_at = (
            None if subscribed else (preference.digest_unsubscribed_at or timezone.now())
        )
    preference.save()
    return preference


def schedule_update(
    *, membership: Membership, weekday: int, hour: int, enabled: bool = True
) -> DigestSchedule:
    """A leader chooses the weekday and hour the workspace's digest goes out."""
    if membership.role != Role.LEADER:
        raise NotAllowed("Only a leader sets when the digest goes out.")
    schedule, _ = DigestSchedule.objects.get_or_create(workspace_id=membership.workspace_id)
    schedule.weekday = weekday
    schedule.hour = hour
    schedule.enabled = enabled
    _clean(schedule)
    schedule.save()
    return schedule
