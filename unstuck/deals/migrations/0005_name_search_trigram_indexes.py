"""Trigram indexes for the pipeline's search on PostgreSQL (pg_trgm, a trusted extension the
database owner may create): `name ILIKE '%…%'` on deals and accounts is then found through
an index instead of scanning the workspace. Django's icontains compares
UPPER(name::text), so that is the indexed expression. SQLite has no equivalent and scans."""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEXES = [
    ("deal_name_trgm", "deals_deal"),
    ("account_name_trgm", "deals_account"),
]


def create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            'USING gin ((UPPER("name"::text)) gin_trgm_ops)'
        )


def drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("deals", "0004_import_fingerprints")]

    operations = [migrations.RunPython(create, drop)]
