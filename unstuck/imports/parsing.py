"""Reading what CRMs and spreadsheets really write: encodings, delimiters, dates and amounts.

Files are streamed row by row (constant memory); the first block of a file is sniffed for its
encoding (byte-order marks, then charset-normalizer) and its delimiter (csv.Sniffer).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

from charset_normalizer import from_bytes
from dateutil import parser as dateparser

from unstuck.imports.records import Report

SAMPLE_BYTES = 256 * 1024
# One field may be long (notes, descriptions), but a "field" of tens of megabytes is a broken
# file; csv raises on it and we report it instead of eating the memory.
FIELD_LIMIT = 4 * 1024 * 1024
csv.field_size_limit(FIELD_LIMIT)
DELIMITERS = ",;\t|"


class FileProblem(Exception):
    """The file as a whole cannot be read; the message says why, for the person importing."""


@dataclass
class SniffedFile:
    path: Path
    name: str
    encoding: str
    delimiter: str
    headers: list[str]
    size: int
    sha256: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def encoding_label(self) -> str:
        return {
            "utf-8": "UTF-8",
            "utf-8-sig": "UTF-8 with BOM",
            "utf-16": "UTF-16",
            "cp1252": "Windows-1252",
        }.get(self.encoding, self.encoding)

    @property
    def delimiter_label(self) -> str:
        return {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[self.delimiter]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if b"\x00" in sample:
        # UTF-16 without a byte-order mark puts a zero byte beside every ASCII character.
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > len(odd) * 0.3:
            return "utf-16-le"
        if even.count(0) > len(even) * 0.3:
            return "utf-16-be"
        raise FileProblem(
            "This looks like a binary file, not a CSV export (it contains NUL bytes)."
        )
    try:
        # A multi-byte character may be cut at the end of the sample; ignore the last 3 bytes.
        sample[: max(0, len(sample) - 3)].decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(sample, cp_isolation=["cp1252", "latin_1", "utf_16", "mac_roman"]).best()
    if best is None:
        raise FileProblem(
            "The file's text encoding could not be recognised; save it as UTF-8 CSV and retry."
        )
    name = best.encoding.replace("_", "-")
    return "cp1252" if name in {"latin-1", "iso8859-1", "windows-1252"} else name


def _sniff_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()][:20]
    if not lines:
        raise FileProblem("The file is empty: no header row was found.")
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        pass
    # The Sniffer wants consistent rows; a header line alone still tells the delimiter.
    counts = {d: lines[0].count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def sniff(path: Path, *, name: str | None = None) -> SniffedFile:
    """Look at the start of a file: encoding, delimiter and header row."""
    path = Path(path)
    label = name or path.name
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
            # A very wide file's header row can be longer than the sample: read on until it
            # ends, so that no column is cut off (bounded, as fields are).
            while b"\n" not in sample.lstrip(b"\r\n\t \xef\xbb\xbf") and (
                more := fh.read(SAMPLE_BYTES)
            ):
                sample += more
                if len(sample) > FIELD_LIMIT:
                    raise FileProblem(
                        f"{label}: the first line is longer than "
                        f"{FIELD_LIMIT // (1024 * 1024)} MB, so it is not a CSV table."
                    )
    except OSError as exc:
        raise FileProblem(f"{label}: cannot be read ({exc.strerror}).") from None
    if not sample.strip():
        raise FileProblem(f"{label}: the file is empty.")
    try:
        encoding = detect_encoding(sample)
    except FileProblem as exc:
        raise FileProblem(f"{label}: {exc}") from None
    text = sample.decode(encoding, errors="replace").lstrip("\ufeff")
    if "\ufffd" in text[:-4] and encoding.startswith("utf-8"):
        raise FileProblem(f"{label}: the text is not valid {encoding}.")
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    headers: list[str] = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                headers = [cell.strip().lstrip("\ufeff") for cell in row]
                break
    except csv.Error as exc:
        raise FileProblem(f"{label}: the header row cannot be read ({exc}).") from None
    if not headers:
        raise FileProblem(f"{label}: the file is empty: no header row was found.")
    if len(headers) == 1 and len(headers[0]) > 200:
        raise FileProblem(
            f"{label}: no delimiter was found in the first line, so it is not a CSV table."
        )
    if any(not h.isprintable() for h in headers):
        raise FileProblem(f"{label}: the header row contains control characters; is it a CSV?")
    return SniffedFile(
        path=path, name=label, encoding=encoding, delimiter=delimiter, headers=headers, size=size
    )


@dataclass
class Row:
    line: int
    values: dict[str, str]


def iter_rows(sniffed: SniffedFile, *, report: Report) -> Iterator[Row]:
    """Stream the data rows as dicts keyed by header; ragged rows are reported, not yielded.

    The line is the physical line number where the row ends, as an editor shows it.
    """
    headers = sniffed.headers
    width = len(headers)
    with sniffed.path.open(encoding=sniffed.encoding, newline="", errors="strict") as fh:
        reader = csv.reader(fh, delimiter=sniffed.delimiter)
        seen_header = False
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                message = str(exc)
                if "field larger than field limit" in message:
                    message = f"a field is longer than {FIELD_LIMIT // (1024 * 1024)} MB"
                raise FileProblem(
                    f"{sniffed.name}, line {reader.line_num}: the CSV cannot be read ({message})."
                ) from None
            except UnicodeDecodeError as exc:
                raise FileProblem(
                    f"{sniffed.name}: the text is not valid {sniffed.encoding_label} near "
                    f"line {reader.line_num + 1} (byte {exc.start} of a block); "
                    "save the file as UTF-8 and retry."
                ) from None
            if not row or not any(cell.strip() for cell in row):
                continue
            if not seen_header:
                seen_header = True
                continue
            if "\x00" in "".join(row):
                report.problem(
                    file=sniffed.name,
                    line=reader.line_num,
                    column="",
                    value="",
                    reason="the row contains NUL bytes: binary data, or a broken file",
                )
                continue
            if len(row) != width:
                extra = row[width:]
                if len(row) > width and not any(cell.strip() for cell in extra):
                    row = row[:width]
                else:
                    report.problem(
                        file=sniffed.name,
                        line=reader.line_num,
                        column="",
                        value=sniffed.delimiter.join(row)[:200],
                        reason=f"the row has {len(row)} fields but the header has {width}",
                    )
                    continue
            yield Row(reader.line_num, dict(zip(headers, row, strict=True)))


# --- values -------------------------------------------------------------------------------

_CURRENCY = re.compile(r"^[A-Z]{3}\s*|\s*[A-Z]{3}$|[$€£¥₹₩₽¤]|\s|\u00a0|\u202f|'")
_THOUSANDS_COMMA = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_THOUSANDS_DOT = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$")


class ValueProblem(ValueError):
    """A single value that cannot be read; the message is the reason shown on the row."""


def parse_amount(raw: str, *, decimal_sep: str | None = None) -> Decimal | None:
    """'$1,234.50', '1.234,50 €', 'EUR 1 234,50', '(300)' → Decimal; '' → None."""
    text = raw.strip()
    if not text:
        return None
    if text.isdigit() and len(text) < 15:
        return Decimal(text)
    negative = text.startswith("(") and text.endswith(")")
    text = _CURRENCY.sub("", text.strip("()"))
    if not text:
        raise ValueProblem("not an amount")
    if decimal_sep == ",":
        text = text.replace(".", "").replace(",", ".")
    elif decimal_sep == ".":
        text = text.replace(",", "")
    elif "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        text = text.replace(",", "") if _THOUSANDS_COMMA.match(text) else text.replace(",", ".")
    elif _THOUSANDS_DOT.match(text):
        # '48.000': amounts with three decimals are rarer than European thousands.
        text = text.replace(".", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueProblem("not an amount") from None
    if not value.is_finite():
        raise ValueProblem("not an amount")
    if negative:
        value = -value
    if value < 0:
        raise ValueProblem("an amount cannot be negative")
    if value >= Decimal("1e14"):
        raise ValueProblem("the amount is too large")
    return value.quantize(Decimal("0.01"))


def parse_datetime(
    raw: str, *, formats: tuple[str, ...] = (), dayfirst: bool = False
) -> datetime | None:
    """ISO (with or without offset), the mapping's explicit formats, then US or European forms.

    Naive values are taken as UTC. '' → None.
    """
    text = raw.strip()
    if not text:
        return None
    value: datetime | None = None
    if formats:
        for fmt in formats:
            try:
                value = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if value is None:
            raise ValueProblem(f"not a date in the form {' or '.join(formats)}")
    else:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            if not any(ch.isdigit() for ch in text):
                raise ValueProblem("not a date") from None
            try:
                value = dateparser.parse(text, dayfirst=dayfirst)
            except (ValueError, OverflowError):
                raise ValueProblem("not a date") from None
    if value.year < 1900 or value.year > 2200:
        raise ValueProblem("the date is out of range")
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def fast_datetime(raw: str) -> datetime:
    """ISO only, for the hot loop; raises ValueError for anything else (the caller then takes
    the checked path)."""
    value = datetime.fromisoformat(raw)
    if not 1900 <= value.year <= 2200:
        raise ValueError(raw)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def fast_date(raw: str) -> date:
    value = date.fromisoformat(raw)
    if not 1900 <= value.year <= 2200:
        raise ValueError(raw)
    return value


def parse_date(raw: str, *, formats: tuple[str, ...] = (), dayfirst: bool = False) -> date | None:
    value = parse_datetime(raw, formats=formats, dayfirst=dayfirst)
    return value.date() if value else None


def at_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


TRUE = {"true", "1", "yes", "y", "t", "x", "won"}
FALSE = {"false", "0", "no", "n", "f", ""}


def parse_bool(raw: str) -> bool:
    text = raw.strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueProblem("not true or false")
