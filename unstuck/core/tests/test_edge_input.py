"""Input that used to answer 500: each is refused at the edge with a clear 4xx, nothing is
written, and the API answers JSON whatever happens (issue 15, item 3)."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

from django.db import OperationalError
from django.urls import reverse

from unstuck.cocreate.models import Lever, Session
from unstuck.cocreate.services import levers_ensure
from unstuck.core.models import ApiToken
from unstuck.core.services import api_token_create
from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Stakeholder
from unstuck.investigate.models import CustomerPain, FeedbackEntry
from unstuck.thinking.models import PerspectiveQuestion
from unstuck.thinking.services import question_bank_ensure

TOO_BIG = 2**64
NUL = "\x00"


class ApiInputCase(PersonasTestCase):
    secrets: dict[str, str]

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.secrets = {
            name: api_token_create(user=getattr(cls, name), name="edge")[1]
            for name in ("leader", "manager_a", "partner")
        }

    def api(self, method: str, path: str, body: object = None, *, who: str = "leader") -> Any:
        return self.client.generic(
            method,
            f"/api/v1{path}",
            data=None if body is None else json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {self.secrets[who]}"},
        )


class InvalidValuesTests(ApiInputCase):
    def test_a_question_edit_refuses_an_unknown_bias_as_the_add_does(self) -> None:
        question_bank_ensure(workspace=self.workspace)
        question = PerspectiveQuestion.objects.filter(workspace=self.workspace).first()
        assert question is not None
        before = list(question.biases)
        response = self.api(
            "PATCH", f"/workspaces/acme/thinking/questions/{question.pk}", {"biases": ["nope"]}
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["field"], "biases")
        question.refresh_from_db()
        self.assertEqual(question.biases, before)

    def test_a_query_parameter_given_twice_is_refused_not_read_as_its_last_value(self) -> None:
        once = self.api("GET", "/workspaces/acme/thinking/questions?situation=renewal")
        self.assertEqual(once.status_code, 200)
        twice = self.api("GET", "/workspaces/acme/thinking/questions?situation=a&situation=b")
        self.assertEqual(twice.status_code, 400)
        self.assertEqual(twice.json()["field"], "query.situation")
        self.assertIn("given 2 times", twice.json()["detail"])
        # The web pages are not the API: the pipeline still answers such an address.
        self.client.force_login(self.rep_a)
        page = self.client.get(reverse("deals:pipeline", kwargs={"slug": "acme"}) + "?q=a&q=b")
        self.assertEqual(page.status_code, 200)

    def test_a_lever_edit_refuses_null_for_each_list_and_the_terms(self) -> None:
        levers_ensure(workspace=self.workspace)
        lever = Lever.objects.filter(workspace=self.workspace).first()
        assert lever is not None
        for field in ("clauses", "phases", "factors", "obstacle_kinds", "payment_terms"):
            with self.subTest(field=field):
                response = self.api(
                    "PATCH", f"/workspaces/acme/cocreate/levers/{lever.pk}", {field: None}
                )
                self.assertEqual(response.status_code, 422)
                self.assertIn(field, str(response.json()["detail"]))
                self.assertIsNotNone(Lever.objects.values_list(field, flat=True).get(pk=lever.pk))

    def test_dates_are_only_read_as_yyyy_mm_dd_not_as_timestamps(self) -> None:
        # pydantic alone reads "-2.8e-19" as a Unix timestamp: 1 January 1970.
        for value in ("-2.8010741774429764e-19", "1700000000", "2026-13-01", "26-1-1"):
            with self.subTest(value=value):
                response = self.api("GET", f"/workspaces/acme/investigate/diagnose?as_of={value}")
                self.assertEqual(response.status_code, 422)
                self.assertIn("YYYY-MM-DD", str(response.json()["detail"]))
        ok = self.api("GET", "/workspaces/acme/investigate/diagnose?as_of=2026-01-05")
        self.assertEqual(ok.status_code, 200)


class IdsBeyond64BitsTests(ApiInputCase):
    def test_the_pipeline_page_ignores_too_large_filter_ids_with_a_note(self) -> None:
        for persona in ("leader", "partner"):
            self.client.force_login(getattr(self, persona))
            for name in ("owner", "team", "stage"):
                with self.subTest(persona=persona, filter=name):
                    response = self.client.get(
                        reverse("deals:pipeline", kwargs={"slug": "acme"}), {name: TOO_BIG}
                    )
                    self.assertEqual(response.status_code, 200)
                    self.assertIn(f"Ignored {name}", response.content.decode())

    def test_the_api_refuses_too_large_filter_ids_for_a_partner_too(self) -> None:
        response = self.api("GET", f"/workspaces/acme/deals?owner={TOO_BIG}", who="partner")
        self.assertEqual(response.status_code, 422)
        self.assertIn("owner", str(response.json()["detail"]))

    def test_the_api_refuses_too_large_ids_in_filters_and_bodies(self) -> None:
        session = Session.objects.create(
            workspace=self.workspace, deal=self.deal_a, ideal_outcome="x", started_by=self.manager_a
        )
        calls = [
            ("GET", f"/workspaces/acme/deals?owner={TOO_BIG}", None),
            ("GET", f"/workspaces/acme/deals?team={TOO_BIG}", None),
            ("GET", f"/workspaces/acme/deals?stage={TOO_BIG}", None),
            ("GET", f"/workspaces/acme/thinking/flags?deal_id={TOO_BIG}", None),
            (
                "POST",
                "/workspaces/acme/cocreate/sessions",
                {"deal_id": self.deal_a.pk, "ideal_outcome": "x", "obstacle_ids": [TOO_BIG]},
            ),
            (
                "POST",
                f"/workspaces/acme/cocreate/sessions/{session.pk}/decide",
                {"option_ids": [TOO_BIG], "rationale": "x"},
            ),
            (
                "POST",
                f"/workspaces/acme/cocreate/sessions/{session.pk}/actions",
                {"text": "x", "owner_id": TOO_BIG, "due_date": "2030-01-01"},
            ),
        ]
        for method, path, body in calls:
            with self.subTest(path=path):
                response = self.api(method, path, body)
                self.assertEqual(response.status_code, 422)
                self.assertEqual(response["Content-Type"], "application/json; charset=utf-8")

    def test_a_partner_invite_with_a_too_large_user_id_is_not_found(self) -> None:
        self.client.force_login(self.leader)
        url = reverse("deals:partner-invite", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        self.assertEqual(self.client.post(url, {"user": TOO_BIG}).status_code, 404)
        self.assertEqual(self.client.post(url, {"user": "abc"}).status_code, 404)


class NulCharacterTests(ApiInputCase):
    def test_the_api_refuses_nul_in_every_text_and_writes_nothing(self) -> None:
        stakeholder_path = f"/workspaces/acme/deals/{self.deal_a.pk}/stakeholders"
        calls = [
            ("POST", "/tokens", {"name": f"bad{NUL}name"}, ApiToken),
            (
                "POST",
                f"/workspaces/acme/investigate/deals/{self.deal_a.pk}/feedback",
                {"kind": "note", "text": f"a{NUL}b"},
                FeedbackEntry,
            ),
            (
                "POST",
                stakeholder_path,
                {"name": f"Ana{NUL}", "buying_role": "economic_buyer"},
                Stakeholder,
            ),
            (
                "PUT",
                f"/workspaces/acme/investigate/deals/{self.deal_a.pk}/pain",
                {"pain": f"x{NUL}", "resolution": "y"},
                CustomerPain,
            ),
        ]
        for method, path, body, model in calls:
            with self.subTest(path=path):
                before = model._default_manager.count()
                response = self.api(method, path, body)
                self.assertEqual(response.status_code, 400)
                self.assertIn("NUL", response.json()["detail"])
                self.assertEqual(model._default_manager.count(), before)

    def test_a_search_with_nul_is_refused_in_the_api_and_on_the_page(self) -> None:
        response = self.api("GET", "/workspaces/acme/deals?q=%00")
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["field"], "query.q")
        self.client.force_login(self.rep_a)
        page = self.client.get(reverse("deals:pipeline", kwargs={"slug": "acme"}) + "?q=a%00")
        self.assertEqual(page.status_code, 400)
        self.assertIn("NUL character", page.content.decode())

    def test_the_web_forms_refuse_nul_too(self) -> None:
        self.client.force_login(self.rep_a)
        before = ApiToken.objects.count()
        response = self.client.post(reverse("api-tokens"), {"name": f"x{NUL}"})
        self.assertEqual(response.status_code, 400)
        self.assertEqual(ApiToken.objects.count(), before)
        url = reverse("deals:stakeholder-new", kwargs={"slug": "acme", "pk": self.deal_a.pk})
        response = self.client.post(url, {"name": f"Ana{NUL}", "buying_role": "economic_buyer"})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(Stakeholder.objects.filter(deal=self.deal_a).exists())


class JsonErrorsTests(ApiInputCase):
    def test_an_unknown_api_address_answers_json_404(self) -> None:
        response = self.api("GET", "/workspaces/acme/nothing-here")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response.json()["detail"], "Not found.")

    def test_a_wrong_method_answers_json_405_with_allow(self) -> None:
        response = self.api("PUT", "/me")
        self.assertEqual(response.status_code, 405)
        self.assertIn("GET", response["Allow"])
        self.assertIn("detail", response.json())

    def test_an_unexpected_error_answers_json_500(self) -> None:
        self.client.raise_request_exception = False
        with mock.patch("unstuck.core.api.Membership.objects.filter", side_effect=RuntimeError):
            response = self.api("GET", "/me")
        self.assertEqual(response.status_code, 500)
        self.assertIn("went wrong", response.json()["detail"])

    def test_a_locked_database_answers_503_with_a_clear_message_in_api_and_web(self) -> None:
        locked = OperationalError("database is locked")
        with mock.patch("unstuck.core.api.Membership.objects.filter", side_effect=locked):
            response = self.api("GET", "/me")
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response["Retry-After"], "5")
        self.assertIn("import is finishing", response.json()["detail"])
        self.client.force_login(self.leader)
        with mock.patch("unstuck.deals.views.selectors.pipeline_page", side_effect=locked):
            page = self.client.get(reverse("deals:pipeline", kwargs={"slug": "acme"}))
        self.assertEqual(page.status_code, 503)
        self.assertIn("import is finishing", page.content.decode())

    def test_a_bad_token_on_an_unsafe_call_answers_401_not_a_csrf_refusal(self) -> None:
        self.client.force_login(self.leader)  # a session cookie too, as a browser might send
        response = self.client.post(
            "/api/v1/tokens",
            {"name": "x"},
            content_type="application/json",
            headers={"Authorization": "Bearer unst_not-a-real-token"},
        )
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json()["detail"], "Unauthorized")
