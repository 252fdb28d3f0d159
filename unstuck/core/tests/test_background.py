"""No background failure is silent (issue 14, item 2): a failed task leaves its reason where
the people who depend on it look (the import page, the queue, the leader's workspace page),
with a retry that only leaders and managers may use."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from unstuck.core.models import TaskRun, TaskStatus
from unstuck.core.testing import PersonasTestCase
from unstuck.imports.models import ImportRun, RunStatus
from unstuck.imports.tasks import recompute_after_import

WINDOW = "window shape cannot be larger than input array shape"
FIT = "unstuck.investigate.services.assessments_recompute"


class BackgroundFailureTests(PersonasTestCase):
    def fail_scoring(self) -> TaskRun:
        with mock.patch(FIT, side_effect=ValueError(WINDOW)), self.assertRaises(ValueError):
            recompute_after_import.call(self.workspace.pk)
        return TaskRun.objects.get()

    def test_a_failing_task_is_recorded_with_its_reason_and_still_raises(self) -> None:
        run = self.fail_scoring()
        self.assertEqual(run.status, TaskStatus.FAILED)
        self.assertEqual(run.kind, "scoring")
        self.assertEqual(run.workspace_id, self.workspace.pk)
        self.assertEqual(run.error, f"ValueError: {WINDOW}")
        self.assertEqual(run.args, {"args": [self.workspace.pk], "kwargs": {}})
        self.assertIsNotNone(run.finished_at)

    def test_a_task_that_succeeds_is_recorded_done(self) -> None:
        recompute_after_import.call(self.workspace.pk)
        self.assertEqual(TaskRun.objects.get().status, TaskStatus.DONE)

    def test_the_queue_shows_the_failure_with_its_reason_and_a_retry(self) -> None:
        run = self.fail_scoring()
        self.client.force_login(self.manager_a)
        page = self.client.get(reverse("investigate:queue", kwargs={"slug": "acme"}))
        self.assertContains(page, "Scoring the pipeline after an import failed")
        self.assertContains(page, WINDOW)
        self.assertContains(page, reverse("task-retry", kwargs={"slug": "acme", "pk": run.pk}))

    def test_the_leaders_workspace_page_shows_the_failure_and_the_recent_runs(self) -> None:
        self.fail_scoring()
        self.client.force_login(self.leader)
        page = self.client.get(reverse("workspace-settings", kwargs={"slug": "acme"}))
        self.assertContains(page, "Background work")
        self.assertContains(page, WINDOW, count=2)  # the notice and the table row
        self.assertContains(page, ">Retry</button>")

    def test_a_rep_sees_no_failure_notice_on_the_workspace_page(self) -> None:
        self.fail_scoring()
        self.client.force_login(self.rep_a)
        page = self.client.get(reverse("workspace-settings", kwargs={"slug": "acme"}))
        self.assertNotContains(page, WINDOW)
        self.assertNotContains(page, "Background work")

    def test_the_import_page_does_not_say_imported_as_if_all_were_well(self) -> None:
        finished = timezone.now() - timedelta(minutes=5)
        imp = ImportRun.objects.create(
            workspace=self.workspace, kind="csv", status=RunStatus.DONE, created=2260,
            finished_at=finished, started_at=finished - timedelta(seconds=30),
        )  # fmt: skip
        url = reverse("imports:detail", kwargs={"slug": "acme", "pk": imp.pk})
        self.client.force_login(self.leader)
        self.assertContains(self.client.get(url), "Scoring the pipeline with what this import")
        self.fail_scoring()
        page = self.client.get(url)
        self.assertContains(page, "Imported · scoring failed")
        self.assertContains(page, WINDOW)
        self.assertContains(page, ">Retry</button>")

    def test_a_later_success_of_the_same_kind_settles_the_failure(self) -> None:
        self.fail_scoring()
        recompute_after_import.call(self.workspace.pk)
        self.client.force_login(self.manager_a)
        page = self.client.get(reverse("investigate:queue", kwargs={"slug": "acme"}))
        self.assertNotContains(page, WINDOW)

    def test_insights_failures_are_recorded_in_the_same_place(self) -> None:
        from unstuck.core.background import TaskFailed
        from unstuck.insights.models import InsightsRun
        from unstuck.insights.tasks import recompute_insights

        insights = InsightsRun.objects.create(workspace=self.workspace)
        with (
            mock.patch(
                "unstuck.insights.timesplit.time_spent_recompute",
                side_effect=RuntimeError("disk full"),
            ),
            self.assertRaises(TaskFailed),
        ):
            recompute_insights.call(insights.pk)
        run = TaskRun.objects.get()
        self.assertEqual((run.kind, run.workspace_id), ("insights", self.workspace.pk))
        self.assertEqual(run.error, "RuntimeError: disk full")


class RetryTests(PersonasTestCase):
    failed_run: TaskRun

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.failed_run = TaskRun.objects.create(
            workspace=cls.workspace,
            kind="scoring",
            label="Scoring the pipeline after an import",
            task_path="unstuck.imports.tasks.recompute_after_import",
            args={"args": [cls.workspace.pk], "kwargs": {}},
            status=TaskStatus.FAILED,
            error=f"ValueError: {WINDOW}",
        )

    def retry(self, user: object, pk: int | None = None, slug: str = "acme") -> object:
        self.client.force_login(user)  # type: ignore[arg-type]
        url = reverse("task-retry", kwargs={"slug": slug, "pk": pk or self.failed_run.pk})
        with self.captureOnCommitCallbacks(execute=True):
            return self.client.post(url, {"next": "/w/acme/queue/"})

    def queued(self) -> int:
        return DBTaskResult.objects.filter(task_path__endswith="recompute_after_import").count()

    def test_a_leader_retries_and_the_task_is_enqueued_again_with_its_arguments(self) -> None:
        response = self.retry(self.leader)
        self.assertRedirects(response, "/w/acme/queue/", fetch_redirect_response=False)  # type: ignore[arg-type]
        self.failed_run.refresh_from_db()
        self.assertIsNotNone(self.failed_run.retried_at)
        self.assertEqual(self.failed_run.retried_by, self.leader)
        task = DBTaskResult.objects.get(task_path__endswith="recompute_after_import")
        self.assertEqual(task.args_kwargs["args"], [self.workspace.pk])

    def test_a_manager_may_retry(self) -> None:
        self.retry(self.manager_b)
        self.assertEqual(self.queued(), 1)

    def test_reps_and_partners_are_refused_403(self) -> None:
        for user in (self.rep_a, self.partner):
            with self.subTest(user=user):
                self.assertEqual(self.retry(user).status_code, 403)  # type: ignore[attr-defined]
        self.assertEqual(self.queued(), 0)

    def test_an_outsider_gets_404_and_another_workspaces_run_is_not_found(self) -> None:
        self.assertEqual(self.retry(self.outsider).status_code, 404)  # type: ignore[attr-defined]
        self.assertEqual(self.retry(self.outsider, slug="globex").status_code, 404)  # type: ignore[attr-defined]
        self.assertEqual(self.queued(), 0)

    def test_a_run_is_retried_once(self) -> None:
        self.retry(self.leader)
        self.retry(self.leader)
        self.assertEqual(self.queued(), 1)

    def test_after_a_retry_the_failure_no_longer_shows(self) -> None:
        self.retry(self.leader)
        page = self.client.get(reverse("investigate:queue", kwargs={"slug": "acme"}))
        self.assertNotContains(page, WINDOW)

    def test_next_must_be_on_this_site(self) -> None:
        self.client.force_login(self.leader)
        url = reverse("task-retry", kwargs={"slug": "acme", "pk": self.failed_run.pk})
        response = self.client.post(url, {"next": "https://evil.example/"})
        self.assertEqual(response["Location"], "/w/acme/settings/")


class KeepTests(PersonasTestCase):
    def test_a_success_prunes_runs_of_its_kind_older_than_a_month(self) -> None:
        old = TaskRun.objects.create(
            workspace=self.workspace, kind="scoring", label="old", task_path="x",
            started_at=timezone.now() - timedelta(days=31), status=TaskStatus.FAILED,
        )  # fmt: skip
        other = TaskRun.objects.create(
            workspace=self.workspace, kind="insights", label="old", task_path="x",
            started_at=timezone.now() - timedelta(days=31),
        )  # fmt: skip
        recompute_after_import.call(self.workspace.pk)
        self.assertFalse(TaskRun.objects.filter(pk=old.pk).exists())
        self.assertTrue(TaskRun.objects.filter(pk=other.pk).exists())
