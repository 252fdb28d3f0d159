"""The cache table every process shares (settings.CACHES: Django's DatabaseCache), created by
migrate so the embedded setup needs no extra step. Nothing happens when CACHES points at
Redis."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps: Any, schema_editor: Any) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_table(apps: Any, schema_editor: Any) -> None:
    from django.conf import settings

    table = schema_editor.connection.ops.quote_name(settings.CACHE_TABLE)
    schema_editor.execute(f"DROP TABLE IF EXISTS {table}")


class Migration(migrations.Migration):
    dependencies = [("core", "0005_merge_seeding_and_people")]

    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
