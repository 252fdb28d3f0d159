from __future__ import annotations

from django.test import Client
from django.urls import reverse

from unstuck.core import services
from unstuck.core.errors import NotAllowed
from unstuck.core.testing import PersonasTestCase


class WorkspaceSettingsTests(PersonasTestCase):
    url = reverse("workspace-settings", kwargs={"slug": "acme"})

    def test_a_leader_turns_off_teammate_visibility(self) -> None:
        self.client.force_login(self.leader)
        response = self.client.post(self.url, {"name": "Acme Corp", "default_currency": "eur"})
        self.assertEqual(response.status_code, 302)
        self.workspace.refresh_from_db()
        self.assertEqual(
            (
                self.workspace.name,
                self.workspace.reps_see_team_deals,
                self.workspace.default_currency,
            ),
            ("Acme Corp", False, "EUR"),
        )
        self.client.force_login(self.rep_a)
        detail = reverse("deals:detail", kwargs={"slug": "acme", "pk": self.deal_a2.pk})
        self.assertEqual(self.client.get(detail).status_code, 404)

    def test_others_read_the_people_list_but_cannot_change_settings(self) -> None:
        # Partners neither read nor change it (test_partner_matrix.py).
        for persona in [self.manager_a, self.rep_a]:
            self.client.force_login(persona)
            with self.subTest(persona=persona.email):
                page = self.client.get(self.url)
                self.assertContains(page, "rep.a@acme.test")
                self.assertNotContains(page, "Save settings")
                response = self.client.post(self.url, {"name": "Hacked", "default_currency": "USD"})
                self.assertEqual(response.status_code, 403)
        self.workspace.refresh_from_db()
        self.assertEqual(self.workspace.name, "Acme")

    def test_a_bad_currency_is_refused_and_nothing_changes(self) -> None:
        self.client.force_login(self.leader)
        response = self.client.post(
            self.url, {"name": "Acme", "default_currency": "dollars", "reps_see_team_deals": "on"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "three-letter currency code", status_code=400)
        self.workspace.refresh_from_db()
        self.assertEqual(self.workspace.default_currency, "USD")

    def test_the_service_refuses_anyone_but_a_leader_of_the_workspace(self) -> None:
        for user in (self.manager_a, self.rep_a, self.partner):
            with self.subTest(user=user.email), self.assertRaises(NotAllowed):
                services.workspace_update(
                    by=self.membership_of(user), workspace=self.workspace, name="Mine"
                )
        self.workspace.refresh_from_db()
        self.assertEqual(self.workspace.name, "Acme")
        services.workspace_update(
            by=self.membership_of(self.leader), workspace=self.workspace, name="Acme Corp"
        )
        self.workspace.refresh_from_db()
        self.assertEqual(self.workspace.name, "Acme Corp")

    def test_outsiders_do_not_find_the_workspace(self) -> None:
        self.client.force_login(self.outsider)
        self.assertEqual(self.client.get(self.url).status_code, 404)


class PartnerInviteTests(PersonasTestCase):
    def invite_url(self, deal_pk: int) -> str:
        return reverse("deals:partner-invite", kwargs={"slug": "acme", "pk": deal_pk})

    def test_a_manager_invites_a_partner_who_then_sees_that_deal_only(self) -> None:
        self.client.force_login(self.manager_a)
        response = self.client.post(self.invite_url(self.deal_a.pk), {"user": self.partner.pk})
        self.assertEqual(response.status_code, 302)
        self.client.force_login(self.partner)
        pipeline = self.client.get(reverse("deals:pipeline", kwargs={"slug": "acme"}))
        names = {d.name for d in pipeline.context["page"].object_list}
        self.assertEqual(names, {"Alpha expansion", "Bravo renewal"})

    def test_reps_and_partners_cannot_invite(self) -> None:
        for persona, deal in [(self.rep_a, self.deal_a), (self.partner, self.deal_b)]:
            self.client.force_login(persona)
            response = self.client.post(self.invite_url(deal.pk), {"user": self.partner.pk})
            self.assertEqual(response.status_code, 403)
        self.assertFalse(self.deal_a.partner_invites.exists())

    def test_only_partners_can_be_invited_to_single_deals(self) -> None:
        self.client.force_login(self.manager_a)
        self.client.post(self.invite_url(self.deal_a.pk), {"user": self.rep_b.pk})
        self.assertFalse(self.deal_a.partner_invites.exists())

    def test_removing_an_invite_hides_the_deal_again(self) -> None:
        self.client.force_login(self.manager_b)
        url = reverse(
            "deals:partner-remove",
            kwargs={"slug": "acme", "pk": self.deal_b.pk, "user_pk": self.partner.pk},
        )
        self.assertEqual(self.client.post(url).status_code, 302)
        self.client.force_login(self.partner)
        detail = reverse("deals:detail", kwargs={"slug": "acme", "pk": self.deal_b.pk})
        self.assertEqual(self.client.get(detail).status_code, 404)


class SessionApiCsrfTests(PersonasTestCase):
    def test_a_signed_in_browser_needs_the_csrf_token_to_change_anything(self) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.rep_a)
        url = f"/api/v1/workspaces/acme/deals/{self.deal_a.pk}/stage"
        response = client.post(url, {"stage": "Discovery"}, content_type="application/json")
        self.assertEqual(response.status_code, 403)
        self.deal_a.refresh_from_db()
        self.assertEqual(self.deal_a.stage, self.stages[0])
        # Reads need no token.
        self.assertEqual(
            client.get(f"/api/v1/workspaces/acme/deals/{self.deal_a.pk}").status_code, 200
        )
