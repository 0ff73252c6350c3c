"""The Schedule dialog of a saved report: email it daily or weekly to up to 20 people.

The dialog is a keyboard-friendly form (frequency, hour and weekday in an IANA time zone,
recipients one per line or comma-separated, CSV or XLSX attachment, pause, skip when
empty) with inline errors from db.schedules' validation, and the next three send times
in the zone and in UTC as the fields change. Saving, stopping and the next-runs preview
need `reports.manage` and the report's dataset leaf, checked again here on the server.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, html, no_update

import mailer
import permissions
from access import HubUser
from components import deliveries_panel, ids
from db import engines
from db.schedules import (
    UTC,
    WEEKDAYS,
    Schedule,
    get_schedule,
    next_runs,
    parse_schedule,
    remove_schedule,
    time_zones,
)
from db.schedules import save_schedule as store_schedule
from errors import BadSchedule

OPEN = "report-schedule"
MODAL = "report-schedule-modal"
FREQUENCY = "schedule-frequency"
HOUR = "schedule-hour"
WEEKDAY = "schedule-weekday"
WEEKDAY_BOX = "schedule-weekday-box"
RECIPIENTS = "schedule-recipients"
TIME_ZONE = "schedule-time-zone"
ZONE_LIST = "schedule-time-zones"
ATTACHMENT = "schedule-attachment"
PAUSED = "schedule-paused"
SKIP_EMPTY = "schedule-skip-empty"
NEXT_RUNS = "schedule-next-runs"
SAVE = "schedule-save"
REMOVE = "schedule-remove"
CANCEL = "schedule-cancel"
STATUS = "report-schedule-status"
FEEDBACK = "schedule-feedback"
DIALOG_PROBLEM = "schedule-delivery-problem"
FIELDS = ("frequency", "hour", "weekday", "time_zone", "recipients", "attachment")
# Any address passes for the next-runs preview: recipients do not change when it sends.
PREVIEW_RECIPIENT = "preview@example.com"


def error_slot(field: str) -> str:
    return f"schedule-error-{field}"


def status_text(schedule: Schedule | None, problem: str | None) -> str:
    """The schedule in a line; with a delivery problem (mailer.delivery_problem) it never
    claims that anything is emailed."""
    if schedule is None:
        return "Not emailed. Use Schedule to send it on a cadence."
    sent = f"; last sent {schedule.last_sent_on.isoformat()}" if schedule.last_sent_on else ""
    if schedule.paused:
        return f"Paused: set to email {schedule.sent_to()}{sent}. Nothing is sent until resumed."
    if problem:
        return (f"Set to email {schedule.sent_to()}{sent}, but nothing is sent until mail "
                "is configured.")  # fmt: skip
    return f"Emailed {schedule.sent_to()}{sent}."


def delivery_alert(problem: str | None, alert_id: str) -> dbc.Alert | None:
    """Why scheduled emails cannot go out and what to set, or nothing when they can."""
    if problem is None:
        return None
    return dbc.Alert(problem, color="warning", id=alert_id, className="small py-2")


def schedule_button() -> dbc.Button:
    return dbc.Button("Schedule", id=OPEN, size="sm", color="secondary", outline=True,
                      className="me-2")  # fmt: skip


def _field(label: str, control: Any, field: str, help_text: str = "") -> html.Div:
    return html.Div(
        [
            dbc.Label(label, html_for=control.id, className="fw-semibold small"),
            control,
            html.Div(help_text, className="form-text") if help_text else None,
            html.Div(id=error_slot(field), className="invalid-feedback d-block", role="alert"),
        ],
        className="mb-3",
    )


def send_time(at: dt.datetime, zone: str) -> str:
    """e.g. "Mon 7 Dec 2026, 07:00 CET (06:00 UTC)"; the UTC day too when it differs."""
    local = at.astimezone(ZoneInfo(zone))
    text = f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"
    if zone == UTC:
        return text
    utc_day = "" if at.date() == local.date() else f"{at:%a} {at.day} {at:%b} "
    return f"{text} ({utc_day}{at:%H:%M} UTC)"


def next_runs_view(schedule: Schedule | None, now: dt.datetime | None = None) -> html.Div:
    """The next three send times of the schedule in its zone and in UTC."""
    if schedule is None:
        body: Any = html.P("Choose a frequency, hour and time zone to see when it is sent.",
                           className="small text-body-secondary mb-0")  # fmt: skip
    elif schedule.paused:
        body = html.P("Paused: nothing is sent until it is resumed.", className="small mb-0")
    else:
        runs = next_runs(schedule, now or dt.datetime.now(dt.UTC))
        body = html.Ol([html.Li(send_time(at, schedule.time_zone)) for at in runs],
                       className="small mb-0 ps-3")  # fmt: skip
    return html.Div([html.Div("Next emails", className="fw-semibold small"), body],
                    id=NEXT_RUNS, className="mb-3", **{"aria-live": "polite"})  # fmt: skip


def schedule_modal(schedule: Schedule | None, *, is_open: bool = False) -> dbc.Modal:
    """The dialog, pre-filled with the current schedule (or daily at 07:00 UTC, CSV)."""
    weekly = schedule is not None and schedule.frequency == "weekly"
    zone = schedule.time_zone if schedule else UTC
    form = [
        _field("Frequency", dbc.RadioItems(
            id=FREQUENCY, inline=True, value=schedule.frequency if schedule else "daily",
            options=[{"label": "Daily", "value": "daily"},
                     {"label": "Weekly", "value": "weekly"}]), "frequency"),
        _field("Hour", dbc.Select(
            id=HOUR, value=str(schedule.hour if schedule else 7),
            options=[{"label": f"{h:02d}:00", "value": str(h)} for h in range(24)]),
            "hour", "In the time zone below; sent within the hour, at five past."),
        html.Div(_field("Weekday", dbc.Select(
            id=WEEKDAY, value=str(schedule.weekday if weekly and schedule else 1),
            options=[{"label": name, "value": str(i)} for i, name in enumerate(WEEKDAYS, 1)]),
            "weekday"), id=WEEKDAY_BOX, hidden=not weekly),
        _field("Time zone", dbc.Input(
            id=TIME_ZONE, value=zone, list=ZONE_LIST, debounce=400, autoComplete="off"),
            "time_zone",
            "An IANA name: type to get suggestions, e.g. Berlin for Europe/Berlin. "
            "Daylight-saving changes never send twice or skip a day."),
        html.Datalist([html.Option(value=name) for name in sorted(time_zones())],
                      id=ZONE_LIST),
        next_runs_view(schedule or parse_schedule(0, {
            "frequency": "daily", "hour": 7, "recipients": PREVIEW_RECIPIENT})),
        _field("Recipients", dbc.Textarea(
            id=RECIPIENTS, rows=4, placeholder="ann@example.com\nbo@example.com",
            value="\n".join(schedule.recipients) if schedule else ""),
            "recipients", "Up to 20 addresses, one per line or separated by commas. Each "
            "email has a link to unsubscribe that address."),
        _field("Attachment", dbc.RadioItems(
            id=ATTACHMENT, inline=True, value=schedule.attachment if schedule else "csv",
            options=[{"label": "CSV", "value": "csv"},
                     {"label": "Excel (XLSX)", "value": "xlsx"}]), "attachment"),
        dbc.Switch(id=SKIP_EMPTY, value=bool(schedule and schedule.skip_empty),
                   label="Skip the email when the report has no rows", className="mb-2"),
        dbc.Switch(id=PAUSED, value=bool(schedule and schedule.paused),
                   label="Paused: send nothing until resumed", className="mb-3"),
    ]  # fmt: skip
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Email this report")),
            dbc.ModalBody([
                delivery_alert(mailer.delivery_problem(), DIALOG_PROBLEM),
                html.P("Recipients get a summary of the report in the email and every row "
                       "(up to 5000) as an attachment.", className="text-body-secondary"),
                *form,
                html.Div(id=FEEDBACK, role="status"),
            ]),
            dbc.ModalFooter([
                dbc.Button("Stop emails", id=REMOVE, color="danger", outline=True,
                           className="me-auto", style={} if schedule else {"display": "none"}),
                dbc.Button("Cancel", id=CANCEL, color="secondary", outline=True),
                dbc.Button("Save schedule", id=SAVE, color="primary"),
            ]),
        ],
        id=MODAL, is_open=is_open,
    )  # fmt: skip


def _manageable_report(report_id: int) -> tuple[HubUser, int]:
    """The user and the report's id, when they may manage this report's schedule; 404,
    then 403 otherwise."""
    user, report = permissions.manageable_report(report_id)
    return user, report.id


# Showing the weekday and opening or cancelling the dialog are UI only: no request.
clientside_callback(
    "function (frequency) { return frequency !== 'weekly'; }",
    Output(WEEKDAY_BOX, "hidden"),
    Input(FREQUENCY, "value"),
)

clientside_callback(
    """function (opened, cancelled) {
        const trigger = dash_clientside.callback_context.triggered_id;
        if (!(opened || cancelled)) { return dash_clientside.no_update; }
        return trigger === "OPEN";
    }""".replace("OPEN", OPEN),
    Output(MODAL, "is_open", allow_duplicate=True),
    Input(OPEN, "n_clicks"),
    Input(CANCEL, "n_clicks"),
    prevent_initial_call=True,
)


# Saving or stopping turns the deliveries panel's Send now and Send me a test on or off.
PANEL_OUTPUTS = (
    Output(deliveries_panel.SEND_NOW, "disabled", allow_duplicate=True),
    Output(deliveries_panel.SEND_TEST, "disabled", allow_duplicate=True),
    Output(deliveries_panel.NOTE, "children", allow_duplicate=True),
)


def _panel_state(schedule: Schedule | None) -> tuple[bool, bool, str]:
    blocked, why = deliveries_panel.blocked_by(schedule, mailer.delivery_problem())
    return blocked, blocked, why


@callback(
    Output(MODAL, "is_open", allow_duplicate=True),
    Output(STATUS, "children", allow_duplicate=True),
    Output(REMOVE, "style", allow_duplicate=True),
    *PANEL_OUTPUTS,
    Output(FEEDBACK, "children"),
    *(Output(error_slot(f), "children") for f in FIELDS),
    Input(SAVE, "n_clicks"),
    State(FREQUENCY, "value"),
    State(HOUR, "value"),
    State(WEEKDAY, "value"),
    State(RECIPIENTS, "value"),
    State(TIME_ZONE, "value"),
    State(ATTACHMENT, "value"),
    State(PAUSED, "value"),
    State(SKIP_EMPTY, "value"),
    State(ids.REPORT_ID, "data"),
    prevent_initial_call=True,
)
def save(
    clicks: int | None,
    frequency: str | None,
    hour: str | None,
    weekday: str | None,
    recipients: str | None,
    time_zone: str | None,
    attachment: str | None,
    paused: Any,
    skip_empty: Any,
    report_id: int,
) -> tuple[Any, ...]:
    user, report_id = _manageable_report(report_id)
    if not clicks:
        return (no_update,) * (7 + len(FIELDS))
    raw = {"frequency": frequency, "hour": hour, "weekday": weekday,
           "recipients": recipients or "", "time_zone": time_zone, "attachment": attachment,
           "paused": paused, "skip_empty": skip_empty}  # fmt: skip
    try:
        schedule = parse_schedule(report_id, raw)
    except BadSchedule as bad:
        other = bad.messages_besides(FIELDS)
        feedback = dbc.Alert(other, color="danger", className="small py-2") if other else ""
        return (True, no_update, no_update, *(no_update,) * 3, feedback,
                *(bad.messages_for(f) for f in FIELDS))  # fmt: skip
    saved = store_schedule(engines.default().web, tenant_id=user.tenant_id, user_id=user.id,
                           schedule=schedule)  # fmt: skip
    return (False, status_text(saved, mailer.delivery_problem()), {}, *_panel_state(saved), "",
            *("" for _ in FIELDS))  # fmt: skip


@callback(
    Output(MODAL, "is_open", allow_duplicate=True),
    Output(STATUS, "children", allow_duplicate=True),
    Output(REMOVE, "style", allow_duplicate=True),
    *PANEL_OUTPUTS,
    Input(REMOVE, "n_clicks"),
    State(ids.REPORT_ID, "data"),
    prevent_initial_call=True,
)
def remove(clicks: int | None, report_id: int) -> tuple[Any, ...]:
    user, report_id = _manageable_report(report_id)
    if not clicks:
        return (no_update,) * 6
    remove_schedule(engines.default().web, tenant_id=user.tenant_id, report_id=report_id)
    return False, status_text(None, None), {"display": "none"}, *_panel_state(None)


@callback(
    Output(NEXT_RUNS, "children"),
    Input(FREQUENCY, "value"),
    Input(HOUR, "value"),
    Input(WEEKDAY, "value"),
    Input(TIME_ZONE, "value"),
    Input(PAUSED, "value"),
    State(ids.REPORT_ID, "data"),
    prevent_initial_call=True,
)
def preview_next_runs(
    frequency: str | None,
    hour: str | None,
    weekday: str | None,
    time_zone: str | None,
    paused: Any,
    report_id: int,
) -> Any:
    """The next send times of the timing in the form (none while a field is invalid)."""
    _manageable_report(report_id)
    raw = {"frequency": frequency, "hour": hour, "weekday": weekday, "time_zone": time_zone,
           "paused": paused, "recipients": PREVIEW_RECIPIENT}  # fmt: skip
    try:
        schedule = parse_schedule(report_id, raw)
    except BadSchedule:
        return next_runs_view(None).children
    return next_runs_view(schedule).children


def current_schedule(user: HubUser, report_id: int) -> Schedule | None:
    return get_schedule(engines.default().web, tenant_id=user.tenant_id, report_id=report_id)
