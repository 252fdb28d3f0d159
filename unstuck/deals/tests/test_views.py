from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest import mock

from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from unstuck.core.testing import PersonasTestCase
from unstuck.deals import selectors, services
from unstuck.deals.models import Stakeholder


class PipelinePageTests(PersonasTestCase):
    def url(self, **query: object) -> str:
        base = reverse("deals:pipeline", kwargs={"slug": "acme"})
        return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")

    def names(self, **query: object) -> list[str]:
        response = self.client.get(self.url(**query))
        self.assertEqual(response.status_code, 200)
        return [d.name for d in response.context["page"].object_list]

    def test_filters_by_team_owner_stage_and_status(self) -> None:
        self.client.force_login(self.leader)
        won = self.make_deal(owner=self.rep_b, stage=self.stages[4], name="Won one")
        self.assertEqual(self.names(team=self.team_b.pk), ["Bravo renewal"])
        self.assertEqual(self.names(owner=self.rep_a2.pk), ["Alpha two"])
        self.assertEqual(self.names(stage=self.stages[1].pk), [])
        self.assertEqual(self.names(status="won"), [won.name])
        self.assertIn(won.name, self.names(status="all"))
        self.assertNotIn(won.name, self.names())

    def test_sorts_by_amount_and_close_date(self) -> None:
        self.client.force_login(self.manager_a)
        self.deal_a.amount = Decimal("900")
        self.deal_a.close_date = timezone.localdate() + timedelta(days=3)
        self.deal_a.save()
        self.deal_a2.close_date = timezone.localdate() + timedelta(days=30)
        self.deal_a2.save()
        self.assertEqual(self.names(sort="amount"), ["Alpha two", "Alpha expansion"])
        self.assertEqual(self.names(sort="close"), ["Alpha expansion", "Alpha two"])

    def test_nonsense_filters_are_ignored_with_a_note(self) -> None:
        self.client.force_login(self.leader)
        response = self.client.get(self.url(team="abc", sort="bogus"))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Ignored team")
        self.assertContains(response, "Unknown sort")

    def test_search_matches_deal_or_account_name(self) -> None:
        self.client.force_login(self.leader)
        self.assertEqual(self.names(q="bravo"), ["Bravo renewal"])
        assert self.deal_a.account is not None
        self.assertEqual(self.names(q=self.deal_a.account.name), ["Alpha expansion"])

    def test_search_matches_the_same_deals_when_very_many_accounts_match(self) -> None:
        # Past SEARCH_ACCOUNTS_MAX matching accounts the search joins instead of listing them.
        self.client.force_login(self.leader)
        assert self.deal_a.account is not None
        account = self.deal_a.account.name
        listed = self.names(q=account), self.names(q="bravo"), self.names(q="account")
        with mock.patch.object(selectors, "SEARCH_ACCOUNTS_MAX", 0):
            joined = self.names(q=account), self.names(q="bravo"), self.names(q="account")
        self.assertEqual(listed, joined)
        self.assertEqual(listed[0], ["Alpha expansion"])
        self.assertEqual(listed[1], ["Bravo renewal"])

    @override_settings(UNSTUCK_PAGE_SIZE=2)
    def test_paginates(self) -> None:
        self.client.force_login(self.leader)
        first = self.client.get(self.url(sort="name"))
        self.assertEqual(first.context["page"].paginator.num_pages, 2)
        self.assertEqual(self.names(sort="name", page=2), ["Bravo renewal"])

    @override_settings(UNSTUCK_PAGE_SIZE=2)
    def test_the_pager_counts_every_matching_deal_across_currencies(self) -> None:
        # The pager's count is the sum of the per-currency totals (one scan, not two).
        for currency in ("EUR", "EUR", "GBP"):
            self.make_deal(owner=self.rep_b, currency=currency, name=f"Bravo {currency}")
        self.make_deal(owner=self.rep_b, name="Bravo USD")
        self.client.force_login(self.leader)
        response = self.client.get(self.url(q="bravo"))
        page = response.context["page"]
        expected = 5  # Bravo renewal, two in EUR, one in GBP, one more in USD
        self.assertEqual(page.paginator.count, expected)
        self.assertEqual(page.paginator.num_pages, 3)
        self.assertEqual(sum(t.count for t in response.context["totals"]), expected)
        self.assertContains(response, f"<strong>{expected}</strong> deals")
        response = self.client.get(self.url(q="bravo", page=3))
        self.assertEqual(len(response.context["page"].object_list), 1)

    def test_htmx_requests_get_only_the_table(self) -> None:
        self.client.force_login(self.leader)
        response = self.client.get(self.url(), HTTP_HX_REQUEST="true")
        self.assertContains(response, "Alpha expansion")
        self.assertNotContains(response, "<html")

    def test_query_count_does_not_grow_with_the_number_of_rows(self) -> None:
        self.client.force_login(self.manager_a)

        def count_queries() -> int:
            with CaptureQueriesContext(connection) as ctx:
                self.assertEqual(self.client.get(self.url()).status_code, 200)
            return len(ctx.captured_queries)

        few = count_queries()
        for i in range(30):
            self.make_deal(owner=self.rep_a if i % 2 else self.rep_a2)
        self.assertEqual(count_queries(), few)


class DealPageTests(PersonasTestCase):
    def url(self, deal: object, name: str = "deals:detail", **kw: object) -> str:
        return reverse(name, kwargs={"slug": "acme", "pk": deal.pk, **kw})  # type: ignore[attr-defined]

    def test_shows_the_timeline_with_days_in_each_stage(self) -> None:
        deal = self.make_deal(owner=self.rep_a, created_at=timezone.now() - timedelta(days=40))
        services.deal_move_to_stage(
            deal=deal,
            stage=self.stages[1],
            by=self.membership_of(self.rep_a),
            at=timezone.now() - timedelta(days=12),
        )
        self.client.force_login(self.rep_a)
        response = self.client.get(self.url(deal))
        steps = response.context["timeline"]
        self.assertEqual([s.stage.name for s in steps], ["Qualification", "Discovery"])
        self.assertEqual([s.days for s in steps], [28, 12])
        self.assertContains(response, "Stage timeline")

    def test_a_backwards_move_is_marked(self) -> None:
        deal = self.make_deal(owner=self.rep_a, stage=self.stages[2])
        services.deal_move_to_stage(
            deal=deal, stage=self.stages[1], by=self.membership_of(self.rep_a)
        )
        self.client.force_login(self.rep_a)
        response = self.client.get(self.url(deal))
        self.assertTrue(response.context["timeline"][-1].went_back)
        self.assertContains(response, "moved back")

    def test_the_move_form_offers_the_next_stage_first(self) -> None:
        deal = self.make_deal(owner=self.rep_a, stage=self.stages[1])
        self.client.force_login(self.rep_a)
        response = self.client.get(self.url(deal))
        self.assertEqual(response.context["move_form"]["stage"].value(), self.stages[2].pk)
        self.assertContains(
            response, f'<option value="{self.stages[2].pk}" selected>{self.stages[2].name}</option>'
        )

    def test_read_only_viewers_get_no_edit_forms(self) -> None:
        self.client.force_login(self.rep_a)
        response = self.client.get(self.url(self.deal_a2))
        self.assertContains(response, "Read only")
        self.assertNotContains(response, "Move stage")
        self.assertNotContains(response, "+ Add stakeholder")

    def test_an_invalid_move_changes_nothing_and_says_why(self) -> None:
        self.client.force_login(self.rep_a)
        response = self.client.post(self.url(self.deal_a, "deals:move"), {"stage": 999999})
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "Select a valid choice", status_code=400)
        self.deal_a.refresh_from_db()
        self.assertEqual(self.deal_a.stage, self.stages[0])

    def test_adding_a_stakeholder_with_htmx_returns_the_updated_committee(self) -> None:
        self.client.force_login(self.rep_a)
        response = self.client.post(
            self.url(self.deal_a, "deals:stakeholder-new"),
            {
                "name": "Ana Ruiz",
                "title": "CFO",
                "buying_role": "economic_buyer",
                "influence": 3,
                "stance": "skeptic",
            },
            HTTP_HX_REQUEST="true",
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Ana Ruiz")
        self.assertContains(response, "Economic buyer")
        self.assertEqual(self.deal_a.stakeholders.get().stance, "skeptic")

    def test_an_invalid_stakeholder_goes_back_into_the_form(self) -> None:
        self.client.force_login(self.rep_a)
        response = self.client.post(
            self.url(self.deal_a, "deals:stakeholder-new"),
            {"name": "", "buying_role": "champion", "influence": 2, "stance": "neutral"},
            HTTP_HX_REQUEST="true",
        )
        self.assertEqual(response["HX-Retarget"], "#stakeholder-form")
        self.assertContains(response, "This field is required")
        self.assertFalse(Stakeholder.objects.exists())

    def test_editing_and_removing_a_stakeholder(self) -> None:
        s = services.stakeholder_add(
            membership=None, deal=self.deal_a, name="Ana", buying_role="champion"
        )
        self.client.force_login(self.manager_a)
        response = self.client.post(
            self.url(self.deal_a, "deals:stakeholder-edit", stakeholder_pk=s.pk),
            {
                "name": "Ana Ruiz",
                "buying_role": "decision_maker",
                "influence": 3,
                "stance": "supporter",
            },
        )
        self.assertEqual(response.status_code, 302)
        s.refresh_from_db()
        self.assertEqual((s.contact.name, s.buying_role), ("Ana Ruiz", "decision_maker"))
        response = self.client.post(
            self.url(self.deal_a, "deals:stakeholder-delete", stakeholder_pk=s.pk)
        )
        self.assertEqual(response.status_code, 302)
        self.assertFalse(Stakeholder.objects.filter(pk=s.pk).exists())

    def test_a_stakeholder_of_another_deal_is_not_found_through_this_one(self) -> None:
        s = services.stakeholder_add(
            membership=None, deal=self.deal_a2, name="Ana", buying_role="champion"
        )
        self.client.force_login(self.rep_a)
        url = self.url(self.deal_a, "deals:stakeholder-edit", stakeholder_pk=s.pk)
        self.assertEqual(self.client.get(url).status_code, 404)


class SignInTests(PersonasTestCase):
    def test_signs_in_with_email_and_lands_on_the_pipeline(self) -> None:
        from unstuck.core.testing import PASSWORD

        response = self.client.post(
            reverse("login"), {"username": "rep.a@acme.test", "password": PASSWORD}, follow=True
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Alpha expansion")

    def test_a_wrong_password_is_refused(self) -> None:
        response = self.client.post(
            reverse("login"), {"username": "rep.a@acme.test", "password": "nope"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "correct email")
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_sign_out_ends_the_session(self) -> None:
        self.client.force_login(self.rep_a)
        self.client.post(reverse("logout"))
        self.assertNotIn("_auth_user_id", self.client.session)
