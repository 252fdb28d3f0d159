"""Salesforce-format exports of any size: Opportunity, OpportunityHistory, Account and User CSVs
as Data Export writes them (API names, ISO datetimes), about five history rows per deal.

For tests at a few dozen deals and for bench/import_bench.py at a million. Deterministic for
a seed; written row by row, so memory stays flat.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

STAGES = [
    ("Prospecting", 10),
    ("Qualification", 20),
    ("Needs Analysis", 40),
    ("Proposal/Price Quote", 60),
    ("Negotiation/Review", 80),
]
WON, LOST = ("Closed Won", 100), ("Closed Lost", 0)
OPPORTUNITY_HEADERS = [
    "Id", "IsDeleted", "AccountId", "Name", "StageName", "Amount", "Probability", "CloseDate",
    "Type", "NextStep", "LeadSource", "IsClosed", "IsWon", "ForecastCategoryName",
    "CurrencyIsoCode", "OwnerId", "CreatedDate", "LastModifiedDate", "LastActivityDate",
]  # fmt: skip
HISTORY_HEADERS = [
    "Id", "OpportunityId", "CreatedById", "CreatedDate", "StageName", "Amount",
    "ExpectedRevenue", "CloseDate", "Probability", "ForecastCategory", "IsDeleted",
]  # fmt: skip
ACCOUNT_HEADERS = ["Id", "Name", "Industry", "NumberOfEmployees", "BillingCountry"]
USER_HEADERS = ["Id", "Username", "Name", "Email", "IsActive"]
INDUSTRIES = ["Manufacturing", "Retail", "Healthcare", "Finance", "Energy", "Technology"]
COUNTRIES = ["United States", "Germany", "France", "United Kingdom", "Canada", "Netherlands"]


@dataclass
class ExportFiles:
    opportunities: Path
    history: Path
    accounts: Path
    users: Path
    deals: int
    history_rows: int
    contacts: Path | None = None
    contact_roles: Path | None = None
    tasks: Path | None = None


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def sf_id(prefix: str, n: int) -> str:
    return f"{prefix}{n:015d}"[:18]


def generate_salesforce_export(
    folder: Path,
    *,
    deals: int,
    seed: int = 1,
    owners: int = 20,
    today: date = date(2025, 6, 30),
    owner_emails: list[tuple[str, str]] | None = None,
    related: bool = False,
) -> ExportFiles:
    """Write the four CSVs into folder and return their paths.

    owner_emails, when given, are the (email, name) of the opportunity owners, so the export's
    owners can match members of a test workspace. The files are written with the plain csv
    module, as a CRM writes them (they are the importer's input, not an export people open;
    core.csvexport would change the values they carry).
    """
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    people = owner_emails or [(f"rep{i + 1}@example.com", f"Rep {i + 1}") for i in range(owners)]
    user_ids = [sf_id("005", i + 1) for i in range(len(people))]
    n_accounts = max(3, deals // 10)
    files = ExportFiles(
        opportunities=folder / "Opportunity.csv",
        history=folder / "OpportunityHistory.csv",
        accounts=folder / "Account.csv",
        users=folder / "User.csv",
        deals=deals,
        history_rows=0,
    )
    with files.users.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(USER_HEADERS)
        for uid, (email, name) in zip(user_ids, people, strict=True):
            w.writerow([uid, email, name, email, "true"])
    with files.accounts.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(ACCOUNT_HEADERS)
        for a in range(n_accounts):
            w.writerow(
                [
                    sf_id("001", a + 1),
                    f"Account {a + 1} GmbH" if a % 7 == 0 else f"Account {a + 1}, Inc.",
                    rng.choice(INDUSTRIES),
                    rng.randint(20, 50_000),
                    rng.choice(COUNTRIES),
                ]
            )
    end = datetime(today.year, today.month, today.day, 18, tzinfo=UTC)
    hist_n = 0
    with (
        files.opportunities.open("w", newline="", encoding="utf-8") as fo,
        files.history.open("w", newline="", encoding="utf-8") as fhist,
    ):
        wo = csv.writer(fo, lineterminator="\r\n")
        wh = csv.writer(fhist, lineterminator="\r\n")
        wo.writerow(OPPORTUNITY_HEADERS)
        wh.writerow(HISTORY_HEADERS)
        for i in range(deals):
            created = end - timedelta(minutes=rng.randint(60 * 24 * 20, 60 * 24 * 700))
            amount = rng.randint(5, 400) * 500
            close = (created + timedelta(days=rng.randint(30, 200))).date()
            fate = rng.random()
            furthest = rng.randint(1, len(STAGES))
            path = [*STAGES[:furthest]]
            if fate < 0.35:
                path.append(WON)
            elif fate < 0.7:
                path.append(LOST)
            at = created
            rows = []
            for s, (stage, prob) in enumerate(path):
                if s:
                    at = min(end, at + timedelta(minutes=rng.randint(60 * 24, 60 * 24 * 30)))
                rows.append((at, stage, amount, close, prob))
                if s in (1, 2, 3) and rng.random() < 0.6:
                    # An amount and close-date change without a stage move.
                    at = min(end, at + timedelta(minutes=rng.randint(60, 60 * 24 * 5)))
                    amount = max(500, amount + rng.randint(-20, 20) * 500)
                    close = close + timedelta(days=rng.randint(0, 30))
                    rows.append((at, stage, amount, close, prob))
            opp_id = sf_id("006", i + 1)
            for at_, stage, amt, cd, prob in rows:
                hist_n += 1
                wh.writerow(
                    [
                        sf_id("008", hist_n), opp_id, user_ids[0], _iso(at_), stage, amt,
                        amt * prob // 100, cd.isoformat(), prob, "Pipeline", "false",
                    ]
                )  # fmt: skip
            stage, prob = path[-1]
            closed = stage in {WON[0], LOST[0]}
            won = stage == WON[0]
            owner = user_ids[
                i % len(user_ids) if rng.random() < 0.5 else rng.randrange(len(user_ids))
            ]
            wo.writerow(
                [
                    opp_id, "false", sf_id("001", rng.randint(1, n_accounts)),
                    f"Opportunity {i + 1}", stage, amount, prob, close.isoformat(),
                    rng.choice(["New Business", "Existing Business"]),
                    "" if closed else rng.choice(["Send proposal", "Book demo", ""]),
                    rng.choice(["Web", "Partner", "Event"]), str(closed).lower(),
                    str(won).lower(), "Closed" if won else ("Omitted" if closed else "Pipeline"),
                    "USD", owner, _iso(created), _iso(rows[-1][0]), rows[-1][0].date().isoformat(),
                ]
            )  # fmt: skip
    files.history_rows = hist_n
    if related:
        _write_related(folder, files, rng, deals=deals, accounts=n_accounts)
    return files


def _write_related(
    folder: Path, files: ExportFiles, rng: random.Random, *, deals: int, accounts: int
) -> None:
    """Two contacts per account, one or two contact roles and two tasks per deal."""
    files.contacts = folder / "Contact.csv"
    files.contact_roles = folder / "OpportunityContactRole.csv"
    files.tasks = folder / "Task.csv"
    roles = ["Economic Buyer", "Decision Maker", "Technical Buyer", "Influencer", "Other"]
    with files.contacts.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(["Id", "AccountId", "FirstName", "LastName", "Title", "Email", "Phone"])
        for a in range(accounts):
            for k in range(2):
                n = a * 2 + k + 1
                w.writerow(
                    [sf_id("003", n), sf_id("001", a + 1), f"Pat{n}", "Müller" if k else "Lee",
                     rng.choice(["CFO", "Head of IT", "Buyer"]), f"pat{n}@customer.example", ""]
                )  # fmt: skip
    with (
        files.contact_roles.open("w", newline="", encoding="utf-8") as fr,
        files.tasks.open("w", newline="", encoding="utf-8") as ft,
    ):
        wr, wt = csv.writer(fr, lineterminator="\r\n"), csv.writer(ft, lineterminator="\r\n")
        wr.writerow(["Id", "OpportunityId", "ContactId", "Role", "IsPrimary"])
        wt.writerow(["Id", "WhatId", "WhoId", "Subject", "ActivityDate", "Status", "TaskSubtype"])
        for i in range(deals):
            opp = sf_id("006", i + 1)
            contact = sf_id("003", rng.randint(1, accounts * 2))
            wr.writerow([sf_id("00K", i + 1), opp, contact, rng.choice(roles), "true"])
            for t in range(2):
                wt.writerow(
                    [sf_id("00T", i * 2 + t + 1), opp, contact, rng.choice(["Call", "Demo"]),
                     date(2025, 1, 1 + t + i % 20).isoformat(), "Completed",
                     rng.choice(["Call", "Email", "Task"])]
                )  # fmt: skip
