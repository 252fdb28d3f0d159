"""Salesforce's related files: Contact + OpportunityContactRole (the buying committee) and
Task (activities). Loaded after the deals, inside the same transaction, in batches.

Idempotent like the deals: contacts by (source, Id), stakeholders by (deal, contact),
activities by (source, Id).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import islice
from typing import Any

from django.db.models import Max, OuterRef, Subquery

from unstuck.core.models import Workspace
from unstuck.deals.models import (
    Account,
    Activity,
    ActivityKind,
    BuyingRole,
    Contact,
    Deal,
    Direction,
    Stakeholder,
)
from unstuck.imports.parsing import FileProblem, SniffedFile, ValueProblem, iter_rows
from unstuck.imports.parsing import parse_datetime as _parse_datetime
from unstuck.imports.records import Report

BATCH = 5000
ROLE_MAP = {
    "economic buyer": BuyingRole.ECONOMIC_BUYER,
    "executive sponsor": BuyingRole.ECONOMIC_BUYER,
    "decision maker": BuyingRole.DECISION_MAKER,
    "technical buyer": BuyingRole.TECHNICAL_EVALUATOR,
    "evaluator": BuyingRole.TECHNICAL_EVALUATOR,
    "business user": BuyingRole.USER,
    "influencer": BuyingRole.INFLUENCER,
    "champion": BuyingRole.CHAMPION,
    "procurement": BuyingRole.PROCUREMENT,
    "legal": BuyingRole.LEGAL,
}
KIND_MAP = {"call": ActivityKind.CALL, "email": ActivityKind.EMAIL, "meeting": ActivityKind.MEETING}


def _require(sniffed: SniffedFile, columns: list[str]) -> None:
    missing = [c for c in columns if c not in sniffed.headers]
    if missing:
        raise FileProblem(
            f"{sniffed.name}: missing required column(s): {', '.join(missing)}. "
            f"Headers found: {', '.join(sniffed.headers)}."
        )


def _batches(it: Iterator[Any], size: int = BATCH) -> Iterator[list[Any]]:
    while batch := list(islice(it, size)):
        yield batch


def _deal_ids(workspace: Workspace, source: str, ids: set[str]) -> dict[str, int]:
    return dict(
        Deal.objects.filter(workspace=workspace, source=source, external_id__in=ids).values_list(
            "external_id", "pk"
        )
    )


def load_contacts(
    *,
    workspace: Workspace,
    source: str,
    contacts: SniffedFile,
    roles: SniffedFile | None,
    report: Report,
) -> dict[str, int]:
    """Upsert contacts, then each contact role as a stakeholder of its deal."""
    _require(contacts, ["Id"])
    counts = {"contacts": 0, "stakeholders": 0}
    accounts = dict(
        Account.objects.filter(workspace=workspace, source=source).values_list("external_id", "pk")
    )
    for batch in _batches(iter_rows(contacts, report=report)):
        ids = {r.values["Id"].strip() for r in batch}
        existing = {
            c.external_id: c
            for c in Contact.objects.filter(workspace=workspace, source=source, external_id__in=ids)
        }
        new, changed = [], []
        for r in batch:
            v = r.values
            ext = v["Id"].strip()
            name = (
                v.get("Name", "").strip()
                or f"{v.get('FirstName', '').strip()} {v.get('LastName', '').strip()}".strip()
            )
            if not ext or not name:
                report.problem(
                    file=contacts.name, line=r.line, column="Name" if ext else "Id",
                    value="", reason="a contact needs an Id and a name", row=v,
                )  # fmt: skip
                continue
            fields = {
                "name": name[:200],
                "title": v.get("Title", "").strip()[:200],
                "email": v.get("Email", "").strip().lower()[:254],
                "phone": v.get("Phone", "").strip()[:50],
                "account_id": accounts.get(v.get("AccountId", "").strip()),
            }
            found = existing.get(ext)
            if found is None:
                new.append(Contact(workspace=workspace, source=source, external_id=ext, **fields))
            elif any(getattr(found, k) != val for k, val in fields.items()):
                for k, val in fields.items():
                    setattr(found, k, val)
                changed.append(found)
        Contact.objects.bulk_create(new)
        Contact.objects.bulk_update(
            changed, ["name", "title", "email", "phone", "account_id"], batch_size=2000
        )
        counts["contacts"] += len(new)
    if roles is None:
        return counts
    _require(roles, ["OpportunityId", "ContactId"])
    for batch in _batches(iter_rows(roles, report=report)):
        deal_ids = _deal_ids(workspace, source, {r.values["OpportunityId"].strip() for r in batch})
        contact_ids = dict(
            Contact.objects.filter(
                workspace=workspace,
                source=source,
                external_id__in={r.values["ContactId"].strip() for r in batch},
            ).values_list("external_id", "pk")
        )
        pairs = []
        for r in batch:
            v = r.values
            deal = deal_ids.get(v["OpportunityId"].strip())
            contact = contact_ids.get(v["ContactId"].strip())
            if deal is None or contact is None:
                report.problem(
                    file=roles.name, line=r.line,
                    column="OpportunityId" if deal is None else "ContactId",
                    value=v["OpportunityId"] if deal is None else v["ContactId"],
                    reason="not found in the opportunities" if deal is None
                    else "not found in the contacts",
                    row=v,
                )  # fmt: skip
                continue
            role = ROLE_MAP.get(v.get("Role", "").strip().lower(), BuyingRole.INFLUENCER)
            pairs.append((deal, contact, role))
        existing_pairs = set(
            Stakeholder.objects.filter(deal_id__in={p[0] for p in pairs}).values_list(
                "deal_id", "contact_id"
            )
        )
        new_stakeholders = {
            (d, c): Stakeholder(deal_id=d, contact_id=c, buying_role=role)
            for d, c, role in pairs
            if (d, c) not in existing_pairs
        }
        Stakeholder.objects.bulk_create(new_stakeholders.values())
        counts["stakeholders"] += len(new_stakeholders)
    return counts


def load_activities(
    *,
    workspace: Workspace,
    source: str,
    tasks: SniffedFile,
    report: Report,
    set_last_activity: bool,
) -> dict[str, int]:
    """Tasks linked to an opportunity (WhatId) become activities; deals' last activity follows."""
    _require(tasks, ["Id", "WhatId"])
    date_column = next(
        (c for c in ("ActivityDate", "CompletedDateTime", "CreatedDate") if c in tasks.headers),
        None,
    )
    if date_column is None:
        raise FileProblem(f"{tasks.name}: needs an ActivityDate or CreatedDate column.")
    created = 0
    for batch in _batches(iter_rows(tasks, report=report)):
        # Tasks on accounts or leads have other WhatId prefixes; only opportunities count.
        deal_ids = _deal_ids(workspace, source, {r.values["WhatId"].strip() for r in batch})
        existing = set(
            Activity.objects.filter(
                deal_id__in=set(deal_ids.values()),
                source=source,
                external_id__in={r.values["Id"].strip() for r in batch},
            ).values_list("external_id", flat=True)
        )
        new = []
        for r in batch:
            v = r.values
            deal = deal_ids.get(v["WhatId"].strip())
            ext = v["Id"].strip()
            if deal is None or ext in existing:
                continue
            raw = v.get(date_column, "") or v.get("CreatedDate", "")
            try:
                at: datetime | None = _parse_datetime(raw)
            except ValueProblem as exc:
                report.problem(
                    file=tasks.name, line=r.line, column=date_column, value=raw,
                    reason=str(exc), row=v,
                )  # fmt: skip
                continue
            if at is None:
                continue
            subtype = (v.get("TaskSubtype", "") or v.get("Type", "")).strip().lower()
            summary = " — ".join(
                x for x in (v.get("Subject", "").strip(), v.get("Description", "").strip()) if x
            )
            new.append(
                Activity(
                    deal_id=deal,
                    kind=KIND_MAP.get(subtype, ActivityKind.TASK),
                    occurred_at=at,
                    direction=Direction.OUTBOUND,
                    summary=summary,
                    source=source,
                    external_id=ext,
                )
            )
            existing.add(ext)
        Activity.objects.bulk_create(new)
        created += len(new)
    if set_last_activity and created:
        # Only when the opportunities file does not say (Salesforce's LastActivityDate already
        # counts the tasks); otherwise a re-import would see every deal as changed.
        latest = (
            Activity.objects.filter(deal=OuterRef("pk"))
            .order_by()
            .values("deal")
            .annotate(m=Max("occurred_at"))
            .values("m")
        )
        Deal.objects.filter(workspace=workspace, source=source).update(
            last_activity_at=Subquery(latest)
        )
    return {"activities": created}
