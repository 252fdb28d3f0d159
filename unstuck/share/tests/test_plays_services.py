"""The playbook's writes: who may write, verify, retire, promote and apply, and what each
records."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from unstuck.core.errors import Conflict, NotAllowed, UnstuckError
from unstuck.core.services import row_version
from unstuck.investigate.models import DealAssessment
from unstuck.share.models import Play, PlayApplication, PlayStatus
from unstuck.share.services import plays as services
from unstuck.share.tests.plays_helpers import PlaysTestCase, membership, move
from unstuck.thinking.models import BiasFlag


class WritePlayTests(PlaysTestCase):
    def test_a_manager_writes_a_draft_play_they_own_and_verify(self) -> None:
        play = services.play_create(
            membership=membership(self.manager_a),
            title="Multi-thread before the proposal",
            what_to_do="Meet the CFO with the champion.",
            obstacle_kinds=["politics"],
            stall_signals=["single_threaded"],
            stages=["Discovery"],
            lever_families=["stakeholders"],
            evidence=[self.deal_a],
        )
        self.assertEqual(play.status, PlayStatus.DRAFT)
        self.assertEqual((play.owner, play.verifier), (self.manager_a, self.manager_a))
        self.assertEqual(list(play.evidence_deals.all()), [self.deal_a])

    def test_it_refuses_a_rep(self) -> None:
        with self.assertRaises(NotAllowed):
            services.play_create(membership=membership(self.rep_a), title="T", what_to_do="x")

    def test_it_refuses_unknown_situations_and_unseen_evidence(self) -> None:
        m = membership(self.manager_a)
        with self.assertRaises(UnstuckError) as caught:
            services.play_create(membership=m, title="T", what_to_do="x", obstacle_kinds=["x"])
        self.assertEqual(caught.exception.field, "obstacle_kinds")
        with self.assertRaises(UnstuckError):
            services.play_create(membership=m, title="T", what_to_do="x", stages=["Nowhere"])
        with self.assertRaises(UnstuckError) as caught:
            services.play_create(membership=m, title="T", what_to_do="x", evidence=[self.deal_b])
        self.assertEqual(caught.exception.field, "evidence")

    def test_the_verifier_must_curate(self) -> None:
        with self.assertRaises(UnstuckError):
            services.play_create(
                membership=membership(self.manager_a),
                title="T",
                what_to_do="x",
                verifier=self.rep_a,
            )

    def test_play_texts_go_through_the_bias_detector(self) -> None:
        services.play_create(
            membership=membership(self.manager_a),
            title="Stick to the script",
            what_to_do="We've always done it this way; it's how we do things here.",
        )
        self.assertTrue(BiasFlag.objects.filter(context="play", bias="legacy").exists())

    def test_only_owner_verifier_or_leader_edit(self) -> None:
        with self.assertRaises(NotAllowed):
            services.play_update(
                membership=membership(self.manager_b), play=self.budget_play, title="Mine"
            )
        play = services.play_update(
            membership=membership(self.leader), play=self.budget_play, title="Phase it"
        )
        self.assertEqual(play.title, "Phase it")

    def test_verify_is_for_the_verifier_or_a_leader_and_restarts_the_review(self) -> None:
        with self.assertRaises(NotAllowed):
            services.play_verify(membership=membership(self.manager_b), play=self.draft_play)
        play = services.play_verify(membership=membership(self.manager_a), play=self.draft_play)
        self.assertEqual(play.status, PlayStatus.VERIFIED)
        self.assertLess(timezone.now() - play.verified_at, timedelta(minutes=1))  # type: ignore[operator]

    def test_retire_keeps_the_applications(self) -> None:
        services.play_apply(
            membership=membership(self.rep_a), play=self.budget_play, deal=self.deal_a
        )
        play = services.play_retire(
            membership=membership(self.manager_a), play=self.budget_play, reason="Budgets are back"
        )
        self.assertEqual(play.status, PlayStatus.RETIRED)
        self.assertEqual(play.applications.count(), 1)
        with self.assertRaises(Conflict):
            services.play_retire(membership=membership(self.manager_a), play=play)
        with self.assertRaises(NotAllowed):
            services.play_retire(membership=membership(self.rep_a), play=self.draft_play)


class PromoteTests(PlaysTestCase):
    def test_a_decided_session_becomes_a_prefilled_draft_in_one_call(self) -> None:
        move(self.deal_a, self.stages[4], timezone.now() - timedelta(days=1))  # won
        play = services.play_promote_session(
            membership=membership(self.manager_a), session=self.session_a
        )
        self.assertEqual(play.title, "Regional pilot")
        self.assertIn("Pilot in the Nordics", play.what_to_do)
        self.assertIn("budget opens in January", play.what_to_say)
        self.assertEqual(play.obstacle_kinds, ["budget"])
        self.assertEqual(play.stages, ["Qualification"])  # the stage at the decision
        self.assertEqual(play.source_outcome, "won")  # proposed from the stage moves
        self.assertEqual(list(play.evidence_deals.all()), [self.deal_a])
        self.assertEqual(play.status, PlayStatus.DRAFT)
        with self.assertRaises(Conflict):
            services.play_promote_session(
                membership=membership(self.manager_a), session=self.session_a
            )

    def test_only_the_sessions_manager_or_a_leader_promote(self) -> None:
        for user in (self.rep_a, self.manager_b):
            with self.subTest(user=user.email), self.assertRaises(NotAllowed):
                services.play_promote_session(membership=membership(user), session=self.session_a)
        services.play_promote_session(membership=membership(self.leader), session=self.session_a)

    def test_an_undecided_session_is_not_promoted(self) -> None:
        self.session_a.phase = "converge"
        self.session_a.save()
        with self.assertRaises(Conflict):
            services.play_promote_session(
                membership=membership(self.manager_a), session=self.session_a
            )


class ApplyTests(PlaysTestCase):
    def test_a_rep_records_a_play_on_their_deal_with_stage_and_stall_score(self) -> None:
        DealAssessment.objects.create(deal=self.deal_a, workspace=self.workspace, stall_score=62)
        a = services.play_apply(
            membership=membership(self.rep_a), play=self.budget_play, deal=self.deal_a
        )
        self.assertEqual((a.stage, a.stall_score, a.applied_by), (self.stages[0], 62, self.rep_a))
        self.assertEqual(a.source, "deal")

    def test_it_refuses_a_deal_they_do_not_work_and_a_second_time(self) -> None:
        with self.assertRaises(NotAllowed):
            services.play_apply(
                membership=membership(self.rep_a2), play=self.budget_play, deal=self.deal_a
            )
        with self.assertRaises(NotAllowed):
            services.play_apply(
                membership=membership(self.partner), play=self.budget_play, deal=self.deal_b
            )
        services.play_apply(
            membership=membership(self.rep_a), play=self.budget_play, deal=self.deal_a
        )
        with self.assertRaises(Conflict):
            services.play_apply(
                membership=membership(self.manager_a), play=self.budget_play, deal=self.deal_a
            )
        self.assertEqual(PlayApplication.objects.count(), 1)

    def test_it_refuses_retired_plays_and_closed_deals(self) -> None:
        retired = self.make_play(title="Old", status=PlayStatus.RETIRED)
        with self.assertRaises(Conflict):
            services.play_apply(membership=membership(self.rep_a), play=retired, deal=self.deal_a)
        move(self.deal_a, self.stages[5], timezone.now())
        with self.assertRaises(Conflict):
            services.play_apply(
                membership=membership(self.rep_a), play=self.budget_play, deal=self.deal_a
            )

    def test_from_a_session_the_session_must_be_on_the_deal(self) -> None:
        with self.assertRaises(UnstuckError):
            services.play_apply(
                membership=membership(self.manager_b),
                play=self.budget_play,
                deal=self.deal_b,
                session=self.session_a,
            )
        a = services.play_apply(
            membership=membership(self.manager_a),
            play=self.budget_play,
            deal=self.deal_a,
            session=self.session_a,
            source="session",
        )
        self.assertEqual(a.session, self.session_a)

    def test_nothing_crosses_workspaces(self) -> None:
        with self.assertRaises(UnstuckError):
            services.play_apply(
                membership=membership(self.outsider), play=self.budget_play, deal=self.other_deal
            )
        self.assertFalse(Play.objects.filter(workspace__slug="globex").exists())


class OutcomeProposalTests(PlaysTestCase):
    """Co-creation's session outcome, proposed from the deal's later stage moves."""

    def propose(self, **kwargs: object) -> object:
        from unstuck.cocreate.selectors import outcome_proposal

        return outcome_proposal(self.session_a, **kwargs)  # type: ignore[arg-type]

    def test_won_lost_and_moved_forward_come_from_the_moves(self) -> None:
        self.assertIsNone(self.propose())  # 5 days, no move: too soon to say
        move(self.deal_a, self.stages[1], timezone.now() - timedelta(days=2))
        self.assertEqual(self.propose().outcome, "moved")  # type: ignore[attr-defined]
        move(self.deal_a, self.stages[4], timezone.now() - timedelta(days=1))
        proposal = self.propose()
        self.assertEqual(proposal.outcome, "won")  # type: ignore[attr-defined]
        self.assertIn("won on", proposal.reason)  # type: ignore[attr-defined]

    def test_lost_and_no_change_after_n_days(self) -> None:
        later = timezone.now() + timedelta(days=40)
        self.assertEqual(self.propose(now=later).outcome, "no_change")  # type: ignore[attr-defined]
        move(self.deal_a, self.stages[5], timezone.now())
        self.assertEqual(self.propose().outcome, "lost")  # type: ignore[attr-defined]

    def test_a_move_before_the_decision_does_not_count(self) -> None:
        move(self.deal_a, self.stages[1], timezone.now() - timedelta(days=20))
        self.assertIsNone(self.propose())

    def test_the_manager_confirms_the_proposal_with_an_empty_outcome(self) -> None:
        from unstuck.cocreate.services import session_record_outcome

        with self.assertRaises(UnstuckError):  # nothing to confirm yet
            session_record_outcome(
                membership=membership(self.manager_a), session=self.session_a, outcome=""
            )
        move(self.deal_a, self.stages[4], timezone.now())
        session = session_record_outcome(
            membership=membership(self.manager_a), session=self.session_a, outcome=""
        )
        self.assertEqual((session.outcome, session.phase), ("won", "closed"))
        with self.assertRaises(NotAllowed):
            session_record_outcome(membership=membership(self.rep_a), session=session, outcome="")


class PlayEditRaceTests(PlaysTestCase):
    """An edit opened before someone else's save does not erase it (issue 15.1/15.10)."""

    def test_an_edit_does_not_undo_a_verification_made_meanwhile(self) -> None:
        stale = Play.objects.get(pk=self.draft_play.pk)  # the editor's copy, read as a draft
        services.play_verify(membership=membership(self.manager_a), play=self.draft_play)
        services.play_update(membership=membership(self.leader), play=stale, title="Sharper")
        play = Play.objects.get(pk=self.draft_play.pk)
        self.assertEqual((play.title, play.status), ("Sharper", PlayStatus.VERIFIED))

    def test_a_save_from_a_form_over_a_newer_save_is_a_conflict(self) -> None:
        shown = row_version(self.budget_play)
        services.play_update(
            membership=membership(self.leader),
            play=self.budget_play,
            title="Phase it",
            version=shown,
        )
        with self.assertRaises(Conflict):
            services.play_update(
                membership=membership(self.manager_a),
                play=Play.objects.get(pk=self.budget_play.pk),
                what_to_do="Something else",
                version=shown,
            )
        self.assertEqual(Play.objects.get(pk=self.budget_play.pk).title, "Phase it")

    def test_the_edit_page_carries_the_version_and_refuses_a_stale_post(self) -> None:
        self.client.force_login(self.leader)
        url = reverse("share:play-edit", kwargs={"slug": "acme", "pk": self.budget_play.pk})
        page = self.client.get(url)
        shown = row_version(self.budget_play)
        self.assertContains(page, f'name="version" value="{shown}"')
        data = {**page.context["form"].initial, "title": "Phase it", "evidence": ""}
        data = {k: v for k, v in data.items() if v is not None}
        first = self.client.post(url, data)
        self.assertEqual(first.status_code, 302)
        second = self.client.post(url, {**data, "title": "Mine"})
        self.assertContains(second, "was not saved", status_code=400)
        self.assertEqual(Play.objects.get(pk=self.budget_play.pk).title, "Phase it")
