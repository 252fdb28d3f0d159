"""Helpers shared by the session services: who may act, and the bias check."""

from __future__ import annotations

from django.db import models

from unstuck.cocreate.models import (
    Session,
)
from unstuck.core.errors import NotAllowed
from unstuck.core.models import Membership, User
from unstuck.thinking.services import text_check

# --- the bias check on everything written --------------------------------------------------


def _check(
    *,
    session: Session,
    author: User,
    text: str,
    subject: models.Model,
    context: str,
    situation: str,
    draft_key: str = "",
) -> None:
    if not text.strip():
        return
    text_check(
        workspace=session.deal.workspace,
        author=author,
        text=text[:5000],
        deal=session.deal,
        subject=subject,
        context=context,
        situation=situation,
        draft_key=draft_key,
    )


# --- who may act ----------------------------------------------------------------------------


def _require_lead(membership: Membership, session: Session) -> None:
    from unstuck.cocreate.access import can_lead

    if not can_lead(membership, session):
        raise NotAllowed("Only the deal's manager leads and decides in this session.")


def _require_part(membership: Membership, session: Session) -> None:
    from unstuck.cocreate.access import can_take_part

    if not can_take_part(membership, session):
        raise NotAllowed("You can read this session but not take part in it.")
