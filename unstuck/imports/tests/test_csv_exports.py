"""Every CSV Unstuck writes neutralises spreadsheet formulas from imported cells: the rejected
rows download, `unstuck import … --report` and `unstuck diagnose --format csv` (issue 15,
item 4). A cell such as `=HYPERLINK(…)` comes back as `'=HYPERLINK(…)`, shown as text."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from django.core.management import call_command
from django.test import SimpleTestCase

from unstuck.imports.services import import_run_execute_stored
from unstuck.imports.tests.test_wizard import WizardBase

PAYLOADS = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "@SUM(1+1)"]


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def _assert_neutralised(rows: list[list[str]]) -> None:
    cells = [cell for row in rows for cell in row]
    for payload in PAYLOADS:
        assert ("'" + payload) in cells, f"{payload!r} not neutralised in {rows}"
        assert payload not in cells, f"{payload!r} written as a formula in {rows}"


class FormulaCellsTests(WizardBase):
    def _deals_with_formulas(self) -> bytes:
        # Each formula sits in a deal name, on a row rejected for its amount.
        lines = ["Deal ID,Title,Stage,Value"]
        lines += [
            f'F{i},"{p.replace(chr(34), chr(34) * 2)}",Open,lots' for i, p in enumerate(PAYLOADS)
        ]
        lines.append("OK1,Fine deal,Open,100")
        return ("\n".join(lines) + "\n").encode()

    def test_the_rejected_rows_download_neutralises_formulas(self) -> None:
        run = self.upload("crm.csv", self._deals_with_formulas())
        form = {
            "col_external_id": "Deal ID",
            "col_name": "Title",
            "col_stage": "Stage",
            "col_amount": "Value",
            "source": "mycrm",
            "on_conflict": "reject",
        }
        self.client.post(self.url("mapping", pk=run.pk), form)
        self.client.post(self.url("preview", pk=run.pk), {"mode": "skip"})
        import_run_execute_stored(run_id=run.pk)
        response = self.client.get(self.url("rejected-csv", pk=run.pk))
        body = b"".join(response.streaming_content).decode("utf-8")  # type: ignore[attr-defined]
        _assert_neutralised(_cells(body))

    def test_the_import_report_file_neutralises_formulas(self) -> None:
        mapping = self.write(
            "m.toml",
            '[columns]\nexternal_id = "Deal ID"\nname = "Title"\nstage = "Stage"\n'
            'amount = "Value"\n',
        )
        # The report lists each problem's value: the formulas are the amounts here.
        deals = self.write(
            "d.csv",
            "Deal ID,Title,Stage,Value\n"
            + "".join(
                f'F{i},Deal {i},Open,"{p.replace(chr(34), chr(34) * 2)}"\n'
                for i, p in enumerate(PAYLOADS)
            ),
        )
        report = self.tmp / "problems.csv"
        try:
            call_command(
                "import",
                "csv",
                "--workspace",
                "acme",
                "--mapping",
                str(mapping),
                str(deals),
                "--report",
                str(report),
                "--no-progress",
                stdout=io.StringIO(),
                stderr=io.StringIO(),
            )
        except SystemExit as exc:
            self.assertEqual(exc.code, 2)
        _assert_neutralised(_cells(report.read_text()))

    def test_diagnose_csv_neutralises_formulas(self) -> None:
        for i, payload in enumerate(PAYLOADS):
            self.make_deal(owner=self.rep_a, name=payload, external_id=f"X-{i}")
        out = io.StringIO()
        call_command("diagnose", "--workspace", "acme", "--format", "csv", stdout=out)
        _assert_neutralised(_cells(out.getvalue()))


class OneWriterTests(SimpleTestCase):
    def test_no_module_writes_csv_but_through_csvexport(self) -> None:
        package = Path(__file__).resolve().parents[2]
        # The generator writes synthetic CRM exports for the importer to read back, so it
        # writes them as a CRM would; everything people open goes through csvexport.
        allowed = {"core/csvexport.py", "imports/generator.py"}
        offenders = [
            str(path.relative_to(package))
            for path in package.rglob("*.py")
            if "tests" not in path.parts
            and str(path.relative_to(package)) not in allowed
            and re.search(r"csv\.(writer|DictWriter)\(", path.read_text())
        ]
        self.assertEqual(offenders, [])
