"""No lost update (issue 15, item 1): concurrent writers in threads, released together by a
barrier, on one deal and one stakeholder. Before the row locks, two stage moves both read the
same stage (the history forked) and each save wrote every column (the amount or close date the
other set was lost); two stakeholder edits lost a field the same way.

PostgreSQL only: the SQLite test database is in memory with a shared cache, where a second
writer fails at once with "table is locked" instead of waiting, so threads cannot race there.
On a SQLite file Unstuck's IMMEDIATE transactions take the write lock at BEGIN, which
serialises the same writers whole.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from functools import partial

from django.db import connection
from django.test import TransactionTestCase
from django.utils import timezone

from unstuck.core.errors import Conflict
from unstuck.core.models import Membership, Role, Workspace
from unstuck.core.testing import make_pipeline, make_user
from unstuck.deals import services
from unstuck.deals.models import Deal, StageChange, Stakeholder

ROUNDS = 6
move = services.deal_move_to_stage
update = services.stakeholder_update


def race(*calls: Callable[[], object]) -> list[BaseException]:
    """Run the calls in threads released at the same instant; return what they raised."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            call()
        except BaseException as exc:  # the test reports it
            errors.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


class ConcurrentWritersTests(TransactionTestCase):
    def setUp(self) -> None:
        if connection.vendor == "sqlite":
            self.skipTest("the in-memory SQLite test database cannot run writers concurrently")
        self.workspace = Workspace.objects.create(name="Race", slug="race")
        self.pipeline, self.stages = make_pipeline(self.workspace)
        self.rep = make_user("rep@race.test")
        self.rep_m = Membership.objects.create(
            workspace=self.workspace, user=self.rep, role=Role.REP
        )
        self.manager = make_user("manager@race.test")
        self.manager_m = Membership.objects.create(
            workspace=self.workspace, user=self.manager, role=Role.LEADER
        )

    def new_deal(self, n: int) -> Deal:
        entered = timezone.now() - timedelta(days=10)
        deal = Deal.objects.create(
            workspace=self.workspace,
            name=f"Deal {n}",
            external_id=f"R-{n}",
            pipeline=self.pipeline,
            stage=self.stages[0],
            owner=self.rep,
            amount=Decimal("1000"),
            close_date=date(2030, 1, 1),
            created_at=entered,
            stage_entered_at=entered,
        )
        StageChange.objects.create(
            deal=deal, from_stage=None, to_stage=self.stages[0], changed_at=entered
        )
        return deal

    def test_two_stage_moves_at_once_keep_one_history_and_both_fields(self) -> None:
        for n in range(ROUNDS):
            deal = self.new_deal(n)
            # Each writer holds its own copy, read before the other moved it.
            a, b = Deal.objects.get(pk=deal.pk), Deal.objects.get(pk=deal.pk)
            errors = race(
                partial(move, deal=a, stage=self.stages[1], by=self.rep_m, amount=Decimal("52000")),
                partial(
                    move,
                    deal=b,
                    stage=self.stages[2],
                    by=self.manager_m,
                    close_date=date(2031, 6, 30),
                ),
            )
            self.assertEqual(errors, [], f"round {n}")
            deal.refresh_from_db()
            self.assertEqual(deal.amount, Decimal("52000"), f"round {n}: the amount was lost")
            self.assertEqual(deal.close_date, date(2031, 6, 30), f"round {n}: close date lost")
            history = list(deal.stage_changes.order_by("pk"))
            self.assertEqual(len(history), 3)
            # One chain: every move starts where the one before it ended (no fork).
            for before, after in itertools.pairwise(history):
                self.assertEqual(after.from_stage_id, before.to_stage_id, f"round {n}: forked")
            self.assertEqual(deal.stage_id, history[-1].to_stage_id)

    def test_two_moves_to_the_same_stage_record_it_once(self) -> None:
        for n in range(ROUNDS):
            deal = self.new_deal(n)
            a, b = Deal.objects.get(pk=deal.pk), Deal.objects.get(pk=deal.pk)
            errors = race(
                partial(move, deal=a, stage=self.stages[1], by=self.rep_m),
                partial(move, deal=b, stage=self.stages[1], by=self.manager_m),
            )
            self.assertEqual([type(e) for e in errors], [Conflict], f"round {n}")
            self.assertEqual(deal.stage_changes.count(), 2)

    def test_two_stakeholder_edits_at_once_keep_both_fields(self) -> None:
        deal = self.new_deal(0)
        for n in range(ROUNDS):
            s = services.stakeholder_add(
                membership=self.rep_m, deal=deal, name=f"Ana {n}", buying_role="champion"
            )
            a = Stakeholder.objects.select_related("contact", "deal").get(pk=s.pk)
            b = Stakeholder.objects.select_related("contact", "deal").get(pk=s.pk)
            c = Stakeholder.objects.select_related("contact", "deal").get(pk=s.pk)
            errors = race(
                partial(update, membership=self.rep_m, stakeholder=a, notes="Signs off."),
                partial(update, membership=self.manager_m, stakeholder=b, stance="supporter"),
                partial(update, membership=self.manager_m, stakeholder=c, title="CFO"),
            )
            self.assertEqual(errors, [], f"round {n}")
            s.refresh_from_db()
            s.contact.refresh_from_db()
            self.assertEqual(
                (s.notes, s.stance, s.contact.title),
                ("Signs off.", "supporter", "CFO"),
                f"round {n}: a field was lost",
            )

    def test_a_form_saved_over_a_newer_edit_is_refused_with_what_changed(self) -> None:
        deal = self.new_deal(0)
        s = services.stakeholder_add(
            membership=self.rep_m, deal=deal, name="Ana", buying_role="champion"
        )
        shown = services.stakeholder_version(s)
        stale = Stakeholder.objects.select_related("contact", "deal").get(pk=s.pk)
        services.stakeholder_update(membership=self.manager_m, stakeholder=s, stance="opponent")
        with self.assertRaisesMessage(Conflict, "stance"):
            services.stakeholder_update(
                membership=self.rep_m,
                stakeholder=stale,
                version=shown,
                stance="unknown",
                notes="Mine",
            )
        s.refresh_from_db()
        self.assertEqual((s.stance, s.notes), ("opponent", ""))
