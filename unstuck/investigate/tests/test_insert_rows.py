"""sql.insert_rows (COPY on PostgreSQL, executemany on SQLite) stores what Django's
bulk_create stores: the recompute writes its assessments with it (issue 16.4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import models, transaction

from unstuck.investigate.models import DealAssessment
from unstuck.investigate.services import ASSESSMENT_FIELDS
from unstuck.investigate.sql import insert_rows
from unstuck.investigate.tests.helpers import InvestigateCase, ago


def _attname(name: str) -> str:
    field = DealAssessment._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field.attname


# The same columns by the names values_list and the model's constructor take (deal_id, …).
FIELDS = [_attname(name) for name in ASSESSMENT_FIELDS]


class InsertRowsTests(InvestigateCase):
    def values(self, deal_id: int) -> tuple[Any, ...]:
        return (
            deal_id,
            self.workspace.pk,
            47,
            [
                {
                    "code": "no_activity",
                    "label": "No activity",
                    "severity": "bad",
                    "text": 'No activity for 40 days — "quiet", 10 % of\nwon deals; café\t\\ é',
                    "weight": 1.37,
                },
                {
                    "code": "slipping",
                    "label": "Slipping",
                    "severity": "warn",
                    "text": "x",
                    "weight": None,
                },
            ],
            0.1 + 0.2,  # not a short decimal: must come back to the last bit
            1 / 3,
            1234567.89,
            [{"factor": "Stage", "effect": -0.123, "text": "N/A"}],
            datetime(2026, 12, 1, 6, 0, 0, 123456, tzinfo=UTC),
            "0123456789abcdef0123456789abcdef",
        )

    def stored(self, deal_id: int) -> tuple[Any, ...]:
        row: tuple[Any, ...] = (
            DealAssessment.objects.filter(deal_id=deal_id).values_list(*FIELDS).get()
        )
        return row

    def test_the_same_row_as_bulk_create(self) -> None:
        one = self.make_deal(owner=self.rep_a, created_at=ago(30))
        two = self.make_deal(owner=self.rep_a, created_at=ago(30))
        a, b = self.values(one.pk), self.values(two.pk)
        with transaction.atomic():
            written = insert_rows(DealAssessment, ASSESSMENT_FIELDS, [a])
        DealAssessment.objects.bulk_create([DealAssessment(**dict(zip(FIELDS, b, strict=True)))])
        self.assertEqual(written, 1)
        mine, django = self.stored(one.pk), self.stored(two.pk)
        self.assertEqual(mine[1:], django[1:])
        self.assertEqual(mine[1:], a[1:])
        self.assertEqual(mine[4].hex(), (0.1 + 0.2).hex())

    def test_nothing_to_write(self) -> None:
        with transaction.atomic():
            self.assertEqual(insert_rows(DealAssessment, ASSESSMENT_FIELDS, []), 0)
        self.assertFalse(DealAssessment.objects.exists())


class FetchTimestampsTests(InvestigateCase):
    """fetch_dicts reads timestamps with psycopg's compiled loader on PostgreSQL: the same
    datetimes, tzinfo included, as Django's own reading of them (sql._fast_timestamps)."""

    def test_the_same_datetimes_as_the_orm(self) -> None:
        from django.db import connection

        from unstuck.deals.models import Deal
        from unstuck.investigate.sql import fetch_dicts

        self.make_deal(owner=self.rep_a, created_at=datetime(2026, 3, 1, 23, 59, 59, 999999, UTC))
        orm = list(Deal.objects.order_by("pk").values_list("pk", "created_at"))
        table = connection.ops.quote_name(Deal._meta.db_table)
        raw = fetch_dicts(f"SELECT id, created_at FROM {table} ORDER BY id", [])
        got = [(r["id"], r["created_at"]) for r in raw]
        if connection.vendor == "postgresql":
            self.assertEqual(got, orm)
            self.assertEqual({type(at.tzinfo) for _, at in got}, {type(at.tzinfo) for _, at in orm})
            self.assertEqual({at.utcoffset() for _, at in got}, {timedelta(0)})
        self.assertIn(
            datetime(2026, 3, 1, 23, 59, 59, 999999),
            [
                at.replace(tzinfo=None) if not isinstance(at, str) else datetime.fromisoformat(at)
                for _, at in got
            ],
        )
