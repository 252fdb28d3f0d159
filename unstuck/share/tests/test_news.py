"""News filtered downward: who posts, the manager's inbox and line, what reps see, reads,
the bias detector on saved news, and the API's refusals."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from unstuck.core.errors import NotAllowed
from unstuck.core.models import Membership, Team, User
from unstuck.core.testing import PersonasTestCase
from unstuck.share import news_selectors as selectors
from unstuck.share import news_services as services
from unstuck.share.models import Audience, NewsPost, NewsRead, NewsRelay
from unstuck.thinking.models import BiasFlag


def m(case: type[PersonasTestCase] | PersonasTestCase, user: User) -> Membership:
    return Membership.objects.select_related("workspace", "team", "user").get(
        workspace=case.workspace, user=user
    )


class NewsCase(PersonasTestCase):
    post: NewsPost

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.post = services.news_post(
            membership=m(cls, cls.leader),
            title="New pricing for multi-year deals",
            body="Three-year terms now get 12 % off. Details: https://wiki.example/pricing",
        )

    def relay(
        self, manager: User, team: Team, decision: str = "passed", line: str = ""
    ) -> NewsRelay:
        return services.news_relay(
            membership=m(self, manager), post=self.post, team=team, decision=decision, line=line
        )


class NewsServiceTests(NewsCase):
    def test_only_leaders_and_partners_post(self) -> None:
        for user in (self.manager_a, self.rep_a):
            with self.subTest(user=user), self.assertRaises(NotAllowed):
                services.news_post(membership=m(self, user), title="x", body="y")
        partner_post = services.news_post(
            membership=m(self, self.partner), title="Legal", body="New DPA template"
        )
        self.assertEqual(partner_post.author, self.partner)

    def test_only_a_leader_makes_a_must_read(self) -> None:
        with self.assertRaises(NotAllowed):
            services.news_post(
                membership=m(self, self.partner), title="x", body="y", must_read=True
            )

    def test_team_audience_needs_teams_of_this_workspace(self) -> None:
        from unstuck.core.errors import UnstuckError

        other = Team.objects.create(workspace=self.outsider.memberships.get().workspace, name="G")
        with self.assertRaises(UnstuckError):
            services.news_post(
                membership=m(self, self.leader),
                title="x",
                body="y",
                audience=Audience.TEAMS,
                team_ids=[other.pk],
            )

    def test_reps_see_nothing_until_their_manager_passes_it_on(self) -> None:
        self.assertEqual(selectors.feed(m(self, self.rep_a)), [])
        self.relay(self.manager_a, self.team_a, line="Lead with this on the Alpha renewals.")
        feed = selectors.feed(m(self, self.rep_a))
        self.assertEqual([p.pk for p in feed], [self.post.pk])
        line = feed[0].line  # type: ignore[attr-defined]
        self.assertEqual(line, "Lead with this on the Alpha renewals.")
        # Team B's manager has not decided: team B's rep still sees nothing.
        self.assertEqual(selectors.feed(m(self, self.rep_b)), [])

    def test_held_back_news_does_not_reach_the_team(self) -> None:
        self.relay(self.manager_a, self.team_a, decision="held", line="ignored")
        self.assertEqual(selectors.feed(m(self, self.rep_a)), [])
        self.assertEqual(NewsRelay.objects.get().line, "")

    def test_must_read_reaches_reps_without_a_manager(self) -> None:
        must = services.news_post(
            membership=m(self, self.leader),
            title="Security",
            body="Rotate passwords",
            must_read=True,
        )
        self.assertEqual([p.pk for p in selectors.feed(m(self, self.rep_b))], [must.pk])

    def test_a_manager_relays_only_to_their_own_team(self) -> None:
        with self.assertRaises(NotAllowed):
            self.relay(self.manager_a, self.team_b)
        with self.assertRaises(NotAllowed):
            self.relay(self.leader, self.team_a)

    def test_news_for_chosen_teams_reaches_only_them(self) -> None:
        from django.http import Http404

        post = services.news_post(
            membership=m(self, self.leader),
            title="For B",
            body="Only team B",
            audience=Audience.TEAMS,
            team_ids=[self.team_b.pk],
        )
        inbox_a = selectors.manager_inbox(m(self, self.manager_a))
        self.assertNotIn(post.pk, [i.post.pk for i in inbox_a])
        self.assertIn(
            post.pk, [i.post.pk for i in selectors.manager_inbox(m(self, self.manager_b))]
        )
        with self.assertRaises(Http404):
            services.news_relay(
                membership=m(self, self.manager_a), post=post, team=self.team_a, decision="passed"
            )

    def test_inbox_shows_pending_first_then_decisions(self) -> None:
        later = services.news_post(membership=m(self, self.leader), title="Later", body="z")
        services.news_relay(
            membership=m(self, self.manager_a), post=later, team=self.team_a, decision="held"
        )
        inbox = selectors.manager_inbox(m(self, self.manager_a))
        self.assertEqual(
            [(i.post.pk, i.pending) for i in inbox], [(self.post.pk, True), (later.pk, False)]
        )

    def test_the_poster_sees_who_read_it(self) -> None:
        self.relay(self.manager_a, self.team_a, line="Read this")
        services.news_mark_read(post=self.post, user=self.rep_a)
        services.news_mark_read(post=self.post, user=self.rep_a)  # kept once
        readers = selectors.post_readers(self.post)
        self.assertEqual(NewsRead.objects.count(), 1)
        self.assertEqual([r.user for r in readers.read], [self.rep_a])
        self.assertEqual(
            sorted(u.email for u in readers.reached),
            sorted(
                [self.manager_a.email, self.manager_b.email, self.rep_a.email, self.rep_a2.email]
            ),
        )
        self.assertNotIn(self.rep_a, readers.unread)

    def test_saved_news_and_lines_go_through_the_bias_detector(self) -> None:
        post = services.news_post(
            membership=m(self, self.leader),
            title="Process",
            body="We have always done discounts this way and it has always worked, so no change.",
        )
        flags = BiasFlag.objects.filter(
            content_type=ContentType.objects.get_for_model(NewsPost), object_id=post.pk
        )
        self.assertIn("legacy", set(flags.values_list("bias", flat=True)))
        relay = services.news_relay(
            membership=m(self, self.manager_a),
            post=post,
            team=self.team_a,
            decision="passed",
            line="This is the way we have always done it here, nothing changes for us.",
        )
        line_flags = BiasFlag.objects.filter(
            content_type=ContentType.objects.get_for_model(NewsRelay), object_id=relay.pk
        )
        self.assertTrue(line_flags.exists())


class NewsPageTests(NewsCase):
    def test_the_loop_in_the_pages(self) -> None:
        self.sign_in(self.manager_a)
        page = self.client.get(reverse("share:news", kwargs={"slug": "acme"}))
        self.assertContains(page, "New pricing for multi-year deals")
        self.assertContains(page, "Pass on")
        response = self.client.post(
            reverse("share:news-relay", kwargs={"slug": "acme", "pk": self.post.pk}),
            {"team": self.team_a.pk, "decision": "passed", "line": "Use it on Alpha."},
        )
        self.assertEqual(response.status_code, 302)
        self.sign_in(self.rep_a)
        feed = self.client.get(reverse("share:news", kwargs={"slug": "acme"}))
        self.assertContains(feed, "Use it on Alpha.")
        detail = self.client.get(
            reverse("share:news-detail", kwargs={"slug": "acme", "pk": self.post.pk})
        )
        self.assertContains(detail, "Use it on Alpha.")
        self.assertContains(detail, 'href="https://wiki.example/pricing"')
        self.assertFalse(NewsRead.objects.exists())  # the GET wrote nothing
        read = reverse("share:news-read", kwargs={"slug": "acme", "pk": self.post.pk})
        self.assertContains(detail, f'hx-post="{read}"')
        self.assertEqual(self.client.post(read).status_code, 204)
        self.sign_in(self.leader)
        detail = self.client.get(
            reverse("share:news-detail", kwargs={"slug": "acme", "pk": self.post.pk})
        )
        self.assertContains(detail, "Read by 1 of")

    def test_leader_posts_through_the_form(self) -> None:
        self.sign_in(self.leader)
        response = self.client.post(
            reverse("share:news-new", kwargs={"slug": "acme"}),
            {
                "title": "Q4 push",
                "body": "Close the quarter",
                "audience": "teams",
                "teams": [self.team_b.pk],
            },
        )
        self.assertEqual(response.status_code, 302)
        post = NewsPost.objects.get(title="Q4 push")
        self.assertEqual(list(post.teams.all()), [self.team_b])

    def test_pages_refuse_who_may_not(self) -> None:
        detail = reverse("share:news-detail", kwargs={"slug": "acme", "pk": self.post.pk})
        cases = [
            (self.rep_a, "get", reverse("share:news-new", kwargs={"slug": "acme"}), 403),
            (self.manager_a, "get", reverse("share:news-new", kwargs={"slug": "acme"}), 403),
            (self.rep_a, "get", detail, 404),  # not passed on yet
            (self.partner, "get", detail, 404),  # not theirs
            (self.outsider, "get", detail, 404),
            (
                self.partner,
                "post",
                reverse("share:news-read", kwargs={"slug": "acme", "pk": self.post.pk}),
                404,
            ),
            (self.outsider, "get", reverse("share:news", kwargs={"slug": "acme"}), 404),
            (
                self.rep_a,
                "post",
                reverse("share:news-relay", kwargs={"slug": "acme", "pk": self.post.pk}),
                403,
            ),
            (
                self.manager_a,
                "post",
                reverse("share:news-relay", kwargs={"slug": "acme", "pk": self.post.pk}),
                403,
            ),
        ]
        for user, method, url, status in cases:
            with self.subTest(user=user.email, url=url):
                self.sign_in(user)
                data = {"team": self.team_b.pk, "decision": "passed"} if method == "post" else {}
                self.assertEqual(getattr(self.client, method)(url, data).status_code, status)


class NewsApiTests(NewsCase):
    url = "/api/v1/workspaces/acme/share/news"

    def test_api_loop_and_refusals(self) -> None:
        self.sign_in(self.rep_a)
        self.assertEqual(self.client.get(self.url).json(), [])
        self.assertEqual(self.client.get(f"{self.url}/{self.post.pk}").status_code, 404)
        self.assertEqual(
            self.client.post(
                self.url, {"title": "x", "body": "y"}, content_type="application/json"
            ).status_code,
            403,
        )
        self.sign_in(self.manager_a)
        inbox = self.client.get(f"{self.url}/inbox").json()
        self.assertEqual([(i["post"]["id"], i["pending"]) for i in inbox], [(self.post.pk, True)])
        wrong = self.client.post(
            f"{self.url}/{self.post.pk}/relay",
            {"team_id": self.team_b.pk, "decision": "passed"},
            content_type="application/json",
        )
        self.assertEqual(wrong.status_code, 403)
        ok = self.client.post(
            f"{self.url}/{self.post.pk}/relay",
            {"team_id": self.team_a.pk, "decision": "passed", "line": "For Alpha"},
            content_type="application/json",
        )
        self.assertEqual(ok.status_code, 200, ok.content)
        self.assertEqual(self.client.get(f"{self.url}/{self.post.pk}/reads").status_code, 403)
        self.sign_in(self.rep_a)
        self.assertEqual(self.client.get(self.url).json()[0]["line"], "For Alpha")
        self.assertEqual(self.client.post(f"{self.url}/{self.post.pk}/read").status_code, 204)
        self.sign_in(self.leader)
        reads = self.client.get(f"{self.url}/{self.post.pk}/reads").json()
        self.assertEqual(reads["read"], 1)
        self.assertEqual(self.client.get(f"{self.url}/inbox").status_code, 403)
        created = self.client.post(
            self.url,
            {"title": "T", "body": "B", "must_read": True},
            content_type="application/json",
        )
        self.assertEqual(created.status_code, 201)
        self.sign_in(self.outsider)
        self.assertEqual(self.client.get(self.url).status_code, 404)
        self.assertEqual(
            self.client.get(f"/api/v1/workspaces/globex/share/news/{self.post.pk}").status_code, 404
        )
