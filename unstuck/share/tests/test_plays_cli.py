"""`unstuck plays list|show|apply`, through the same access rules as the web."""

from __future__ import annotations

import json
from io import StringIO

from django.core.management import CommandError, call_command

from unstuck.share.models import PlayApplication
from unstuck.share.tests.plays_helpers import PlaysTestCase


def run(*args: str) -> str:
    out = StringIO()
    call_command("plays", *args, stdout=out)
    return out.getvalue()


class PlaysCliTests(PlaysTestCase):
    def test_list_shows_every_play_and_the_trust_figure(self) -> None:
        text = run("list", "--workspace", "acme")
        self.assertIn(self.budget_play.title, text)
        self.assertIn(self.draft_play.title, text)
        self.assertIn("Trust: 50%", text)

    def test_list_as_a_rep_shows_only_the_verified_playbook(self) -> None:
        data = json.loads(
            run("list", "--workspace", "acme", "--as", "rep.a@acme.test", "--format", "json")
        )
        self.assertEqual([p["id"] for p in data["plays"]], [self.budget_play.pk])
        self.assertIsNone(data["trust"])

    def test_apply_then_show_says_too_early(self) -> None:
        text = run(
            "apply", "--workspace", "acme", "--play", str(self.budget_play.pk),
            "--deal", self.deal_a.external_id, "--by", "rep.a@acme.test",
        )  # fmt: skip
        self.assertIn("Recorded", text)
        self.assertEqual(PlayApplication.objects.get().applied_by, self.rep_a)
        shown = run("show", "--workspace", "acme", "--play", str(self.budget_play.pk))
        self.assertIn("Too early to tell", shown)
        self.assertIn("applications: 1", shown)

    def test_it_refuses_what_the_person_may_not_do(self) -> None:
        with self.assertRaises(CommandError):  # not their deal
            run(
                "apply", "--workspace", "acme", "--play", str(self.budget_play.pk),
                "--deal", self.deal_b.external_id, "--by", "rep.a@acme.test",
            )  # fmt: skip
        with self.assertRaises(CommandError):  # a draft is not in a rep's playbook
            run(
                "show",
                "--workspace",
                "acme",
                "--play",
                str(self.draft_play.pk),
                "--as",
                "rep.a@acme.test",
            )
        with self.assertRaises(CommandError):  # another workspace's member
            run("list", "--workspace", "acme", "--as", "outsider@globex.test")
