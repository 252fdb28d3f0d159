"""The wizard has the CLI's power (issue 14, item 3): a mapping file uploaded or picked (saved
or shipped), stage-date columns into history, name templates, companion files, and the
mapping built in the wizard downloaded as TOML for `unstuck import csv --mapping`. One
parser (`imports.mapping.Mapping`) for both."""

from __future__ import annotations

import io
import tomllib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db.models import Count
from django.test import TestCase
from django.urls import reverse

from unstuck.core.models import Membership, Role, Workspace
from unstuck.core.testing import PersonasTestCase, make_user
from unstuck.deals.models import Account, Deal, StageChange
from unstuck.imports.mapping import Mapping
from unstuck.imports.models import ImportRun, RunStatus, SavedMapping
from unstuck.imports.services import import_run_execute_stored
from unstuck.imports.tests.helpers import EXAMPLES, shared_data

MAVEN_TOML = EXAMPLES / "mappings" / "maven-crm.toml"


class _Form(HTMLParser):
    """What a browser submits from a page's form (found by its class), as it was rendered."""

    def __init__(self, css_class: str) -> None:
        super().__init__()
        self.css_class = css_class
        self.data: list[tuple[str, str]] = []
        self._in_form = False
        self._done = False
        self._select: tuple[str, bool] | None = None  # name, multiple
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if self._done:
            return
        if tag == "form" and self.css_class in a.get("class", "").split():
            self._in_form = True
        if not self._in_form:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            if kind not in {"file", "submit"}:
                self.data.append((a["name"], a.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self._select, self._options = (a.get("name", ""), "multiple" in a), []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name", ""), ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True
        elif tag == "select" and self._select is not None:
            name, multiple = self._select
            chosen = [v for v, s in self._options if s]
            if not chosen and not multiple and self._options:
                chosen = [self._options[0][0]]
            self.data += [(name, v) for v in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.data.append((self._textarea, self._text.lstrip("\n")))
            self._textarea = None


def submitted(html: str, css_class: str = "import-mapping") -> dict[str, Any]:
    form = _Form(css_class)
    form.feed(html)
    out: dict[str, Any] = {}
    for name, value in form.data:
        out.setdefault(name, []).append(value)
    return {k: v if len(v) > 1 else v[0] for k, v in out.items()}


def upload(path: Path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")


class WizardMappingTests(PersonasTestCase):
    def new(self, **data: Any) -> Any:
        self.client.force_login(self.leader)
        return self.client.post(reverse("imports:new", kwargs={"slug": "acme"}), data)

    def deals_file(self) -> SimpleUploadedFile:
        return SimpleUploadedFile(
            "pipe.csv",
            b"id,product,account,deal_stage,engage_date,close_date,close_value,agent\n"
            b"D1,GTX,Acme,Won,2017-01-02,2017-02-03,1000,Ann\n"
            b"D2,MG,Beta,Engaging,2017-01-05,,,Bob\n",
        )

    MAPPING = (
        'source = "pipe"\n[columns]\nexternal_id = "id"\nname = "{product} for {account}"\n'
        'stage = "deal_stage"\namount = "close_value"\nclose_date = "close_date"\n'
        '[stages]\norder = ["Prospecting", "Engaging", "Won", "Lost"]\nwon = ["Won"]\n'
        'lost = ["Lost"]\n[stage_dates]\nEngaging = "engage_date"\nWon = "close_date"\n'
        '[dates]\nformats = ["%Y-%m-%d"]\n'
    )

    def run_draft(self, run: ImportRun) -> ImportRun:
        page = self.client.get(reverse("imports:mapping", kwargs={"slug": "acme", "pk": run.pk}))
        posted = self.client.post(page.request["PATH_INFO"], submitted(page.content.decode()))
        self.assertEqual(posted.status_code, 302, posted.content[:2000])
        preview = reverse("imports:preview", kwargs={"slug": "acme", "pk": run.pk})
        with self.captureOnCommitCallbacks(execute=False):
            self.client.post(preview, {"mode": "strict"})
        import_run_execute_stored(run_id=run.pk)
        run.refresh_from_db()
        return run

    def test_an_uploaded_mapping_brings_stage_dates_and_a_name_template(self) -> None:
        mapping = SimpleUploadedFile("pipe.toml", self.MAPPING.encode())
        response = self.new(kind="auto", deals=self.deals_file(), mapping_file=mapping)
        run = ImportRun.objects.get()
        self.assertRedirects(
            response, reverse("imports:mapping", kwargs={"slug": "acme", "pk": run.pk})
        )
        page = self.client.get(response["Location"])
        self.assertContains(page, 'value="{product} for {account}"')
        self.assertContains(page, 'value="Engaging"')
        run = self.run_draft(run)
        self.assertEqual(run.status, RunStatus.DONE, run.message)
        won = Deal.objects.get(workspace=self.workspace, external_id="D1")
        self.assertEqual(won.name, "GTX for Acme")
        history = [s.to_stage.name for s in won.stage_changes.order_by("changed_at")]
        self.assertEqual(history, ["Engaging", "Won"])

    def test_stage_dates_and_a_template_can_be_set_on_the_mapping_page(self) -> None:
        response = self.new(kind="csv", deals=self.deals_file())
        run = ImportRun.objects.get()
        data = submitted(self.client.get(response["Location"]).content.decode())
        data.update({
            "col_external_id": "id", "col_stage": "deal_stage", "won": "Won", "lost": "Lost",
            "tpl_name": "{product} / {account}", "sd_stage_0": "Engaging",
            "sd_col_0": "engage_date", "sd_stage_1": "Won", "sd_col_1": "close_date",
        })  # fmt: skip
        self.client.post(response["Location"], data)
        run.refresh_from_db()
        self.assertEqual(run.mapping["columns"]["name"], "{product} / {account}")
        self.assertEqual(
            run.mapping["stage_dates"], {"Engaging": "engage_date", "Won": "close_date"}
        )
        toml = self.client.get(
            reverse("imports:mapping-toml", kwargs={"slug": "acme", "pk": run.pk})
        )
        self.assertEqual(toml["Content-Disposition"], 'attachment; filename="csv-mapping.toml"')
        parsed = Mapping.from_dict(tomllib.loads(toml.content.decode()))
        self.assertEqual(parsed, Mapping.from_dict(run.mapping))
        self.assertEqual(
            parsed.stage_dates, [("Engaging", "", "engage_date"), ("Won", "", "close_date")]
        )

    def test_a_template_naming_a_missing_column_is_refused(self) -> None:
        response = self.new(kind="csv", deals=self.deals_file())
        data = submitted(self.client.get(response["Location"]).content.decode())
        data.update({"col_external_id": "id", "col_stage": "deal_stage", "tpl_name": "{nope}"})
        page = self.client.post(response["Location"], data)
        self.assertContains(page, "not columns of this file: nope", status_code=400)

    def test_a_saved_mapping_can_be_picked_for_another_file(self) -> None:
        mapping = SimpleUploadedFile("pipe.toml", self.MAPPING.encode())
        response = self.new(kind="auto", deals=self.deals_file(), mapping_file=mapping)
        self.run_draft(ImportRun.objects.get())
        saved = SavedMapping.objects.get()
        self.assertEqual(saved.name, "pipe, for pipe.csv")
        self.new(kind="auto", deals=self.deals_file(), saved_mapping=f"saved:{saved.pk}")
        again = ImportRun.objects.filter(status=RunStatus.DRAFT).get()
        self.assertEqual(again.mapping["stage_dates"], saved.mapping["stage_dates"])
        del response

    def test_a_mapping_that_names_companions_needs_them(self) -> None:
        page = self.new(
            kind="auto", deals=self.deals_file(), saved_mapping="shipped:maven-crm.toml"
        )
        self.assertContains(page, "add them as companion files", status_code=400)
        self.assertFalse(ImportRun.objects.exists())

    def test_bad_toml_is_a_clear_error(self) -> None:
        bad = SimpleUploadedFile("m.toml", b"[columns\nx = 1")
        page = self.new(kind="auto", deals=self.deals_file(), mapping_file=bad)
        self.assertContains(page, "m.toml is not valid TOML", status_code=400)

    def test_only_leaders_download_a_mapping(self) -> None:
        run = ImportRun.objects.create(workspace=self.workspace, kind="csv", mapping={"a": 1})
        url = reverse("imports:mapping-toml", kwargs={"slug": "acme", "pk": run.pk})
        for user, status in ((self.manager_a, 403), (self.rep_a, 403), (self.outsider, 404)):
            with self.subTest(user=user):
                self.client.force_login(user)
                self.assertEqual(self.client.get(url).status_code, status)


@pytest.mark.shared_data
class MavenParityTests(TestCase):
    """The Maven export through the wizard with the shipped mapping, against the CLI."""

    def test_the_wizard_gives_the_same_deals_and_history_as_the_cli(self) -> None:
        folder = shared_data("maven-crm-sales-opportunities")
        cli_ws = Workspace.objects.create(name="CLI", slug="cli")
        out = io.StringIO()
        call_command(
            "import", "csv", "--workspace", "cli", "--mapping", str(MAVEN_TOML),
            str(folder / "sales_pipeline.csv"), stdout=out,
        )  # fmt: skip

        web_ws = Workspace.objects.create(name="Web", slug="web")
        leader = make_user("lead@web.test")
        Membership.objects.create(workspace=web_ws, user=leader, role=Role.LEADER)
        self.client.force_login(leader)
        response = self.client.post(
            reverse("imports:new", kwargs={"slug": "web"}),
            {
                "kind": "auto",
                "deals": upload(folder / "sales_pipeline.csv"),
                "saved_mapping": "shipped:maven-crm.toml",
                "companions": [
                    upload(folder / name)
                    for name in ("accounts.csv", "sales_teams.csv", "products.csv")
                ],
            },
        )
        self.assertEqual(response.status_code, 302, response.content[:3000])
        run = ImportRun.objects.get(workspace=web_ws)
        # The mapping page, submitted as rendered, keeps everything the file said.
        page = self.client.get(response["Location"])
        self.assertEqual(
            self.client.post(response["Location"], submitted(page.content.decode())).status_code,
            302,
        )
        run.refresh_from_db()
        self.assertEqual(Mapping.from_dict(run.mapping), Mapping.from_toml(MAVEN_TOML))
        with self.captureOnCommitCallbacks(execute=False):
            self.client.post(
                reverse("imports:preview", kwargs={"slug": "web", "pk": run.pk}), {"mode": "strict"}
            )
        import_run_execute_stored(run_id=run.pk)
        run.refresh_from_db()
        self.assertEqual(run.status, RunStatus.DONE, run.message)

        cli_run = ImportRun.objects.get(workspace=cli_ws)

        def facts(ws: Workspace) -> dict[str, Any]:
            return {
                "deals": dict(
                    Deal.objects.filter(workspace=ws).values_list("status").annotate(n=Count("pk"))
                ),
                "history": StageChange.objects.filter(deal__workspace=ws).count(),
                "accounts": Account.objects.filter(workspace=ws).count(),
                "named": Deal.objects.filter(workspace=ws, name__contains=" — ").count(),
            }

        self.assertEqual(facts(web_ws), facts(cli_ws))
        self.assertEqual(facts(web_ws)["history"], 15511)
        fields = ("created", "history_added", "rejected", "rows_read")
        self.assertEqual([getattr(run, f) for f in fields], [getattr(cli_run, f) for f in fields])
        one = Deal.objects.get(workspace=web_ws, external_id="Z063OYW0")
        cli_one = Deal.objects.get(workspace=cli_ws, external_id="Z063OYW0")
        self.assertEqual((one.name, one.custom), (cli_one.name, cli_one.custom))
        # And the mapping downloaded from the wizard is the CLI's.
        toml = self.client.get(
            reverse("imports:mapping-toml", kwargs={"slug": "web", "pk": run.pk})
        )
        self.assertEqual(
            Mapping.from_dict(tomllib.loads(toml.content.decode())), Mapping.from_toml(MAVEN_TOML)
        )


class InviteOwnersThenImportAgainTests(PersonasTestCase):
    new = WizardMappingTests.new
    run_draft = WizardMappingTests.run_draft

    def test_invited_owners_get_their_deals_when_the_import_runs_again(self) -> None:
        deals = SimpleUploadedFile(
            "owners.csv",
            b"id,deal_stage,agent\nO1,Engaging,Dana Whit <dana@acme.test>\n"
            b"O2,Engaging,Dana Whit <dana@acme.test>\nO3,Won,rep.a@acme.test\n",
        )
        mapping = SimpleUploadedFile(
            "m.toml", b'source = "own"\n[columns]\nexternal_id = "id"\nstage = "deal_stage"\n'
            b'owner = "agent"\n[stages]\nwon = ["Won"]\n',
        )  # fmt: skip
        self.new(kind="auto", deals=deals, mapping_file=mapping)
        first = self.run_draft(ImportRun.objects.get())
        self.assertEqual(first.summary["unknown_owners"], {"Dana Whit": 2})
        self.assertEqual(first.summary["unknown_owner_emails"], {"Dana Whit": "dana@acme.test"})
        page = self.client.get(reverse("imports:detail", kwargs={"slug": "acme", "pk": first.pk}))
        self.assertContains(page, "Invite these 1 owner")
        form = submitted(page.content.decode(), "invite-owners")
        self.assertEqual((form["invite"], form["email-0"]), ("0", "dana@acme.test"))
        with self.captureOnCommitCallbacks(execute=False):
            response = self.client.post(
                reverse("imports:invite-owners", kwargs={"slug": "acme", "pk": first.pk}), form
            )
        again = ImportRun.objects.exclude(pk=first.pk).get()
        self.assertRedirects(
            response,
            reverse("imports:detail", kwargs={"slug": "acme", "pk": again.pk}),
            fetch_redirect_response=False,
        )
        import_run_execute_stored(run_id=again.pk)
        dana = Membership.objects.get(user__email="dana@acme.test")
        owned = Deal.objects.filter(workspace=self.workspace, owner=dana.user)
        self.assertEqual(sorted(owned.values_list("external_id", flat=True)), ["O1", "O2"])

    def test_a_deactivated_owner_keeps_their_deals_when_the_export_comes_again(self) -> None:
        from unstuck.core.services import member_deactivate

        def imported() -> ImportRun:
            deals = SimpleUploadedFile(
                "kept.csv", b"id,deal_stage,agent\nK1,Engaging,rep.a@acme.test\n"
            )
            mapping = SimpleUploadedFile(
                "m.toml", b'source = "kept"\n[columns]\nexternal_id = "id"\n'
                b'stage = "deal_stage"\nowner = "agent"\n',
            )  # fmt: skip
            self.new(kind="auto", deals=deals, mapping_file=mapping)
            return self.run_draft(ImportRun.objects.get(status=RunStatus.DRAFT))

        imported()
        leader = Membership.objects.get(user=self.leader)
        member_deactivate(by=leader, membership_id=Membership.objects.get(user=self.rep_a).pk)
        Deal.objects.filter(external_id="K1").update(stage_id=self.stages[1].pk)  # a change
        second = imported()
        self.assertEqual(second.summary["unknown_owners"], {})
        self.assertEqual(Deal.objects.get(external_id="K1").owner, self.rep_a)
