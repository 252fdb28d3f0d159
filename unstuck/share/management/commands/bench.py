"""`unstuck bench list|ask`: the cross-functional bench and asks for help on a deal."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from unstuck.core.access import get_deal_for
from unstuck.core.errors import UnstuckError
from unstuck.investigate.management.commands._common import membership_arg, workspace_arg
from unstuck.share import bench_selectors, bench_services
from unstuck.share.models import BenchPerson


class Command(BaseCommand):
    help = "The bench: list who helps with what, or ask one of them for help on a deal."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{list,ask}")
        lst = sub.add_parser("list", help="Who is on the bench, and the open asks.")
        lst.add_argument("--workspace", help="Workspace slug.")
        ask = sub.add_parser("ask", help="Ask someone on the bench for help on a deal.")
        ask.add_argument("--workspace", help="Workspace slug.")
        ask.add_argument("--as", dest="as_", required=True, help="Who asks (email).")
        ask.add_argument("--deal", type=int, required=True, help="Deal id.")
        ask.add_argument("--person", required=True, help="Email of the person on the bench.")
        ask.add_argument("--what", required=True, help="What is needed.")
        ask.add_argument("--by", required=True, type=date.fromisoformat, help="YYYY-MM-DD.")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = workspace_arg(options["workspace"])
        if options["action"] == "list":
            for p in BenchPerson.objects.filter(workspace=workspace).select_related("user"):
                open_asks = p.asks.filter(status="open").count()
                self.stdout.write(
                    f"{p.user.email:32} {p.get_function_display():22} {p.helps_with[:60]}"
                    f"  ({open_asks} open ask{'s' if open_asks != 1 else ''})"
                )
            return
        membership = membership_arg(workspace, options["as_"])
        assert membership is not None
        deal = get_deal_for(membership, options["deal"], write=True)
        person = BenchPerson.objects.filter(
            workspace=workspace, user__email=options["person"].lower()
        ).first()
        if person is None:
            raise CommandError(f"{options['person']} is not on the bench.")
        try:
            created = bench_services.bench_ask(
                membership=membership,
                deal=deal,
                person=bench_selectors.get_bench_person_for(membership, person.pk),
                what=options["what"],
                due_date=options["by"],
            )
        except UnstuckError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Asked #{created.pk}: {person.user.email} can now open {deal.name}.")
