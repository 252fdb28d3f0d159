from __future__ import annotations

import getpass
import sys
from typing import Any

from django.conf import settings
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
            help="Their password (Django's password validators apply). Without it: asked in a "
            "terminal, read from the first line of stdin when piped, or else an invitation link "
            "to set one is printed.",
        )
        add.add_argument(
            "--no-password",
            action="store_true",
            help="Create the login without a password and print an invitation link to set one.",
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
            password = self._password_from_terminal_or_stdin(options["email"])
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
        if not membership.user.has_usable_password():
            # The same signed, expiring link the browser's invitation emails.
            self.stdout.write(
                "They have no password yet. Send them this link to set one "
                f"(it works once, for {settings.PASSWORD_RESET_TIMEOUT // 3600} hours):\n"
                f"{services.invite_link(membership.user)}"
            )

    def _password_from_terminal_or_stdin(self, email: str) -> str | None:
        """Ask in a terminal; read the first line of a pipe; None (an invitation link) when
        there is neither."""
        if sys.stdin is None or sys.stdin.closed:
            return None
        if not sys.stdin.isatty():
            line = sys.stdin.readline()
            return line.rstrip("\r\n") or None
        try:
            return getpass.getpass(f"Password for {email} (empty for an invitation link): ") or None
        except (EOFError, KeyboardInterrupt):
            raise CommandError("No password given; nothing was added.") from None
