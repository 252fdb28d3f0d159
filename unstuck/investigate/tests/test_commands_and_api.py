from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from unstuck.deals.models import Deal
from unstuck.investigate.services import assessments_recompute
from unstuck.investigate.tests.helpers import InvestigateCase, ago


class DiagnoseCommandTests(InvestigateCase):
    closed_later: Deal

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.closed_later = cls.make_deal(owner=cls.rep_a, created_at=ago(60), name="Won later")
        cls.move(cls.closed_later, cls.stages[1], ago(45))
        cls.move(cls.closed_later, cls.stages[4], ago(5))
        cls.closed_later.status = "won"
        cls.closed_later.stage = cls.stages[4]
        cls.closed_later.closed_at = ago(5)
        cls.closed_later.save()

    def diagnose(self, *args: str) -> str:
        out = StringIO()
        call_command("diagnose", "--workspace", "acme", *args, stdout=out)
        return out.getvalue()

    def test_as_of_json_gives_the_deals_open_on_that_date_with_their_stage_then(self) -> None:
        day = (timezone.now() - timedelta(days=10)).date().isoformat()
        payload = json.loads(self.diagnose("--as-of", day, "--format", "json"))
        deals = {d["external_id"]: d for d in payload["deals"]}
        self.assertIn(self.closed_later.external_id, deals)
        entry = deals[self.closed_later.external_id]
        self.assertEqual(entry["stage"], "Discovery")
        self.assertGreaterEqual(entry["days_in_stage"], 34)
        self.assertIn("stall_score", entry)
        self.assertIn("signals", entry)
        now = json.loads(self.diagnose("--format", "json"))
        self.assertNotIn(self.closed_later.external_id, {d["external_id"] for d in now["deals"]})

    def test_as_another_member_shows_only_what_they_see(self) -> None:
        payload = json.loads(self.diagnose("--format", "json", "--as", "rep.b@acme.test"))
        self.assertEqual({d["external_id"] for d in payload["deals"]}, {self.deal_b.external_id})

    def test_table_and_csv_formats_list_the_deals(self) -> None:
        self.assertIn(self.deal_a.name, self.diagnose())
        csv_out = self.diagnose("--format", "csv")
        self.assertTrue(csv_out.startswith("external_id,name,stage"))
        self.assertIn(self.deal_a.external_id, csv_out)


class ApiTests(InvestigateCase):
    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        assessments_recompute(workspace=cls.workspace)

    def test_queue_endpoint_lists_the_managers_deals_and_refuses_reps(self) -> None:
        self.sign_in(self.manager_a)
        body = self.client.get("/api/v1/workspaces/acme/investigate/queue?show=all").json()
        ids = {r["deal_id"] for r in body["results"]}
        self.assertIn(self.deal_a.pk, ids)
        self.assertNotIn(self.deal_b.pk, ids)
        self.sign_in(self.rep_a)
        self.assertEqual(
            self.client.get("/api/v1/workspaces/acme/investigate/queue").status_code, 403
        )

    def test_signals_endpoint_follows_the_access_rules(self) -> None:
        url = f"/api/v1/workspaces/acme/investigate/deals/{self.deal_a.pk}/signals"
        self.sign_in(self.rep_a)
        body = self.client.get(url).json()
        self.assertEqual(body["stage"], "Qualification")
        self.assertIn("stage_stalled", {s["code"] for s in body["signals"]})
        self.sign_in(self.rep_b)
        self.assertEqual(self.client.get(url).status_code, 404)

    def test_request_round_trip_through_the_api(self) -> None:
        base = f"/api/v1/workspaces/acme/investigate/deals/{self.deal_a.pk}"
        due = (timezone.localdate() + timedelta(days=3)).isoformat()
        self.sign_in(self.rep_a)
        refused = self.client.post(
            f"{base}/requests", {"question": "x", "due_date": due}, content_type="application/json"
        )
        self.assertEqual(refused.status_code, 403)
        self.sign_in(self.manager_a)
        created = self.client.post(
            f"{base}/requests",
            {"question": "Who signs?", "due_date": due},
            content_type="application/json",
        )
        self.assertEqual(created.status_code, 201)
        request_id = created.json()["id"]
        self.sign_in(self.rep_a)
        answered = self.client.post(
            f"{base}/requests/{request_id}/answer",
            {"answer": "The CFO"},
            content_type="application/json",
        )
        self.assertEqual(answered.json()["answer"], "The CFO")
        body = self.client.get(f"{base}/investigation").json()
        self.assertEqual(body["requests"][0]["answer"], "The CFO")

    def test_investigation_writes_move_the_checklist(self) -> None:
        base = f"/api/v1/workspaces/acme/investigate/deals/{self.deal_a.pk}"
        self.sign_in(self.rep_a)
        before = self.client.get(f"{base}/investigation").json()["completeness"]
        self.client.put(
            f"{base}/pain",
            {"pain": "Slow close", "resolution": "Automate it"},
            content_type="application/json",
        )
        after = self.client.get(f"{base}/investigation").json()["completeness"]
        self.assertGreater(after, before)
        self.sign_in(self.rep_a2)  # reads the deal, may not change it
        response = self.client.put(
            f"{base}/pain", {"pain": "x", "resolution": "y"}, content_type="application/json"
        )
        self.assertEqual(response.status_code, 403)
