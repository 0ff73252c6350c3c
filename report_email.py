"""The scheduled-report email: an HTML summary plus the whole result as CSV or XLSX,
one message per recipient; the notice to a report's owner when a delivery failed; and an
alert's email (the value, the rule it broke, a link to the report).

The summary shows the first SUMMARY_ROWS rows formatted exactly as on screen (the one
shared formatter), what the report is (datasets.describe), and how many rows the
attachment holds; the attachment is the export file (export_formats.file_bytes: 5000-row
cap, no totals row, the same bytes as the export route). Each message carries its own
Message-ID, made before it is sent so the ledger can record it first, and, when given,
the recipient's unsubscribe link (also as List-Unsubscribe, one-click).

An unsubscribe link carries a token signed with SECRET_KEY (itsdangerous) naming the
tenant, report, schedule and address, valid for UNSUBSCRIBE_DAYS: api/unsubscribe.py
reads it back with `read_unsubscribe`, which refuses a token altered or expired.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape
from typing import Any
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer

import permissions
from datasets.compare import tone
from datasets.describe import describe
from datasets.formatting import CHANGE, EMPTY, format_rows, format_value
from datasets.freshness import describe_freshness
from datasets.model import Column
from datasets.registry import DATASETS
from datasets.run import Result
from db import engines
from db.alerts import Alert, Condition, Firing, Reading
from db.reports import SavedReport
from db.schedules import Schedule
from errors import BadRequest
from export_formats import CONTENT_TYPES, file_bytes, filename
from mailer import LEAF_HEADER, REPORT_HEADER, TENANT_HEADER

SUMMARY_ROWS = 20
UNSUBSCRIBE_DAYS = 90  # a link in an email stays usable for about a quarter
UNSUBSCRIBE_SALT = "report-unsubscribe"  # tokens for nothing else verify as these
UNSUBSCRIBE_PATH = "/unsubscribe"
BAD_LINK = "This unsubscribe link is not valid or has expired. Ask the report's owner."
CELL = "padding:4px 10px;border-bottom:1px solid #e5e7eb;"


@dataclass(frozen=True)
class Attachment:
    fmt: str  # csv or xlsx
    content: bytes
    filename: str


def attachment(report: SavedReport, schedule: Schedule, result: Result) -> Attachment:
    """The schedule's attachment: the export file of the result."""
    fmt = schedule.attachment
    return Attachment(fmt, file_bytes(result, fmt, title=report.name),
                      filename(report.name, fmt, result.end))  # fmt: skip


@dataclass(frozen=True)
class Unsubscribe:
    """Who leaves which schedule, as an unsubscribe token names it."""

    tenant_id: int
    report_id: int
    schedule_id: int
    address: str


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(who: Unsubscribe, *, secret: str, now: dt.datetime) -> str:
    expires = (now + dt.timedelta(days=UNSUBSCRIBE_DAYS)).timestamp()
    return str(_serializer(secret).dumps({"t": who.tenant_id, "r": who.report_id,
                                          "s": who.schedule_id, "a": who.address,
                                          "e": int(expires)}))  # fmt: skip


def unsubscribe_url(base_url: str, who: Unsubscribe, *, secret: str, now: dt.datetime) -> str:
    token = unsubscribe_token(who, secret=secret, now=now)
    return f"{base_url.rstrip('/')}{UNSUBSCRIBE_PATH}?{urlencode({'token': token})}"


def read_unsubscribe(token: str, *, secret: str, now: dt.datetime) -> Unsubscribe:
    """The token's subject, or BadRequest for a token not signed by us or expired."""
    try:
        data = _serializer(secret).loads(token)
        who = Unsubscribe(int(data["t"]), int(data["r"]), int(data["s"]), str(data["a"]))
        expires = float(data["e"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise BadRequest(BAD_LINK) from None
    if now.timestamp() > expires:
        raise BadRequest(BAD_LINK)
    return who


def subject(report: SavedReport, schedule: Schedule, day: dt.date, *, is_test: bool = False) -> str:
    text = f"{report.name} — {schedule.frequency} report, {day.isoformat()}"
    return f"[Test] {text}" if is_test else text


def _rows_note(result: Result, fmt: str) -> str:
    total = len(result.frame)
    shown = min(total, SUMMARY_ROWS)
    note = f"{total} row{'s' * (total != 1)} in the attached {fmt.upper()}"
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


TONE_COLOURS = {"good": "#146c43", "bad": "#b02a37"}  # Bootstrap's text emphasis, AA on white


def _tone_style(value: Any, column: Column) -> str:
    """A change cell's colour by its measure's sense (its ▲/▼ text says it too)."""
    if column.type != CHANGE or (shade := tone(value, column.better)) is None:
        return ""
    return f"color:{TONE_COLOURS[shade]};"


def html_summary(
    report: SavedReport, schedule: Schedule, result: Result, *, unsubscribe_url: str | None = None
) -> str:
    about = "".join(
        f"<tr><th style='{CELL}text-align:left'>{escape(k)}</th><td style='{CELL}'>{escape(v)}"
        "</td></tr>"
        for k, v in describe(result.definition, result.start, result.end)
    )
    head = "".join(f"<th style='{CELL}text-align:left'>{escape(c.label)}</th>"
                   for c in result.columns)  # fmt: skip
    numeric = [c.role != "dimension" for c in result.columns]
    shown = result.frame.head(SUMMARY_ROWS).to_dict("records")
    body = "".join(
        "<tr>"
        + "".join(
            f"<td style='{CELL}{'text-align:right;' if is_number else ''}"
            f"{_tone_style(raw, column)}'>{escape(text)}</td>"
            for text, is_number, column in zip(row, numeric, result.columns, strict=True)
            for raw in [values[column.id]]
        )
        + "</tr>"
        for row, values in zip(_summary_rows(result), shown, strict=True)
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
        f"{table}<p style='color:#4b5563;font-size:13px'>"
        f"{escape(_rows_note(result, schedule.attachment))} "
        f"Data {result.as_of}. {escape(schedule.describe())}.</p>"
        + "".join(
            f"<p style='color:#4b5563;font-size:13px'>{escape(line)}</p>"
            for line in _freshness(result)
        )
        + (
            f"<p style='color:#6b7280;font-size:12px'><a href='{escape(unsubscribe_url)}'>"
            "Unsubscribe</a> from this report's emails.</p>"
            if unsubscribe_url
            else ""
        )
        + "</body></html>"
    )


def plain_summary(
    report: SavedReport, schedule: Schedule, result: Result, *, unsubscribe_url: str | None = None
) -> str:
    lines = [report.name, ""]
    lines += [f"{k}: {v}" for k, v in describe(result.definition, result.start, result.end)]
    lines += ["", " | ".join(c.label for c in result.columns)]
    lines += [" | ".join(row) for row in _summary_rows(result)]
    lines += ["", _rows_note(result, schedule.attachment), f"Data {result.as_of}.",
              schedule.describe() + "."]  # fmt: skip
    lines += _freshness(result)
    if unsubscribe_url:
        lines += ["", f"Unsubscribe from this report's emails: {unsubscribe_url}"]
    return "\n".join(lines)


def _message(sender: str, recipient: str, subject_line: str, tenant_id: int,
             report_id: int) -> EmailMessage:  # fmt: skip
    message = EmailMessage()
    message[REPORT_HEADER] = str(report_id)
    message["Subject"] = subject_line
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message[TENANT_HEADER] = str(tenant_id)
    return message


def compose(
    report: SavedReport,
    schedule: Schedule,
    result: Result,
    file: Attachment,
    *,
    sender: str,
    recipient: str,
    day: dt.date,
    is_test: bool = False,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    """The report's email to one recipient."""
    message = _message(sender, recipient, subject(report, schedule, day, is_test=is_test),
                       report.tenant_id, report.id)  # fmt: skip
    message[LEAF_HEADER] = permissions.dataset_leaf(result.definition.dataset).value
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(plain_summary(report, schedule, result, unsubscribe_url=unsubscribe_url))
    message.add_alternative(
        html_summary(report, schedule, result, unsubscribe_url=unsubscribe_url), subtype="html"
    )
    maintype, _, subtype = CONTENT_TYPES[file.fmt].partition(";")[0].partition("/")
    message.add_attachment(file.content, maintype=maintype, subtype=subtype,
                           filename=file.filename)  # fmt: skip
    return message


def failure_notice(report: SavedReport, *, sender: str, owner: str, kind: str,
                   day: dt.date, error: str) -> EmailMessage:  # fmt: skip
    """Tells the report's owner that a delivery failed, and why."""
    message = _message(sender, owner, f"Not delivered: {report.name} ({kind} email, "
                       f"{day.isoformat()})", report.tenant_id, report.id)  # fmt: skip
    message.set_content(
        f"The {kind} email of the report “{report.name}” for {day.isoformat()} was not "
        f"delivered.\n\n{error}\n\nOpen the report in the Analytics Hub to see its delivery "
        "history and re-send it."
    )
    return message


def alert_message(report: SavedReport, alert: Alert, firing: Firing, column: Column, *,
                  sender: str, recipient: str, report_url: str) -> EmailMessage:  # fmt: skip
    """An alert's email to one recipient: the value read, the rule it broke, the previous
    value, and a link to the report; numbers through the shared formatter."""
    value = format_value(firing.value, column)
    before = format_value(firing.previous, column) if firing.previous is not None else EMPTY
    if firing.condition is Condition.CHANGE:
        change = Reading(firing.value, firing.previous).change_percent()
        moved = EMPTY if change is None else f"{change:+.1f} %"
        rule = (f"it changed by {moved} against the previous value, more than the "
                f"{firing.threshold.normalize():f} % the alert allows")  # fmt: skip
    else:
        limit = format_value(firing.threshold, column)
        rule = f"it is {firing.condition.value} the threshold of {limit}"
    message = _message(sender, recipient, f"Alert: {report.name} — {column.label} is {value}",
                       report.tenant_id, report.id)  # fmt: skip
    message[LEAF_HEADER] = permissions.dataset_leaf(str(report.definition.get("dataset"))).value
    lines = [
        f"The alert on “{report.name}” fired at {firing.fired_at:%Y-%m-%d %H:%M} UTC.",
        f"{column.label}: {value}; {rule}.",
        f"Previous value: {before}.",
        f"Open the report: {report_url}",
        "",
        f"It is emailed at most once every {alert.cooldown_hours} hours. People who manage "
        "the report can change or remove the alert on its page.",
    ]
    message.set_content("\n".join(lines))
    cells = "".join(f'<p style="margin:0 0 8px">{escape(line)}</p>' for line in lines[:3])
    message.add_alternative(
        f'<div style="font-family:system-ui,sans-serif;font-size:14px">{cells}'
        f'<p><a href="{escape(report_url)}">Open the report</a></p>'
        f'<p style="color:#6b7280;font-size:12px">{escape(lines[5])}</p></div>',
        subtype="html",
    )
    return message
