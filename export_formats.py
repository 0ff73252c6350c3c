"""CSV and XLSX renderings of a run result, formatted exactly like the screen.

No grand-total footer is ever written: summing ratios or mixing currencies across rows
would be meaningless. CSV cells are the formatter's display text; XLSX cells stay
numbers and dates, with number formats that display that same text.

`file_bytes` is the one rendering behind the download route, export jobs and scheduled
emails' attachments. It is a function of the result alone: the workbook's document
properties and every zip member carry the result's computed time, so the same result
gives the same bytes whenever and wherever it is rendered.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any, assert_never

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from datasets.describe import describe
from datasets.formatting import CHANGE, format_value, is_empty, row_currency
from datasets.model import Column, Grain, MeasureType
from datasets.run import Result

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# A spreadsheet treats text starting with these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def filename(report_name: str, fmt: str, day: dt.date) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", report_name.lower()).strip("-")[:80] or "report"
    return f"{slug}-{day.isoformat()}.{fmt}"


def neutralised(text: str) -> str:
    return f"'{text}" if text.startswith(FORMULA_START) else text


def csv_chunks(result: Result) -> Iterator[str]:
    """The CSV, one line at a time (RFC 4180 quoting, header of column labels)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([neutralised(c.label) for c in result.columns])
    yield flush()
    for row in result.frame.to_dict("records"):
        cells = []
        for c in result.columns:
            text = format_value(row[c.id], c, currency=row_currency(row, c))
            cells.append(neutralised(text) if c.role == "dimension" else text)
        writer.writerow(cells)
        yield flush()


def number_format(column: Column, currency: str | None) -> str:
    """The Excel format that displays a cell as format_value() shows it."""
    if column.type == "time":
        return "yyyy-mm" if column.grain is Grain.MONTH else "yyyy-mm-dd"
    if column.type == "category":
        return "@"
    if column.type == CHANGE:  # the arrows of format_change, with no minus sign
        return '"▲ "#,##0.0%;"▼ "#,##0.0%;0.0%'
    match MeasureType(column.type):
        case MeasureType.COUNT | MeasureType.INTEGER:
            return "#,##0"
        case MeasureType.CURRENCY:
            return f'#,##0.00" {currency}"' if currency else "#,##0.00"
        case MeasureType.RATIO:
            return "0.0%"
        case MeasureType.DURATION:  # cells hold ms; the trailing comma scales by 1000
            return '[<1000]0" ms";#,##0.0," s"'
        case MeasureType.DECIMAL:
            return "#,##0" + ("." + "0" * column.precision if column.precision else "")
        case _:
            assert_never(MeasureType(column.type))


def _cell_value(value: Any, column: Column) -> Any:
    if is_empty(value):
        return None
    if column.type == "time":
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    if column.type == "category":
        return neutralised(str(value))
    if column.type == CHANGE:
        return float(value)
    if MeasureType(column.type) in (MeasureType.COUNT, MeasureType.INTEGER):
        return int(value)
    return float(value)


def file_bytes(result: Result, fmt: str, *, title: str) -> bytes:
    """The export file of `result` in `fmt` (csv or xlsx)."""
    if fmt == "csv":
        return "".join(csv_chunks(result)).encode()
    return xlsx_bytes(result, title=title)


def xlsx_bytes(result: Result, *, title: str) -> bytes:
    """A workbook: the report sheet (bold frozen header) and an "About" sheet."""
    book = Workbook(write_only=False)
    sheet = book.active
    sheet.title = re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Report"
    sheet.append([c.label for c in result.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    widths = [len(c.label) for c in result.columns]
    for row in result.frame.to_dict("records"):
        values = []
        for i, c in enumerate(result.columns):
            values.append(_cell_value(row[c.id], c))
            shown = format_value(row[c.id], c, currency=row_currency(row, c))
            widths[i] = max(widths[i], len(shown))
        sheet.append(values)
        for c, cell in zip(result.columns, sheet[sheet.max_row], strict=True):
            cell.number_format = number_format(c, row_currency(row, c))
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = min(60, width + 2)

    about = book.create_sheet("About")
    rows = [
        ("Report", title),
        *describe(result.definition, result.start, result.end),
        ("Data as of", result.ran_at.strftime("%Y-%m-%d %H:%M UTC")),
        ("Rows", str(len(result.frame))),
        ("Truncated", _truncation(result)),
    ]
    for label, text in rows:
        about.append([label, neutralised(text)])
        about.cell(row=about.max_row, column=1).font = Font(bold=True)
    about.column_dimensions["A"].width = 16
    about.column_dimensions["B"].width = 80
    return _stamped_workbook(book, result.ran_at)


def _stamped_workbook(book: Workbook, at: dt.datetime) -> bytes:
    """The workbook's bytes with `at` as its created and modified time and as every zip
    member's time (openpyxl would write the current time into both)."""
    utc = at.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)
    book.properties.created = book.properties.modified = utc
    written = io.BytesIO()
    ExcelWriter(book, zipfile.ZipFile(written, "w", zipfile.ZIP_DEFLATED)).save()  # closes it
    out = io.BytesIO()
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(out, "w") as target:
        for member in source.infolist():
            stamped = zipfile.ZipInfo(member.filename, date_time=utc.timetuple()[:6])
            stamped.compress_type = zipfile.ZIP_DEFLATED
            stamped.external_attr = member.external_attr
            target.writestr(stamped, source.read(member))
    return out.getvalue()


def _truncation(result: Result) -> str:
    if not result.truncated:
        return "No"
    kept = "the latest periods" if result.keeps_latest else "the first rows"
    return f"Yes, at {result.row_cap} rows ({kept})"
