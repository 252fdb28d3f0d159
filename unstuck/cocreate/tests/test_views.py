"""Pages of co-creation through the client: the journey, htmx swaps, and who is refused."""

from __future__ import annotations

from decimal import Decimal

from unstuck.cocreate import services
from unstuck.cocreate.models import ApprovalRequest, ApprovalStatus, Option, Phase, Session
from unstuck.cocreate.tests.helpers import CocreateTestCase

HTMX = {"HX-Request": "true"}


class SessionPageTests(CocreateTestCase):
    def url(self, session: Session, tail: str = "") -> str:
        return f"/w/acme/cocreate/sessions/{session.pk}/{tail}"

    def test_the_manager_starts_a_session_from_the_start_page(self) -> None:
        self.sign_in(self.manager_a)
        page = self.client.get(f"/w/acme/cocreate/deals/{self.deal_a.pk}/start/")
        self.assertContains(page, "No budget left this year")
        response = self.client.post(
            f"/w/acme/cocreate/deals/{self.deal_a.pk}/start/",
            {"ideal_outcome": "Close in four days.", "obstacles": [self.budget.pk]},
        )
        session = Session.objects.get(deal=self.deal_a)
        self.assertRedirects(response, self.url(session))
        self.assertEqual(list(session.obstacles.all()), [self.budget])
        page = self.client.get(self.url(session))
        self.assertContains(page, "Close in four days.")
        self.assertContains(page, "Suggested options")
        self.assertContains(page, "Why it fits")

    def test_the_start_page_refuses_reps_and_other_managers(self) -> None:
        start = f"/w/acme/cocreate/deals/{self.deal_a.pk}/start/"
        for user, status in [
            (self.rep_a, 403),  # a rep may not start one (role)
            (self.manager_b, 404),  # another team's deal is unseen
            (self.leader, 403),
            (self.partner, 403),
            (self.outsider, 404),
        ]:
            with self.subTest(user=user.email):
                self.sign_in(user)
                self.assertEqual(self.client.get(start).status_code, status)

    def test_who_sees_a_session(self) -> None:
        session = self.start()
        for user, status in [
            (self.manager_a, 200),
            (self.rep_a, 200),
            (self.rep_a2, 200),  # reads teammates' deals, so reads the session
            (self.leader, 200),
            (self.manager_b, 404),
            (self.rep_b, 404),
            (self.partner, 404),  # not invited
            (self.outsider, 404),
        ]:
            with self.subTest(user=user.email):
                self.sign_in(user)
                self.assertEqual(self.client.get(self.url(session)).status_code, status)

    def test_a_partner_sees_only_the_session_they_are_invited_to(self) -> None:
        session = self.start()
        services.session_invite(
            membership=self.m(self.manager_a), session=session, invitee=self.m(self.partner)
        )
        self.sign_in(self.partner)
        self.assertEqual(self.client.get(self.url(session)).status_code, 200)
        # …not the deal itself, nor other sessions.
        self.assertEqual(self.client.get(f"/w/acme/deals/{self.deal_a.pk}/").status_code, 404)
        other = services.session_start(
            membership=self.m(self.manager_b), deal=self.deal_b, ideal_outcome="Renew."
        )
        self.assertEqual(self.client.get(self.url(other)).status_code, 404)

    def test_adding_an_option_with_htmx_returns_the_live_record(self) -> None:
        session = self.start()
        self.sign_in(self.rep_a)
        response = self.client.post(
            self.url(session, "options/"),
            {"title": "Pay on outcomes", "description": "Fee at risk", "payment_terms": ""},
            headers=HTMX,
        )
        self.assertContains(response, 'id="live"')
        self.assertContains(response, "Pay on outcomes")
        self.assertIn("options-changed", response["HX-Trigger"])

    def test_a_teammate_who_only_reads_cannot_add_options(self) -> None:
        session = self.start()
        self.sign_in(self.rep_a2)
        response = self.client.post(self.url(session, "options/"), {"title": "Mine"})
        self.assertEqual(response.status_code, 403)
        self.assertFalse(Option.objects.exists())

    def test_accepting_and_ignoring_suggestions(self) -> None:
        session = self.start()
        self.sign_in(self.manager_a)
        response = self.client.post(
            self.url(session, "suggestions/accept/"), {"key": "lever:phased-rollout"}, headers=HTMX
        )
        self.assertContains(response, 'id="suggestions"')
        self.assertNotContains(response, 'data-key="lever:phased-rollout"')
        self.client.post(self.url(session, "suggestions/ignore/"), {"key": "lever:exit-right"})
        page = self.client.get(self.url(session, "suggestions/"))
        self.assertNotContains(page, 'data-key="lever:exit-right"')
        self.assertEqual(session.options.get().title, "Phased rollout")

    def test_the_converge_button_waits_for_eight_options(self) -> None:
        session = self.start()
        self.fill(session, 7)
        self.sign_in(self.manager_a)
        page = self.client.get(self.url(session))
        self.assertContains(page, "Converge (7/8)")
        response = self.client.post(self.url(session, "converge/"), follow=True)
        self.assertContains(response, "this workspace asks for at least 8")
        session.refresh_from_db()
        self.assertEqual(session.phase, Phase.DIVERGE)
        self.sign_in(self.rep_a)
        self.fill(session, 1)
        self.assertEqual(self.client.post(self.url(session, "converge/")).status_code, 403)

    def test_a_held_comment_shows_to_its_writer_and_is_hidden_from_others(self) -> None:
        session = self.start()
        self.sign_in(self.rep_a)
        self.client.post(self.url(session, "comments/"), {"text": "Too expensive, no way."})
        self.assertContains(self.client.get(self.url(session, "live/")), "Too expensive, no way.")
        self.sign_in(self.manager_a)
        live = self.client.get(self.url(session, "live/"))
        self.assertNotContains(live, "Too expensive, no way.")
        self.assertContains(live, "held until the session converges")

    def test_scores_and_the_decision_through_the_pages(self) -> None:
        session = self.start()
        options = self.fill(session, 8)
        self.sign_in(self.manager_a)
        self.client.post(self.url(session, "converge/"))
        self.sign_in(self.rep_a)
        score = {"value": 5, "risk": 4, "feasibility": 4, "payoff": 5}
        self.client.post(self.url(session, f"options/{options[0].pk}/score/"), score)
        self.sign_in(self.manager_a)
        self.client.post(
            self.url(session, "checklist/"),
            {
                "alternatives_considered": "Discount.",
                "dissent_explored": "Rep doubted it.",
                "premortem": "No owner.",
            },
        )
        self.assertEqual(
            self.client.post(
                self.url(session, "decide/"), {"options": [options[0].pk], "rationale": "Yes."}
            ).status_code,
            302,
        )
        page = self.client.get(self.url(session))
        self.assertContains(page, "Chosen")
        self.assertContains(page, "18.0")  # the rep's scores, summed
        deal_page = self.client.get(f"/w/acme/deals/{self.deal_a.pk}/")
        self.assertContains(deal_page, "Co-creation")
        self.assertContains(deal_page, options[0].title)
        self.assertContains(deal_page, "no stage move yet")
        # Later the deal moves and the manager records the outcome: the loop closes.
        from unstuck.deals.services import deal_move_to_stage

        self.deal_a.refresh_from_db()
        deal_move_to_stage(
            deal=self.deal_a, stage=self.stages[4], by=self.membership_of(self.rep_a)
        )
        self.client.post(self.url(session, "outcome/"), {"outcome": "won", "note": "Signed."})
        deal_page = self.client.get(f"/w/acme/deals/{self.deal_a.pk}/")
        self.assertContains(deal_page, "Since the decision")
        self.assertContains(deal_page, "Closed won")
        self.assertContains(deal_page, "Outcome: Signed.")

    def test_leaders_approve_beyond_the_guardrails_and_managers_cannot(self) -> None:
        session = self.start()
        big = services.session_add_option(
            membership=self.m(self.manager_a),
            session=session,
            title="Ten points more off",
            discount_pct=Decimal("25"),
        )
        approval = services.approval_request(membership=self.m(self.manager_a), option=big)
        url = f"/w/acme/cocreate/approvals/{approval.pk}/decide/"
        self.sign_in(self.manager_a)
        self.assertContains(self.client.get("/w/acme/cocreate/approvals/"), "Ten points more off")
        self.assertEqual(
            self.client.post(url, {"decision": "approve", "reason": "x"}).status_code, 403
        )
        self.sign_in(self.outsider)
        self.assertEqual(
            self.client.post(url, {"decision": "approve", "reason": "x"}).status_code, 404
        )
        self.sign_in(self.leader)
        self.client.post(url, {"decision": "approve", "reason": "Margin holds."})
        approval.refresh_from_db()
        self.assertEqual(approval.status, ApprovalStatus.APPROVED)
        self.assertEqual(approval.reason, "Margin holds.")

    def test_an_approval_note_over_two_thousand_characters_is_refused_not_dropped(self) -> None:
        session = self.start()
        big = services.session_add_option(
            membership=self.m(self.manager_a),
            session=session,
            title="Ten points more off",
            discount_pct=Decimal("25"),
        )
        self.sign_in(self.manager_a)
        url = self.url(session, f"options/{big.pk}/approval/")
        response = self.client.post(url, {"note": "x" * 2001}, follow=True)
        self.assertContains(response, "Not saved")
        self.assertContains(response, "at most 2000 characters")
        self.assertFalse(ApprovalRequest.objects.filter(option=big).exists())
        self.client.post(url, {"note": "Their CFO needs it to sign this quarter."})
        self.assertEqual(
            ApprovalRequest.objects.get(option=big).note, "Their CFO needs it to sign this quarter."
        )


class LeverAndGuardrailPageTests(CocreateTestCase):
    def test_managers_read_the_levers_and_only_leaders_edit(self) -> None:
        self.sign_in(self.manager_a)
        page = self.client.get("/w/acme/cocreate/levers/")
        self.assertContains(page, "Shift risk to us for a longer term")
        self.assertEqual(self.client.get("/w/acme/cocreate/levers/new/").status_code, 403)
        self.sign_in(self.rep_a)
        self.assertEqual(self.client.get("/w/acme/cocreate/levers/").status_code, 403)
        self.sign_in(self.leader)
        response = self.client.post(
            "/w/acme/cocreate/levers/new/",
            {
                "family": "risk",
                "name": "Warranty on uptime",
                "template": "Offer {account} an uptime warranty.",
                "obstacle_kinds": ["technical"],
                "is_active": "on",
            },
        )
        self.assertEqual(response.status_code, 302)
        self.assertContains(self.client.get("/w/acme/cocreate/levers/"), "Warranty on uptime")

    def test_leaders_set_the_guardrails_and_others_are_refused(self) -> None:
        self.sign_in(self.manager_a)
        self.assertEqual(self.client.get("/w/acme/cocreate/guardrails/").status_code, 403)
        self.sign_in(self.leader)
        self.client.post(
            "/w/acme/cocreate/guardrails/",
            {
                "min_options": 10,
                "max_discount_pct": "12",
                "max_term_months": 24,
                "payment_terms": ["net_30"],
                "clauses": ["exit_right"],
            },
        )
        rules = services.settings_for(self.workspace)
        self.assertEqual((rules.min_options, rules.max_term_months), (10, 24))
        self.assertEqual(rules.clauses, ["exit_right"])


class SessionPageQueryTests(CocreateTestCase):
    def test_the_live_record_costs_the_same_queries_for_more_options(self) -> None:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        session = self.start()
        manager = self.m(self.manager_a)
        for key in ("lever:phased-rollout", "lever:paid-pilot"):
            services.suggestion_accept(membership=manager, session=session, key=key)
        self.sign_in(self.rep_a)
        url = f"/w/acme/cocreate/sessions/{session.pk}/live/"
        self.client.get(url)
        with CaptureQueriesContext(connection) as few:
            self.client.get(url)
        for key in ("lever:exit-right", "lever:quick-win", "lever:mutual-plan"):
            services.suggestion_accept(membership=manager, session=session, key=key)
        self.fill(session, 5, who=self.rep_a)
        services.session_comment(membership=manager, session=session, text="Build on the pilot.")
        with CaptureQueriesContext(connection) as many:
            self.client.get(url)
        self.assertEqual(len(many), len(few))
