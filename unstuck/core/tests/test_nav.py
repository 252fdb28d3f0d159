"""The layout's navigation, rendered once per workspace, role, page and count (core.nav): each
role sees its own links, the page's section is highlighted, and a kept navigation never
outlives a change of role or of the open requests it counts."""

from __future__ import annotations

import re

from django.urls import reverse

from unstuck.core.models import Membership, Role
from unstuck.core.nav import nav_html
from unstuck.core.testing import PersonasTestCase

ALL = [
    "Innovation queue",
    "Pipeline",
    "My requests",
    "Sessions",
    "Levers",
    "Approvals",
    "Training",
    "Questions",
    "News",
    "This week",
    "Bench",
    "Playbook",
    "Insights",
    "Imports",
    "Settings",
]


class NavTests(PersonasTestCase):
    def setUp(self) -> None:
        nav_html.cache_clear()

    def nav(self, route: str = "ping") -> list[tuple[str, str, bool]]:
        """(label, link, highlighted) of each link of the page's navigation."""
        response = self.client.get(reverse(route, kwargs={"slug": "acme"}))
        self.assertEqual(response.status_code, 200)
        nav = re.search(r'<nav class="nav".*?</nav>', response.content.decode(), re.S)
        assert nav is not None
        return [
            (re.sub(r"<[^>]+>", "", label).strip(), href, cls == "active")
            for href, cls, label in re.findall(
                r'<a href="([^"]+)" class="([^"]*)">(.*?)</a>', nav.group(0), re.S
            )
        ]

    def labels(self, route: str = "ping") -> list[str]:
        return [label for label, _, _ in self.nav(route)]

    def test_each_role_sees_its_links_in_order(self) -> None:
        self.sign_in(self.leader)
        self.assertEqual(self.labels(), ALL)
        self.sign_in(self.manager_a)
        self.assertEqual(
            self.labels(), [x for x in ALL if x not in {"Imports", "Settings"}] + ["People"]
        )
        self.sign_in(self.rep_a)
        managers_only = {"Innovation queue", "Levers", "Approvals", "Insights", "Imports"}
        self.assertEqual(
            self.labels(), [x for x in ALL if x not in managers_only | {"Settings"}] + ["People"]
        )
        self.sign_in(self.partner)
        self.assertEqual(
            self.labels(),
            [x for x in ALL if x not in managers_only | {"My requests", "Settings"}],
        )

    def test_links_point_into_the_workspace_and_the_page_is_highlighted(self) -> None:
        self.sign_in(self.leader)
        nav = self.nav("deals:pipeline")
        self.assertIn(("Pipeline", reverse("deals:pipeline", kwargs={"slug": "acme"}), True), nav)
        self.assertEqual([label for label, _, active in nav if active], ["Pipeline"])
        self.assertEqual(
            [label for label, _, active in self.nav("cocreate:levers") if active], ["Levers"]
        )
        self.assertEqual(
            [label for label, _, active in self.nav("investigate:my-requests") if active],
            ["My requests"],
        )
        self.assertEqual([label for label, _, active in self.nav() if active], [])

    def test_a_changed_role_changes_the_navigation_at_once(self) -> None:
        self.sign_in(self.rep_a)
        self.assertNotIn("Innovation queue", self.labels())
        Membership.objects.filter(user=self.rep_a, workspace=self.workspace).update(
            role=Role.MANAGER
        )
        self.assertIn("Innovation queue", self.labels())
        Membership.objects.filter(user=self.rep_a, workspace=self.workspace).update(
            role=Role.LEADER
        )
        self.assertEqual(self.labels(), ALL)

    def test_a_renamed_workspace_links_to_its_new_address(self) -> None:
        self.sign_in(self.leader)
        self.nav()
        self.workspace.slug = "acme-inc"
        self.workspace.save(update_fields=["slug"])
        response = self.client.get(reverse("ping", kwargs={"slug": "acme-inc"}))
        self.assertContains(response, 'href="/w/acme-inc/deals/"')
        self.assertNotContains(response, 'href="/w/acme/')
