"""`unstuck digest send` (for cron: sends what is due) and `unstuck digest preview`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from unstuck.core.models import Membership, Workspace
from unstuck.share.digest import digest_build
from unstuck.share.digest_send import digest_message, digest_send
from unstuck.share.models import PersonPreference


class Command(BaseCommand):
    help = "Send the weekly digest (what is due) or print one person's digest."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{send,preview}")
        send = sub.add_parser(
            "send",
            help="Send this week's digest to everyone it is due for (run it hourly from cron). "
            "At most one per person and week, however often it runs.",
        )
        send.add_argument("--workspace", help="Workspace slug (default: every workspace).")
        send.add_argument(
            "--now",
            action="store_true",
            help="Do not wait for the workspace's weekday and hour (still once per week).",
        )
        send.add_argument(
            "--dry-run", action="store_true", help="Say who would get one; send nothing."
        )
        preview = sub.add_parser("preview", help="Print one person's digest as it stands.")
        preview.add_argument("--user", required=True, help="Their email address.")
        preview.add_argument("--workspace", help="Workspace slug, if they are in several.")
        preview.add_argument("--html", action="store_true", help="Print the HTML version.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "send":
            self._send(options)
        else:
            self._preview(options)

    def _send(self, options: dict[str, Any]) -> None:
        workspaces = Workspace.objects.order_by("slug")
        if options["workspace"]:
            workspaces = workspaces.filter(slug=options["workspace"])
            if not workspaces.exists():
                raise CommandError(f"No workspace '{options['workspace']}'.")
        for workspace in workspaces:
            try:
                report = digest_send(
                    workspace=workspace, force=options["now"], dry_run=options["dry_run"]
                )
            except OSError as exc:  # the mail server cannot be reached: nothing was claimed
                raise CommandError(
                    f"{workspace.slug}: cannot reach the mail server "
                    f"({settings.EMAIL_HOST}:{settings.EMAIL_PORT}): {exc}. Nothing was sent."
                ) from exc
            if options["dry_run"]:
                self.stdout.write(
                    f"{workspace.slug}: would send {len(report.would_send)}, "
                    f"{len(report.skipped)} with nothing to say, {report.already} already sent, "
                    f"{report.not_due} not due yet, {report.unsubscribed} unsubscribed"
                )
                for email in report.would_send:
                    self.stdout.write(f"  would send to {email}")
                continue
            self.stdout.write(
                f"{workspace.slug}: sent {len(report.sent)}, {len(report.skipped)} with nothing "
                f"to say, {report.already} already sent this week, {report.not_due} not due yet, "
                f"{report.unsubscribed} unsubscribed, {len(report.failed)} failed"
            )
            for email in report.failed:
                self.stderr.write(f"  failed: {email} (retried by the next run)")

    def _preview(self, options: dict[str, Any]) -> None:
        memberships = Membership.objects.filter(user__email=options["user"].strip().lower())
        if options["workspace"]:
            memberships = memberships.filter(workspace__slug=options["workspace"])
        found = list(memberships.select_related("workspace", "team", "user")[:2])
        if not found:
            raise CommandError(f"{options['user']} is not a member of that workspace.")
        if len(found) > 1:
            raise CommandError("They are in several workspaces: say which with --workspace.")
        membership = found[0]
        preference = PersonPreference.objects.filter(
            workspace_id=membership.workspace_id, user_id=membership.user_id
        ).first()
        digest = digest_build(membership, preference=preference)
        if digest.is_empty:
            self.stdout.write(
                f"Nothing new for {membership.user.email} this week: no digest would be sent."
            )
            return
        message = digest_message(digest)
        self.stdout.write(f"To: {membership.user.email}")
        self.stdout.write(f"Subject: {message.subject!s}")
        self.stdout.write(f"List-Unsubscribe: {message.extra_headers['List-Unsubscribe']}")
        self.stdout.write("")
        if options["html"]:
            self.stdout.write(str(message.alternatives[0][0]))
        else:
            self.stdout.write(str(message.body))
