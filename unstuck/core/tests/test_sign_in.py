"""Sign-in throttle (django-axes): repeated wrong passwords lock one account from one address,
with a clear message; a good sign-in resets the count; other addresses and accounts go on."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.test import override_settings
from django.urls import reverse

from unstuck.core.testing import PASSWORD, PersonasTestCase


@override_settings(AXES_FAILURE_LIMIT=3)
class SignInThrottleTests(PersonasTestCase):
    def attempt(self, password: str, *, ip: str = "10.0.0.1", email: str = "") -> int:
        response = self.client.post(
            reverse("login"),
            {"username": email or self.rep_a.email, "password": password},
            REMOTE_ADDR=ip,
        )
        self.last = response
        return response.status_code

    def test_it_locks_the_account_from_that_address_after_the_limit(self) -> None:
        self.assertEqual([self.attempt("wrong") for _ in range(2)], [200, 200])
        self.assertEqual(self.attempt("wrong"), 429)
        # Even the right password is refused now, with a message that says why and for how long.
        self.assertEqual(self.attempt(PASSWORD), 429)
        text = self.last.content.decode()
        self.assertIn("Too many wrong passwords", text)
        self.assertIn("15 minutes", text)
        self.assertNotIn("_auth_user_id", self.client.session)

    def test_another_address_and_another_account_still_sign_in(self) -> None:
        for _ in range(3):
            self.attempt("wrong")
        self.assertEqual(self.attempt(PASSWORD, email=self.rep_b.email), 302)
        self.client.logout()
        self.assertEqual(self.attempt(PASSWORD, ip="10.0.0.2"), 302)

    def test_a_successful_sign_in_resets_the_count(self) -> None:
        self.attempt("wrong")
        self.attempt("wrong")
        self.assertEqual(self.attempt(PASSWORD), 302)
        self.client.logout()
        self.assertEqual([self.attempt("wrong") for _ in range(2)], [200, 200])
        self.assertEqual(self.attempt(PASSWORD), 302)

    @override_settings(AXES_FAILURE_LIMIT=1)
    def test_the_limit_is_a_setting(self) -> None:
        self.assertEqual(self.attempt("wrong"), 429)

    def test_a_password_checked_without_a_request_is_not_throttled(self) -> None:
        # The CLI and `unstuck shell` check passwords with no address to count against.
        self.assertEqual(authenticate(username=self.rep_a.email, password=PASSWORD), self.rep_a)
