"""What scoring a deal reads of its workspace (the stall thresholds, the stored benchmarks,
the stored stall-score model), kept in each process between requests.

Pages read these on every view although they change only when a leader saves the thresholds
or a recompute stores new benchmarks or a new model. Each of those writes gives the
workspace a new `scoring_version` in its own transaction, and a process keeps what it read
under (workspace id, version): the workspace row every signed-in request reads already
carries the version, so a page asks for the copy of the version it sees, and a copy of an
older version is simply never asked for again (whichever process made the change, nothing
has to be told).

The version is a fresh random number, not a counter: a counter bumped in a transaction that
is rolled back would be bumped to the same number again by the next change, and a process
that read the rolled-back data under that number (the writer itself, or every test in its
transaction) would keep it; a workspace created afresh (SQLite hands a rolled-back
workspace's id out again) starts with a random one too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from unstuck.core.models import Workspace
    from unstuck.investigate.models import StageBenchmark, StallSettings
    from unstuck.investigate.stall_score import StallModel

# Workspaces whose scoring a process keeps at once (a few kB each).
CACHED_WORKSPACES = 64


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    """Shared by every request of the process that asks for the same version: read only."""

    stall: StallSettings
    benchmarks: tuple[StageBenchmark, ...]
    scorer: StallModel | None


def scoring_config(workspace: Workspace) -> ScoringConfig:
    """The workspace's thresholds, benchmarks and score model as of the version its row
    carries (read at most once per process and version)."""
    return _load(workspace.pk, workspace.scoring_version)


@lru_cache(maxsize=CACHED_WORKSPACES)
def _load(workspace_id: int, version: int) -> ScoringConfig:
    from unstuck.core.models import Workspace
    from unstuck.investigate.benchmarks import stall_settings_for
    from unstuck.investigate.models import StageBenchmark
    from unstuck.investigate.stall_score import stored

    workspace = Workspace(pk=workspace_id)
    return ScoringConfig(
        stall=stall_settings_for(workspace),
        benchmarks=tuple(StageBenchmark.objects.filter(workspace_id=workspace_id)),
        scorer=stored(workspace),
    )


def scoring_changed(workspace: Workspace) -> None:
    """Give the workspace a new scoring version: called by every write of thresholds,
    benchmarks or the score model, inside its transaction (the UPDATE holds the workspace's
    row until it commits, so the new version and the new data are seen together). The
    instance passed learns the version too, so the rest of its request reads the new data."""
    from unstuck.core.models import Workspace, new_scoring_version

    version = new_scoring_version()
    Workspace.objects.filter(pk=workspace.pk).update(scoring_version=version)
    workspace.scoring_version = version
