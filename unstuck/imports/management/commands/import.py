"""`unstuck import salesforce|hubspot|csv --workspace W …`: bring a CRM export in."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from unstuck.core.errors import UnstuckError
from unstuck.core.models import Workspace
from unstuck.imports.loader import PHASE_READING
from unstuck.imports.mapping import Mapping
from unstuck.imports.models import RunStatus
from unstuck.imports.parsing import FileProblem
from unstuck.imports.readers.base import ImportPlan
from unstuck.imports.readers.crm import csv_plan, describe, hubspot_plan, salesforce_plan
from unstuck.imports.services import (
    import_run_execute,
    import_run_start,
    import_runs_mark_interrupted,
)

EXIT_REJECTED = 2  # some rows were rejected (with --skip-invalid) or the import was refused
EXIT_FAILED = 1


def _path(value: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise CommandError(f"{value}: no such file.")
    return path


class Command(BaseCommand):
    help = (
        "Import a CRM export into a workspace. Strict by default: any invalid row and nothing "
        "is written. Exit code 0: all rows imported; 2: rows were rejected; 1: the import failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(
            dest="format", required=True, metavar="{salesforce,hubspot,csv}"
        )

        def common(p: Any) -> None:
            p.add_argument("--workspace", required=True, metavar="SLUG")
            p.add_argument(
                "--skip-invalid",
                action="store_true",
                help="Load the valid rows and report every rejected one (exit code 2).",
            )
            p.add_argument(
                "--assign-owner",
                action="append",
                default=[],
                metavar="CRM_OWNER=EMAIL",
                help="Give an unknown CRM owner's deals to a member (repeatable).",
            )
            p.add_argument(
                "--report", type=Path, metavar="FILE.csv", help="Write every problem to a CSV."
            )
            p.add_argument("--no-progress", action="store_true", help="No progress bar.")

        sf = sub.add_parser("salesforce", help="Salesforce Data Export / Data Loader / report.")
        common(sf)
        sf.add_argument("--opportunities", required=True, type=_path, metavar="Opportunity.csv")
        sf.add_argument("--history", type=_path, metavar="OpportunityHistory.csv")
        sf.add_argument("--accounts", type=_path, metavar="Account.csv")
        sf.add_argument("--users", type=_path, metavar="User.csv")
        sf.add_argument("--contacts", type=_path, metavar="Contact.csv")
        sf.add_argument("--contact-roles", type=_path, metavar="OpportunityContactRole.csv")
        sf.add_argument("--activities", type=_path, metavar="Task.csv")
        hs = sub.add_parser("hubspot", help="HubSpot deal export.")
        common(hs)
        hs.add_argument("--deals", required=True, type=_path, metavar="deals.csv")
        mapped = sub.add_parser("csv", help="Any CRM's CSV, read through a TOML mapping.")
        common(mapped)
        mapped.add_argument("--mapping", required=True, type=_path, metavar="mapping.toml")
        mapped.add_argument("deals", type=_path, metavar="deals.csv")
        mapped.add_argument("--history", type=_path, metavar="history.csv")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace '{options['workspace']}'.")
        for stale in import_runs_mark_interrupted(workspace=workspace):
            self.stderr.write(f"Note: import {stale.pk} was interrupted earlier. {stale.message}")
        assign: dict[str, str] = {}
        for item in options["assign_owner"]:
            owner, sep, email = item.rpartition("=")
            if not sep or not owner or "@" not in email:
                raise CommandError(f"--assign-owner wants CRM_OWNER=EMAIL, not {item!r}.")
            assign[owner] = email
        try:
            plan = self._plan(options)
        except (FileProblem, UnstuckError) as exc:
            raise CommandError(str(exc)) from None
        for f in plan.files:
            self.stdout.write(describe(f), self.style.HTTP_INFO)
        self.stdout.write(f"Format: {plan.format_label}")
        run = import_run_start(
            workspace=workspace,
            by=None,
            plan=plan,
            strict=not options["skip_invalid"],
            assign_owners=assign,
            via="cli",
        )
        bar = tqdm(
            total=run.rows_total_estimate or None,
            unit=" rows",
            unit_scale=True,
            disable=options["no_progress"] or None,
            file=sys.stderr,
            desc="Importing",
        )
        last = [0]

        def progress(n: int) -> None:
            if n < last[0]:
                # PostgreSQL handed the files back to the row-by-row reader: it starts over.
                bar.reset()
                last[0] = 0
            bar.update(n - last[0])
            last[0] = n

        def phase(name: str) -> None:
            # Once the files are read, the bar is full and says which step a large import is
            # in (the row count was an estimate from the files' first lines).
            if name != PHASE_READING and bar.total != bar.n:
                bar.total = bar.n
            bar.set_description_str(name)

        outcome = import_run_execute(run=run, plan=plan, progress=progress, phase=phase)
        bar.close()
        self._print(outcome, options)
        if options["report"]:
            self._write_report(options["report"], outcome)
        if run.status == RunStatus.FAILED:
            sys.exit(EXIT_FAILED)
        if outcome.rows_rejected:
            sys.exit(EXIT_REJECTED)

    def _plan(self, options: dict[str, Any]) -> ImportPlan:
        fmt = options["format"]
        if fmt == "salesforce":
            return salesforce_plan(
                opportunities=options["opportunities"],
                history=options["history"],
                accounts=options["accounts"],
                users=options["users"],
                contacts=options["contacts"],
                contact_roles=options["contact_roles"],
                activities=options["activities"],
            )
        if fmt == "hubspot":
            return hubspot_plan(deals=options["deals"])
        mapping = Mapping.from_toml(options["mapping"])
        return csv_plan(mapping=mapping, deals=options["deals"], history=options["history"])

    def _print(self, outcome: Any, options: dict[str, Any]) -> None:
        run, result, report = outcome.run, outcome.result, outcome.report
        out = self.stdout
        errors, warnings = report.errors, report.warnings
        if warnings:
            out.write(self.style.WARNING(f"{len(warnings)} warning(s):"))
            for p in warnings:
                out.write(f"  {p}")
        if errors:
            out.write(self.style.ERROR(f"{len(errors)} problem(s):"))
            for p in errors:
                out.write(f"  {p}")
        if result.unknown_owners:
            owners = ", ".join(f"{k} ({v})" for k, v in result.unknown_owners.items())
            out.write(
                self.style.WARNING(
                    f"Owners not found among the workspace's members (deals imported without "
                    f"an owner): {owners}. Add them with `unstuck user add`, or map them with "
                    "--assign-owner 'NAME=EMAIL', and import again."
                )
            )
        for stage in result.stages_created:
            out.write(f"Stage created: {stage}")
        # After the problems, which can run to thousands of lines, so the notes stay in view.
        for note in run.summary.get("notes", []):
            out.write(f"Note: {note}")
        if run.status == RunStatus.DONE:
            out.write(
                self.style.SUCCESS(
                    f"Imported {run.rows_read} rows: {run.created} deals created, "
                    f"{run.updated} updated, {run.unchanged} unchanged, {run.rejected} rejected, "
                    f"{run.merged_duplicates} duplicate rows merged; "
                    f"{run.history_added} history rows added; "
                    f"{result.accounts_created} accounts created, "
                    f"{result.accounts_updated} updated"
                    + "".join(f"; {v} {k} added" for k, v in result.related.items())
                    + f". (import {run.pk})"
                )
            )
        else:
            out.write(self.style.ERROR(f"Nothing was written. {run.message}"))

    def _write_report(self, path: Path, outcome: Any) -> None:
        from unstuck.core import csvexport

        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csvexport.writer(fh)
            writer.writerow(["severity", "file", "line", "column", "value", "reason"])
            for p in outcome.report.problems:
                writer.writerow([p.severity, p.file, p.line, p.column, p.value, p.reason])
        self.stdout.write(f"Problems written to {path}")
