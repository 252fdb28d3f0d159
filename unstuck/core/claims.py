"""Claims shared across processes: "do this at most once every N seconds", whichever web
process or worker asks first. A row per key in the database (core.Claim), so it holds across
gunicorn workers and machines, unlike a per-process cache.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from unstuck.core.models import Claim


def claim(key: str, *, seconds: float) -> bool:
    """Take the claim for `seconds` if nobody holds it now; True for the one caller who did.

    Race-free on both databases: the conditional UPDATE takes an expired claim (PostgreSQL
    re-checks the condition after waiting for a concurrent UPDATE of the row), and the unique
    key lets only one INSERT create a claim that did not exist.
    """
    now = timezone.now()
    until = now + timedelta(seconds=seconds)
    if Claim.objects.filter(key=key, until__lte=now).update(until=until):
        return True
    try:
        with transaction.atomic():
            Claim.objects.create(key=key, until=until)
    except IntegrityError:
        return False
    return True
