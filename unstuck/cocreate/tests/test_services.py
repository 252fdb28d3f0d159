"""Sessions through their phases, the guardrails and approvals, tested at the service layer."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType

from unstuck.cocreate import services
from unstuck.cocreate.models import (
    ApprovalStatus,
    Lever,
    Option,
    Phase,
    Session,
    SuggestionFeedback,
)
from unstuck.cocreate.tests.helpers import CocreateTestCase
from unstuck.core.errors import Conflict, NotAllowed, UnstuckError
from unstuck.thinking.models import BiasFlag


class SessionServiceTests(CocreateTestCase):
    def test_only_the_deals_manager_starts_a_session(self) -> None:
        for user in (self.rep_a, self.manager_b, self.leader):
            with self.subTest(user=user.email), self.assertRaises(NotAllowed):
                services.session_start(
                    membership=self.m(user), deal=self.deal_a, ideal_outcome="Faster close."
                )

    def test_a_session_needs_the_customers_ideal_outcome(self) -> None:
        with self.assertRaises(UnstuckError) as caught:
            services.session_start(
                membership=self.m(self.manager_a), deal=self.deal_a, ideal_outcome=" "
            )
        self.assertEqual(caught.exception.field, "ideal_outcome")

    def test_one_session_in_progress_per_deal(self) -> None:
        self.start()
        with self.assertRaises(Conflict):
            self.start()

    def test_the_rep_adds_options_and_the_manager_cannot_converge_before_eight(self) -> None:
        session = self.start()
        self.fill(session, 4, who=self.rep_a)
        self.fill(session, 3)
        with self.assertRaises(Conflict) as caught:
            services.session_converge(membership=self.m(self.manager_a), session=session)
        self.assertIn("7 options", caught.exception.message)
        self.fill(session, 1, who=self.rep_a)
        services.session_converge(membership=self.m(self.manager_a), session=session)
        self.assertEqual(session.phase, Phase.CONVERGE)

    def test_the_minimum_is_a_workspace_setting(self) -> None:
        services.settings_update(
            membership=self.m(self.leader),
            min_options=3,
            max_discount_pct=Decimal("10"),
            max_term_months=24,
            payment_terms=["net_30"],
            clauses=[],
        )
        session = self.start()
        self.fill(session, 3)
        services.session_converge(membership=self.m(self.manager_a), session=session)
        self.assertEqual(session.phase, Phase.CONVERGE)

    def test_the_rep_cannot_move_the_session_on_or_decide(self) -> None:
        session = self.start()
        self.fill(session, 8)
        with self.assertRaises(NotAllowed):
            services.session_converge(membership=self.m(self.rep_a), session=session)

    def test_outsiders_to_the_session_cannot_add_options(self) -> None:
        session = self.start()
        for user in (self.rep_a2, self.partner, self.manager_b):
            with self.subTest(user=user.email), self.assertRaises(NotAllowed):
                self.fill(session, 1, who=user)

    def test_an_invited_partner_takes_part(self) -> None:
        session = self.start()
        services.session_invite(
            membership=self.m(self.manager_a), session=session, invitee=self.m(self.partner)
        )
        (option,) = self.fill(session, 1, who=self.partner)
        self.assertEqual(option.author, self.partner)

    def test_judging_comments_are_held_until_converge_then_released(self) -> None:
        session = self.start()
        rep = self.m(self.rep_a)
        held = services.session_comment(
            membership=rep, session=session, text="That will never work with their legal team."
        )
        builds = services.session_comment(
            membership=rep, session=session, text="Could we add a pilot to the phased option?"
        )
        self.assertTrue(held.held)
        self.assertIn("never work", held.held_reason)
        self.assertFalse(builds.held)
        self.converge(session)
        held.refresh_from_db()
        self.assertIsNotNone(held.released_at)

    def test_options_are_scored_only_while_converging_once_per_person(self) -> None:
        session = self.start()
        (option, *_) = self.fill(session, 8)
        rep = self.m(self.rep_a)
        with self.assertRaises(Conflict):
            services.option_score(
                membership=rep, option=option, value=4, risk=3, feasibility=3, payoff=4
            )
        services.session_converge(membership=self.m(self.manager_a), session=session)
        services.option_score(
            membership=rep, option=option, value=4, risk=3, feasibility=3, payoff=4
        )
        services.option_score(
            membership=rep, option=option, value=5, risk=3, feasibility=3, payoff=4
        )
        self.assertEqual(option.scores.get().value, 5)
        with self.assertRaises(UnstuckError):
            services.option_score(
                membership=rep, option=option, value=6, risk=3, feasibility=3, payoff=4
            )

    def test_deciding_needs_the_checklist_then_records_choice_and_outcome(self) -> None:
        session = self.start()
        options = self.fill(session, 8)
        services.session_converge(membership=self.m(self.manager_a), session=session)
        manager = self.m(self.manager_a)
        with self.assertRaises(Conflict):
            services.session_decide(
                membership=manager, session=session, options=options[:1], rationale="Best fit."
            )
        self.answer_checklist(session)
        with self.assertRaises(NotAllowed):
            services.session_decide(
                membership=self.m(self.rep_a), session=session, options=options[:1], rationale="x"
            )
        services.session_decide(
            membership=manager, session=session, options=options[:2], rationale="Best fit."
        )
        self.assertEqual(session.phase, Phase.DECIDED)
        self.assertEqual(Option.objects.filter(session=session, is_chosen=True).count(), 2)
        item = services.action_item_add(
            membership=manager,
            session=session,
            text="Send the business case",
            owner=self.rep_a,
            due_date=date.today() + timedelta(days=5),
        )
        self.assertEqual(item.owner, self.rep_a)
        services.session_record_outcome(
            membership=manager, session=session, outcome="moved", note="Moved to legal."
        )
        self.assertEqual(session.phase, Phase.CLOSED)

    def test_accepted_edited_ignored_and_chosen_suggestions_are_recorded(self) -> None:
        session = self.start()
        manager = self.m(self.manager_a)
        services.suggestion_accept(membership=manager, session=session, key="lever:phased-rollout")
        edited = services.suggestion_accept(
            membership=manager,
            session=session,
            key="lever:paid-pilot",
            edits={"title": "A paid pilot in finance only"},
        )
        services.suggestion_ignore(membership=manager, session=session, key="lever:exit-right")
        actions = dict(SuggestionFeedback.objects.values_list("key", "action"))
        self.assertEqual(actions["lever:phased-rollout"], "accepted")
        self.assertEqual(actions["lever:paid-pilot"], "edited")
        self.assertEqual(actions["lever:exit-right"], "ignored")
        self.assertTrue(edited.edited)
        self.assertEqual(edited.lever.key, "paid-pilot")  # type: ignore[union-attr]
        with self.assertRaises(Conflict):
            services.suggestion_accept(
                membership=manager, session=session, key="lever:phased-rollout"
            )

    def test_what_people_write_runs_through_the_bias_detector(self) -> None:
        session = self.start()
        option = services.session_add_option(
            membership=self.m(self.rep_a),
            session=session,
            title="Annual contracts as always",
            description="We have always sold annual contracts, so keep it that way.",
        )
        flags = BiasFlag.objects.filter(
            content_type=ContentType.objects.get_for_model(Option), object_id=option.pk
        )
        self.assertEqual(flags.get().bias, "legacy")
        self.assertTrue(flags.get().questions)


class GuardrailTests(CocreateTestCase):
    def beyond(self) -> tuple[Session, Option]:
        session = self.start()
        self.fill(session, 7)
        big = services.session_add_option(
            membership=self.m(self.manager_a),
            session=session,
            title="Guarantee the outcome for a 48-month term",
            discount_pct=Decimal("20"),
            term_months=48,
            clauses=["performance_guarantee"],
        )
        services.session_converge(membership=self.m(self.manager_a), session=session)
        self.answer_checklist(session)
        return session, big

    def test_an_option_beyond_the_guardrails_cannot_be_chosen_until_approved(self) -> None:
        session, big = self.beyond()
        manager = self.m(self.manager_a)
        with self.assertRaises(NotAllowed) as caught:
            services.session_decide(
                membership=manager, session=session, options=[big], rationale="Worth it."
            )
        self.assertIn("leader's approval", caught.exception.message)
        approval = services.approval_request(membership=manager, option=big, note="Big deal.")
        self.assertEqual(len(approval.breaches), 3)
        with self.assertRaises(NotAllowed):
            services.approval_decide(
                membership=manager, approval=approval, approve=True, reason="I say so"
            )
        with self.assertRaises(UnstuckError):
            services.approval_decide(
                membership=self.m(self.leader), approval=approval, approve=True, reason=""
            )
        services.approval_decide(
            membership=self.m(self.leader), approval=approval, approve=True, reason="Margin holds."
        )
        self.assertEqual(approval.status, ApprovalStatus.APPROVED)
        self.assertEqual(approval.decided_by, self.leader)
        services.session_decide(
            membership=manager, session=session, options=[big], rationale="Worth it."
        )
        big.refresh_from_db()
        self.assertTrue(big.is_chosen)

    def test_a_declined_option_stays_blocked_and_the_trail_is_kept(self) -> None:
        session, big = self.beyond()
        manager = self.m(self.manager_a)
        approval = services.approval_request(membership=manager, option=big)
        with self.assertRaises(Conflict):
            services.approval_request(membership=manager, option=big)
        services.approval_decide(
            membership=self.m(self.leader), approval=approval, approve=False, reason="Too long."
        )
        with self.assertRaises(NotAllowed):
            services.session_decide(
                membership=manager, session=session, options=[big], rationale="Worth it."
            )
        services.approval_request(membership=manager, option=big, note="Second try")
        self.assertEqual(big.approvals.count(), 2)

    def test_an_option_within_the_guardrails_needs_no_approval(self) -> None:
        session = self.start()
        small = services.session_add_option(
            membership=self.m(self.rep_a),
            session=session,
            title="Net 60 and service credits",
            discount_pct=Decimal("5"),
            payment_terms="net_60",
            clauses=["service_credits"],
        )
        with self.assertRaises(Conflict):
            services.approval_request(membership=self.m(self.manager_a), option=small)

    def test_only_leaders_add_or_change_a_lever(self) -> None:
        lever = services.lever_save(
            membership=self.m(self.leader),
            name="Pilot credit",
            family="commercial",
            template="A paid pilot for {account}.",
        )
        for user in (self.manager_a, self.rep_a, self.partner):
            with self.subTest(user=user.email):
                with self.assertRaises(NotAllowed):
                    services.lever_save(
                        membership=self.m(user), name="Free year", family="commercial"
                    )
                with self.assertRaises(NotAllowed):
                    services.lever_save(membership=self.m(user), lever=lever, is_active=False)
        lever.refresh_from_db()
        self.assertTrue(lever.is_active)
        self.assertFalse(Lever.objects.filter(name="Free year").exists())

    def test_only_leaders_set_the_guardrails(self) -> None:
        with self.assertRaises(NotAllowed):
            services.settings_update(
                membership=self.m(self.manager_a),
                min_options=2,
                max_discount_pct=Decimal("90"),
                max_term_months=120,
                payment_terms=[],
                clauses=[],
            )
