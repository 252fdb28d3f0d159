"""The web wizard, through the client: a leader's journey, and everyone else refused."""

from __future__ import annotations

from collections.abc import Callable

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from unstuck.core.testing import PersonasTestCase
from unstuck.deals.models import Activity, Contact, Deal, Stakeholder
from unstuck.imports.generator import generate_salesforce_export
from unstuck.imports.models import ImportRun, RunStatus, SavedMapping
from unstuck.imports.services import import_run_execute_stored
from unstuck.imports.tests.helpers import EXAMPLES, TempDirMixin


class WizardBase(TempDirMixin, PersonasTestCase):
    def setUp(self) -> None:
        super().setUp()
        media = override_settings(MEDIA_ROOT=self.tmp / "media", DATA_DIR=self.tmp)
        media.enable()
        self.addCleanup(media.disable)

    def url(self, name: str, **kw: object) -> str:
        return reverse(f"imports:{name}", kwargs={"slug": "acme", **kw})

    def upload(self, name: str, content: bytes, kind: str = "auto") -> ImportRun:
        self.sign_in(self.leader)
        response = self.client.post(
            self.url("new"), {"kind": kind, "deals": SimpleUploadedFile(name, content)}
        )
        self.assertEqual(response.status_code, 302, getattr(response, "content", b"")[:2000])
        return ImportRun.objects.latest("pk")


class WizardTests(WizardBase):
    def test_a_leader_imports_a_hubspot_export_in_the_background(self) -> None:
        run = self.upload("deals.csv", (EXAMPLES / "hubspot" / "deals.csv").read_bytes())
        self.assertEqual(run.kind, "hubspot")
        page = self.client.get(self.url("mapping", pk=run.pk))
        self.assertContains(page, "UTF-8, comma-separated, 17 columns")
        self.assertContains(page, run.files[0]["sha256"])
        self.assertRedirects(
            self.client.post(self.url("mapping", pk=run.pk)), self.url("preview", pk=run.pk)
        )
        preview = self.client.get(self.url("preview", pk=run.pk))
        self.assertContains(preview, "Northwind — analytics platform")
        self.assertContains(preview, "Closed Won")
        with self.captureOnCommitCallbacks(execute=True):
            response = self.client.post(self.url("preview", pk=run.pk), {"mode": "strict"})
        self.assertRedirects(response, self.url("detail", pk=run.pk))
        run.refresh_from_db()
        self.assertEqual(run.status, RunStatus.QUEUED)
        waiting = self.client.get(self.url("detail", pk=run.pk))
        self.assertContains(waiting, "Waiting for the background worker")
        import_run_execute_stored(run_id=run.pk)  # what the worker does
        result = self.client.get(self.url("detail", pk=run.pk))
        self.assertContains(result, "Imported")
        run.refresh_from_db()
        self.assertRegex(run.duration, r"^\d+ s$")
        self.assertContains(result, f"took {run.duration}")
        self.assertEqual(ImportRun.objects.get(pk=run.pk).created, 5)
        self.assertEqual(Deal.objects.filter(source="hubspot").count(), 5)
        listing = self.client.get(self.url("list"))
        self.assertContains(listing, "deals.csv")
        self.assertContains(listing, run.files[0]["sha256"][:12])
        api = self.client.get(f"/api/v1/workspaces/acme/imports/{run.pk}")
        self.assertEqual(api.json()["created"], 5)
        self.assertNotIn("path", api.json()["files"][0])

    def test_a_csv_mapping_is_suggested_saved_and_offered_next_time(self) -> None:
        content = b'Deal ID,Title,Stage,Value,Expected close\nA1,One,Open,"1,000",2025-07-01\n'
        content += b"A2,Two,Won,2x,2025-07-02\nA3,Three,Won,300,2025-07-03\n"
        run = self.upload("crm.csv", content)
        self.assertEqual(run.kind, "csv")
        self.assertEqual(
            run.mapping["columns"],
            {
                "external_id": "Deal ID",
                "name": "Title",
                "stage": "Stage",
                "amount": "Value",
                "close_date": "Expected close",
            },
        )
        form = {f"col_{k}": v for k, v in run.mapping["columns"].items()}
        form.update(won="Won", source="mycrm", on_conflict="reject")
        self.client.post(self.url("mapping", pk=run.pk), form)
        self.assertEqual(SavedMapping.objects.get().mapping["stages"]["won"], ["Won"])
        preview = self.client.get(self.url("preview", pk=run.pk))
        self.assertContains(preview, "not an amount")
        self.client.post(self.url("preview", pk=run.pk), {"mode": "skip"})
        import_run_execute_stored(run_id=run.pk)
        run.refresh_from_db()
        self.assertEqual((run.status, run.created, run.rejected), ("done", 2, 1))
        rejected = self.client.get(self.url("rejected-csv", pk=run.pk))
        body = b"".join(rejected.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
        self.assertEqual(
            body.splitlines(),
            [
                "file,line,reason,Deal ID,Title,Stage,Value,Expected close",
                "crm.csv,3,Value: not an amount ('2x'),A2,Two,Won,2x,2025-07-02",
            ],
        )
        again = self.upload("crm-next-week.csv", content)
        self.assertEqual(again.mapping["source"], "mycrm")

    def test_a_file_that_is_not_a_csv_is_refused_at_upload(self) -> None:
        self.sign_in(self.leader)
        response = self.client.post(
            self.url("new"),
            {"kind": "auto", "deals": SimpleUploadedFile("x.csv", b"\x00\x01" * 99)},
        )
        self.assertContains(response, "is it a CSV?", status_code=400)
        self.assertFalse(ImportRun.objects.exists())

    def test_reps_managers_and_partners_are_refused_and_outsiders_see_nothing(self) -> None:
        run = self.upload("deals.csv", (EXAMPLES / "hubspot" / "deals.csv").read_bytes())
        urls = [
            self.url("list"),
            self.url("new"),
            self.url("detail", pk=run.pk),
            self.url("mapping", pk=run.pk),
            self.url("preview", pk=run.pk),
            self.url("rejected-csv", pk=run.pk),
            f"/api/v1/workspaces/acme/imports/{run.pk}",
        ]
        for user in (self.rep_a, self.manager_a, self.partner):
            self.sign_in(user)
            for url in urls:
                with self.subTest(user=user.email, url=url):
                    self.assertEqual(self.client.get(url).status_code, 403)
            post = self.client.post(self.url("preview", pk=run.pk), {"mode": "strict"})
            self.assertEqual(post.status_code, 403)
            repeat = self.client.post(self.url("repeat", pk=run.pk))
            self.assertEqual(repeat.status_code, 403)
        self.sign_in(self.outsider)
        for url in urls:
            with self.subTest(user="outsider", url=url):
                self.assertEqual(self.client.get(url).status_code, 404)
        self.client.logout()
        self.assertEqual(self.client.get(self.url("list")).status_code, 302)
        run.refresh_from_db()
        self.assertEqual(run.status, RunStatus.DRAFT)

    def test_the_nav_shows_imports_to_leaders_only(self) -> None:
        self.sign_in(self.leader)
        self.assertContains(self.client.get("/w/acme/deals/"), self.url("list"))
        self.sign_in(self.manager_a)
        self.assertNotContains(self.client.get("/w/acme/deals/"), self.url("list"))


class OwnerAssignmentTests(WizardBase):
    def test_unknown_owners_are_given_to_members_by_importing_again(self) -> None:
        run = self.upload("deals.csv", (EXAMPLES / "hubspot" / "deals.csv").read_bytes())
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(self.url("preview", pk=run.pk), {"mode": "strict"})
        import_run_execute_stored(run_id=run.pk)
        page = self.client.get(self.url("detail", pk=run.pk))
        self.assertContains(page, "Avery Stone — 3 deals")
        response = self.client.post(
            self.url("repeat", pk=run.pk), {"owner:Avery Stone": self.rep_a.email}
        )
        again = ImportRun.objects.latest("pk")
        self.assertRedirects(response, self.url("detail", pk=again.pk))
        import_run_execute_stored(run_id=again.pk)
        again.refresh_from_db()
        self.assertEqual((again.created, again.updated, again.unchanged), (0, 3, 2))
        self.assertEqual(Deal.objects.filter(source="hubspot", owner=self.rep_a).count(), 3)
        self.assertTrue(Deal.objects.filter(owner=self.rep_a, team=self.team_a).exists())

    def test_assigning_to_someone_outside_the_workspace_is_refused(self) -> None:
        run = self.upload("deals.csv", (EXAMPLES / "hubspot" / "deals.csv").read_bytes())
        self.client.post(self.url("preview", pk=run.pk), {"mode": "strict"})
        import_run_execute_stored(run_id=run.pk)
        response = self.client.post(
            self.url("repeat", pk=run.pk), {"owner:Avery Stone": self.outsider.email}, follow=True
        )
        self.assertContains(response, "is not a member of this workspace")
        self.assertEqual(ImportRun.objects.count(), 1)

    def refused_csv_import(self, content: bytes) -> ImportRun:
        """A CSV (Deal ID, Stage, Value) imported strictly through the wizard, and refused."""
        run = self.upload("crm.csv", content)
        self.client.post(self.url("mapping", pk=run.pk), {"col_external_id": "Deal ID",
                         "col_stage": "Stage", "col_amount": "Value"})  # fmt: skip
        self.client.post(self.url("preview", pk=run.pk), {"mode": "strict"})
        import_run_execute_stored(run_id=run.pk)
        run.refresh_from_db()
        self.assertEqual(run.status, RunStatus.REJECTED)
        return run

    def test_a_rejected_import_can_be_run_again_skipping_the_invalid_rows(self) -> None:
        run = self.refused_csv_import(b"Deal ID,Stage,Value\nA1,Open,5\nA2,Open,lots\n")
        page = self.client.get(self.url("detail", pk=run.pk))
        self.assertContains(page, "1 row is invalid, so nothing was written")
        self.assertEqual(Deal.objects.filter(source="csv").count(), 0)
        self.client.post(self.url("repeat", pk=run.pk), {"mode": "skip"})
        again = ImportRun.objects.latest("pk")
        import_run_execute_stored(run_id=again.pk)
        again.refresh_from_db()
        self.assertEqual((again.strict, again.created, again.rejected), (False, 1, 1))

    def test_rows_sharing_an_id_can_be_imported_again_keeping_the_first(self) -> None:
        run = self.refused_csv_import(b"Deal ID,Stage,Value\nA1,Open,5\nA1,Open,6\nA2,Open,7\n")
        page = self.client.get(self.url("detail", pk=run.pk))
        self.assertContains(page, "1 Deal ID value is on rows with different values")
        self.assertContains(page, "Import again, keeping the first row of each repeated id")
        # A rep may not run it again, and nothing is queued.
        self.sign_in(self.rep_a)
        refused = self.client.post(self.url("repeat", pk=run.pk), {"on_conflict": "first"})
        self.assertEqual(refused.status_code, 403)
        self.assertEqual(ImportRun.objects.count(), 1)
        self.sign_in(self.leader)
        self.client.post(self.url("repeat", pk=run.pk), {"on_conflict": "first"})
        again = ImportRun.objects.latest("pk")
        self.assertEqual(again.mapping["duplicates"], {"on_conflict": "first"})
        run.refresh_from_db()  # unchanged by the new run
        self.assertEqual(run.mapping["duplicates"], {"on_conflict": "reject"})
        import_run_execute_stored(run_id=again.pk)
        again.refresh_from_db()
        self.assertEqual((again.status, again.created, again.merged_duplicates), ("done", 2, 1))
        self.assertEqual(Deal.objects.get(source="csv", external_id="A1").amount, 5)
        self.assertNotContains(
            self.client.get(self.url("detail", pk=again.pk)), "keeping the first row"
        )

    def test_only_a_mapped_csv_import_can_choose_the_repeated_row(self) -> None:
        run = self.upload("deals.csv", (EXAMPLES / "hubspot" / "deals.csv").read_bytes())
        self.client.post(self.url("mapping", pk=run.pk))
        self.client.post(self.url("preview", pk=run.pk), {"mode": "strict"})
        import_run_execute_stored(run_id=run.pk)
        response = self.client.post(
            self.url("repeat", pk=run.pk), {"on_conflict": "first"}, follow=True
        )
        self.assertContains(response, "Only a mapped CSV import can choose which repeated row")
        self.assertEqual(ImportRun.objects.count(), 1)


class SalesforceRelatedUploadTests(WizardBase):
    """Contacts, contact roles and tasks through the wizard, as `unstuck import salesforce`
    takes them with --contacts --contact-roles --activities."""

    def export_uploads(self, *roles: str) -> dict[str, SimpleUploadedFile]:
        files = generate_salesforce_export(self.tmp / "sf", deals=10, related=True)
        paths = {
            "deals": files.opportunities,
            "history": files.history,
            "accounts": files.accounts,
            "users": files.users,
            "contacts": files.contacts,
            "contact_roles": files.contact_roles,
            "activities": files.tasks,
        }
        return {
            role: SimpleUploadedFile(path.name, path.read_bytes())
            for role, path in paths.items()
            if path is not None and (not roles or role in roles)
        }

    def test_a_leader_brings_in_stakeholders_and_activities(self) -> None:
        self.sign_in(self.leader)
        response = self.client.post(self.url("new"), {"kind": "auto", **self.export_uploads()})
        self.assertEqual(response.status_code, 302, response.content[:2000])
        run = ImportRun.objects.latest("pk")
        self.assertEqual(run.kind, "salesforce")
        stored = {f["role"]: f for f in run.files}
        self.assertEqual(
            {r: stored[r]["name"] for r in ("contacts", "contact_roles", "activities")},
            {
                "contacts": "Contact.csv",
                "contact_roles": "OpportunityContactRole.csv",
                "activities": "Task.csv",
            },
        )
        with self.captureOnCommitCallbacks(execute=True):
            self.client.post(self.url("preview", pk=run.pk), {"mode": "strict"})
        import_run_execute_stored(run_id=run.pk)  # what the worker does
        run.refresh_from_db()
        self.assertEqual(run.status, RunStatus.DONE, run.message)
        self.assertEqual(run.summary["related"]["stakeholders"], 10)
        self.assertEqual(Contact.objects.filter(source="salesforce").count(), 6)
        self.assertEqual(Stakeholder.objects.filter(deal__source="salesforce").count(), 10)
        self.assertEqual(Activity.objects.filter(deal__source="salesforce").count(), 20)
        page = self.client.get(self.url("detail", pk=run.pk))
        self.assertContains(page, "Contact roles")
        self.assertContains(page, "<dt>Stakeholders</dt><dd>10 added</dd>", html=True)
        self.assertContains(page, "<dt>Activities</dt><dd>20 added</dd>", html=True)
        for role in ("contacts", "contact_roles", "activities"):
            self.assertContains(page, stored[role]["name"])
            self.assertContains(page, stored[role]["sha256"])

    def test_contact_roles_without_contacts_is_a_form_error(self) -> None:
        self.sign_in(self.leader)
        uploads = self.export_uploads("deals", "contact_roles")
        response = self.client.post(self.url("new"), {"kind": "auto", **uploads})
        self.assertContains(response, "add the contacts file (Contact.csv) too", status_code=400)
        self.assertFalse(ImportRun.objects.exists())

    def test_related_files_need_a_salesforce_export(self) -> None:
        self.sign_in(self.leader)
        uploads = self.export_uploads("activities")
        hubspot = (EXAMPLES / "hubspot" / "deals.csv").read_bytes()
        uploads["deals"] = SimpleUploadedFile("deals.csv", hubspot)
        response = self.client.post(self.url("new"), {"kind": "auto", **uploads})
        self.assertContains(response, "can only come with a Salesforce export", status_code=400)
        self.assertFalse(ImportRun.objects.exists())

    def test_a_rep_is_refused(self) -> None:
        self.sign_in(self.rep_a)
        response = self.client.post(self.url("new"), {"kind": "auto", **self.export_uploads()})
        self.assertEqual(response.status_code, 403)
        self.assertFalse(ImportRun.objects.exists())
        self.assertFalse(Stakeholder.objects.filter(deal__source="salesforce").exists())


class WizardServicesCheckWhoMayTests(WizardBase):
    """Each wizard step's service refuses anyone but a leader of the run's workspace by
    itself, whatever view or script calls it: would fail if a step left the check to its
    (leader-only) page."""

    def test_every_step_refuses_reps_managers_and_partners_and_other_workspaces(self) -> None:
        from django.core.files.uploadedfile import SimpleUploadedFile as Upload

        from unstuck.core.errors import NotAllowed
        from unstuck.core.models import Membership
        from unstuck.imports import wizard

        hubspot = (EXAMPLES / "hubspot" / "deals.csv").read_bytes()
        draft = self.upload("deals.csv", hubspot)
        finished = self.upload("deals.csv", hubspot)
        leader = self.membership_of(self.leader)
        wizard.import_run_queue(by=leader, run=finished, strict=True)
        import_run_execute_stored(run_id=finished.pk)
        finished.refresh_from_db()
        outsider = Membership.objects.get(user=self.outsider)
        mapping, saved = draft.mapping, SavedMapping.objects.count()
        steps: dict[str, Callable[[Membership], object]] = {
            "create": lambda by: wizard.import_draft_create(
                by=by, kind="auto", uploads={"deals": Upload("deals.csv", hubspot)}
            ),
            "set mapping": lambda by: wizard.import_draft_set_mapping(
                by=by, run=draft, mapping={"columns": {"external_id": "Record ID"}}
            ),
            "queue": lambda by: wizard.import_run_queue(by=by, run=draft, strict=False),
            "discard": lambda by: wizard.import_draft_discard(by=by, run=draft),
            "repeat": lambda by: wizard.import_run_repeat(by=by, run=finished),
        }
        runs = ImportRun.objects.count()
        for user in (self.rep_a, self.manager_a, self.partner, self.outsider):
            by = outsider if user == self.outsider else self.membership_of(user)
            for name, step in steps.items():
                if user == self.outsider and name == "create":
                    continue  # a leader of their own workspace may import there
                with self.subTest(user=user.email, step=name), self.assertRaises(NotAllowed):
                    step(by)
        self.assertEqual(ImportRun.objects.count(), runs)
        draft.refresh_from_db()
        self.assertEqual((draft.status, draft.mapping), (RunStatus.DRAFT, mapping))
        self.assertEqual(SavedMapping.objects.count(), saved)
