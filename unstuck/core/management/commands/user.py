from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from unstuck.core import services
from unstuck.core.errors import UnstuckError
from unstuck.core.models import Role, Workspace


class Command(BaseCommand):
    help = "Add people to a workspace with a role."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{add}")
        add = sub.add_parser("add", help="Add a person (creating their login if new).")
        add.add_argument("--workspace", required=True, metavar="SLUG")
        add.add_argument("--email", required=True, help="They sign in with this address.")
        add.add_argument("--role", required=True, choices=Role.values)
        add.add_argument(
            "--team",
            metavar="T",
            help="The team's name (created if new). A manager becomes its manager; a rep joins it.",
        )
        add.add_argument("--name", default="", help="Their full name.")
        add.add_argument(
            "--password",
            help="Their password. Without it you are asked, unless --no-password is given.",
        )
        add.add_argument(
            "--no-password",
            action="store_true",
            help="Create the login without a password (set one later with changepassword).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(
                f"No workspace '{options['workspace']}'. Create it with "
                "`unstuck workspace create --name NAME --slug SLUG`."
            )
        password = options["password"]
        if password is None and not options["no_password"]:
            password = getpass.getpass(f"Password for {options['email']}: ")
        try:
            membership = services.member_add(
                workspace=workspace,
                email=options["email"],
                role=options["role"],
                name=options["name"],
                team_name=options["team"],
                password=password or None,
            )
        except UnstuckError as exc:
            raise CommandError(exc.message) from exc
        team = f" in team {membership.team or options['team']}" if options["team"] else ""
        self.stdout.write(
            f"Added {membership.user.email} to {workspace.slug} as {membership.role}{team}."
        )
