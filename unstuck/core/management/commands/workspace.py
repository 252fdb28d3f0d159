from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from unstuck.core import services
from unstuck.core.errors import UnstuckError
from unstuck.core.models import Workspace


class Command(BaseCommand):
    help = "Create and list workspaces."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list}")
        create = sub.add_parser("create", help="Create a workspace.")
        create.add_argument("--name", required=True, help="The company's or team's name.")
        create.add_argument(
            "--slug", help="Short id used in URLs and --workspace (default: from the name)."
        )
        sub.add_parser("list", help="List workspaces with their member and deal counts.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "create":
            try:
                workspace = services.workspace_create(name=options["name"], slug=options["slug"])
            except UnstuckError as exc:
                raise CommandError(exc.message) from exc
            self.stdout.write(f"Created workspace '{workspace.name}' (slug: {workspace.slug}).")
            self.stdout.write(
                "Next: unstuck user add --workspace "
                f"{workspace.slug} --email you@example.com --role leader"
            )
        else:
            for ws in Workspace.objects.all():
                self.stdout.write(
                    f"{ws.slug:20} {ws.name:30} members={ws.memberships.count()} "
                    f"deals={ws.deals.count()}"
                )
