"""The playbook API: the same services and the same refusals as the pages."""

from __future__ import annotations

from typing import Any

from unstuck.share.models import Play, PlayApplication
from unstuck.share.tests.plays_helpers import PlaysTestCase

API = "/api/v1/workspaces/acme/share"


class PlaysApiTests(PlaysTestCase):
    def post(self, path: str, data: dict[str, Any] | None = None) -> Any:
        return self.client.post(API + path, data or {}, content_type="application/json")

    def test_reps_list_the_verified_playbook_and_search_it(self) -> None:
        self.sign_in(self.rep_a)
        found = self.client.get(f"{API}/plays").json()
        self.assertEqual([p["id"] for p in found], [self.budget_play.pk])
        self.assertEqual(self.client.get(f"{API}/plays", {"q": "zeppelin"}).json(), [])
        self.assertEqual(self.client.get(f"{API}/plays/{self.draft_play.pk}").status_code, 404)

    def test_write_edit_verify_retire(self) -> None:
        self.sign_in(self.rep_a)
        self.assertEqual(self.post("/plays", {"title": "T", "what_to_do": "x"}).status_code, 403)
        self.sign_in(self.manager_a)
        created = self.post(
            "/plays",
            {
                "title": "Map the committee",
                "what_to_do": "Meet three people before the proposal.",
                "obstacle_kinds": ["politics"],
                "evidence_deal_ids": [self.deal_a.pk],
            },
        )
        self.assertEqual(created.status_code, 201, created.content)
        body = created.json()
        self.assertEqual((body["status"], body["evidence_deal_ids"]), ("draft", [self.deal_a.pk]))
        pid = body["id"]
        bad = self.post("/plays", {"title": "T", "what_to_do": "x", "obstacle_kinds": ["nope"]})
        self.assertEqual(bad.status_code, 400)
        self.assertEqual(bad.json()["field"], "obstacle_kinds")
        self.sign_in(self.manager_b)
        patch = self.client.patch(
            f"{API}/plays/{pid}", {"title": "Mine"}, content_type="application/json"
        )
        self.assertEqual(patch.status_code, 403)
        self.assertEqual(self.post(f"/plays/{pid}/verify").status_code, 403)
        self.sign_in(self.manager_a)
        self.assertEqual(self.post(f"/plays/{pid}/verify").json()["status"], "verified")
        retired = self.post(f"/plays/{pid}/retire", {"reason": "Replaced"})
        self.assertEqual(retired.json()["status"], "retired")
        self.assertEqual(self.post(f"/plays/{pid}/retire").status_code, 409)

    def test_apply_and_read_the_outcome(self) -> None:
        self.sign_in(self.rep_a)
        path = f"/plays/{self.budget_play.pk}/applications"
        made = self.post(path, {"deal_id": self.deal_a.pk})
        self.assertEqual(made.status_code, 201, made.content)
        self.assertEqual((made.json()["stage"], made.json()["source"]), ("Qualification", "api"))
        self.assertEqual(self.post(path, {"deal_id": self.deal_a.pk}).status_code, 409)
        self.assertEqual(self.post(path, {"deal_id": self.deal_b.pk}).status_code, 404)
        # reps may read teammates' deals only where the workspace allows it
        self.assertIn(self.post(path, {"deal_id": self.deal_a2.pk}).status_code, {403, 404})
        outcome = self.client.get(f"{API}/plays/{self.budget_play.pk}/outcome").json()
        self.assertEqual(outcome["summary"]["verdict"], "too_early")
        self.assertEqual(outcome["summary"]["applications"], 1)
        listed = self.client.get(f"{API}{path}").json()
        self.assertEqual([a["deal_id"] for a in listed], [self.deal_a.pk])
        self.assertEqual(PlayApplication.objects.count(), 1)

    def test_promote_and_trust(self) -> None:
        self.sign_in(self.manager_a)
        made = self.post(f"/sessions/{self.session_a.pk}/promote")
        self.assertEqual(made.status_code, 201, made.content)
        self.assertEqual(made.json()["obstacle_kinds"], ["budget"])
        self.assertEqual(self.post(f"/sessions/{self.session_a.pk}/promote").status_code, 409)
        trust = self.client.get(f"{API}/plays/trust").json()
        self.assertEqual((trust["active"], trust["verified"]), (3, 1))
        self.sign_in(self.rep_a)
        self.assertEqual(self.client.get(f"{API}/plays/trust").status_code, 403)
        self.assertEqual(self.post(f"/sessions/{self.session_a.pk}/promote").status_code, 403)

    def test_nothing_crosses_workspaces(self) -> None:
        self.sign_in(self.outsider)
        self.assertEqual(self.client.get(f"{API}/plays").status_code, 404)
        other = "/api/v1/workspaces/globex/share/plays"
        self.assertEqual(self.client.get(other).json(), [])
        self.assertEqual(self.client.get(f"{other}/{self.budget_play.pk}").status_code, 404)
        self.assertEqual(Play.objects.filter(workspace__slug="globex").count(), 0)
