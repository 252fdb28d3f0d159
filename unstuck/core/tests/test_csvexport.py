import io

from django.test import SimpleTestCase

from unstuck.core.csvexport import safe_cell, writer


class SafeCellTests(SimpleTestCase):
    def test_it_neutralises_formula_leading_text(self) -> None:
        for payload in [
            '=HYPERLINK("http://x","click")',
            "+cmd|' /C calc'!A0",
            "@SUM(1+1)",
            "-2+3+cmd|' /C calc'!A0",
            "\t=1+1",
            "  =1+1",
            "\r=1",
        ]:
            with self.subTest(payload=payload):
                self.assertEqual(safe_cell(payload), "'" + payload)

    def test_it_leaves_numbers_and_plain_text_alone(self) -> None:
        for value in ["-300", "+1.5", "12", "-0.5e3", "Acme = good", "", "Closed won"]:
            with self.subTest(value=value):
                self.assertEqual(safe_cell(value), value)
        self.assertEqual(safe_cell(-3), -3)
        self.assertIsNone(safe_cell(None))

    def test_writer_writes_every_cell_safely(self) -> None:
        out = io.StringIO()
        w = writer(out, lineterminator="\n")
        w.writerow(["name", "=1+1"])
        w.writerows([["@x", "-5"]])
        self.assertEqual(out.getvalue(), "name,'=1+1\n'@x,-5\n")
