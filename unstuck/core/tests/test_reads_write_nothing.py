"""Reads do not write (issue 15, item 2): no page or API read seeds data or queues work.

A workspace's defaults (levers, the perspective-question bank, the co-creation and stall
threshold rows) are stored when it is created, so a GET never has to; and the seeding stays
idempotent when two callers race.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from unstuck.cocreate.catalogue import DEFAULT_LEVERS
from unstuck.cocreate.models import CocreateSettings, Lever
from unstuck.core.models import Claim, Workspace
from unstuck.core.services import workspace_create, workspace_defaults_seed
from unstuck.core.tests.test_partner_matrix import API, WEB, PartnerMatrixCase
from unstuck.imports.models import ImportRun, RunStatus
from unstuck.investigate.models import StallSettings
from unstuck.thinking.models import PerspectiveQuestion
from unstuck.thinking.question_bank import DEFAULT_QUESTIONS

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
# Signing in and the session are the request machinery's own rows, not the app's.
MACHINERY = ("django_session", "axes_", "auth_user")


def app_writes(queries: list[dict[str, Any]]) -> list[str]:
    found = []
    for q in queries:
        sql = q["sql"].lstrip().upper()
        if sql.startswith(WRITES) and not any(t.upper() in sql[:80] for t in MACHINERY):
            found.append(q["sql"][:160])
    return found


class WorkspaceDefaultsTests(PartnerMatrixCase):
    def test_a_new_workspace_starts_with_its_levers_questions_and_settings(self) -> None:
        ws = workspace_create(name="Initech")
        self.assertEqual(Lever.objects.filter(workspace=ws).count(), len(DEFAULT_LEVERS))
        self.assertEqual(
            PerspectiveQuestion.objects.filter(workspace=ws).count(), len(DEFAULT_QUESTIONS)
        )
        self.assertTrue(CocreateSettings.objects.filter(workspace=ws).exists())
        self.assertTrue(StallSettings.objects.filter(workspace=ws).exists())

    def test_seeding_again_keeps_what_the_leaders_made(self) -> None:
        Lever.objects.filter(workspace=self.workspace).exclude(pk=self.lever.pk).delete()
        workspace_defaults_seed(workspace=self.workspace)
        self.assertEqual(Lever.objects.filter(workspace=self.workspace).count(), 1)

    def forget_the_defaults(self) -> None:
        """A workspace as one from before the defaults were stored at creation."""
        ws = self.workspace
        for model in (Lever, PerspectiveQuestion, CocreateSettings, StallSettings):
            model.objects.filter(workspace=ws).delete()

    def assert_reads_write_nothing(self, user: Any) -> None:
        me: Any = self  # the tables' lambdas read the same fixtures
        self.client.force_login(user)
        self.client.get(reverse("ping", kwargs={"slug": "acme"}))  # the session settles
        for name, (method, kwargs, _) in WEB.items():
            if method != "get":
                continue
            with self.subTest(page=name), CaptureQueriesContext(connection) as ctx:
                self.client.get(reverse(name, kwargs={"slug": "acme", **kwargs(me)}))
            self.assertEqual(app_writes(ctx.captured_queries), [], name)
        for operation, (values, _, _) in API.items():
            method, path = operation.split(" ", 1)
            if method != "GET":
                continue
            with self.subTest(operation=operation), CaptureQueriesContext(connection) as ctx:
                self.client.get(path.format(slug="acme", **values(me)))
            self.assertEqual(app_writes(ctx.captured_queries), [], operation)

    def test_no_page_or_api_read_writes_for_a_leader(self) -> None:
        self.forget_the_defaults()
        self.assert_reads_write_nothing(self.leader)
        self.assertFalse(Lever.objects.filter(workspace=self.workspace).exists())
        self.assertFalse(StallSettings.objects.filter(workspace=self.workspace).exists())

    def test_no_page_or_api_read_writes_for_a_manager(self) -> None:
        self.forget_the_defaults()
        self.assert_reads_write_nothing(self.manager_b)

    def test_a_never_scored_queue_queues_nothing_on_a_visit(self) -> None:
        self.client.force_login(self.manager_a)
        response = self.client.get(reverse("investigate:queue", kwargs={"slug": "acme"}))
        self.assertEqual(response.status_code, 200)
        self.assertFalse(Claim.objects.exists())

    def test_a_dead_import_shows_interrupted_but_a_read_stores_nothing(self) -> None:
        run = ImportRun.objects.create(
            workspace=self.workspace,
            kind="csv",
            status=RunStatus.RUNNING,
            started_at=timezone.now() - timedelta(days=1),
        )
        run.created_at = timezone.now() - timedelta(days=1)
        run.save(update_fields=["created_at"])
        self.client.force_login(self.leader)
        for url in (
            reverse("imports:list", kwargs={"slug": "acme"}),
            reverse("imports:detail", kwargs={"slug": "acme", "pk": run.pk}),
            f"/api/v1/workspaces/acme/imports/{run.pk}",
        ):
            with self.subTest(url=url):
                response = self.client.get(url)
                self.assertContains(response, "nterrupted")
        run.refresh_from_db()
        self.assertEqual(run.status, RunStatus.RUNNING)


@pytest.mark.django_db(transaction=True)
class ConcurrentSeedTests(TransactionTestCase):
    """Two first callers at once (two requests, a request and a migration) add each default
    once and neither fails. On PostgreSQL only: SQLite serialises writers, so threads there
    never overlap inside the seeding."""

    def test_two_seeders_at_once_add_each_default_once(self) -> None:
        if connection.vendor == "sqlite":
            self.skipTest("SQLite runs one writer at a time: the race cannot happen there")
        ws = Workspace.objects.create(name="Race", slug="race")
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def seed() -> None:
            from django.db import connection as own

            try:
                barrier.wait(timeout=10)
                workspace_defaults_seed(workspace=ws)
            except BaseException as exc:
                errors.append(exc)
            finally:
                own.close()

        threads = [threading.Thread(target=seed) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(errors, [])
        self.assertEqual(Lever.objects.filter(workspace=ws).count(), len(DEFAULT_LEVERS))
        self.assertEqual(
            PerspectiveQuestion.objects.filter(workspace=ws).count(), len(DEFAULT_QUESTIONS)
        )
        self.assertEqual(CocreateSettings.objects.filter(workspace=ws).count(), 1)
        self.assertEqual(StallSettings.objects.filter(workspace=ws).count(), 1)
