"""CSV import and export of vendors. Import validates every row first (a dry run) and
reports errors as (line, column, message); only a file without errors is saved."""

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from outsourcing.exports import csv_writer

from .forms import VendorForm
from .models import Vendor

COLUMNS = [
    "name",
    "website",
    "description",
    "specialties",
    "rate",
    "currency",
    "time_zone",
    "review_interval_months",
]
EXPORT_COLUMNS = [*COLUMNS, "status", "score"]
MAX_ROWS = 10_000


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str


@dataclass
class ImportPreview:
    rows: list[dict]
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


def parse(text: str, *, org) -> ImportPreview:
    """Validate a CSV text against the vendor form, without saving anything.

    Problems with a row come back as ``RowError``s; a file that cannot be read as a vendor
    CSV at all (empty, only a header, NUL bytes, a cell past the csv module's limit) raises
    ``ValidationError`` with one sentence for the file field.
    """
    if "\x00" in text:
        raise ValidationError(
            "The file contains NUL bytes, so it is not CSV text: export it from your "
            "spreadsheet as “CSV UTF-8” and try again."
        )
    if not text.strip():
        raise ValidationError("The file is empty: add a header row and one line per vendor.")
    # newline="" hands line endings to the csv module, which reads \n, \r\n and the old
    # Mac \r alike and keeps the line breaks inside quoted cells.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        return _parse(reader, org=org)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ValidationError(
                f"Line {reader.line_num} has a cell longer than {csv.field_size_limit():,} "
                "characters (a quote left open?); nothing was read."
            ) from None
        raise ValidationError(
            f"Line {reader.line_num} cannot be read as CSV ({exc}); nothing was read."
        ) from None


def _parse(reader: csv.DictReader, *, org) -> ImportPreview:
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "name" not in header:
        return ImportPreview(
            [], [RowError(1, "name", "The header row must include a name column.")]
        )
    errors: list[RowError] = []  # unknown columns are ignored, not refused
    rows: list[dict] = []
    seen: dict[str, int] = {}
    existing = {n.lower() for n in Vendor.unscoped.filter(org=org).values_list("name", flat=True)}
    for index, raw in enumerate(reader):
        line = index + 2  # the header is line 1
        if index >= MAX_ROWS:
            errors.append(RowError(line, "", f"At most {MAX_ROWS} rows per import."))
            break
        data = {k.strip(): (v or "").strip() for k, v in raw.items() if k and k.strip() in COLUMNS}
        if not data.get("currency"):  # missing column or empty cell
            data["currency"] = org.currency
        # Names are checked below against the file and the organization in one query.
        form = VendorForm(data, org=org, check_name=False)
        if form.is_valid():
            row = {name: form.cleaned_data[name] for name in COLUMNS}
        else:
            row = None
            for column, messages in form.errors.items():
                for message in messages:
                    errors.append(RowError(line, column if column != "__all__" else "", message))
        name = data.get("name", "")
        if name and name.lower() in seen:
            errors.append(RowError(line, "name", f"Same name as line {seen[name.lower()]}."))
        elif name and name.lower() in existing:
            errors.append(RowError(line, "name", "A vendor with this name already exists."))
        seen.setdefault(name.lower(), line)
        if row is not None:
            rows.append(row)
    if not rows and not errors:
        raise ValidationError("The file has only a header row: add one line per vendor.")
    return ImportPreview(rows, errors)


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_lines(vendors: Iterable[Vendor]) -> Iterator[str]:
    """CSV lines (header first) for a streaming response; round-trips through ``parse``."""
    writer = csv_writer(_Echo())  # formulas in vendor text are neutralised
    yield writer.writerow(EXPORT_COLUMNS)
    for vendor in vendors:
        yield writer.writerow(
            ["" if getattr(vendor, c) is None else getattr(vendor, c) for c in EXPORT_COLUMNS]
        )
