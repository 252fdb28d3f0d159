"""Helpers for import tests: write files of any encoding, run a plan, count what is stored."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from unstuck.core.models import Workspace
from unstuck.deals.models import Account, Deal, StageChange
from unstuck.imports.readers.base import ImportPlan
from unstuck.imports.services import Outcome, import_run_execute, import_run_start
from unstuck.pytest_env import shared_data_dir

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"


def shared_data(*parts: str) -> Path:
    """A file of the shared data sets. Tests using it are marked `shared_data` (skipped when
    the folder is absent); a folder without this file is a broken copy, so fail loudly."""
    path = shared_data_dir().joinpath(*parts)
    if not path.exists():
        raise AssertionError(f"{path} is missing from the shared data sets.")
    return path


class TempDirMixin:
    tmp: Path

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        self.tmp = Path(tempfile.mkdtemp(prefix="unstuck-imports-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)  # type: ignore[attr-defined]

    def write(self, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = self.tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_bytes(content.encode(encoding))
        else:
            path.write_bytes(content)
        return path


class SalesforceExportMixin(TempDirMixin):
    """A generated 30-deal Salesforce export owned by two personas and one unknown owner
    (with PersonasTestCase), its plan, and a run of it that must finish."""

    workspace: Workspace

    def setUp(self) -> None:
        super().setUp()
        from unstuck.imports.generator import generate_salesforce_export

        people = [getattr(self, name) for name in ("rep_a", "rep_b")]
        owners = [(u.email, u.name) for u in people] + [("x@y.z", "Nobody")]
        self.files = generate_salesforce_export(self.tmp / "sf", deals=30, owner_emails=owners)

    def plan(self) -> ImportPlan:
        from unstuck.imports.readers.crm import salesforce_plan

        return salesforce_plan(
            opportunities=self.files.opportunities,
            history=self.files.history,
            accounts=self.files.accounts,
            users=self.files.users,
        )

    def load(self) -> Any:
        from unstuck.imports.models import RunStatus

        outcome = run(self.workspace, self.plan())
        assert outcome.run.status == RunStatus.DONE, outcome.run.message
        return outcome.result

    def move_an_imported_deal_in_the_app(self) -> tuple[Deal, Any]:
        """A leader moves an open deal of the export to another open stage: (the deal, the
        stage the CRM has it in)."""
        from unstuck.deals.services import deal_move_to_stage

        deal = Deal.objects.filter(external_id__startswith="006", status="open").first()
        assert deal is not None
        crm_stage = deal.stage
        other = deal.pipeline.stages.exclude(pk=crm_stage.pk).filter(kind="open").first()
        assert other is not None
        leader = self.membership_of(self.leader)  # type: ignore[attr-defined]
        deal_move_to_stage(deal=deal, stage=other, by=leader)
        return deal, crm_stage


def run(workspace: Workspace, plan: ImportPlan, *, strict: bool = True, **kwargs: Any) -> Outcome:
    run_ = import_run_start(workspace=workspace, by=None, plan=plan, strict=strict, **kwargs)
    return import_run_execute(run=run_, plan=plan)


def stored(workspace: Workspace) -> tuple[int, int, int]:
    """(deals, stage changes, accounts) in the workspace: what an import may have written."""
    return (
        Deal.objects.filter(workspace=workspace).count(),
        StageChange.objects.filter(deal__workspace=workspace).count(),
        Account.objects.filter(workspace=workspace).count(),
    )
