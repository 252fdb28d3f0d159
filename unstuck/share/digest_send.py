"""Sending the weekly digest: who is due (the workspace's weekday and hour, in each person's
time zone), exactly once per person and week, by email with HTML and plain text, absolute
links and one-click unsubscribe (RFC 8058).

Exactly once: a person's week is claimed by inserting their `DigestDelivery` row, whose
unique constraint lets only one of two workers (or a rerun) win. The row then says sent,
skipped (nothing to say) or failed (the mail server refused: the next run retries it). A
worker that dies between the mail server's acceptance and marking the row leaves it
"sending", never retried: at most once, rather than twice.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
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
    now = timezone.now()
    if existing is not None:
        if existing.status != DeliveryStatus.FAILED:
            return None
        taken = DigestDelivery.objects.filter(pk=existing.pk, status=DeliveryStatus.FAILED).update(
            status=DeliveryStatus.SENDING, claimed_at=now, error=""
        )
        return existing if taken else None
    try:
        with transaction.atomic():
            return DigestDelivery.objects.create(
                workspace=workspace,
                user=user,
                week=week,
                status=DeliveryStatus.SENDING,
                claimed_at=now,
            )
    except IntegrityError:
        return None


def digest_send(
    *,
    workspace: Workspace,
    now: datetime | None = None,
    force: bool = False,
    dry_run: bool = False,
) -> SendReport:
    """Send this week's digest to everyone in the workspace it is due for; `force` sends
    without waiting for the chosen weekday and hour (still once per person and week)."""
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
    connection = None if dry_run else get_connection()
    try:
        if connection is not None:
            connection.open()
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
            if dry_run:
                digest = digest_build(membership, now=now, preference=preference)
                (report.skipped if digest.is_empty else report.would_send).append(
                    membership.user.email
                )
                continue
            delivery = _claim(workspace, membership.user, week, existing)
            if delivery is None:
                report.already += 1
                continue
            _deliver(membership, delivery, now, preference, connection, report)
    finally:
        if connection is not None:
            connection.close()
    return report


def _deliver(
    membership: Membership,
    delivery: DigestDelivery,
    now: datetime,
    preference: PersonPreference | None,
    connection: object,
    report: SendReport,
) -> None:
    digest = digest_build(membership, now=now, preference=preference)
    if digest.is_empty:
        delivery.status = DeliveryStatus.SKIPPED
        delivery.save(update_fields=["status"])
        report.skipped.append(membership.user.email)
        return
    try:
        digest_message(digest, connection=connection).send()
    except Exception as exc:  # the mail server refused: retried by the next run
        delivery.status = DeliveryStatus.FAILED
        delivery.error = str(exc)[:300]
        delivery.save(update_fields=["status", "error"])
        report.failed.append(membership.user.email)
        return
    delivery.status = DeliveryStatus.SENT
    delivery.sent_at = timezone.now()
    delivery.items = min(digest.items, 32767)
    delivery.save(update_fields=["status", "sent_at", "items"])
    report.sent.append(membership.user.email)


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
