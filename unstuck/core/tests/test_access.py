"""The access matrix: who sees and changes which deal, in the web and in the API."""

from __future__ import annotations

from django.urls import reverse

from unstuck.core.access import deals_visible_to, membership_for
from unstuck.core.models import Membership, User
from unstuck.core.services import api_token_create
from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Deal, StageChange

# persona -> {deal attribute: (read status, write status)}; 404 = unseen, 403 = read only.
MATRIX: dict[str, dict[str, tuple[int, int]]] = {
    "leader": {"deal_a": (200, 302), "deal_a2": (200, 302), "deal_b": (200, 302)},
    "manager_a": {"deal_a": (200, 302), "deal_a2": (200, 302), "deal_b": (404, 404)},
    "manager_b": {"deal_a": (404, 404), "deal_a2": (404, 404), "deal_b": (200, 302)},
    "rep_a": {"deal_a": (200, 302), "deal_a2": (200, 403), "deal_b": (404, 404)},
    "rep_b": {"deal_a": (404, 404), "deal_a2": (404, 404), "deal_b": (200, 302)},
    "partner": {"deal_a": (404, 404), "deal_a2": (404, 404), "deal_b": (200, 403)},
    "outsider": {"deal_a": (404, 404), "deal_a2": (404, 404), "deal_b": (404, 404)},
}
API_WRITE = {302: 200, 403: 403, 404: 404}


class WebAccessMatrixTests(PersonasTestCase):
    def test_every_persona_reads_exactly_the_deals_the_rules_allow(self) -> None:
        for persona, expectations in MATRIX.items():
            self.client.force_login(getattr(self, persona))
            for deal_name, (read, _) in expectations.items():
                deal: Deal = getattr(self, deal_name)
                with self.subTest(persona=persona, deal=deal_name):
                    url = reverse("deals:detail", kwargs={"slug": "acme", "pk": deal.pk})
                    self.assertEqual(self.client.get(url).status_code, read)

    def test_every_persona_moves_stages_only_where_the_rules_allow(self) -> None:
        for persona, expectations in MATRIX.items():
            self.client.force_login(getattr(self, persona))
            for deal_name, (_, write) in expectations.items():
                deal: Deal = getattr(self, deal_name)
                deal.refresh_from_db()
                target = self.stages[1] if deal.stage_id == self.stages[0].pk else self.stages[0]
                before = StageChange.objects.filter(deal=deal).count()
                with self.subTest(persona=persona, deal=deal_name):
                    url = reverse("deals:move", kwargs={"slug": "acme", "pk": deal.pk})
                    response = self.client.post(url, {"stage": target.pk})
                    self.assertEqual(response.status_code, write)
                    after = StageChange.objects.filter(deal=deal).count()
                    self.assertEqual(after, before + (1 if write == 302 else 0))

    def test_it_hides_the_workspace_from_non_members(self) -> None:
        self.client.force_login(self.outsider)
        response = self.client.get(reverse("deals:pipeline", kwargs={"slug": "acme"}))
        self.assertEqual(response.status_code, 404)

    def test_it_hides_another_workspaces_deal_even_with_its_id(self) -> None:
        self.client.force_login(self.leader)
        url = reverse("deals:detail", kwargs={"slug": "acme", "pk": self.other_deal.pk})
        self.assertEqual(self.client.get(url).status_code, 404)
        url = reverse("deals:detail", kwargs={"slug": "globex", "pk": self.other_deal.pk})
        self.assertEqual(self.client.get(url).status_code, 404)

    def test_it_sends_anonymous_visitors_to_sign_in(self) -> None:
        url = reverse("deals:detail", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        response = self.client.get(url)
        self.assertEqual(response.status_code, 302)
        self.assertIn(reverse("login"), response["Location"])

    def test_pipeline_lists_only_visible_deals(self) -> None:
        expected = {
            "leader": {"Alpha expansion", "Alpha two", "Bravo renewal"},
            "manager_a": {"Alpha expansion", "Alpha two"},
            "rep_a": {"Alpha expansion", "Alpha two"},
            "rep_b": {"Bravo renewal"},
            "partner": {"Bravo renewal"},
        }
        for persona, names in expected.items():
            self.client.force_login(getattr(self, persona))
            with self.subTest(persona=persona):
                response = self.client.get(reverse("deals:pipeline", kwargs={"slug": "acme"}))
                shown = {d.name for d in response.context["page"].object_list}
                self.assertEqual(shown, names)


class TeammateSettingTests(PersonasTestCase):
    def test_reps_lose_teammates_deals_when_the_workspace_setting_is_off(self) -> None:
        self.workspace.reps_see_team_deals = False
        self.workspace.save()
        membership = membership_for(self.rep_a, "acme")
        self.assertEqual(set(deals_visible_to(membership)), {self.deal_a})
        self.client.force_login(self.rep_a)
        url = reverse("deals:detail", kwargs={"slug": "acme", "pk": self.deal_a2.pk})
        self.assertEqual(self.client.get(url).status_code, 404)

    def test_a_manager_always_sees_their_own_deals_outside_their_teams(self) -> None:
        own = self.make_deal(owner=self.manager_b, team=None, name="Manager B's own")
        membership = Membership.objects.get(user=self.manager_b)
        self.assertIn(own, deals_visible_to(membership))
        self.assertNotIn(own, deals_visible_to(Membership.objects.get(user=self.manager_a)))


class ApiAccessMatrixTests(PersonasTestCase):
    secrets: dict[str, str]

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.secrets = {}
        for persona in MATRIX:
            user: User = getattr(cls, persona)
            cls.secrets[persona] = api_token_create(user=user, name="tests")[1]

    def auth(self, persona: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets[persona]}"}

    def test_every_persona_reads_exactly_the_deals_the_rules_allow(self) -> None:
        for persona, expectations in MATRIX.items():
            for deal_name, (read, _) in expectations.items():
                deal: Deal = getattr(self, deal_name)
                with self.subTest(persona=persona, deal=deal_name):
                    response = self.client.get(
                        f"/api/v1/workspaces/acme/deals/{deal.pk}", headers=self.auth(persona)
                    )
                    self.assertEqual(response.status_code, read)

    def test_every_persona_moves_stages_only_where_the_rules_allow(self) -> None:
        for persona, expectations in MATRIX.items():
            for deal_name, (_, write) in expectations.items():
                deal: Deal = getattr(self, deal_name)
                deal.refresh_from_db()
                target = self.stages[1] if deal.stage_id == self.stages[0].pk else self.stages[0]
                with self.subTest(persona=persona, deal=deal_name):
                    response = self.client.post(
                        f"/api/v1/workspaces/acme/deals/{deal.pk}/stage",
                        {"stage": target.pk},
                        content_type="application/json",
                        headers=self.auth(persona),
                    )
                    self.assertEqual(response.status_code, API_WRITE[write])
                    deal.refresh_from_db()
                    self.assertEqual(deal.stage_id == target.pk, write == 302)

    def test_the_list_holds_only_visible_deals(self) -> None:
        response = self.client.get("/api/v1/workspaces/acme/deals", headers=self.auth("rep_b"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual([d["name"] for d in response.json()["results"]], ["Bravo renewal"])
        response = self.client.get("/api/v1/workspaces/acme/deals", headers=self.auth("outsider"))
        self.assertEqual(response.status_code, 404)

    def test_it_refuses_requests_without_credentials(self) -> None:
        response = self.client.get("/api/v1/workspaces/acme/deals")
        self.assertEqual(response.status_code, 401)
        response = self.client.get(
            "/api/v1/workspaces/acme/deals",
            headers={"Authorization": "Bearer unst_not-a-real-token"},
        )
        self.assertEqual(response.status_code, 401)

    def test_stakeholder_endpoints_follow_the_same_rules(self) -> None:
        url = f"/api/v1/workspaces/acme/deals/{self.deal_a2.pk}/stakeholders"
        payload = {"name": "Ana Ruiz", "buying_role": "champion"}
        # rep_a reads a teammate's deal but may not change its committee
        response = self.client.post(
            url, payload, content_type="application/json", headers=self.auth("rep_a")
        )
        self.assertEqual(response.status_code, 403)
        response = self.client.post(
            url, payload, content_type="application/json", headers=self.auth("rep_b")
        )
        self.assertEqual(response.status_code, 404)
        self.assertFalse(self.deal_a2.stakeholders.exists())
        response = self.client.post(
            url, payload, content_type="application/json", headers=self.auth("manager_a")
        )
        self.assertEqual(response.status_code, 201)


class ScopeSqlTests(PersonasTestCase):
    """DealScope.sql, the rule written out for hand-written statements (the queue's page),
    selects exactly the deals q() selects, for every persona, reading and writing."""

    def test_the_written_condition_selects_the_same_deals_as_the_orm_filter(self) -> None:
        from django.db import connection

        from unstuck.core.access import deal_scope

        # A deal of nobody's team and no owner, and a manager's own deal outside his teams.
        self.make_deal(owner=None, team=None, name="Unowned")
        self.make_deal(owner=self.manager_b, team=None, name="Manager B's own")
        personas = ["leader", "manager_a", "manager_b", "rep_a", "rep_b", "partner", "outsider"]
        for persona in personas:
            user = getattr(self, persona)
            membership = Membership.objects.filter(user=user, workspace=self.workspace).first()
            if membership is None:
                continue  # the outsider: no rule in this workspace at all
            for write in (False, True):
                scope = deal_scope(membership, write=write)
                condition = scope.sql("d")
                where = "" if condition is None else f" AND {condition[0]}"
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT d.id FROM deals_deal d WHERE d.workspace_id = %s{where}",
                        [self.workspace.pk, *(condition[1] if condition else [])],
                    )
                    written = {row[0] for row in cursor.fetchall()}
                orm = Deal.objects.filter(workspace=self.workspace)
                if scope.q() is not None:
                    orm = orm.filter(scope.q())
                with self.subTest(persona=persona, write=write):
                    self.assertEqual(written, set(orm.values_list("pk", flat=True)))
                    self.assertTrue(written or (persona == "partner" and write))


class ManagedTeamsTests(PersonasTestCase):
    def test_a_managers_teams_are_read_once_per_request_however_many_checks(self) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from unstuck.core.access import can_edit_deal, can_see_deal, managed_team_ids

        membership = self.membership_of(self.manager_a)
        with CaptureQueriesContext(connection) as queries:
            visible = set(deals_visible_to(membership).values_list("pk", flat=True))
            self.assertTrue(can_edit_deal(membership, self.deal_a))
            self.assertFalse(can_see_deal(membership, self.deal_b))
            self.assertEqual(managed_team_ids(membership), [self.team_a.pk])
        self.assertEqual(visible, {self.deal_a.pk, self.deal_a2.pk})
        team_reads = [q for q in queries.captured_queries if "core_team" in q["sql"]]
        self.assertEqual(len(team_reads), 1)
        # The next request reads the membership, and so its teams, afresh.
        self.team_b.manager = self.manager_a
        self.team_b.save()
        self.assertTrue(can_see_deal(self.membership_of(self.manager_a), self.deal_b))


class MembershipReadTests(PersonasTestCase):
    def test_the_membership_is_read_in_one_query_that_does_not_read_the_user_again(self) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        user = User.objects.get(pk=self.rep_a.pk)
        with CaptureQueriesContext(connection) as queries:
            membership = membership_for(user, "acme")
            # the workspace and the team come with it
            self.assertEqual((membership.workspace.slug, membership.team), ("acme", self.team_a))
            self.assertEqual(membership.user.email, self.rep_a.email)
        self.assertEqual(len(queries), 1)
        self.assertNotIn('"core_user"', queries.captured_queries[0]["sql"])
        self.assertIs(membership.user, user)

    def test_a_deactivated_membership_answers_404_as_before(self) -> None:
        from django.http import Http404
        from django.utils import timezone

        Membership.objects.filter(user=self.rep_a).update(deactivated_at=timezone.now())
        with self.assertRaises(Http404):
            membership_for(self.rep_a, "acme")
