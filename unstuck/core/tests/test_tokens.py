from __future__ import annotations

import hashlib

from django.urls import reverse

from unstuck.core.models import ApiToken
from unstuck.core.services import api_token_authenticate, api_token_create
from unstuck.core.testing import PersonasTestCase


class ApiTokenTests(PersonasTestCase):
    def test_only_the_hash_of_a_new_token_is_stored(self) -> None:
        token, secret = api_token_create(user=self.rep_a, name="export script")
        stored = ApiToken.objects.get(pk=token.pk)
        self.assertEqual(stored.key_hash, hashlib.sha256(secret.encode()).hexdigest())
        self.assertNotIn(secret, [stored.key_hash, stored.prefix, stored.name])
        self.assertTrue(secret.startswith(stored.prefix))

    def test_a_revoked_token_stops_working(self) -> None:
        _, secret = api_token_create(user=self.rep_a, name="x")
        auth = {"Authorization": f"Bearer {secret}"}
        self.assertEqual(self.client.get("/api/v1/me", headers=auth).status_code, 200)
        token_id = self.client.get("/api/v1/tokens", headers=auth).json()[0]["id"]
        response = self.client.delete(f"/api/v1/tokens/{token_id}", headers=auth)
        self.assertEqual(response.status_code, 200)
        self.assertIsNotNone(response.json()["revoked_at"])
        self.assertEqual(self.client.get("/api/v1/me", headers=auth).status_code, 401)
        self.assertIsNone(api_token_authenticate(secret))

    def test_nobody_revokes_or_lists_someone_elses_token(self) -> None:
        token, _ = api_token_create(user=self.rep_a, name="mine")
        _, other_secret = api_token_create(user=self.rep_b, name="theirs")
        auth = {"Authorization": f"Bearer {other_secret}"}
        self.assertEqual(
            self.client.delete(f"/api/v1/tokens/{token.pk}", headers=auth).status_code, 404
        )
        self.assertEqual(
            [t["name"] for t in self.client.get("/api/v1/tokens", headers=auth).json()], ["theirs"]
        )
        self.client.force_login(self.rep_b)
        response = self.client.post(reverse("api-token-revoke", kwargs={"pk": token.pk}))
        self.assertEqual(response.status_code, 404)
        token.refresh_from_db()
        self.assertIsNone(token.revoked_at)

    def test_the_web_page_shows_a_new_secret_once(self) -> None:
        self.client.force_login(self.manager_a)
        response = self.client.post(reverse("api-tokens"), {"name": "Weekly export"})
        self.assertEqual(response.status_code, 200)
        secret = response.context["new_secret"]
        self.assertContains(response, secret)
        self.assertEqual(api_token_authenticate(secret), self.manager_a)
        again = self.client.get(reverse("api-tokens"))
        self.assertNotContains(again, secret)
        self.assertContains(again, "Weekly export")

    def test_a_nameless_token_is_refused_with_a_reason(self) -> None:
        self.client.force_login(self.manager_a)
        response = self.client.post(reverse("api-tokens"), {"name": "  "})
        self.assertEqual(response.status_code, 400)
        self.assertFalse(ApiToken.objects.exists())

    def test_api_can_create_a_token_and_shows_its_secret_once(self) -> None:
        self.client.force_login(self.rep_a)
        response = self.client.post(
            "/api/v1/tokens", {"name": "cli"}, content_type="application/json"
        )
        self.assertEqual(response.status_code, 201)
        self.assertEqual(api_token_authenticate(response.json()["secret"]), self.rep_a)
        listed = self.client.get("/api/v1/tokens").json()
        self.assertNotIn("secret", listed[0])
