from datetime import UTC, date, datetime
from decimal import Decimal

from django.test import SimpleTestCase

from unstuck.imports.parsing import (
    FileProblem,
    ValueProblem,
    parse_amount,
    parse_date,
    parse_datetime,
    sniff,
)
from unstuck.imports.tests.helpers import TempDirMixin

HEADER = "Id,Name,Amount\r\n"


class AmountTests(SimpleTestCase):
    def test_it_reads_thousands_separators_and_currency_symbols(self) -> None:
        cases = {
            "$1,234.50": "1234.50",
            "1.234,50 €": "1234.50",
            "EUR 1 234,50": "1234.50",
            "USD 48,000.00": "48000.00",
            "£12,500": "12500.00",
            "48.000": "48000.00",
            "1.5": "1.50",
            "2,5": "2.50",
            "1\u00a0000": "1000.00",
            "1'000.25": "1000.25",
        }
        for raw, expected in cases.items():
            with self.subTest(raw=raw):
                self.assertEqual(parse_amount(raw), Decimal(expected))

    def test_the_mapping_decides_an_ambiguous_decimal_separator(self) -> None:
        self.assertEqual(parse_amount("1.234", decimal_sep=","), Decimal("1234"))
        self.assertEqual(
            parse_amount("1,234", decimal_sep=","), Decimal("1.234").quantize(Decimal("0.01"))
        )

    def test_it_refuses_what_is_not_an_amount(self) -> None:
        for raw in ["abc", "$", "(300)", "-5", "1e400", "12..5x"]:
            with self.subTest(raw=raw), self.assertRaises(ValueProblem):
                parse_amount(raw)

    def test_empty_is_no_amount(self) -> None:
        self.assertIsNone(parse_amount("  "))


class DateTests(SimpleTestCase):
    def test_iso_with_offset_is_converted_to_utc(self) -> None:
        self.assertEqual(
            parse_datetime("2025-03-01T10:00:00+02:00"), datetime(2025, 3, 1, 8, tzinfo=UTC)
        )
        self.assertEqual(
            parse_datetime("2025-03-01T10:00:00.000Z"), datetime(2025, 3, 1, 10, tzinfo=UTC)
        )

    def test_us_form_by_default_and_european_when_asked(self) -> None:
        self.assertEqual(parse_date("3/4/2025"), date(2025, 3, 4))
        self.assertEqual(parse_date("3/4/2025", dayfirst=True), date(2025, 4, 3))
        self.assertEqual(parse_date("31.07.2025", formats=("%d.%m.%Y",)), date(2025, 7, 31))

    def test_explicit_formats_reject_other_forms(self) -> None:
        with self.assertRaises(ValueProblem):
            parse_date("2025-07-31", formats=("%d.%m.%Y",))

    def test_nonsense_and_impossible_dates_are_refused(self) -> None:
        for raw in ["soon", "2025-02-30", "31/31/2025", "0001-01-01"]:
            with self.subTest(raw=raw), self.assertRaises(ValueProblem):
                parse_datetime(raw)


class SniffTests(TempDirMixin, SimpleTestCase):
    def test_encodings_are_recognised(self) -> None:
        text = HEADER + '1,Café Müller,"1,000"\r\n'
        for encoding, label in [
            ("utf-8", "UTF-8"),
            ("utf-8-sig", "UTF-8 with BOM"),
            ("utf-16", "UTF-16"),
            ("cp1252", "Windows-1252"),
        ]:
            with self.subTest(encoding=encoding):
                sniffed = sniff(self.write(f"{encoding}.csv", text, encoding))
                self.assertEqual(sniffed.encoding_label, label)
                self.assertEqual(sniffed.headers, ["Id", "Name", "Amount"])

    def test_delimiters_are_recognised(self) -> None:
        for delimiter, label in [(",", "comma"), (";", "semicolon"), ("\t", "tab")]:
            with self.subTest(delimiter=label):
                text = f"Id{delimiter}Name{delimiter}Amount\n1{delimiter}A{delimiter}5\n"
                self.assertEqual(sniff(self.write("d.csv", text)).delimiter_label, label)

    def test_binary_files_are_refused(self) -> None:
        with self.assertRaisesMessage(FileProblem, "binary"):
            sniff(self.write("x.csv", bytes(range(256)) * 10))
