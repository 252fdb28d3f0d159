"""The import wizard for leaders: upload, map, preview, run in the background, result."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from unstuck.core import csvexport, services
from unstuck.core.decorators import workspace_view
from unstuck.core.errors import UnstuckError
from unstuck.core.http import AppRequest
from unstuck.core.models import Membership, Role, Team
from unstuck.core.submit import submit_page
from unstuck.imports import selectors, wizard
from unstuck.imports.mapping import DEAL_FIELDS, Mapping, stage_date_pairs
from unstuck.imports.models import ImportKind, ImportRun, RunStatus
from unstuck.imports.services import import_run_progress, import_runs_as_seen

KINDS = [("auto", "Detect it for me"), *ImportKind.choices]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=KINDS, initial="auto", label="Format")
    deals = forms.FileField(label="Deals / opportunities (CSV)")
    history = forms.FileField(
        required=False, label="Stage history (optional)", help_text="OpportunityHistory.csv, or "
        "a long-form file: deal id, stage, date entered."
    )  # fmt: skip
    accounts = forms.FileField(required=False, label="Accounts (Salesforce Account.csv)")
    users = forms.FileField(required=False, label="Users (Salesforce User.csv)")
    contacts = forms.FileField(
        required=False, label="Contacts (Salesforce Contact.csv)",
        help_text="With contact roles, the buying committee comes in as stakeholders.",
    )  # fmt: skip
    contact_roles = forms.FileField(
        required=False, label="Contact roles (Salesforce OpportunityContactRole.csv)",
        help_text="Needs the contacts file: the roles name contacts by their Id.",
    )  # fmt: skip
    activities = forms.FileField(
        required=False, label="Activities (Salesforce Task.csv)",
        help_text="Tasks and calls, kept as each deal's activities.",
    )  # fmt: skip
    mapping_file = forms.FileField(
        required=False, label="A mapping file (TOML, as for `unstuck import csv --mapping`)",
        help_text="Optional, for a CSV: the columns, stage dates, name template and companion "
        "files, as the command line reads them. You can still change it on the next step.",
    )  # fmt: skip
    saved_mapping = forms.ChoiceField(
        required=False, label="Or use a saved mapping",
        help_text="One you built here before, or one shipped with Unstuck.",
    )  # fmt: skip
    companions = MultipleFileField(
        required=False, label="Companion files the mapping names",
        help_text="e.g. accounts.csv, sales_teams.csv, products.csv: joined to the deals as "
        "the mapping's [files] section says. Select several at once.",
    )  # fmt: skip

    def __init__(self, *args: Any, workspace_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        saved = self.fields["saved_mapping"]
        assert isinstance(saved, forms.ChoiceField)
        saved.choices = [
            ("", "—"),
            *wizard.mapping_choices(workspace_id),
        ]


def _run(membership: Membership, pk: int) -> ImportRun:
    return get_object_or_404(ImportRun, pk=pk, workspace_id=membership.workspace_id)


@workspace_view(Role.LEADER)
def import_list(request: AppRequest, membership: Membership) -> HttpResponse:
    runs = list(selectors.import_runs(membership))
    import_runs_as_seen(runs)  # a dead run shows as interrupted; a read stores nothing
    return render(request, "imports/list.html", {"runs": runs})


@workspace_view(Role.LEADER)
def import_new(request: AppRequest, membership: Membership) -> HttpResponse:
    form = UploadForm(
        request.POST or None, request.FILES or None, workspace_id=membership.workspace_id
    )

    def draft(data: dict[str, Any]) -> ImportRun:
        uploads = {r: data[r] for r in wizard.ROLES if data.get(r)}
        mapping = wizard.mapping_chosen(
            workspace_id=membership.workspace_id,
            upload=data.get("mapping_file"),
            choice=data.get("saved_mapping") or "",
        )
        return wizard.import_draft_create(
            workspace=membership.workspace,
            by=request.user,
            kind=data["kind"],
            uploads=uploads,
            mapping=mapping,
            companions=data.get("companions") or [],
        )

    drafted = submit_page(
        request,
        form,
        draft,
        done=None,
        then=lambda run: reverse(
            "imports:mapping", kwargs={"slug": membership.workspace.slug, "pk": run.pk}
        ),
    )
    if drafted is not None:
        return drafted
    return render(request, "imports/new.html", {"form": form}, status=400 if form.errors else 200)


MAX_LISTED = 300
HISTORY_FIELDS = {
    "deal": "The deal's id",
    "stage": "Stage",
    "entered_at": "Date the stage was entered",
    "amount": "Amount then",
    "close_date": "Close date then",
}


def _listed(headers: list[str], chosen: list[str]) -> list[str]:
    """The columns the mapping page lists: the first MAX_LISTED, and any chosen after them."""
    shown = headers[:MAX_LISTED]
    seen = set(shown)
    return shown + [c for c in dict.fromkeys(chosen) if c and c not in seen]


@workspace_view(Role.LEADER)
def import_mapping(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    run = _run(membership, pk)
    if run.status != RunStatus.DRAFT:
        return redirect("imports:detail", slug=membership.workspace.slug, pk=run.pk)
    error = ""
    if request.method == "POST":
        try:
            if run.kind == ImportKind.CSV:
                wizard.import_draft_set_mapping(
                    run=run, mapping=wizard.mapping_from_form(run, request.POST)
                )
        except UnstuckError as exc:
            error = exc.message
        else:
            return redirect("imports:preview", slug=membership.workspace.slug, pk=run.pk)
    mapping = run.mapping or {}
    stages = mapping.get("stages", {})
    headers: list[str] = run.files[0]["headers"] if run.files else []
    columns: dict[str, str] = mapping.get("columns", {})
    custom: list[str] = mapping.get("custom", {}).get("columns", [])
    history_headers: list[str] = next(
        (f["headers"] for f in run.files if f["role"] == "history"), []
    )
    history_columns: dict[str, str] = mapping.get("history", {})
    templates = {f: c for f, c in columns.items() if "{" in c}
    columns = {f: c for f, c in columns.items() if f not in templates}
    try:
        stage_dates = stage_date_pairs(mapping)
    except UnstuckError:
        stage_dates = []
    blank_rows = 3
    stage_date_rows = [
        (i, stage, column)
        for i, (stage, column) in enumerate(
            [*stage_dates, *[("", "")] * blank_rows][: wizard.MAX_STAGE_DATES]
        )
    ]
    context = {
        "name_template": templates.get("name", ""),
        "stage_date_rows": stage_date_rows,
        "companions": wizard.companion_specs(mapping),
        "run": run,
        "error": error,
        # A file may have hundreds of thousands of columns: the lists offer the first
        # MAX_LISTED and those already chosen; any other is typed by name.
        "many": len(headers) > MAX_LISTED or len(history_headers) > MAX_LISTED,
        "max_listed": MAX_LISTED,
        "column_count": len(headers),
        "field_rows": [(key, label, columns.get(key, "")) for key, label in DEAL_FIELDS.items()],
        "headers": _listed(headers, [*columns.values(), *custom, *(c for _, c in stage_dates)]),
        "columns": columns,
        "suggested": mapping.get("suggested", False),
        "mapping": mapping,
        "won": ", ".join(stages.get("won", [])),
        "lost": ", ".join(stages.get("lost", [])),
        "order": ", ".join(stages.get("order", [])),
        "custom": custom,
        "custom_lines": "\n".join(custom),
        "date_format": (mapping.get("dates", {}).get("formats") or [""])[0],
        "dayfirst": mapping.get("dates", {}).get("dayfirst", False),
        "decimal": mapping.get("amounts", {}).get("decimal", ""),
        "currency": mapping.get("amounts", {}).get("currency", ""),
        "on_conflict": mapping.get("duplicates", {}).get("on_conflict", "reject"),
        "history_headers": _listed(history_headers, list(history_columns.values())),
        "history_rows": [
            (key, label, history_columns.get(key, "")) for key, label in HISTORY_FIELDS.items()
        ],
    }
    return render(request, "imports/mapping.html", context, status=400 if error else 200)


@workspace_view(Role.LEADER)
def import_mapping_toml(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    """The mapping built in the wizard as a TOML file for `unstuck import csv --mapping`."""
    run = _run(membership, pk)
    if run.kind != ImportKind.CSV or not run.mapping:
        raise Http404("This import has no column mapping (its format reads columns by name).")
    try:
        text = Mapping.from_dict(run.mapping, where="This import's mapping").to_toml()
    except UnstuckError as exc:
        raise Http404(exc.message) from None
    response = HttpResponse(text, content_type="application/toml; charset=utf-8")
    source = re.sub(r"[^\w-]+", "-", str(run.mapping.get("source") or "csv")).strip("-")
    response["Content-Disposition"] = f'attachment; filename="{source or "csv"}-mapping.toml"'
    return response


@workspace_view(Role.LEADER)
def import_preview(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    run = _run(membership, pk)
    if run.status != RunStatus.DRAFT:
        return redirect("imports:detail", slug=membership.workspace.slug, pk=run.pk)
    error = ""
    if request.method == "POST":
        try:
            wizard.import_run_queue(run=run, strict=request.POST.get("mode") != "skip")
        except UnstuckError as exc:
            error = exc.message
        else:
            return redirect("imports:detail", slug=membership.workspace.slug, pk=run.pk)
    preview = wizard.import_preview(run)
    return render(
        request,
        "imports/preview.html",
        {"run": run, "preview": preview, "error": error or preview.error},
    )


@workspace_view(Role.LEADER)
def import_detail(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    run = _run(membership, pk)
    context = {
        "run": run,
        "scoring": selectors.scoring_after(run),
        "progress": import_run_progress(run),
        "problems": selectors.run_problems(run, limit=200),
        "members": selectors.assignable_members(membership),
        "owners_to_invite": selectors.owners_to_invite(run),
        "teams": Team.objects.filter(workspace_id=membership.workspace_id),
        "can_repeat": run.is_finished and run.files_stored,
    }
    if request.htmx and not run.is_finished:
        return render(request, "imports/_partials/progress.html", context)
    if request.htmx:
        # Finished while the page was polling: load the whole result page.
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "imports/detail.html", context)


@workspace_view(Role.LEADER)
@require_POST
def import_repeat(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    """Run a finished import again: with unknown CRM owners assigned to members, skipping
    invalid rows (mode=skip), or keeping one of the rows that share an id (on_conflict)."""
    run = _run(membership, pk)
    assign = {
        key.removeprefix("owner:"): str(request.POST[key])
        for key in request.POST
        if key.startswith("owner:") and request.POST[key]
    }
    try:
        again = wizard.import_run_repeat(
            run=run,
            by=request.user,
            assign_owners=assign,
            strict=False if request.POST.get("mode") == "skip" else None,
            on_conflict=request.POST.get("on_conflict") or None,
        )
    except UnstuckError as exc:
        messages.error(request, exc.message)
        return redirect("imports:detail", slug=membership.workspace.slug, pk=run.pk)
    return redirect("imports:detail", slug=membership.workspace.slug, pk=again.pk)


@workspace_view(Role.LEADER)
@require_POST
def import_invite_owners(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    """Invite the CRM owners this import did not know (names and emails as the export gave
    them, corrected here), then run the import again so their deals get them as owner."""
    run = _run(membership, pk)
    unknown = list((run.summary.get("unknown_owners") or {}).keys())
    people = []
    for i in request.POST.getlist("invite"):
        if not i.isdigit() or not 0 <= int(i) < len(unknown):
            continue
        people.append(
            {
                "label": unknown[int(i)],
                "name": str(request.POST.get(f"name-{i}", "")).strip()[:200],
                "email": str(request.POST.get(f"email-{i}", "")).strip()[:254],
                "role": str(request.POST.get(f"role-{i}", "rep")),
                "team_id": str(request.POST.get(f"team-{i}", "")),
            }
        )
    back = redirect("imports:detail", slug=membership.workspace.slug, pk=run.pk)
    try:
        for person in people:
            if person["team_id"] and not person["team_id"].isdigit():
                raise UnstuckError("Choose a team from the list.")
        invitations = services.owners_invite(by=membership, people=people)
    except UnstuckError as exc:
        messages.error(request, exc.message)
        return back
    invited = len(invitations)
    if not (run.files_stored and run.via == "web"):
        messages.success(
            request,
            f"Invited {invited}. Run the same import again so their deals get them as owner.",
        )
        return back
    assign = {
        p["label"]: inv.membership.user.email for p, inv in zip(people, invitations, strict=True)
    }
    try:
        again = wizard.import_run_repeat(
            run=run,
            by=request.user,
            assign_owners=assign,
        )
    except UnstuckError as exc:
        messages.error(request, f"Invited {invited}, but the import could not run again: {exc}")
        return back
    messages.success(
        request, f"Invited {invited}. Importing again so their deals get them as owner."
    )
    return redirect("imports:detail", slug=membership.workspace.slug, pk=again.pk)


class _Echo:
    def write(self, value: str) -> str:
        return value


@workspace_view(Role.LEADER)
def import_rejected_csv(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    """The rejected rows as they were read, with the reasons, ready to fix and re-import."""
    run = _run(membership, pk)
    headers, rows = selectors.rejected_rows(run)
    writer = csvexport.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # so Excel opens the file as UTF-8
        yield writer.writerow(["file", "line", "reason", *headers])
        for file, line, reasons, row in rows:
            yield writer.writerow([file, line, reasons, *(row.get(h, "") for h in headers)])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{run.pk}-rejected.csv"'
    # Streamed: a million rejected rows must not be held in memory (the decorator's type
    # says HttpResponse).
    return response  # type: ignore[return-value]


@workspace_view(Role.LEADER)
@require_POST
def import_discard(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    run = _run(membership, pk)
    wizard.import_draft_discard(run=run)
    return redirect("imports:list", slug=membership.workspace.slug)


def _json(data: object) -> str:
    return json.dumps(data, default=str)
