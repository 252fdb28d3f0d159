"""Plans for the three formats: Salesforce (Data Export / Data Loader, or a report export),
HubSpot's deal export, and any CSV with a TOML mapping.
"""

from __future__ import annotations

import re
from pathlib import Path

from unstuck.core.errors import UnstuckError
from unstuck.imports.mapping import Companion, Mapping
from unstuck.imports.parsing import FileProblem, SniffedFile
from unstuck.imports.readers.base import ImportPlan, open_file

# --- Salesforce ---------------------------------------------------------------------------

SF_API_COLUMNS = {
    "external_id": "Id",
    "name": "Name",
    "account": "AccountId",
    "owner": "OwnerId",
    "stage": "StageName",
    "amount": "Amount",
    "close_date": "CloseDate",
    "created_at": "CreatedDate",
    "is_closed": "IsClosed",
    "is_won": "IsWon",
    "probability": "Probability",
    "next_step": "NextStep",
    "currency": "CurrencyIsoCode",
    "last_activity_at": "LastActivityDate",
    "stage_entered_at": "LastStageChangeDate",
}
SF_REPORT_COLUMNS = {
    "external_id": "Opportunity ID",
    "name": "Opportunity Name",
    "stage": "Stage",
    "amount": "Amount",
    "close_date": "Close Date",
    "created_at": "Created Date",
    "owner": "Opportunity Owner",
    "account": "Account Name",
    "probability": "Probability (%)",
    "next_step": "Next Step",
    "is_won": "Won",
    "is_closed": "Closed",
    "currency": "Opportunity Currency",
    "last_activity_at": "Last Activity",
}
SF_CUSTOM = ["Type", "LeadSource", "ForecastCategoryName", "Lead Source", "Forecast Category"]
SF_HISTORY = {
    "deal": "OpportunityId",
    "stage": "StageName",
    "entered_at": "CreatedDate",
    "amount": "Amount",
    "close_date": "CloseDate",
}


def salesforce_flavour(headers: list[str]) -> str | None:
    """'api' for Data Export / Data Loader headers, 'report' for a report's label headers."""
    present = set(headers)
    if {"Id", "StageName"} <= present:
        return "api"
    if {"Opportunity Name", "Stage"} <= present:
        return "report"
    return None


def salesforce_plan(
    *,
    opportunities: Path,
    history: Path | None = None,
    accounts: Path | None = None,
    users: Path | None = None,
    contacts: Path | None = None,
    contact_roles: Path | None = None,
    activities: Path | None = None,
    names: dict[str, str] | None = None,
) -> ImportPlan:
    names = names or {}
    if contact_roles is not None and contacts is None:
        raise UnstuckError("--contact-roles needs --contacts (the roles name contacts by Id).")
    deals = open_file(opportunities, role="opportunities", name=names.get("opportunities"))
    flavour = salesforce_flavour(deals.headers)
    if flavour is None:
        raise FileProblem(
            f"{deals.name}: this is not a Salesforce Opportunity export: expected the API "
            "headers (Id, StageName, …) of Data Export / Data Loader or a report's label "
            "headers (Opportunity Name, Stage, …). "
            f"Headers found: {', '.join(deals.headers)}."
        )
    notes = []
    if flavour == "api":
        columns = dict(SF_API_COLUMNS)
        label = "Salesforce Data Export (API field names)"
    else:
        columns = dict(SF_REPORT_COLUMNS)
        label = "Salesforce report export (label headers)"
        if "Opportunity ID" not in deals.headers:
            columns["external_id"] = "{Account Name}/{Opportunity Name}"
            notes.append(
                "The report has no Opportunity ID column, so deals are matched by account and "
                "name; add the Opportunity ID column to the report for exact matching."
            )
    mapping = Mapping(
        source="salesforce",
        columns=columns,
        custom=list(SF_CUSTOM),
        history=dict(SF_HISTORY),
        optional_columns=True,
    )
    plan = ImportPlan(
        kind="salesforce",
        mapping=mapping,
        deals=deals,
        format_label=label,
        notes=notes,
        skip_deleted=True,
        accounts_from_names=flavour == "report",
    )
    if history is not None:
        plan.history = open_file(history, role="history", name=names.get("history"))
    if accounts is not None:
        mapping.accounts = Companion(
            path=str(accounts),
            key="Id",
            join="AccountId",
            columns={
                "name": "Name",
                "industry": "Industry",
                "employees": "NumberOfEmployees",
                "country": "BillingCountry",
            },
        )
        sniffed = open_file(accounts, role="accounts", name=names.get("accounts"))
        mapping.accounts.columns = {
            k: v for k, v in mapping.accounts.columns.items() if v in sniffed.headers
        }
        plan.companions.append((mapping.accounts, sniffed))
    elif flavour == "api":
        plan.notes.append("No Account file given: deals are imported without their accounts.")
    if users is not None:
        mapping.owners = Companion(
            path=str(users), key="Id", join="OwnerId", columns={"email": "Email", "name": "Name"}
        )
        sniffed = open_file(users, role="users", name=names.get("users"))
        plan.companions.append((mapping.owners, sniffed))
    if contacts is not None:
        plan.contacts = open_file(contacts, role="contacts", name=names.get("contacts"))
    if contact_roles is not None:
        plan.contact_roles = open_file(
            contact_roles, role="contact_roles", name=names.get("contact_roles")
        )
    if activities is not None:
        plan.activities = open_file(activities, role="activities", name=names.get("activities"))
    if users is None and flavour == "api":
        plan.notes.append(
            "No User file given: owners are Salesforce ids and cannot be matched to members; "
            "give --users User.csv."
        )
    return plan


# --- HubSpot ------------------------------------------------------------------------------

HUBSPOT_COLUMNS = {
    "external_id": "Record ID",
    "name": "Deal Name",
    "pipeline": "Pipeline",
    "stage": "Deal Stage",
    "amount": "Amount",
    "close_date": "Close Date",
    "created_at": "Create Date",
    "owner": "Deal owner",
    "account": "Associated Company",
    "last_activity_at": "Last Activity Date",
    "currency": "Currency",
    "next_step": "Next step",
    "is_won": "Is Closed Won",
}
_ENTERED = re.compile(r'^Date entered "(?P<stage>.+?)(?: \((?P<pipeline>[^()]+)\))?"$')


def hubspot_plan(*, deals: Path, names: dict[str, str] | None = None) -> ImportPlan:
    sniffed = open_file(deals, role="deals", name=(names or {}).get("deals"))
    stage_dates = []
    for header in sniffed.headers:
        match = _ENTERED.match(header)
        if match:
            stage_dates.append((match["stage"], match["pipeline"] or "", header))
    columns = dict(HUBSPOT_COLUMNS)
    if "Is Closed Won" in sniffed.headers and "Is Deal Closed?" in sniffed.headers:
        columns["is_closed"] = "Is Deal Closed?"
    else:
        columns.pop("is_won")
    mapping = Mapping(
        source="hubspot",
        columns=columns,
        stage_dates=stage_dates,
        custom=["Deal Type", "Priority", "Deal probability"],
        optional_columns=True,
    )
    notes = []
    if not stage_dates:
        notes.append(
            'No "Date entered …" columns: only each deal\'s current stage is known. Add the '
            "stage date properties to the export to bring the history in."
        )
    return ImportPlan(
        kind="hubspot",
        mapping=mapping,
        deals=sniffed,
        format_label=f"HubSpot deal export ({len(stage_dates)} stage-date columns)",
        notes=notes,
        accounts_from_names=True,
    )


# --- any CSV with a mapping ---------------------------------------------------------------


def csv_plan(
    *,
    mapping: Mapping,
    deals: Path,
    history: Path | None = None,
    names: dict[str, str] | None = None,
    companion_dir: Path | None = None,
) -> ImportPlan:
    names = names or {}
    sniffed = open_file(deals, role="deals", name=names.get("deals"))
    plan = ImportPlan(
        kind="csv",
        mapping=mapping,
        deals=sniffed,
        format_label=f"CSV with the '{mapping.source}' mapping",
        accounts_from_names=mapping.accounts is None and bool(mapping.columns.get("account")),
    )
    if history is not None:
        if not mapping.history:
            raise UnstuckError(
                "A history file was given but the mapping has no [history] section naming its "
                "columns (deal, stage, entered_at)."
            )
        plan.history = open_file(history, role="history", name=names.get("history"))
    folder = companion_dir or Path(deals).parent
    for comp in [mapping.accounts, mapping.owners, *mapping.lookups]:
        if comp is None:
            continue
        path = folder / comp.path
        if not path.exists():
            raise FileProblem(
                f"The mapping names the companion file {comp.path}, which is not beside "
                f"{sniffed.name} (looked in {folder})."
            )
        plan.companions.append((comp, open_file(path, role="companion", name=comp.path)))
    return plan


def describe(sniffed: SniffedFile) -> str:
    return (
        f"{sniffed.name}: {sniffed.encoding_label}, {sniffed.delimiter_label}-separated, "
        f"{len(sniffed.headers)} columns"
    )
