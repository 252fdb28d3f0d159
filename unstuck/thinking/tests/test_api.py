"""The thinking API: same services and access rules as the web."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from unstuck.core.testing import PersonasTestCase
from unstuck.thinking import services
from unstuck.thinking.models import BiasFlag, FlagStatus

DENVER = "Flopped in Denver, it will flop in Dallas."
BASE = "/api/v1/workspaces/acme/thinking"


class ThinkingApiTests(PersonasTestCase):
    def post(self, path: str, data: Mapping[str, object]) -> Any:
        return self.client.post(BASE + path, json.dumps(data), content_type="application/json")

    def test_check_flags_and_stores_with_the_deal(self) -> None:
        self.sign_in(self.rep_a)
        response = self.post(
            "/check", {"text": DENVER, "deal_id": self.deal_a.pk, "context": "api"}
        )
        self.assertEqual(response.status_code, 200)
        (flag,) = response.json()["biases"]
        self.assertEqual(flag["bias"], "exportability")
        self.assertTrue(flag["id"])
        self.assertEqual(BiasFlag.objects.get().deal, self.deal_a)

    def test_check_without_storing(self) -> None:
        self.sign_in(self.rep_a)
        response = self.post("/check", {"text": DENVER, "store": False})
        self.assertEqual(response.json()["biases"][0]["bias"], "exportability")
        self.assertFalse(BiasFlag.objects.exists())

    def test_a_draft_is_checked_and_stored_nowhere(self) -> None:
        self.sign_in(self.rep_a)
        response = self.post("/check", {"text": DENVER, "draft_key": "api-draft-1"})
        self.assertEqual(response.status_code, 200)
        (flag,) = response.json()["biases"]
        self.assertEqual((flag["bias"], flag["id"]), ("exportability", None))
        self.assertFalse(BiasFlag.objects.exists())

    def test_check_refuses_unseen_deals_and_outsiders(self) -> None:
        self.sign_in(self.rep_b)
        self.assertEqual(
            self.post("/check", {"text": DENVER, "deal_id": self.deal_a.pk}).status_code, 404
        )
        self.sign_in(self.outsider)
        self.assertEqual(self.post("/check", {"text": DENVER}).status_code, 404)

    def test_flags_list_follows_visibility_and_dismiss_needs_a_reason(self) -> None:
        services.text_check(workspace=self.workspace, author=self.rep_a, text=DENVER)
        self.sign_in(self.rep_b)
        self.assertEqual(self.client.get(BASE + "/flags").json(), [])
        self.sign_in(self.rep_a)
        (flag,) = self.client.get(BASE + "/flags").json()
        self.assertEqual(
            self.post(f"/flags/{flag['id']}/dismiss", {"reason": " "}).status_code, 400
        )
        response = self.post(f"/flags/{flag['id']}/dismiss", {"reason": "We checked"})
        self.assertEqual(response.json()["status"], "dismissed")
        self.assertEqual(BiasFlag.objects.get().status, FlagStatus.DISMISSED)
        self.sign_in(self.rep_b)
        self.assertEqual(
            self.post(f"/flags/{flag['id']}/dismiss", {"reason": "x"}).status_code, 404
        )

    def test_questions_read_by_all_written_by_leaders(self) -> None:
        self.sign_in(self.rep_a)
        questions = self.client.get(BASE + "/questions?bias=personal&situation=rejecting").json()
        self.assertTrue(questions)
        self.assertTrue(all("personal" in q["biases"] for q in questions))
        new = {
            "text": "What would their end users pay for?",
            "perspective": "end_user",
            "biases": ["personal"],
        }
        self.assertEqual(self.post("/questions", new).status_code, 403)
        self.sign_in(self.leader)
        response = self.post("/questions", new)
        self.assertEqual(response.status_code, 201)
        question_id = response.json()["id"]
        response = self.client.patch(
            f"{BASE}/questions/{question_id}",
            json.dumps({"is_active": False}),
            content_type="application/json",
        )
        self.assertFalse(response.json()["is_active"])

    def test_training_progress_for_me_and_for_a_leader_the_managers(self) -> None:
        services.lesson_complete(workspace=self.workspace, user=self.manager_a, bias="legacy")
        self.sign_in(self.manager_a)
        (mine,) = self.client.get(BASE + "/training/progress").json()
        self.assertEqual(mine["lessons_done"], 1)
        self.sign_in(self.leader)
        emails = [p["email"] for p in self.client.get(BASE + "/training/progress").json()]
        self.assertEqual(
            set(emails), {self.leader.email, self.manager_a.email, self.manager_b.email}
        )
