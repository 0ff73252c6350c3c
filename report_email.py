"""The scheduled-report email: an HTML summary plus the CSV of the whole result.

The summary shows the first SUMMARY_ROWS rows formatted exactly as on screen (the one
shared formatter), what the report is (datasets.describe), and how many rows the CSV
holds; the CSV is the export rendering (5000-row cap, no totals row).
"""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape

import permissions
from datasets.describe import describe
from datasets.formatting import format_rows
from datasets.freshness import describe_freshness
from datasets.registry import DATASETS
from datasets.run import Result
from db import engines
from db.reports import SavedReport
from db.schedules import Schedule
from export_formats import csv_chunks, filename
from mailer import LEAF_HEADER, TENANT_HEADER

SUMMARY_ROWS = 20
CELL = "padding:4px 10px;border-bottom:1px solid #e5e7eb;"


def subject(report: SavedReport, schedule: Schedule, day: dt.date) -> str:
    return f"{report.name} — {schedule.frequency} report, {day.isoformat()}"


def _rows_note(result: Result) -> str:
    total = len(result.frame)
    shown = min(total, SUMMARY_ROWS)
    note = f"{total} row{'s' * (total != 1)} in the attached CSV"
    if result.truncated:
        kept = "the latest periods" if result.keeps_latest else "the first rows"
        note += f" (stopped at the {result.row_cap}-row limit, keeping {kept})"
    if shown < total:
        note += f"; the first {shown} are shown here"
    return note + "."


def _summary_rows(result: Result) -> list[list[str]]:
    """The display text of the rows the email shows (not of all 5000)."""
    return format_rows(result.frame.head(SUMMARY_ROWS), result.columns)


def _freshness(result: Result) -> list[str]:
    """The dataset's freshness line and its caveats, as on the report page."""
    line, notes = describe_freshness(DATASETS[result.definition.dataset], engines.default().cron)
    return [line, *notes]


def html_summary(report: SavedReport, schedule: Schedule, result: Result) -> str:
    about = "".join(
        f"<tr><th style='{CELL}text-align:left'>{escape(k)}</th><td style='{CELL}'>{escape(v)}"
        "</td></tr>"
        for k, v in describe(result.definition, result.start, result.end)
    )
    head = "".join(f"<th style='{CELL}text-align:left'>{escape(c.label)}</th>"
                   for c in result.columns)  # fmt: skip
    numeric = [c.role == "measure" for c in result.columns]
    body = "".join(
        "<tr>"
        + "".join(
            f"<td style='{CELL}{'text-align:right;' if is_number else ''}'>{escape(text)}</td>"
            for text, is_number in zip(row, numeric, strict=True)
        )
        + "</tr>"
        for row in _summary_rows(result)
    )
    table = (
        f"<table style='border-collapse:collapse;font-size:14px'><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
        if len(result.frame)
        else "<p>No data in this range.</p>"
    )
    return (
        "<!doctype html><html><body style='font-family:system-ui,sans-serif;color:#111827'>"
        f"<h1 style='font-size:20px'>{escape(report.name)}</h1>"
        f"<p style='color:#4b5563'>{escape(report.description)}</p>"
        f"<table style='border-collapse:collapse;font-size:13px;margin-bottom:16px'>{about}"
        "</table>"
        f"{table}<p style='color:#4b5563;font-size:13px'>{escape(_rows_note(result))} "
        f"Data {result.as_of}. {escape(schedule.describe())}.</p>"
        + "".join(
            f"<p style='color:#4b5563;font-size:13px'>{escape(line)}</p>"
            for line in _freshness(result)
        )
        + "</body></html>"
    )


def plain_summary(report: SavedReport, schedule: Schedule, result: Result) -> str:
    lines = [report.name, ""]
    lines += [f"{k}: {v}" for k, v in describe(result.definition, result.start, result.end)]
    lines += ["", " | ".join(c.label for c in result.columns)]
    lines += [" | ".join(row) for row in _summary_rows(result)]
    lines += ["", _rows_note(result), f"Data {result.as_of}.", schedule.describe() + "."]
    lines += _freshness(result)
    return "\n".join(lines)


def compose(
    report: SavedReport, schedule: Schedule, result: Result, *, sender: str, day: dt.date
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject(report, schedule, day)
    message["From"] = sender
    message["To"] = ", ".join(schedule.recipients)
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message[TENANT_HEADER] = str(report.tenant_id)
    message[LEAF_HEADER] = permissions.dataset_leaf(result.definition.dataset).value
    message.set_content(plain_summary(report, schedule, result))
    message.add_alternative(html_summary(report, schedule, result), subtype="html")
    message.add_attachment(
        "".join(csv_chunks(result)).encode(),
        maintype="text",
        subtype="csv",
        filename=filename(report.name, "csv", result.end),
    )
    return message
