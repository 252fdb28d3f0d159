"""The co-creation API: the same journey and the same refusals as the pages."""

from __future__ import annotations

from typing import Any

from django.test.client import Client

from unstuck.cocreate import services
from unstuck.cocreate.tests.helpers import CocreateTestCase

API = "/api/v1/workspaces/acme/cocreate"


class CocreateApiTests(CocreateTestCase):
    def post(self, path: str, data: dict[str, Any] | None = None) -> Any:
        return self.client.post(API + path, data or {}, content_type="application/json")

    def test_suggestions_for_a_deal(self) -> None:
        self.sign_in(self.manager_a)
        response = self.client.get(f"{API}/deals/{self.deal_a.pk}/suggestions")
        self.assertEqual(response.status_code, 200)
        self.assertGreaterEqual(len(response.json()), 12)
        self.sign_in(self.rep_a)
        self.assertEqual(
            self.client.get(f"{API}/deals/{self.deal_a.pk}/suggestions").status_code, 403
        )
        self.sign_in(self.manager_b)
        self.assertEqual(
            self.client.get(f"{API}/deals/{self.deal_a.pk}/suggestions").status_code, 404
        )

    def test_the_journey_through_the_api(self) -> None:
        self.sign_in(self.manager_a)
        created = self.post(
            "/sessions",
            {"deal_id": self.deal_a.pk, "ideal_outcome": "Close in 4 days", "obstacle_ids": []},
        )
        self.assertEqual(created.status_code, 201, created.content)
        sid = created.json()["id"]
        self.assertEqual(self.post(f"/sessions/{sid}/converge").status_code, 409)
        rep = Client()
        rep.force_login(self.rep_a)
        for k in range(8):
            added = rep.post(
                f"{API}/sessions/{sid}/options",
                {"title": f"Idea {k}", "discount_pct": "5"},
                content_type="application/json",
            )
            self.assertEqual(added.status_code, 201, added.content)
        self.assertEqual(
            rep.post(f"{API}/sessions/{sid}/converge", content_type="application/json").status_code,
            403,
        )
        self.assertEqual(self.post(f"/sessions/{sid}/converge").json()["phase"], "converge")
        option_id = self.client.get(f"{API}/sessions/{sid}").json()["options"][0]["id"]
        scored = rep.post(
            f"{API}/sessions/{sid}/options/{option_id}/score",
            {"value": 4, "risk": 4, "feasibility": 3, "payoff": 5},
            content_type="application/json",
        )
        self.assertEqual(scored.json()["scores"]["scorers"], 1)
        self.post(
            f"/sessions/{sid}/checklist",
            {"alternatives_considered": "a", "dissent_explored": "b", "premortem": "c"},
        )
        decided = self.post(
            f"/sessions/{sid}/decide", {"option_ids": [option_id], "rationale": "ok"}
        )
        self.assertEqual(decided.json()["phase"], "decided", decided.content)
        outcome = self.post(f"/sessions/{sid}/outcome", {"outcome": "won", "note": "Signed"})
        self.assertEqual(outcome.json()["outcome"], "won")

    def test_approvals_are_for_leaders(self) -> None:
        session = self.start()
        big = services.session_add_option(
            membership=self.m(self.manager_a), session=session, title="Exit", clauses=["exit_right"]
        )
        self.sign_in(self.manager_a)
        asked = self.post(f"/sessions/{session.pk}/options/{big.pk}/approval", {"note": "please"})
        self.assertEqual(asked.status_code, 201, asked.content)
        aid = asked.json()["id"]
        self.assertEqual(
            self.post(f"/approvals/{aid}", {"approve": True, "reason": "x"}).status_code, 403
        )
        self.sign_in(self.leader)
        done = self.post(f"/approvals/{aid}", {"approve": False, "reason": "Not this year"})
        self.assertEqual(done.json()["status"], "declined")

    def test_unseen_sessions_answer_404(self) -> None:
        session = self.start()
        for user in (self.manager_b, self.rep_b, self.partner, self.outsider):
            with self.subTest(user=user.email):
                self.sign_in(user)
                self.assertEqual(self.client.get(f"{API}/sessions/{session.pk}").status_code, 404)
                self.assertEqual(
                    self.post(f"/sessions/{session.pk}/options", {"title": "x"}).status_code, 404
                )


class LeverAndGuardrailApiTests(CocreateTestCase):
    def test_leaders_add_and_edit_levers_and_others_are_refused(self) -> None:
        lever = {"family": "risk", "name": "Uptime warranty", "template": "Offer {account} it."}
        self.sign_in(self.manager_a)
        self.assertEqual(
            self.client.post(f"{API}/levers", lever, content_type="application/json").status_code,
            403,
        )
        self.sign_in(self.leader)
        added = self.client.post(f"{API}/levers", lever, content_type="application/json")
        self.assertEqual(added.status_code, 201, added.content)
        lid = added.json()["id"]
        patched = self.client.patch(
            f"{API}/levers/{lid}", {"is_active": False}, content_type="application/json"
        )
        self.assertFalse(patched.json()["is_active"])
        self.sign_in(self.outsider)
        self.assertEqual(self.client.get(f"{API}/levers").status_code, 404)

    def test_leaders_set_guardrails_managers_read_them(self) -> None:
        rules = {
            "min_options": 6,
            "max_discount_pct": "12",
            "max_term_months": 24,
            "payment_terms": ["net_30"],
            "clauses": [],
        }
        self.sign_in(self.manager_a)
        self.assertEqual(self.client.get(f"{API}/guardrails").json()["min_options"], 8)
        put = self.client.put(f"{API}/guardrails", rules, content_type="application/json")
        self.assertEqual(put.status_code, 403)
        self.sign_in(self.leader)
        put = self.client.put(f"{API}/guardrails", rules, content_type="application/json")
        self.assertEqual(put.json()["max_term_months"], 24)
        self.sign_in(self.rep_a)
        self.assertEqual(self.client.get(f"{API}/guardrails").status_code, 403)
