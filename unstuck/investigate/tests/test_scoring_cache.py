"""Pages keep a workspace's thresholds, benchmarks and score model per process, under the
workspace's scoring version: every write of them changes it, so no process, whichever made
the change, shows a stale copy."""

from __future__ import annotations

from collections.abc import Callable

from django.urls import reverse

from unstuck.core.models import Workspace
from unstuck.deals.models import Activity
from unstuck.investigate import scoring_cache
from unstuck.investigate.benchmarks import benchmarks_recompute
from unstuck.investigate.services import assessments_recompute, stall_settings_update
from unstuck.investigate.stall_score import stall_model_train
from unstuck.investigate.tests.helpers import InvestigateCase, ago


def stored_version(workspace: Workspace) -> int:
    return Workspace.objects.values_list("scoring_version", flat=True).get(pk=workspace.pk)


class ScoringCacheTests(InvestigateCase):
    def silent_deal_page(self) -> str:
        deal = self.make_deal(owner=self.rep_a, created_at=ago(60), name="Quiet")
        Activity.objects.create(deal=deal, kind="call", occurred_at=ago(20))
        assessments_recompute(workspace=self.workspace)
        self.sign_in(self.leader)
        return reverse("deals:detail", kwargs={"slug": "acme", "pk": deal.pk})

    def test_a_threshold_saved_is_on_the_next_page_though_the_old_copy_is_still_kept(
        self,
    ) -> None:
        url = self.silent_deal_page()
        # The team's cadence (an activity every 5 days on won deals) sets the silence rule.
        self.assertContains(self.client.get(url), "went no longer than 7 days")
        before = stored_version(self.workspace)
        stall_settings_update(membership=self.membership_of(self.leader), no_activity_days=15)
        self.assertNotEqual(stored_version(self.workspace), before)
        response = self.client.get(url)
        self.assertContains(response, "this workspace counts 15 days of silence as too long")
        self.assertNotContains(response, "went no longer than")
        # The process still holds the old version's copy, untouched (as another process
        # would): the new version, not a local clean-up, is what kept the page fresh.
        with self.assertNumQueries(0):
            kept = scoring_cache._load(self.workspace.pk, before)
        self.assertIsNone(kept.stall.no_activity_days)

    def test_a_page_reads_the_scoring_once_per_version(self) -> None:
        url = self.silent_deal_page()
        self.client.get(url)
        workspace = Workspace.objects.get(pk=self.workspace.pk)  # as the next request reads it
        with self.assertNumQueries(0):
            config = scoring_cache.scoring_config(workspace)
        self.assertTrue(config.benchmarks)
        self.assertIsNotNone(config.scorer)

    def test_every_write_of_the_scoring_changes_the_version(self) -> None:
        membership = self.membership_of(self.leader)
        writes: dict[str, Callable[[], object]] = {
            "thresholds": lambda: stall_settings_update(membership=membership, slip_count=4),
            "benchmarks": lambda: benchmarks_recompute(workspace=self.workspace),
            "score model": lambda: stall_model_train(workspace=self.workspace),
        }
        for what, write in writes.items():
            with self.subTest(what):
                before = stored_version(self.workspace)
                write()
                self.assertNotEqual(stored_version(self.workspace), before)

    def test_a_workspace_starts_with_a_version_of_its_own(self) -> None:
        # Not a counter from 0: SQLite hands a rolled-back workspace's id out again, and
        # (id, version) must not name what another workspace stored.
        from unstuck.core.services import workspace_create

        others = {workspace_create(name=f"W{n}", slug=f"w{n}").scoring_version for n in range(3)}
        self.assertEqual(len(others | {self.workspace.scoring_version}), 4)
