"""`unstuck options suggest`: the option generator's proposals for one deal, from the CLI."""

from __future__ import annotations

import json
import textwrap
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from unstuck.cocreate.generator import suggest_for
from unstuck.core.models import Workspace
from unstuck.deals.models import Deal


class Command(BaseCommand):
    help = (
        "options suggest --workspace SLUG --deal EXTERNAL_ID [--format json]: proposals for a "
        "deal from its obstacles, its committee's concerns and its stage, through the "
        "workspace's levers and perspective questions, best first, each saying why it fits."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["suggest"])
        parser.add_argument("--workspace", required=True, help="Workspace slug.")
        parser.add_argument("--deal", required=True, help="The deal's external id (CRM id).")
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument("--limit", type=int, default=0, help="At most this many (0: all).")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = Workspace.objects.filter(slug=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"No workspace '{options['workspace']}'.")
        matches = list(
            Deal.objects.filter(workspace=workspace, external_id=options["deal"])
            .select_related("account", "stage")
            .order_by("pk")[:2]
        )
        if not matches:
            raise CommandError(f"No deal with external id '{options['deal']}' in {workspace.slug}.")
        if len(matches) > 1:
            raise CommandError(f"Several deals have the external id '{options['deal']}'.")
        deal = matches[0]
        started = time.perf_counter()
        found = suggest_for(deal)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if options["limit"]:
            found = found[: options["limit"]]
        if options["format"] == "json":
            payload = {
                "workspace": workspace.slug,
                "deal": {"id": deal.pk, "external_id": deal.external_id, "name": deal.name},
                "elapsed_ms": round(elapsed_ms, 1),
                "suggestions": [s.as_dict() for s in found],
            }
            self.stdout.write(json.dumps(payload, indent=2, default=str))
            return
        self.stdout.write(f"{deal.name} ({deal.external_id}) — {len(found)} options, best first")
        for n, s in enumerate(found, 1):
            self.stdout.write(f"\n{n:2}. {s.title}  [{s.family}]")
            for line in textwrap.wrap(s.text, 92):
                self.stdout.write(f"    {line}")
            self.stdout.write(f"    why: {'; '.join(s.why)}")
        self.stderr.write(f"\n{elapsed_ms:.0f} ms")
