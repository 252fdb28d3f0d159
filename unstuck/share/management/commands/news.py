"""`unstuck news list|post|relay`: news filtered downward, as the given member sees it."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from unstuck.core.errors import UnstuckError
from unstuck.core.models import Team
from unstuck.investigate.management.commands._common import membership_arg, workspace_arg
from unstuck.share import news_selectors, news_services
from unstuck.share.models import Audience


class Command(BaseCommand):
    help = "News filtered downward: list, post (leaders, partners), relay (managers)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{list,post,relay}")
        for name, text in [
            ("list", "The news this member sees (a rep: what was passed on, line first)."),
            ("post", "Post news to the workspace or to teams."),
            ("relay", "Pass a post on to one of your teams with a line, or hold it back."),
        ]:
            p = sub.add_parser(name, help=text)
            p.add_argument("--workspace", help="Workspace slug.")
            p.add_argument("--as", dest="as_", required=True, help="The member's email.")
            if name == "list":
                p.add_argument("--json", action="store_true")
            if name == "post":
                p.add_argument("--title", required=True)
                p.add_argument("--body", required=True)
                p.add_argument("--team", action="append", default=[], help="Team name (repeat).")
                p.add_argument("--must-read", action="store_true")
            if name == "relay":
                p.add_argument("--post", type=int, required=True, help="Post id.")
                p.add_argument("--team", required=True, help="Team name.")
                group = p.add_mutually_exclusive_group(required=True)
                group.add_argument("--pass", dest="line", help="Pass on with this line.")
                group.add_argument("--hold", action="store_true", help="Hold it back.")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = workspace_arg(options["workspace"])
        membership = membership_arg(workspace, options["as_"])
        assert membership is not None
        try:
            getattr(self, f"_{options['action']}")(membership, options)
        except UnstuckError as exc:
            raise CommandError(exc.message) from exc

    def _list(self, membership: Any, options: dict[str, Any]) -> None:
        posts = news_selectors.feed(membership)
        if options["json"]:
            rows = [
                {
                    "id": p.pk,
                    "title": p.title,
                    "line": p.line,  # type: ignore[attr-defined]
                    "must_read": p.must_read,
                    "created_at": p.created_at.isoformat(),
                }
                for p in posts
            ]
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for p in posts:
            line = getattr(p, "line", None)
            if line:
                self.stdout.write(f"  {getattr(p, 'passed_by_name', '') or 'Manager'}: {line}")
            self.stdout.write(f"#{p.pk} {p.title}{' [must read]' if p.must_read else ''}")
        for item in news_selectors.manager_inbox(membership):
            state = "waiting" if item.pending else item.relay.get_decision_display()  # type: ignore[union-attr]
            self.stdout.write(f"#{item.post.pk} {item.post.title} → {item.team.name}: {state}")

    def _team(self, membership: Any, name: str) -> Team:
        team = Team.objects.filter(workspace_id=membership.workspace_id, name=name).first()
        if team is None:
            raise CommandError(f"No team '{name}'.")
        return team

    def _post(self, membership: Any, options: dict[str, Any]) -> None:
        teams = [self._team(membership, n).pk for n in options["team"]]
        post = news_services.news_post(
            membership=membership,
            title=options["title"],
            body=options["body"],
            audience=Audience.TEAMS if teams else Audience.WORKSPACE,
            team_ids=teams,
            must_read=options["must_read"],
        )
        self.stdout.write(f"Posted #{post.pk}.")

    def _relay(self, membership: Any, options: dict[str, Any]) -> None:
        post = news_selectors.get_post_for(membership, options["post"])
        relay = news_services.news_relay(
            membership=membership,
            post=post,
            team=self._team(membership, options["team"]),
            decision="held" if options["hold"] else "passed",
            line=options["line"] or "",
        )
        self.stdout.write(f"{relay.get_decision_display()}: #{post.pk} for {relay.team.name}.")
