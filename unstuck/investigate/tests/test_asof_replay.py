"""As-of means as-of (issue 13.3): `diagnose --as-of D` on today's data gives the very scores
a replay gives on an import of the export as it stood at D — benchmarks, learnt model and
signals all built from what was known then."""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from datetime import UTC, date, datetime
from io import StringIO
from pathlib import Path

from django.core.management import call_command
from django.test import TestCase

from unstuck.imports.generator import ExportFiles, generate_salesforce_export

CUT = date(2025, 1, 31)
CUT_AT = datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC)


def _when(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=UTC)


def truncate(files: ExportFiles, folder: Path) -> ExportFiles:
    """The export as Salesforce would have written it at the end of CUT: the opportunities
    created by then with their fields as they stood, and the history rows written by then."""
    folder.mkdir(parents=True, exist_ok=True)
    with files.history.open(encoding="utf-8") as fh:
        history = [r for r in csv.DictReader(fh) if _when(r["CreatedDate"]) <= CUT_AT]
    last: dict[str, dict[str, str]] = {}
    for row in history:  # written in time order per opportunity
        last[row["OpportunityId"]] = row
    with files.history.open(encoding="utf-8") as fh:
        history_headers = next(csv.reader(fh))
    out = ExportFiles(
        opportunities=folder / "Opportunity.csv",
        history=folder / "OpportunityHistory.csv",
        accounts=files.accounts,
        users=files.users,
        deals=0,
        history_rows=len(history),
    )
    with out.history.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, history_headers, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(history)
    with files.opportunities.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        headers = list(reader.fieldnames or [])
        opportunities = [r for r in reader if _when(r["CreatedDate"]) <= CUT_AT]
    with out.opportunities.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, headers, lineterminator="\r\n")
        writer.writeheader()
        for opp in opportunities:
            then = last.get(opp["Id"])
            if then is not None:
                stage = then["StageName"]
                opp.update(
                    StageName=stage,
                    Amount=then["Amount"],
                    CloseDate=then["CloseDate"],
                    Probability=then["Probability"],
                    IsClosed=str(stage.startswith("Closed")).lower(),
                    IsWon=str(stage == "Closed Won").lower(),
                    LastModifiedDate=then["CreatedDate"],
                    LastActivityDate=then["CreatedDate"][:10],
                )
            writer.writerow(opp)
            out.deals += 1
    return out


def load(slug: str, files: ExportFiles) -> None:
    quiet = StringIO()
    call_command("workspace", "create", "--name", slug, "--slug", slug, stdout=quiet)
    call_command(
        "import", "salesforce", "--workspace", slug,
        "--opportunities", str(files.opportunities), "--history", str(files.history),
        "--accounts", str(files.accounts), "--users", str(files.users), stdout=quiet,
    )  # fmt: skip


def diagnose(slug: str, *extra: str) -> dict[str, dict[str, object]]:
    out = StringIO()
    call_command("diagnose", "--workspace", slug, "--format", "json", *extra, stdout=out)
    return {d["external_id"]: d for d in json.loads(out.getvalue())["deals"]}


class AsOfReplayTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        folder = Path(tempfile.mkdtemp(prefix="unstuck-replay-"))
        cls.addClassCleanup(shutil.rmtree, folder, ignore_errors=True)
        full = generate_salesforce_export(
            folder / "full", deals=700, seed=11, today=date(2025, 6, 30)
        )
        load("full", full)
        load("cut", truncate(full, folder / "cut"))

    def test_as_of_scoring_equals_a_replay_of_the_export_truncated_then(self) -> None:
        from unstuck.core.models import Workspace
        from unstuck.investigate import stall_score

        as_of = diagnose("full", "--as-of", CUT.isoformat())
        replay = diagnose("cut", "--as-of", CUT.isoformat())
        self.assertGreater(len(as_of), 50)
        self.assertEqual(set(as_of), set(replay))
        differ = [
            key
            for key in as_of
            if (as_of[key]["stall_score"], as_of[key]["signals"])
            != (replay[key]["stall_score"], replay[key]["signals"])
        ]
        self.assertEqual(differ, [], f"{len(differ)} of {len(as_of)} deals score differently")
        # And the score was the learnt one (or a baseline chosen on the back-test), not the
        # fixed weights: the history at the cut is thick enough to learn from.
        model = stall_score.stall_model_fit(Workspace.objects.get(slug="cut"), known_at=CUT_AT)
        self.assertNotEqual(model.method, "rules", model.reason)

    def test_as_of_does_not_use_todays_benchmarks(self) -> None:
        """The stored benchmarks (from every closed deal, including those closed after the
        date) must not leak into an as-of answer."""
        from unstuck.core.models import Workspace
        from unstuck.investigate.benchmarks import benchmarks_recompute

        before = diagnose("full", "--as-of", CUT.isoformat())
        benchmarks_recompute(workspace=Workspace.objects.get(slug="full"))
        after = diagnose("full", "--as-of", CUT.isoformat())
        self.assertEqual(
            {k: v["stall_score"] for k, v in before.items()},
            {k: v["stall_score"] for k, v in after.items()},
        )
