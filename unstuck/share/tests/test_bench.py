"""The cross-functional bench: who is on it, asks that invite to one deal only, answers and
ratings, "who helped on deals like this" (plain counts, only from deals the viewer sees),
function involvement per team, and the pages' and API's refusals."""

from __future__ import annotations

from datetime import date, timedelta

from django.urls import reverse
from django.utils import timezone

from unstuck.core.access import deals_visible_to
from unstuck.core.errors import Conflict, NotAllowed, UnstuckError
from unstuck.core.models import Membership, Role, User
from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Deal, DealPartner, StageKind
from unstuck.investigate.models import Obstacle
from unstuck.share import bench_selectors as selectors
from unstuck.share import bench_services as services
from unstuck.share.models import AskStatus, BenchAsk, BenchPerson

SOON = date.today() + timedelta(days=5)


def m(user: User) -> Membership:
    return Membership.objects.select_related("workspace", "team", "user").get(user=user)


class BenchCase(PersonasTestCase):
    legal: BenchPerson

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.legal = services.bench_person_add(
            membership=m(cls.leader),
            email="lena@acme.test",
            name="Lena Legal",
            function="legal",
            helps_with="DPAs, redlines, procurement terms",
        )

    def ask(
        self, by: User, deal: Deal | None = None, person: BenchPerson | None = None
    ) -> BenchAsk:
        return services.bench_ask(
            membership=m(by),
            deal=deal or self.deal_a,
            person=person or self.legal,
            what="Can we accept their liability cap?",
            due_date=SOON,
        )


class BenchServiceTests(BenchCase):
    def test_a_new_bench_person_joins_as_a_partner(self) -> None:
        membership = Membership.objects.get(user=self.legal.user)
        self.assertEqual(membership.role, Role.PARTNER)
        self.assertEqual(membership.title, "Legal")
        with self.assertRaises(Conflict):
            services.bench_person_add(
                membership=m(self.leader), email="lena@acme.test", function="legal", helps_with="x"
            )

    def test_only_a_leader_adds_people_and_only_people_outside_sales(self) -> None:
        with self.assertRaises(NotAllowed):
            services.bench_person_add(
                membership=m(self.manager_a), email="x@acme.test", function="legal", helps_with="x"
            )
        with self.assertRaises(UnstuckError):
            services.bench_person_add(
                membership=m(self.leader), email=self.rep_a.email, function="legal", helps_with="x"
            )

    def test_an_ask_invites_the_person_to_that_deal_only(self) -> None:
        partner = m(self.legal.user)
        self.assertEqual(deals_visible_to(partner).count(), 0)
        ask = self.ask(self.rep_a)
        self.assertEqual(ask.stage, self.deal_a.stage)
        self.assertTrue(DealPartner.objects.filter(deal=self.deal_a, user=self.legal.user).exists())
        self.assertEqual(list(deals_visible_to(partner)), [self.deal_a])

    def test_only_who_works_the_deal_asks(self) -> None:
        for user in (self.rep_a2, self.manager_b, self.partner):
            with self.subTest(user=user.email), self.assertRaises(NotAllowed):
                self.ask(user)
        self.assertIsNotNone(self.ask(self.manager_a))

    def test_answer_then_rate(self) -> None:
        ask = self.ask(self.rep_a)
        with self.assertRaises(NotAllowed):
            services.ask_answer(membership=m(self.partner), ask=ask, answer="x")
        with self.assertRaises(Conflict):
            services.ask_rate(membership=m(self.rep_a), ask=ask, helpful=True)
        services.ask_answer(membership=m(self.legal.user), ask=ask, answer="Yes, up to 12 months.")
        with self.assertRaises(NotAllowed):
            services.ask_rate(membership=m(self.rep_a2), ask=ask, helpful=True)
        services.ask_rate(membership=m(self.rep_a), ask=ask, helpful=True)
        ask.refresh_from_db()
        self.assertEqual((ask.status, ask.helpful), (AskStatus.ANSWERED, True))

    def test_asks_inbox_to_and_from(self) -> None:
        ask = self.ask(self.rep_a)
        self.assertEqual(selectors.asks_inbox(m(self.legal.user))["to_me"], [ask])
        self.assertEqual(selectors.asks_inbox(m(self.rep_a))["from_me"], [ask])
        self.assertEqual(selectors.asks_inbox(m(self.rep_b)), {"to_me": [], "from_me": []})

    def test_function_involvement_per_team(self) -> None:
        self.ask(self.rep_a)
        team_a = selectors.function_involvement(
            workspace_id=self.workspace.pk, team_ids=[self.team_a.pk]
        )
        team_b = selectors.function_involvement(
            workspace_id=self.workspace.pk, team_ids=[self.team_b.pk]
        )
        self.assertEqual([(i.function, i.last is not None) for i in team_a], [("legal", True)])
        self.assertEqual([(i.function, i.last) for i in team_b], [("legal", None)])


class WhoHelpedTests(BenchCase):
    """Six similar wins in team A: Lena was asked on four of them, Finn (finance) on one;
    a win of another segment, and a win team A's rep cannot see, do not count."""

    finance: BenchPerson
    stuck: Deal

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.finance = services.bench_person_add(
            membership=m(cls.leader),
            email="finn@acme.test",
            function="finance",
            helps_with="Pricing",
        )
        discovery = cls.stages[1]

        def won(owner: User, segment: str, kind: str = "budget") -> Deal:
            deal = cls.make_deal(owner=owner, stage=cls.stages[4], custom={"segment": segment})
            deal.status = StageKind.WON
            deal.closed_at = timezone.now()
            deal.save()
            Obstacle.objects.create(deal=deal, kind=kind, description="x")
            return deal

        def asked(deal: Deal, person: BenchPerson, helpful: bool | None = None) -> None:
            BenchAsk.objects.create(
                workspace=cls.workspace,
                deal=deal,
                person=person,
                asked_by=cls.rep_a,
                stage=discovery,
                what="help",
                due_date=SOON,
                status=AskStatus.ANSWERED,
                helpful=helpful,
            )

        similar = [won(cls.rep_a, "Mid-market") for _ in range(6)]
        for deal in similar[:4]:
            asked(deal, cls.legal, helpful=True)
        asked(similar[4], cls.finance)
        asked(won(cls.rep_a, "Enterprise"), cls.finance)  # another segment
        asked(won(cls.rep_b, "Mid-market"), cls.finance)  # team B: not visible to rep A
        cls.stuck = cls.make_deal(
            owner=cls.rep_a, stage=discovery, custom={"segment": "Mid-market"}
        )
        Obstacle.objects.create(deal=cls.stuck, kind="budget", description="x")

    def test_plain_counts_from_similar_wins_the_viewer_sees(self) -> None:
        found = selectors.who_helped(m(self.rep_a), self.stuck)
        self.assertEqual(found.similar, 6)
        self.assertEqual(
            [(h.person.pk, h.deals, h.helpful) for h in found.helpers],
            [(self.legal.pk, 4, 4), (self.finance.pk, 1, 0)],
        )
        self.assertEqual(found.helpers[0].sentence(found.similar), "on 4 of 6 similar wins")

    def test_a_leader_sees_more_wins_than_a_rep(self) -> None:
        found = selectors.who_helped(m(self.leader), self.stuck)
        self.assertEqual(found.similar, 7)
        self.assertEqual(found.helpers[1].deals, 2)  # finance also on team B's win

    def test_the_deal_page_panel_and_the_api(self) -> None:
        self.sign_in(self.rep_a)
        panel = self.client.get(
            reverse("share:who-helped", kwargs={"slug": "acme", "deal_pk": self.stuck.pk})
        )
        self.assertContains(panel, "on 4 of 6 similar wins")
        api = self.client.get(
            f"/api/v1/workspaces/acme/share/bench/deals/{self.stuck.pk}/who-helped"
        )
        self.assertEqual(api.json()["helpers"][0]["text"], "on 4 of 6 similar wins")
        self.sign_in(self.rep_b)
        refused = self.client.get(
            reverse("share:who-helped", kwargs={"slug": "acme", "deal_pk": self.stuck.pk})
        )
        self.assertEqual(refused.status_code, 404)


class BenchPageAndApiTests(BenchCase):
    def test_ask_through_the_page_then_answer_and_rate(self) -> None:
        self.sign_in(self.rep_a)
        page = self.client.get(
            reverse("share:ask-new", kwargs={"slug": "acme", "deal_pk": self.deal_a.pk})
        )
        self.assertContains(page, "Lena Legal")
        response = self.client.post(
            reverse("share:ask-new", kwargs={"slug": "acme", "deal_pk": self.deal_a.pk}),
            {"person": self.legal.pk, "what": "Liability cap?", "due_date": SOON.isoformat()},
        )
        self.assertEqual(response.status_code, 302)
        ask = BenchAsk.objects.get()
        self.sign_in(self.legal.user)
        self.assertContains(
            self.client.get(reverse("share:bench", kwargs={"slug": "acme"})), "Liability cap?"
        )
        self.assertEqual(
            self.client.get(
                reverse("deals:detail", kwargs={"slug": "acme", "pk": self.deal_a.pk})
            ).status_code,
            200,
        )
        self.assertEqual(
            self.client.get(
                reverse("deals:detail", kwargs={"slug": "acme", "pk": self.deal_a2.pk})
            ).status_code,
            404,
        )
        self.client.post(
            reverse("share:ask-answer", kwargs={"slug": "acme", "pk": ask.pk}), {"answer": "Yes"}
        )
        self.sign_in(self.rep_a)
        self.client.post(
            reverse("share:ask-rate", kwargs={"slug": "acme", "pk": ask.pk}), {"helpful": "yes"}
        )
        ask.refresh_from_db()
        self.assertEqual((ask.answer, ask.helpful), ("Yes", True))

    def test_pages_refuse_who_may_not(self) -> None:
        ask = self.ask(self.rep_a)
        cases = [
            (
                self.rep_a2,
                reverse("share:ask-new", kwargs={"slug": "acme", "deal_pk": self.deal_a.pk}),
                403,
            ),
            (
                self.rep_b,
                reverse("share:ask-new", kwargs={"slug": "acme", "deal_pk": self.deal_a.pk}),
                404,
            ),
            (self.rep_b, reverse("share:ask-detail", kwargs={"slug": "acme", "pk": ask.pk}), 404),
            (self.partner, reverse("share:ask-detail", kwargs={"slug": "acme", "pk": ask.pk}), 404),
            (self.outsider, reverse("share:bench", kwargs={"slug": "acme"}), 404),
            (
                self.manager_a,
                reverse("share:ask-detail", kwargs={"slug": "acme", "pk": ask.pk}),
                200,
            ),
        ]
        for user, url, status in cases:
            with self.subTest(user=user.email, url=url):
                self.sign_in(user)
                self.assertEqual(self.client.get(url).status_code, status)
        self.sign_in(self.manager_a)
        self.assertEqual(
            self.client.post(reverse("share:bench-add", kwargs={"slug": "acme"}), {}).status_code,
            403,
        )

    def test_answer_and_rate_pages_refuse_who_may_not_whatever_they_send(self) -> None:
        ask = self.ask(self.rep_a)
        answer = reverse("share:ask-answer", kwargs={"slug": "acme", "pk": ask.pk})
        rate = reverse("share:ask-rate", kwargs={"slug": "acme", "pk": ask.pk})
        self.sign_in(self.rep_a)  # asked, but is not the person asked
        for body in ({"answer": "Yes"}, {}):
            with self.subTest(body=body):
                self.assertEqual(self.client.post(answer, body).status_code, 403)
        self.sign_in(self.legal.user)
        empty = self.client.post(answer, {"answer": ""}, follow=True)
        self.assertContains(empty, "Not saved")  # an invalid form calls nothing
        ask.refresh_from_db()
        self.assertEqual((ask.status, ask.answer), (AskStatus.OPEN, ""))
        self.client.post(answer, {"answer": "Yes, up to 12 months of fees."})
        self.sign_in(self.rep_a2)  # neither who asked nor a manager
        for body in ({"helpful": "yes"}, {}):
            with self.subTest(body=body):
                self.assertEqual(self.client.post(rate, body).status_code, 403)
        ask.refresh_from_db()
        self.assertIsNone(ask.helpful)

    def test_api_ask_answer_rate_and_refusals(self) -> None:
        url = "/api/v1/workspaces/acme/share/bench/asks"
        body = {
            "deal_id": self.deal_a.pk,
            "person_id": self.legal.pk,
            "what": "Cap?",
            "due_date": SOON.isoformat(),
        }
        self.sign_in(self.rep_b)
        self.assertEqual(
            self.client.post(url, body, content_type="application/json").status_code, 404
        )
        self.sign_in(self.rep_a2)
        self.assertEqual(
            self.client.post(url, body, content_type="application/json").status_code, 403
        )
        self.sign_in(self.rep_a)
        created = self.client.post(url, body, content_type="application/json")
        self.assertEqual(created.status_code, 201, created.content)
        ask_id = created.json()["id"]
        self.assertEqual(
            self.client.post(
                f"{url}/{ask_id}/answer", {"answer": "x"}, content_type="application/json"
            ).status_code,
            403,
        )
        self.sign_in(self.legal.user)
        self.assertEqual([a["id"] for a in self.client.get(url).json()], [ask_id])
        answered = self.client.post(
            f"{url}/{ask_id}/answer", {"answer": "Fine"}, content_type="application/json"
        )
        self.assertEqual(answered.json()["status"], "answered")
        self.sign_in(self.rep_a)
        rated = self.client.post(
            f"{url}/{ask_id}/rate", {"helpful": False}, content_type="application/json"
        )
        self.assertEqual(rated.json()["helpful"], False)
        self.sign_in(self.manager_b)
        self.assertEqual(self.client.get(f"{url}/{ask_id}").status_code, 404)
        involvement = self.client.get("/api/v1/workspaces/acme/share/bench/involvement").json()
        self.assertEqual({(r["team"], r["last_asked_at"]) for r in involvement}, {("B", None)})
        self.sign_in(self.outsider)
        self.assertEqual(self.client.get(url).status_code, 404)
