from __future__ import annotations

from django.urls import reverse

from unstuck.core.testing import PersonasTestCase


class PingPageTests(PersonasTestCase):
    """The smallest signed-in page, which the benchmarks use as their reference."""

    url = reverse("ping", kwargs={"slug": "acme"})

    def test_it_names_the_member_and_their_role(self) -> None:
        self.client.force_login(self.manager_a)
        with self.assertNumQueries(3):  # session, user, membership
            response = self.client.get(self.url)
        self.assertContains(response, "Manager in Acme")
        self.assertContains(response, self.manager_a.display_name)

    def test_it_sends_anonymous_visitors_to_sign_in(self) -> None:
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 302)
        self.assertIn(reverse("login"), response["Location"])

    def test_it_hides_a_workspace_from_non_members(self) -> None:
        self.client.force_login(self.outsider)
        self.assertEqual(self.client.get(self.url).status_code, 404)
