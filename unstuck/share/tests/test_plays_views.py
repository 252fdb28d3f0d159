"""The playbook pages through the client: who sees what, and the one-click actions."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.urls import reverse
from django.utils import timezone

from unstuck.share.models import Play, PlayApplication, PlayStatus
from unstuck.share.selectors.plays import (
    play_list,
    playbook_trust,
    plays_proposed_for_retirement,
    search_plays,
)
from unstuck.share.services import plays as services
from unstuck.share.tests.plays_helpers import PlaysTestCase, membership


def url(name: str, **kwargs: object) -> str:
    return reverse(f"share:{name}", kwargs={"slug": "acme", **kwargs})


class ListAndSearchTests(PlaysTestCase):
    def test_reps_read_the_verified_playbook_only(self) -> None:
        self.sign_in(self.rep_a)
        page = self.client.get(url("plays"))
        self.assertContains(page, self.budget_play.title)
        self.assertNotContains(page, self.draft_play.title)
        self.assertNotContains(page, "Write a play")
        self.assertEqual(self.client.get(url("play", pk=self.draft_play.pk)).status_code, 404)

    def test_managers_see_drafts_the_trust_figure_and_may_write(self) -> None:
        self.sign_in(self.manager_b)
        page = self.client.get(url("plays"))
        self.assertContains(page, self.draft_play.title)
        self.assertContains(page, "1 of 2 plays verified and current")
        self.assertContains(page, "Write a play")

    def test_search_finds_words_in_the_texts(self) -> None:
        qs = Play.objects.filter(workspace=self.workspace)
        self.assertEqual(list(search_plays(qs, "pilot region")), [self.budget_play])
        self.assertEqual(list(search_plays(qs, "DPA")), [self.draft_play])
        self.assertEqual(list(search_plays(qs, "zeppelin")), [])
        if connection.vendor == "postgresql":  # stemming: "budgets" finds "budget"
            self.assertEqual(list(search_plays(qs, "budgets")), [self.budget_play])
        self.sign_in(self.manager_a)
        page = self.client.get(url("plays"), {"q": "DPA"})
        self.assertContains(page, self.draft_play.title)
        self.assertNotContains(page, self.budget_play.title)

    def test_filters_by_obstacle_and_stage(self) -> None:
        m = membership(self.manager_a)
        self.assertEqual(play_list(m, obstacle_kind="legal"), [self.draft_play])
        self.assertEqual(play_list(m, stage="Qualification"), [self.budget_play])

    def test_due_plays_and_proposed_retirements_and_trust(self) -> None:
        now = timezone.now()
        Play.objects.filter(pk=self.budget_play.pk).update(verified_at=now - timedelta(days=100))
        Play.objects.filter(pk=self.draft_play.pk).update(created_at=now - timedelta(days=200))
        m = membership(self.manager_a)
        self.assertEqual([p.pk for p in play_list(m, due=True)], [self.budget_play.pk])
        self.assertEqual(list(plays_proposed_for_retirement(Play.objects.all())), [self.draft_play])
        trust = playbook_trust(self.workspace)
        self.assertEqual((trust.active, trust.verified, trust.current, trust.due), (2, 1, 0, 1))
        self.assertEqual(trust.pct, 0)
        # A draft applied recently is in use: not proposed for retirement.
        PlayApplication.objects.create(
            workspace=self.workspace, play=self.draft_play, deal=self.deal_a, stage=self.stages[0]
        )
        self.assertEqual(list(plays_proposed_for_retirement(Play.objects.all())), [])
        self.sign_in(self.manager_a)
        self.assertContains(self.client.get(url("plays"), {"due": "on"}), "Due for review")

    def test_outsiders_get_404(self) -> None:
        self.sign_in(self.outsider)
        self.assertEqual(self.client.get(url("plays")).status_code, 404)
        self.assertEqual(self.client.get(url("play", pk=self.budget_play.pk)).status_code, 404)


class DetailTests(PlaysTestCase):
    def test_the_page_says_too_early_to_tell_below_the_minimum(self) -> None:
        services.play_apply(
            membership=membership(self.rep_a), play=self.budget_play, deal=self.deal_a
        )
        self.sign_in(self.rep_a)
        page = self.client.get(url("play", pk=self.budget_play.pk))
        self.assertContains(page, "Too early to tell")
        self.assertContains(page, "Applications (n)")
        self.assertContains(page, self.deal_a.name)

    def test_a_partner_sees_a_play_once_it_is_applied_to_their_deal(self) -> None:
        self.sign_in(self.partner)
        self.assertEqual(self.client.get(url("play", pk=self.budget_play.pk)).status_code, 404)
        services.play_apply(
            membership=membership(self.rep_b), play=self.budget_play, deal=self.deal_b
        )
        page = self.client.get(url("play", pk=self.budget_play.pk))
        self.assertEqual(page.status_code, 200)
        self.assertNotContains(page, "Record it on a deal")


class ActionTests(PlaysTestCase):
    def test_a_manager_writes_a_play_through_the_form(self) -> None:
        self.sign_in(self.manager_a)
        response = self.client.post(
            url("play-new"),
            {
                "title": "Reference call with a peer CFO",
                "what_to_do": "Arrange a call with a customer's CFO.",
                "obstacle_kinds": ["budget"],
                "stages": ["Proposal"],
                "evidence": self.deal_a.external_id,
                "review_interval_days": 60,
            },
        )
        play = Play.objects.get(title="Reference call with a peer CFO")
        self.assertRedirects(response, url("play", pk=play.pk))
        self.assertEqual(list(play.evidence_deals.all()), [self.deal_a])
        self.assertEqual(play.review_interval_days, 60)

    def test_the_form_says_which_evidence_deal_is_unknown(self) -> None:
        self.sign_in(self.manager_a)
        response = self.client.post(
            url("play-new"),
            {
                "title": "T",
                "what_to_do": "x",
                "evidence": self.deal_b.external_id,
                "review_interval_days": 90,
            },
        )
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "No deal you can see", status_code=400)

    def test_reps_cannot_write_or_edit_and_other_managers_cannot_verify(self) -> None:
        self.sign_in(self.rep_a)
        self.assertEqual(self.client.get(url("play-new")).status_code, 403)
        self.assertEqual(self.client.get(url("play-edit", pk=self.budget_play.pk)).status_code, 403)
        self.sign_in(self.manager_b)
        self.assertEqual(self.client.get(url("play-edit", pk=self.budget_play.pk)).status_code, 403)
        self.assertEqual(
            self.client.post(url("play-verify", pk=self.draft_play.pk)).status_code, 403
        )
        self.assertEqual(
            self.client.post(url("play-retire", pk=self.draft_play.pk)).status_code, 403
        )

    def test_verify_and_retire_in_one_click(self) -> None:
        self.sign_in(self.manager_a)
        self.client.post(url("play-verify", pk=self.draft_play.pk))
        self.draft_play.refresh_from_db()
        self.assertEqual(self.draft_play.status, PlayStatus.VERIFIED)
        # A reason over the form's 300 characters is not dropped silently: nothing is retired.
        refused = self.client.post(
            url("play-retire", pk=self.draft_play.pk), {"reason": "x" * 301}, follow=True
        )
        self.assertContains(refused, "Not saved")
        self.draft_play.refresh_from_db()
        self.assertEqual(self.draft_play.status, PlayStatus.VERIFIED)
        self.client.post(url("play-retire", pk=self.draft_play.pk), {"reason": "Superseded"})
        self.draft_play.refresh_from_db()
        self.assertEqual(self.draft_play.status, PlayStatus.RETIRED)

    def test_apply_from_the_deal_page_in_one_click(self) -> None:
        self.sign_in(self.rep_a)
        deal_page = reverse("deals:detail", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        page = self.client.get(deal_page)
        self.assertContains(page, "Plays that fit this deal")
        self.assertContains(page, self.budget_play.title)
        response = self.client.post(
            url("play-apply", pk=self.budget_play.pk),
            {"deal": self.deal_a.pk, "source": "suggestion", "next": deal_page},
        )
        self.assertRedirects(response, deal_page)
        a = PlayApplication.objects.get()
        self.assertEqual((a.deal, a.applied_by, a.source), (self.deal_a, self.rep_a, "suggestion"))
        self.assertContains(self.client.get(deal_page), "applied")

    def test_apply_refuses_deals_one_does_not_work(self) -> None:
        self.sign_in(self.rep_a2)
        self.assertEqual(
            self.client.post(
                url("play-apply", pk=self.budget_play.pk), {"deal": self.deal_a.pk}
            ).status_code,
            403,
        )
        self.assertEqual(
            self.client.post(
                url("play-apply", pk=self.budget_play.pk), {"deal": self.deal_b.pk}
            ).status_code,
            404,
        )
        self.assertFalse(PlayApplication.objects.exists())

    def test_apply_refuses_an_offsite_next(self) -> None:
        self.sign_in(self.rep_a)
        response = self.client.post(
            url("play-apply", pk=self.budget_play.pk),
            {"deal": self.deal_a.pk, "next": "https://evil.example/"},
        )
        self.assertRedirects(response, url("play", pk=self.budget_play.pk))

    def test_promote_from_the_session_page(self) -> None:
        self.sign_in(self.manager_a)
        session_page = reverse("cocreate:session", kwargs={"slug": "acme", "pk": self.session_a.pk})
        self.assertContains(self.client.get(session_page), "Promote to a play")
        response = self.client.post(url("play-promote", session_pk=self.session_a.pk))
        play = Play.objects.get(source_session=self.session_a)
        self.assertRedirects(response, url("play", pk=play.pk))
        self.assertContains(self.client.get(session_page), "This decision is the play")
        self.sign_in(self.rep_a)
        self.assertEqual(
            self.client.post(url("play-promote", session_pk=self.session_a.pk)).status_code, 403
        )
        self.sign_in(self.rep_b)
        self.assertEqual(
            self.client.post(url("play-promote", session_pk=self.session_a.pk)).status_code, 404
        )

    def test_the_session_page_proposes_the_outcome_from_the_stage_moves(self) -> None:
        from unstuck.share.tests.plays_helpers import move

        move(self.deal_a, self.stages[2], timezone.now() - timedelta(days=1))
        self.sign_in(self.manager_a)
        session_page = reverse("cocreate:session", kwargs={"slug": "acme", "pk": self.session_a.pk})
        page = self.client.get(session_page)
        self.assertContains(page, 'id="outcome-proposal"')
        self.assertContains(page, "the deal moved forward to Proposal")
        self.assertContains(page, '<option value="moved" selected>')
