"""A corpus of broken files: every one gives a clear error and writes nothing."""

# The corpus reads best as one case per line.
# ruff: noqa: E501

from __future__ import annotations

import gzip
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unstuck.core.errors import UnstuckError
from unstuck.core.testing import PersonasTestCase
from unstuck.imports.mapping import Mapping
from unstuck.imports.models import ImportRun, RunStatus
from unstuck.imports.parsing import FileProblem
from unstuck.imports.readers.base import ImportPlan
from unstuck.imports.readers.crm import csv_plan, hubspot_plan, salesforce_plan
from unstuck.imports.tests.helpers import TempDirMixin, run, stored

MAPPING: dict[str, Any] = {
    "source": "corpus",
    "columns": {
        "external_id": "id",
        "name": "name",
        "stage": "stage",
        "amount": "amount",
        "close_date": "close",
        "probability": "prob",
        "currency": "cur",
    },
    "stages": {"order": ["Open", "Won", "Lost"], "won": ["Won"], "lost": ["Lost"]},
    "history": {"deal": "deal", "stage": "stage", "entered_at": "at"},
}
HEAD = "id,name,stage,amount,close,prob,cur\n"
GOOD = "1,Alpha,Open,100,2025-01-31,10,USD\n"
HIST_HEAD = "deal,stage,at\n"
SF_HEAD = "Id,Name,StageName,Amount,CloseDate,IsClosed,IsWon\n"


@dataclass
class Case:
    name: str
    deals: bytes
    expect: str  # a phrase the error message must contain
    history: bytes | None = None
    kind: str = "csv"
    mapping: dict[str, Any] | None = None


def _b(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def corpus() -> list[Case]:
    rng = random.Random(5)
    junk = bytes(rng.randrange(256) for _ in range(4000))
    valid_start = (HEAD + GOOD * 12_000).encode()  # past the sniffed sample
    return [
        Case("empty file", b"", "empty"),
        Case("only blank lines", b"\n\r\n  \n\n", "empty"),
        Case("header only", _b(HEAD), "no data rows"),
        Case("binary junk", junk, "binary"),
        Case("png image", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + junk, "binary"),
        Case("gzipped csv", gzip.compress(_b(HEAD + GOOD)), "binary"),
        Case("xlsx workbook", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + junk, "binary"),
        Case("missing stage column", _b("id,name,amount,close,prob,cur\n1,A,5,,,\n"), "stage"),
        Case("html page", _b("<!DOCTYPE html>\n<html><body>Sign in</body></html>\n"), "missing"),
        Case("json file", _b('[{"id": 1, "stage": "Open"}]\n'), "missing"),
        Case("bad date", _b(HEAD + GOOD + "2,B,Open,5,tomorrow,10,USD\n"), "not a date"),
        Case("impossible date", _b(HEAD + "2,B,Open,5,2025-02-30,10,USD\n"), "not a date"),
        Case("bad amount", _b(HEAD + "2,B,Open,12abc,,10,USD\n"), "not an amount"),
        Case("negative amount", _b(HEAD + "2,B,Open,-300,,10,USD\n"), "negative"),
        Case("row too short", _b(HEAD + GOOD + "2,B,Open\n"), "fields but the header has"),
        Case("row too long", _b(HEAD + "2,B,Open,5,,10,USD,extra,more\n"), "fields but"),
        Case("unknown stage", _b(HEAD + GOOD + "2,B,Negotiating,5,,10,USD\n"), "unknown stage"),
        Case("empty id", _b(HEAD + GOOD + ",B,Open,5,,10,USD\n"), "id is empty"),
        Case("id too long", _b(HEAD + f"{'x' * 101},B,Open,5,,10,USD\n"), "longer than 100"),
        Case("empty stage", _b(HEAD + "2,B,,5,,10,USD\n"), "stage is empty"),
        Case("probability 150", _b(HEAD + "2,B,Open,5,,150,USD\n"), "percentage"),
        Case("currency word", _b(HEAD + "2,B,Open,5,,10,Euro\n"), "currency code"),
        Case(
            "conflicting duplicate ids",
            _b(HEAD + GOOD + "1,Alpha,Won,900,2025-01-31,100,USD\n"),
            "different values",
        ),
        Case("history for unknown deal", _b(HEAD + GOOD), "no deal", _b(HIST_HEAD + "9,Open,2025-01-01\n")),
        Case("history bad date", _b(HEAD + GOOD), "not a date", _b(HIST_HEAD + "1,Open,32/13/2025\n")),
        Case("history missing column", _b(HEAD + GOOD), "missing required column(s): at", _b("deal,stage\n1,Open\n")),
        Case("history without date", _b(HEAD + GOOD), "date is empty", _b(HIST_HEAD + "1,Open,\n")),
        Case(
            "a single line of tens of megabytes",
            _b(HEAD + GOOD + '2,"' + "x" * 24_000_000 + '",Open,5,,10,USD\n'),
            "longer than 4 MB",
        ),
        Case("one huge line and no header", b"x" * 12_000_000, "not a CSV"),
        Case("invalid utf-8 after the sample", valid_start + b"3,Caf\xe9\xff\xfe,Open,1,,1,USD\n", "not valid UTF-8"),
        Case("nul byte deep in the file", valid_start + b"3,A\x00B,Open,1,,1,USD\n", "NUL"),
        Case("unterminated quote", _b(HEAD + GOOD + '2,"Beta,Open,5,,10,USD\n3,C,Open,1,,1,USD\n'), "fields but"),
        Case(
            "cp1252 with a bad amount",
            _b(HEAD + "2,Société Générale,Open,€ douze,,10,EUR\n", "cp1252"),
            "not an amount",
        ),
        Case(
            "utf-16 with a bad date",
            _b(HEAD + "2,B,Open,5,31.31.2025,10,USD\n", "utf-16"),
            "not a date",
        ),
        Case("semicolons with a ragged row", _b("id;name;stage;amount;close;prob;cur\n1;A;Open;1;;;\n2;B\n"), "fields but"),
        Case("not a salesforce export", _b(HEAD + GOOD), "not a Salesforce", kind="salesforce"),
        Case("salesforce bad IsWon", _b(SF_HEAD + "006A,A,Closed Won,5,2025-01-01,true,maybe\n"), "true or false", kind="salesforce"),
        Case("hubspot without record id", _b("Deal Name,Deal Stage\nA,Closed Won\n"), "Record ID", kind="hubspot"),
        Case("mapping with unknown field", _b(HEAD + GOOD), "unknown field", mapping={**MAPPING, "columns": {**MAPPING["columns"], "colour": "x"}}),
        Case("mapping without stage", _b(HEAD + GOOD), "must name the column", mapping={"columns": {"external_id": "id"}}),
    ]  # fmt: skip


class MalformedFileTests(TempDirMixin, PersonasTestCase):
    def attempt(self, case: Case) -> tuple[str, list[str]]:
        """Run the case the way the CLI does; return (status, every message it produced)."""
        folder = self.tmp / case.name.replace(" ", "-")
        folder.mkdir()
        deals = folder / "deals.csv"
        deals.write_bytes(case.deals)
        history: Path | None = None
        if case.history is not None:
            history = folder / "history.csv"
            history.write_bytes(case.history)
        build: Callable[[], ImportPlan]
        if case.kind == "salesforce":
            build = lambda: salesforce_plan(opportunities=deals)  # noqa: E731
        elif case.kind == "hubspot":
            build = lambda: hubspot_plan(deals=deals)  # noqa: E731
        else:
            build = lambda: csv_plan(  # noqa: E731
                mapping=Mapping.from_dict(case.mapping or MAPPING), deals=deals, history=history
            )
        try:
            plan = build()
        except (FileProblem, UnstuckError) as exc:
            return "refused", [str(exc)]
        outcome = run(self.workspace, plan)
        return outcome.run.status, [outcome.run.message, *(str(p) for p in outcome.report.errors)]

    def test_the_corpus_has_at_least_thirty_files(self) -> None:
        self.assertGreaterEqual(len(corpus()), 30)

    def test_every_malformed_file_gives_a_clear_error_and_writes_nothing(self) -> None:
        before = stored(self.workspace)
        for case in corpus():
            with self.subTest(case.name):
                status, messages = self.attempt(case)
                self.assertIn(status, {"refused", RunStatus.FAILED, RunStatus.REJECTED})
                text = "\n".join(messages)
                self.assertIn(case.expect, text)
                self.assertEqual(stored(self.workspace), before, "something was written")
        self.assertFalse(ImportRun.objects.filter(status=RunStatus.DONE).exists())

    def test_missing_columns_are_named_with_the_headers_found(self) -> None:
        status, messages = self.attempt(
            Case("x", _b("id,name,amount,close,prob,cur\n1,A,5,,,\n"), "")
        )
        self.assertEqual(status, RunStatus.FAILED)
        self.assertEqual(
            messages[0],
            "deals.csv: missing required column(s): stage. "
            "Headers found: id, name, amount, close, prob, cur.",
        )

    def test_strict_mode_reports_every_problem_row_column_value_and_reason(self) -> None:
        status, messages = self.attempt(
            Case("x", _b(HEAD + "1,A,Open,abc,2025-13-01,10,USD\n" + GOOD.replace("1,", "2,", 1) + "3,C,Nope,1,,1,USD\n"), "")
        )  # fmt: skip
        self.assertEqual(status, RunStatus.REJECTED)
        self.assertIn("2 rows are invalid, so nothing was written", messages[0])
        self.assertEqual(
            messages[1:],
            [
                "deals.csv, line 2, column 'amount': 'abc': not an amount",
                "deals.csv, line 2, column 'close': '2025-13-01': not a date",
                "deals.csv, line 4, column 'stage': 'Nope': unknown stage; the mapping knows "
                "Open, Won, Lost",
            ],
        )
