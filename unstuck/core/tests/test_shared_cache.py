"""The cache is shared by every process (issue 15.9): a draft's remembered bias notes, set
aside in one web process, reach the process that handles the save."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.util import find_spec

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends import locmem
from django.db import connection

from unstuck.core.testing import PersonasTestCase
from unstuck.thinking import services
from unstuck.thinking.models import BiasFlag, FlagStatus

DENVER = "Flopped in Denver, it will flop in Dallas."


def another_process() -> None:
    """What a second gunicorn worker has: a cache connection of its own, and no memory of
    what this process kept (a process-local cache would be empty there)."""
    for store in ("_caches", "_expire_info", "_locks"):  # locmem's per-process dicts
        getattr(locmem, store).clear()
    caches._connections.default = caches.create_connection("default")  # type: ignore[attr-defined]


class SharedCacheTests(PersonasTestCase):
    def test_the_default_cache_is_a_table_in_the_apps_database(self) -> None:
        self.assertEqual(
            settings.CACHES["default"]["BACKEND"], "django.core.cache.backends.db.DatabaseCache"
        )
        self.assertIn(settings.CACHE_TABLE, connection.introspection.table_names())

    def test_a_note_set_aside_in_one_process_is_kept_by_the_save_in_another(self) -> None:
        services.text_preview(
            workspace=self.workspace, author=self.rep_a, text=DENVER, draft_key="two-workers"
        )
        another_process()
        services.draft_flag_dismiss(
            workspace=self.workspace,
            author=self.rep_a,
            draft_key="two-workers",
            bias="exportability",
            reason="Same buyer, same budget",
        )
        another_process()
        services.deal_note_add(
            membership=self.membership_of(self.rep_a),
            deal=self.deal_a,
            summary=DENVER,
            draft_key="two-workers",
        )
        flag = BiasFlag.objects.get()
        self.assertEqual(
            (flag.status, flag.dismiss_reason), (FlagStatus.DISMISSED, "Same buyer, same budget")
        )

    def test_redis_is_used_when_its_url_is_set_and_refused_clearly_without_the_package(
        self,
    ) -> None:
        code = (
            "import importlib.util, unstuck.settings as s; "
            "print(s.CACHES['default']['BACKEND'], s.CACHES['default']['LOCATION'])"
        )
        env = {**os.environ, "UNSTUCK_REDIS_URL": "redis://127.0.0.1:6379/3"}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
        )
        if find_spec("redis") is None:
            self.assertNotEqual(done.returncode, 0)
            self.assertIn("UNSTUCK_REDIS_URL is set but the redis package", done.stderr)
        else:
            self.assertEqual(
                done.stdout.split(),
                ["django.core.cache.backends.redis.RedisCache", "redis://127.0.0.1:6379/3"],
            )
