"""A file with 200,000 columns: the mapping page stays small (it lists a bounded number of
columns) and any column can still be mapped by typing its name (issue 15, item 9)."""

from __future__ import annotations

from unstuck.imports.tests.test_wizard import WizardBase

WIDE = 200_000


class WideFileTests(WizardBase):
    def test_the_mapping_page_of_a_200k_column_file_is_bounded_and_still_maps_any_column(
        self,
    ) -> None:
        header = ",".join(["Deal ID", "Title", "Stage", *(f"c{i}" for i in range(WIDE))])
        row = ",".join(["D1", "One", "Open", *("" for _ in range(WIDE))])
        run = self.upload("wide.csv", f"{header}\n{row}\n".encode())
        page = self.client.get(self.url("mapping", pk=run.pk))
        self.assertEqual(page.status_code, 200)
        self.assertLess(len(page.content), 300_000)
        self.assertContains(page, "This file has 200,003 columns")
        self.assertNotContains(page, '"c150000"')
        form = {
            "col_external_id": "Deal ID",
            "col_name": "c150000",  # typed: not among the columns listed
            "col_stage": "Stage",
            "custom_lines": "c199999\nnot-a-column",
            "source": "wide",
            "on_conflict": "reject",
        }
        response = self.client.post(self.url("mapping", pk=run.pk), form)
        self.assertRedirects(response, self.url("preview", pk=run.pk))
        run.refresh_from_db()
        self.assertEqual(run.mapping["columns"]["name"], "c150000")
        self.assertEqual(run.mapping["custom"]["columns"], ["c199999"])
        again = self.client.get(self.url("mapping", pk=run.pk))
        self.assertContains(again, 'value="c150000"')

    def test_a_narrow_file_keeps_its_lists(self) -> None:
        run = self.upload("narrow.csv", b"Deal ID,Title,Stage\nD1,One,Open\n")
        page = self.client.get(self.url("mapping", pk=run.pk))
        self.assertNotContains(page, "type the exact name")
        self.assertContains(page, '<select id="col_name" name="col_name">')
