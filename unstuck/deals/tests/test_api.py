from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.test import override_settings

from unstuck.core.services import api_token_create
from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Deal, StageChange


class DealApiTests(PersonasTestCase):
    secret: str

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.secret = api_token_create(user=cls.manager_a, name="t")[1]

    def get(self, path: str) -> Any:
        response = self.client.get(path, headers={"Authorization": f"Bearer {self.secret}"})
        self.assertEqual(response.status_code, 200, response.content)
        return response.json()

    def send(self, method: str, path: str, body: dict[str, Any]) -> Any:
        return getattr(self.client, method)(
            path,
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {self.secret}"},
        )

    @override_settings(UNSTUCK_PAGE_SIZE=1)
    def test_the_list_paginates_and_filters(self) -> None:
        data = self.get("/api/v1/workspaces/acme/deals?sort=name")
        self.assertEqual((data["count"], data["pages"]), (2, 2))
        self.assertEqual(data["results"][0]["name"], "Alpha expansion")
        data = self.get("/api/v1/workspaces/acme/deals?sort=name&page=2")
        self.assertEqual(data["results"][0]["name"], "Alpha two")
        data = self.get(f"/api/v1/workspaces/acme/deals?owner={self.rep_a2.pk}")
        self.assertEqual([d["owner"] for d in data["results"]], ["rep.a2@acme.test"])

    def test_each_listed_deal_carries_every_field_of_the_schema(self) -> None:
        deal = self.deal_a2
        Deal.objects.filter(pk=deal.pk).update(
            close_date=date(2026, 3, 9), next_step="Call the CFO", amount=Decimal("1234.50")
        )
        Deal.objects.filter(pk=self.deal_a.pk).update(owner=None, account=None)
        data = self.get("/api/v1/workspaces/acme/deals?sort=name")
        first, row = data["results"]
        stage = self.stages[0]
        deal.refresh_from_db()
        assert deal.account is not None
        self.assertEqual(
            row,
            {
                "id": deal.pk,
                "external_id": deal.external_id,
                "source": deal.source,
                "name": "Alpha two",
                "account": deal.account.name,
                "owner": "rep.a2@acme.test",
                "team": "A",
                "pipeline": "New business",
                "stage": {
                    "id": stage.pk,
                    "name": "Qualification",
                    "kind": "open",
                    "order": 0,
                    "probability": 10,
                },
                "status": "open",
                "amount": "1234.50",
                "currency": "USD",
                "close_date": "2026-03-09",
                "created_at": row["created_at"],
                "stage_entered_at": row["stage_entered_at"],
                "last_activity_at": None,
                "next_step": "Call the CFO",
            },
        )
        for name in ("created_at", "stage_entered_at"):
            self.assertTrue(row[name].startswith(getattr(deal, name).strftime("%Y-%m-%dT%H:%M")))
        # A deal without account or owner (the manager sees it through the team).
        self.assertEqual(first["name"], "Alpha expansion")
        self.assertEqual((first["account"], first["owner"], first["team"]), (None, None, "A"))

    def test_the_list_is_what_validating_each_deal_against_the_schema_gives(self) -> None:
        # The list builds its page without validating it (deals/api.py): byte for byte, it
        # must be ninja's validated serialisation of the deals, as model instances.
        from unstuck.api import api
        from unstuck.deals.api import DealOut

        Deal.objects.filter(pk=self.deal_a2.pk).update(
            close_date=date(2026, 3, 9), amount=Decimal("1234.56"), next_step='Say "hi" <b>'
        )
        Deal.objects.filter(pk=self.deal_a.pk).update(owner=None, account=None)
        response = self.client.get(
            "/api/v1/workspaces/acme/deals?sort=name",
            headers={"Authorization": f"Bearer {self.secret}"},
        )
        deals = (
            Deal.objects.filter(pk__in=[self.deal_a.pk, self.deal_a2.pk])
            .select_related("account", "owner", "team", "pipeline", "stage")
            .order_by("name", "pk")
        )
        results = [DealOut.model_validate(d).model_dump() for d in deals]
        expected = api.create_response(
            response.wsgi_request,
            {"count": 2, "page": 1, "pages": 1, "results": results},
            status=200,
        )
        self.assertEqual(response.content, expected.content)

    def test_bad_list_parameters_get_a_clear_error(self) -> None:
        response = self.client.get(
            "/api/v1/workspaces/acme/deals?sort=nonsense",
            headers={"Authorization": f"Bearer {self.secret}"},
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("Unknown sort 'nonsense'", response.json()["detail"])
        response = self.client.get(
            "/api/v1/workspaces/acme/deals?page=9",
            headers={"Authorization": f"Bearer {self.secret}"},
        )
        self.assertEqual(response.status_code, 400)
        self.assertIn("out of range", response.json()["detail"])

    def test_detail_carries_timeline_committee_and_access(self) -> None:
        data = self.get(f"/api/v1/workspaces/acme/deals/{self.deal_a.pk}")
        self.assertEqual(data["external_id"], self.deal_a.external_id)
        self.assertEqual(data["stage"]["name"], "Qualification")
        self.assertEqual([s["stage"] for s in data["timeline"]], ["Qualification"])
        self.assertTrue(data["can_edit"])
        self.assertEqual(data["stakeholders"], [])

    def test_a_stage_move_by_name_records_history(self) -> None:
        response = self.send(
            "post",
            f"/api/v1/workspaces/acme/deals/{self.deal_a.pk}/stage",
            {"stage": "proposal", "amount": "61000.50"},
        )
        self.assertEqual(response.status_code, 200)
        data = response.json()
        self.assertEqual(data["stage"]["name"], "Proposal")
        self.assertEqual(data["amount"], "61000.50")
        self.assertEqual(StageChange.objects.filter(deal=self.deal_a).count(), 2)

    def test_an_unknown_stage_names_the_stages_that_exist(self) -> None:
        response = self.send(
            "post", f"/api/v1/workspaces/acme/deals/{self.deal_a.pk}/stage", {"stage": "Limbo"}
        )
        self.assertEqual(response.status_code, 400)
        detail = response.json()["detail"]
        self.assertIn("No stage 'Limbo'", detail)
        self.assertIn("Negotiation", detail)
        self.assertEqual(StageChange.objects.filter(deal=self.deal_a).count(), 1)

    def test_stakeholders_can_be_added_changed_and_removed(self) -> None:
        base = f"/api/v1/workspaces/acme/deals/{self.deal_a.pk}/stakeholders"
        created = self.send("post", base, {"name": "Ana", "buying_role": "champion"})
        self.assertEqual(created.status_code, 201)
        sid = created.json()["id"]
        patched = self.send("patch", f"{base}/{sid}", {"stance": "supporter"})
        self.assertEqual(patched.json()["stance"], "supporter")
        self.assertEqual(patched.json()["buying_role"], "champion")
        self.assertEqual([s["id"] for s in self.get(base)], [sid])
        deleted = self.send("delete", f"{base}/{sid}", {})
        self.assertEqual(deleted.status_code, 204)
        self.assertEqual(self.get(base), [])

    def test_the_openapi_docs_are_served_without_a_cdn(self) -> None:
        response = self.client.get("/api/v1/docs")
        self.assertEqual(response.status_code, 200)
        self.assertNotIn(b"cdn.jsdelivr", response.content)
        schema = self.client.get("/api/v1/openapi.json").json()
        self.assertIn("/api/v1/workspaces/{slug}/deals/{deal_id}/stage", schema["paths"])
