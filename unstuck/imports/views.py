"""The import wizard for leaders: upload, map, preview, run in the background, result."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from unstuck.core import csvexport, services
from unstuck.core.decorators import workspace_view
from unstuck.core.errors import UnstuckError
from unstuck.core.http import AppRequest
from unstuck.core.models import Membership, Role, Team
from unstuck.core.submit import forbid, form_error, submit, submit_and_redirect, submit_page
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
            by=membership,
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
        check=lambda: wizard.imports_require_leader(membership),
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


class MappingForm(forms.Form):
    """The mapping step. Its fields follow the file (a column picker for each deal field,
    rows of stage dates, history columns), so `clean` reads them into the TOML-shaped mapping
    with the one reader (`wizard.mapping_from_form`); the named fields are those a refusal
    can point at."""

    tpl_name = forms.CharField(required=False, label="Name template")
    stage_dates = forms.CharField(required=False, label="Stage dates")

    def __init__(self, *args: Any, run: ImportRun, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.run = run

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.run.kind != ImportKind.CSV:  # a known format reads its columns by name
            return cleaned
        try:
            cleaned["mapping"] = wizard.mapping_from_form(self.run, self.data)
        except UnstuckError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return cleaned


class QueueForm(forms.Form):
    """The preview's two buttons: import strictly, or skipping the invalid rows."""

    mode = forms.ChoiceField(
        required=False, choices=[("strict", "Strict"), ("skip", "Skip invalid rows")]
    )


class RepeatForm(forms.Form):
    """Run a finished import again: `owner:<CRM owner>` = a member's email for each unknown
    owner given to someone, mode=skip, or on_conflict (checked by the service)."""

    mode = forms.ChoiceField(
        required=False, choices=[("", "As before"), ("strict", "Strict"), ("skip", "Skip")]
    )
    on_conflict = forms.CharField(required=False, max_length=20)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["assign"] = {
            key.removeprefix("owner:"): str(self.data[key])
            for key in self.data
            if key.startswith("owner:") and self.data[key]
        }
        return cleaned


class InviteOwnersForm(forms.Form):
    """The owners an import did not know, to invite: `invite` = their indexes in the run's
    unknown owners, with `name-<i>`, `email-<i>`, `role-<i>` and `team-<i>` as corrected."""

    def __init__(self, *args: Any, unknown: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unknown = unknown

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        people = []
        data: QueryDict = self.data  # type: ignore[assignment]
        for i in data.getlist("invite"):
            if not i.isdigit() or not 0 <= int(i) < len(self.unknown):
                continue
            team = str(self.data.get(f"team-{i}", ""))
            if team and not team.isdigit():
                raise forms.ValidationError("Choose a team from the list.")
            people.append(
                {
                    "label": self.unknown[int(i)],
                    "name": str(self.data.get(f"name-{i}", "")).strip()[:200],
                    "email": str(self.data.get(f"email-{i}", "")).strip()[:254],
                    "role": str(self.data.get(f"role-{i}", "rep")),
                    "team_id": team,
                }
            )
        cleaned["people"] = people
        return cleaned


def _refusal(form: forms.BaseForm) -> str:
    """A refused step's message on the wizard's pages, as every form says it."""
    return form_error(form).message if form.errors else ""


@workspace_view(Role.LEADER)
def import_mapping(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    run = _run(membership, pk)
    if run.status != RunStatus.DRAFT:
        return redirect("imports:detail", slug=membership.workspace.slug, pk=run.pk)
    form = MappingForm(request.POST if request.method == "POST" else None, run=run)

    def save(data: dict[str, Any]) -> ImportRun:
        if "mapping" not in data:  # a known format reads its columns by name
            return run
        return wizard.import_draft_set_mapping(by=membership, run=run, mapping=data["mapping"])

    saved = submit_page(
        request,
        form,
        save,
        done=None,
        then=reverse("imports:preview", kwargs={"slug": membership.workspace.slug, "pk": run.pk}),
        check=lambda: wizard.imports_require_leader(membership, run),
    )
    if saved is not None:
        return saved
    error = _refusal(form)
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
    form = QueueForm(request.POST if request.method == "POST" else None)
    queued = submit_page(
        request,
        form,
        lambda data: wizard.import_run_queue(
            by=membership, run=run, strict=data.get("mode") != "skip"
        ),
        done=None,
        then=reverse("imports:detail", kwargs={"slug": membership.workspace.slug, "pk": run.pk}),
        check=lambda: wizard.imports_require_leader(membership, run),
    )
    if queued is not None:
        return queued
    error = _refusal(form)
    preview = wizard.import_preview(run)
    return render(
        request,
        "imports/preview.html",
        {"run": run, "preview": preview, "error": error or preview.error},
        status=400 if error else 200,
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


def _detail(membership: Membership, run: ImportRun) -> str:
    return reverse("imports:detail", kwargs={"slug": membership.workspace.slug, "pk": run.pk})


@workspace_view(Role.LEADER)
@require_POST
def import_repeat(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    """Run a finished import again: with unknown CRM owners assigned to members, skipping
    invalid rows (mode=skip), or keeping one of the rows that share an id (on_conflict)."""
    run = _run(membership, pk)
    form = RepeatForm(request.POST)
    try:
        again = submit(
            form,
            lambda data: wizard.import_run_repeat(
                by=membership,
                run=run,
                assign_owners=data["assign"],
                strict={"skip": False, "strict": True}.get(data.get("mode") or ""),
                on_conflict=data.get("on_conflict") or None,
            ),
            check=lambda: wizard.imports_require_leader(membership, run),
        )
    except UnstuckError as exc:
        forbid(exc)
        messages.error(request, exc.message)
        return redirect(_detail(membership, run))
    return redirect(_detail(membership, again))


@workspace_view(Role.LEADER)
@require_POST
def import_invite_owners(request: AppRequest, membership: Membership, pk: int) -> HttpResponse:
    """Invite the CRM owners this import did not know (names and emails as the export gave
    them, corrected here), then run the import again so their deals get them as owner."""
    run = _run(membership, pk)
    form = InviteOwnersForm(
        request.POST, unknown=list((run.summary.get("unknown_owners") or {}).keys())
    )
    back = redirect(_detail(membership, run))
    try:
        people: list[dict[str, str]] = []

        def invite(data: dict[str, Any]) -> list[Any]:
            people.extend(data["people"])
            return services.owners_invite(by=membership, people=people)

        invitations = submit(form, invite, check=lambda: wizard.imports_require_leader(membership))
    except UnstuckError as exc:
        forbid(exc)
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
        again = submit(
            None,
            lambda _: wizard.import_run_repeat(by=membership, run=run, assign_owners=assign),
        )
    except UnstuckError as exc:
        forbid(exc)
        messages.error(request, f"Invited {invited}, but the import could not run again: {exc}")
        return back
    messages.success(
        request, f"Invited {invited}. Importing again so their deals get them as owner."
    )
    return redirect(_detail(membership, again))


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
    return submit_and_redirect(
        request,
        None,
        lambda _: wizard.import_draft_discard(by=membership, run=run),
        done="Discarded.",
        back=reverse("imports:list", kwargs={"slug": membership.workspace.slug}),
    )


def _json(data: object) -> str:
    return json.dumps(data, default=str)
