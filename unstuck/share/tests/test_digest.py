"""The weekly digest: built per person and skipped when empty, its sections, sent by email
to a real SMTP server once per person and week, its schedule and time zones, one-click
unsubscribe, the "This week" page, the CLI, and a fixed number of queries per person."""

from __future__ import annotations

import io
import threading
from datetime import UTC, date, datetime, timedelta
from unittest import skipUnless

from django.core.management import call_command
from django.db import connection
from django.test import TransactionTestCase
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from unstuck.core.models import Membership, Team, User
from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import StageKind
from unstuck.investigate.models import DealAssessment, InvestigationRequest, Obstacle
from unstuck.share import digest_send as send
from unstuck.share import news_services as news
from unstuck.share.digest import digest_build
from unstuck.share.digest import person_zone as digest_person_zone
from unstuck.share.digest import week_of as digest_week_of
from unstuck.share.models import (
    BenchAsk,
    BenchPerson,
    DeliveryStatus,
    DigestDelivery,
    DigestSchedule,
    NewsPost,
    NewsRelay,
    PersonPreference,
)
from unstuck.share.tests.smtp import SmtpServer, parts

SITE = "https://unstuck.example.com"


def m(user: User) -> Membership:
    return Membership.objects.select_related("workspace", "team", "user").get(user=user)


@override_settings(SITE_URL=SITE)
class DigestCase(PersonasTestCase):
    post: NewsPost

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.post = NewsPost.objects.create(
            workspace=cls.workspace, author=cls.leader, title="Multi-year pricing", body="12 % off"
        )
        news.news_relay(
            membership=m(cls.manager_a),
            post=cls.post,
            team=cls.team_a,
            decision="passed",
            line="Use it on every renewal this quarter.",
        )
        news.news_relay(
            membership=m(cls.manager_b), post=cls.post, team=cls.team_b, decision="held"
        )


class DigestBuildTests(DigestCase):
    def test_a_rep_gets_the_news_their_manager_passed_on_with_the_line(self) -> None:
        digest = digest_build(m(self.rep_a))
        self.assertFalse(digest.is_empty)
        news_section = digest.sections[0]
        self.assertEqual(news_section.key, "news")
        self.assertEqual(news_section.items[0].title, "Multi-year pricing")
        self.assertEqual(news_section.items[0].lead, "Use it on every renewal this quarter.")

    def test_a_rep_with_nothing_new_gets_an_empty_digest(self) -> None:
        self.assertTrue(digest_build(m(self.rep_b)).is_empty)

    def test_a_manager_sees_stuck_deals_overdue_requests_and_waiting_news(self) -> None:
        DealAssessment.objects.create(
            deal=self.deal_b, workspace=self.workspace, stall_score=70, payoff=1000
        )
        InvestigationRequest.objects.create(
            deal=self.deal_b,
            question="Who signs?",
            due_date=date.today() - timedelta(days=3),
            asked_by=self.manager_b,
            assignee=self.rep_b,
        )
        NewsPost.objects.create(workspace=self.workspace, author=self.leader, title="New", body="b")
        digest = digest_build(m(self.manager_b))
        keys = [s.key for s in digest.sections]
        self.assertEqual(keys[:3], ["news", "stuck", "overdue"])
        self.assertEqual(digest.sections[0].items[0].title, "New")
        self.assertEqual(digest.sections[1].items[0].title, self.deal_b.name)
        self.assertIn("Who signs?", digest.sections[2].items[0].title)
        # Team A's manager sees team A's stuck deals, not team B's.
        self.assertNotIn("stuck", [s.key for s in digest_build(m(self.manager_a)).sections])

    def test_wins_and_losses_this_week_with_their_reasons(self) -> None:
        won = self.make_deal(owner=self.rep_b, stage=self.stages[4], name="Bravo won")
        won.status = StageKind.WON
        won.closed_at = timezone.now() - timedelta(days=2)
        won.save()
        Obstacle.objects.create(deal=won, kind="legal", description="DPA")
        old = self.make_deal(owner=self.rep_b, stage=self.stages[5], name="Bravo lost long ago")
        old.status = StageKind.LOST
        old.closed_at = timezone.now() - timedelta(days=30)
        old.save()
        section = next(s for s in digest_build(m(self.rep_b)).sections if s.key == "closed")
        self.assertEqual([i.title for i in section.items], ["Won: Bravo won"])
        self.assertIn("got past Legal", section.items[0].detail)
        # Team A's rep does not see team B's wins.
        self.assertNotIn("closed", [s.key for s in digest_build(m(self.rep_a)).sections])

    def test_asks_to_and_from_the_bench(self) -> None:
        person = BenchPerson.objects.create(
            workspace=self.workspace, user=self.partner, function="legal", helps_with="DPAs"
        )
        BenchAsk.objects.create(
            workspace=self.workspace,
            deal=self.deal_b,
            person=person,
            asked_by=self.rep_b,
            what="Review the DPA",
            due_date=date.today() + timedelta(days=3),
        )
        for user in (self.partner, self.rep_b, self.manager_b):
            with self.subTest(user=user.email):
                keys = [s.key for s in digest_build(m(user)).sections]
                self.assertIn("asks", keys)
        self.assertNotIn("asks", [s.key for s in digest_build(m(self.rep_a)).sections])

    def test_a_quiet_relationship_alone_is_no_reason_to_send(self) -> None:
        BenchPerson.objects.create(
            workspace=self.workspace, user=self.partner, function="legal", helps_with="DPAs"
        )
        digest = digest_build(m(self.manager_a))
        self.assertEqual([s.key for s in digest.sections], ["bench-nudge"])
        self.assertTrue(digest.is_empty)


class DigestSendTests(DigestCase):
    def test_sent_by_smtp_once_per_person_and_week_with_unsubscribe_headers(self) -> None:
        with SmtpServer() as smtp:
            first = send.digest_send(workspace=self.workspace, force=True)
            second = send.digest_send(workspace=self.workspace, force=True)
        self.assertEqual(first.sent, [self.rep_a.email, self.rep_a2.email])
        self.assertEqual(second.sent, [])
        self.assertEqual(second.already, len(first.sent) + len(first.skipped))
        self.assertEqual(len(smtp.messages), 2)
        message = next(x for x in smtp.messages if x["To"] == self.rep_a.email)
        self.assertIn("Your week in Acme", message["Subject"])
        unsubscribe = message["List-Unsubscribe"].strip()
        self.assertTrue(
            unsubscribe.startswith(f"<{SITE}/w/acme/share/digest/unsubscribe/"), unsubscribe
        )
        self.assertEqual(message["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        text, html = parts(message)
        self.assertIn("Use it on every renewal this quarter.", text)
        self.assertLess(text.index("Use it on every"), text.index("Multi-year pricing"))
        self.assertIn(f"{SITE}/w/acme/share/news/{self.post.pk}/", text)
        self.assertIn(f'href="{SITE}/w/acme/share/news/{self.post.pk}/"', html)
        self.assertIn("Unsubscribe", html)
        self.assertEqual(DigestDelivery.objects.get(user=self.rep_b).status, DeliveryStatus.SKIPPED)

    def test_a_week_claimed_by_another_worker_is_not_sent_again(self) -> None:
        week = digest_week_of(timezone.now(), digest_person_zone(None))
        DigestDelivery.objects.create(
            workspace=self.workspace, user=self.rep_a, week=week, status=DeliveryStatus.SENDING
        )
        with SmtpServer() as smtp:
            report = send.digest_send(workspace=self.workspace, force=True)
        self.assertEqual(report.sent, [self.rep_a2.email])
        self.assertEqual([x["To"] for x in smtp.messages], [self.rep_a2.email])

    def test_the_claim_is_taken_once(self) -> None:
        week = date(2030, 1, 7)
        self.assertIsNotNone(send._claim(self.workspace, self.rep_a, week, None))
        self.assertIsNone(send._claim(self.workspace, self.rep_a, week, None))

    def test_a_refused_send_is_retried_by_the_next_run(self) -> None:
        from unstuck.share.tests.smtp import free_port

        with (
            override_settings(
                EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                EMAIL_HOST="127.0.0.1",
                EMAIL_PORT=free_port(),
            ),
            self.assertRaises(OSError),
        ):
            send.digest_send(workspace=self.workspace, force=True)
        # Nothing was claimed when the server could not be reached at all.
        self.assertFalse(DigestDelivery.objects.filter(status=DeliveryStatus.SENT).exists())
        week = digest_week_of(timezone.now(), digest_person_zone(None))
        DigestDelivery.objects.create(
            workspace=self.workspace, user=self.rep_a, week=week, status=DeliveryStatus.FAILED
        )
        DigestDelivery.objects.filter(user=self.rep_a2).delete()
        with SmtpServer() as smtp:
            report = send.digest_send(workspace=self.workspace, force=True)
        self.assertEqual(sorted(report.sent), sorted([self.rep_a.email, self.rep_a2.email]))
        self.assertEqual(len(smtp.messages), 2)

    def test_it_waits_for_the_weekday_and_hour_in_each_persons_time_zone(self) -> None:
        DigestSchedule.objects.create(workspace=self.workspace, weekday=2, hour=9)  # Wed 09:00
        PersonPreference.objects.create(
            workspace=self.workspace, user=self.rep_a2, time_zone="Asia/Tokyo"
        )
        tuesday = datetime(2030, 1, 8, 23, 30, tzinfo=UTC)  # Wed 08:30 in Tokyo
        wednesday = datetime(2030, 1, 9, 0, 30, tzinfo=UTC)  # Wed 09:30 in Tokyo, 00:30 UTC
        self.post.created_at = tuesday - timedelta(days=1)
        self.post.save()
        NewsPost.objects.filter(pk=self.post.pk).update(created_at=tuesday - timedelta(days=1))

        NewsRelay.objects.update(decided_at=tuesday - timedelta(days=1))
        with SmtpServer() as smtp:
            early = send.digest_send(workspace=self.workspace, now=tuesday)
            self.assertEqual(early.sent, [])
            due = send.digest_send(workspace=self.workspace, now=wednesday)
            self.assertEqual(due.sent, [self.rep_a2.email])  # Tokyo's Wednesday 9:00 has come
            later = send.digest_send(workspace=self.workspace, now=wednesday + timedelta(hours=9))
            self.assertEqual(later.sent, [self.rep_a.email])  # UTC's 9:00
            self.assertEqual(len(smtp.messages), 2)

    def test_unsubscribe_in_one_click(self) -> None:
        token = send.unsubscribe_token(self.workspace.pk, self.rep_a.pk)
        url = reverse("share:digest-unsubscribe", kwargs={"slug": "acme", "token": token})
        page = self.client.get(url)
        self.assertContains(page, "Unsubscribe")
        self.assertFalse(PersonPreference.objects.filter(digest_unsubscribed_at__isnull=False))
        one_click = self.client.post(url, {"List-Unsubscribe": "One-Click"})
        self.assertEqual(one_click.status_code, 200)
        self.assertTrue(
            PersonPreference.objects.get(user=self.rep_a).digest_unsubscribed_at is not None
        )
        with SmtpServer() as smtp:
            report = send.digest_send(workspace=self.workspace, force=True)
        self.assertEqual(report.unsubscribed, 1)
        self.assertEqual([x["To"] for x in smtp.messages], [self.rep_a2.email])
        # A forged or other workspace's token is not found.
        bad = reverse("share:digest-unsubscribe", kwargs={"slug": "acme", "token": token + "x"})
        self.assertEqual(self.client.post(bad).status_code, 404)
        other = reverse("share:digest-unsubscribe", kwargs={"slug": "globex", "token": token})
        self.assertEqual(self.client.post(other).status_code, 404)

    def test_dry_run_sends_nothing_and_claims_nothing(self) -> None:
        with SmtpServer() as smtp:
            report = send.digest_send(workspace=self.workspace, force=True, dry_run=True)
        self.assertEqual(report.would_send, [self.rep_a.email, self.rep_a2.email])
        self.assertEqual(smtp.messages, [])
        self.assertFalse(DigestDelivery.objects.exists())


class DigestQueryTests(DigestCase):
    def _queries(self, membership: Membership) -> int:
        with CaptureQueriesContext(connection) as ctx:
            digest_build(membership)
        return len(ctx.captured_queries)

    def _grow(self, n: int, team: Team, rep: User) -> None:
        for i in range(n):
            post = NewsPost.objects.create(
                workspace=self.workspace, author=self.leader, title=f"P{i}", body="b"
            )
            news.news_relay(
                membership=m(self.manager_a), post=post, team=team, decision="passed", line="x"
            )
            deal = self.make_deal(owner=rep, stage=self.stages[4])
            deal.status = StageKind.WON
            deal.closed_at = timezone.now()
            deal.save()
            Obstacle.objects.create(deal=deal, kind="budget", description="b")
            DealAssessment.objects.create(deal=deal, workspace=self.workspace, stall_score=80)

    def test_a_persons_digest_costs_the_same_queries_with_10_or_100_items(self) -> None:
        for user in (self.rep_a, self.manager_a, self.leader):
            self._grow(10, self.team_a, self.rep_a)
            few = self._queries(m(user))
            self._grow(90, self.team_a, self.rep_a)
            many = self._queries(m(user))
            with self.subTest(user=user.email):
                self.assertEqual(few, many)

    def test_sending_costs_a_fixed_number_of_queries_per_person(self) -> None:
        def run(people: int) -> tuple[int, int]:
            DigestDelivery.objects.all().delete()
            while (
                Membership.objects.filter(workspace=self.workspace, team=self.team_a).count()
                < people
            ):
                n = Membership.objects.count()
                user = User.objects.create_user(f"r{n}@acme.test")
                Membership.objects.create(
                    workspace=self.workspace, user=user, role="rep", team=self.team_a
                )
            with SmtpServer(), CaptureQueriesContext(connection) as ctx:
                report = send.digest_send(workspace=self.workspace, force=True)
            return len(ctx.captured_queries), len(report.sent)

        q10, sent10 = run(10)
        q100, sent100 = run(100)
        per_person = (q100 - q10) / (sent100 - sent10)
        self.assertEqual(sent100 - sent10, 90)
        # People are claimed, built and marked in chunks: what a digest needs is loaded for
        # the chunk at once, so 90 more reps cost far fewer than a query each (only the
        # chunks' own queries grow: one more chunk here).
        self.assertLess(per_person, 1)


class DigestCliAndPageTests(DigestCase):
    def call(self, *args: str) -> str:
        out = io.StringIO()
        call_command(*args, stdout=out)
        return out.getvalue()

    def test_preview_prints_the_digest_or_says_nothing_would_be_sent(self) -> None:
        text = self.call("digest", "preview", "--user", self.rep_a.email)
        self.assertIn("List-Unsubscribe: <https://unstuck.example.com/w/acme/", text)
        self.assertIn("Use it on every renewal this quarter.", text)
        self.assertIn("Multi-year pricing", text)
        empty = self.call("digest", "preview", "--user", self.rep_b.email)
        self.assertIn("no digest would be sent", empty)

    def test_send_now_twice_sends_each_person_at_most_once(self) -> None:
        with SmtpServer() as smtp:
            first = self.call("digest", "send", "--workspace", "acme", "--now")
            second = self.call("digest", "send", "--workspace", "acme", "--now")
        self.assertIn("acme: sent 2,", first)
        self.assertIn("acme: sent 0,", second)
        self.assertEqual(
            sorted(x["To"] for x in smtp.messages), sorted([self.rep_a.email, self.rep_a2.email])
        )
        self.assertTrue(all(x["List-Unsubscribe"] for x in smtp.messages))

    def test_dry_run_names_who_would_get_one(self) -> None:
        out = self.call("digest", "send", "--workspace", "acme", "--now", "--dry-run")
        self.assertIn(f"would send to {self.rep_a.email}", out)
        self.assertFalse(DigestDelivery.objects.exists())

    def test_news_cli_post_relay_list(self) -> None:
        posted = self.call(
            "news",
            "post",
            "--workspace",
            "acme",
            "--as",
            self.leader.email,
            "--title",
            "Security",
            "--body",
            "Rotate keys",
            "--team",
            "B",
        )
        pk = int(posted.split("#")[1].rstrip(".\n"))
        self.call(
            "news",
            "relay",
            "--workspace",
            "acme",
            "--as",
            self.manager_b.email,
            "--post",
            str(pk),
            "--team",
            "B",
            "--pass",
            "Do it today",
        )
        listed = self.call("news", "list", "--workspace", "acme", "--as", self.rep_b.email)
        self.assertIn("Do it today", listed)
        self.assertIn("Security", listed)

    def test_this_week_page_for_each_person_and_the_refusals(self) -> None:
        self.sign_in(self.rep_a)
        page = self.client.get(reverse("share:digest", kwargs={"slug": "acme"}))
        self.assertContains(page, "Use it on every renewal this quarter.")
        self.sign_in(self.rep_b)
        self.assertContains(
            self.client.get(reverse("share:digest", kwargs={"slug": "acme"})), "Nothing new for you"
        )
        self.sign_in(self.outsider)
        self.assertEqual(
            self.client.get(reverse("share:digest", kwargs={"slug": "acme"})).status_code, 404
        )
        self.assertEqual(self.client.get("/api/v1/workspaces/acme/share/digest").status_code, 404)

    def test_preferences_and_schedule(self) -> None:
        self.sign_in(self.rep_a)
        url = "/api/v1/workspaces/acme/share/digest"
        bad = self.client.put(
            f"{url}/preferences",
            {"time_zone": "Mars/Olympus", "subscribed": True},
            content_type="application/json",
        )
        self.assertEqual(bad.status_code, 400)
        ok = self.client.put(
            f"{url}/preferences",
            {"time_zone": "Europe/Berlin", "subscribed": False},
            content_type="application/json",
        )
        self.assertEqual(ok.json(), {"time_zone": "Europe/Berlin", "subscribed": False})
        self.assertEqual(
            self.client.get(url).json()["sections"][0]["items"][0]["lead"],
            "Use it on every renewal this quarter.",
        )
        schedule = {"weekday": 4, "hour": 16, "enabled": True}
        self.assertEqual(
            self.client.put(
                f"{url}/schedule", schedule, content_type="application/json"
            ).status_code,
            403,
        )
        self.sign_in(self.leader)
        self.assertEqual(
            self.client.put(f"{url}/schedule", schedule, content_type="application/json").json(),
            schedule,
        )
        self.assertEqual(DigestSchedule.objects.get().weekday, 4)
        page = self.client.post(
            reverse("share:digest-schedule", kwargs={"slug": "acme"}), {"weekday": 1, "hour": 7}
        )
        self.assertEqual(page.status_code, 302)
        self.assertEqual(
            (DigestSchedule.objects.get().weekday, DigestSchedule.objects.get().enabled), (1, False)
        )


@skipUnless(connection.vendor == "postgresql", "two workers at once need a database server")
class TwoWorkersTests(TransactionTestCase):
    """Two `digest send` workers started together: each person still gets one email."""

    def test_two_workers_at_once_send_each_digest_once(self) -> None:
        PersonasTestCase.setUpTestData.__func__(PersonasTestCase)  # type: ignore[attr-defined]
        people = PersonasTestCase
        post = NewsPost.objects.create(
            workspace=people.workspace, author=people.leader, title="T", body="B"
        )
        for manager, team in ((people.manager_a, people.team_a), (people.manager_b, people.team_b)):
            NewsRelay.objects.create(
                post=post, team=team, decision="passed", line="x", decided_by=manager
            )
        barrier = threading.Barrier(2)
        reports = []

        def worker() -> None:
            try:
                barrier.wait()
                reports.append(send.digest_send(workspace=people.workspace, force=True))
            finally:
                connection.close()

        with SmtpServer() as smtp:
            threads = [threading.Thread(target=worker) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        reps = sorted([people.rep_a.email, people.rep_a2.email, people.rep_b.email])
        self.assertEqual(sorted(x["To"] for x in smtp.messages), reps)
        self.assertEqual(sorted(e for r in reports for e in r.sent), reps)
        self.assertEqual(DigestDelivery.objects.filter(status=DeliveryStatus.SENT).count(), 3)


class PlaysInTheDigestTests(PersonasTestCase):
    """The playbook's sections: a deal unstuck after a play, and the play of the week — shown
    beside real content, never a reason on its own to send."""

    def test_a_play_applied_before_a_move_shows_and_play_of_the_week_alone_sends_nothing(
        self,
    ) -> None:
        from unstuck.deals.models import StageChange
        from unstuck.share.models import Play, PlayApplication

        now = timezone.now()
        deal = self.make_deal(owner=self.rep_a)
        play = Play.objects.create(
            workspace=self.workspace,
            title="Phase the rollout",
            what_to_do="Pilot first",
            status="verified",
            verified_at=now - timedelta(days=30),
        )
        PlayApplication.objects.create(
            workspace=self.workspace,
            play=play,
            deal=deal,
            applied_by=self.manager_a,
            applied_at=now - timedelta(days=3),
            stage=deal.stage,
        )
        # Before the deal moves: only the play of the week, which is no reason to send.
        digest = digest_build(m(self.rep_a), now=now)
        keys = {s.key: s for s in digest.sections if s.items}
        self.assertIn("play-of-the-week", keys)
        self.assertEqual(keys["play-of-the-week"].items[0].title, "Phase the rollout")
        self.assertNotIn("unstuck", keys)
        self.assertTrue(digest.is_empty)
        later = self.stages[1]
        StageChange.objects.create(
            deal=deal, from_stage=deal.stage, to_stage=later, changed_at=now - timedelta(days=1)
        )
        digest = digest_build(m(self.rep_a), now=now)
        unstuck = next(s for s in digest.sections if s.key == "unstuck")
        self.assertIn("Phase the rollout", unstuck.items[0].detail)
        self.assertFalse(digest.is_empty)
        # Another team's rep hears nothing of it.
        other = digest_build(m(self.rep_b), now=now)
        self.assertFalse(any(s.key == "unstuck" and s.items for s in other.sections))
