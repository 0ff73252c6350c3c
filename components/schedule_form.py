"""The Schedule dialog of a saved report: email it daily or weekly to up to 20 people.

The dialog is a keyboard-friendly form (frequency, hour in UTC, weekday for weekly,
recipients one per line or comma-separated) with inline errors from db.schedules'
validation. Saving or stopping needs `reports.manage` and the report's dataset leaf,
checked again here on the server.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, html, no_update

import mailer
import permissions
from access import HubUser
from components import ids
from db import engines
from db.schedules import WEEKDAYS, Schedule, get_schedule, parse_schedule, remove_schedule
from db.schedules import save_schedule as store_schedule
from errors import BadSchedule

OPEN = "report-schedule"
MODAL = "report-schedule-modal"
FREQUENCY = "schedule-frequency"
HOUR = "schedule-hour"
WEEKDAY = "schedule-weekday"
WEEKDAY_BOX = "schedule-weekday-box"
RECIPIENTS = "schedule-recipients"
SAVE = "schedule-save"
REMOVE = "schedule-remove"
CANCEL = "schedule-cancel"
STATUS = "report-schedule-status"
FEEDBACK = "schedule-feedback"
DIALOG_PROBLEM = "schedule-delivery-problem"
FIELDS = ("frequency", "hour", "weekday", "recipients")


def error_slot(field: str) -> str:
    return f"schedule-error-{field}"


def status_text(schedule: Schedule | None, problem: str | None) -> str:
    """The schedule in a line; with a delivery problem (mailer.delivery_problem) it never
    claims that anything is emailed."""
    if schedule is None:
        return "Not emailed. Use Schedule to send it on a cadence."
    sent = f"; last sent {schedule.last_sent_on.isoformat()}" if schedule.last_sent_on else ""
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


def schedule_modal(schedule: Schedule | None, *, is_open: bool = False) -> dbc.Modal:
    """The dialog, pre-filled with the current schedule (or daily at 07:00)."""
    weekly = schedule is not None and schedule.frequency == "weekly"
    form = [
        _field("Frequency", dbc.RadioItems(
            id=FREQUENCY, inline=True, value=schedule.frequency if schedule else "daily",
            options=[{"label": "Daily", "value": "daily"},
                     {"label": "Weekly", "value": "weekly"}]), "frequency"),
        _field("Hour (UTC)", dbc.Select(
            id=HOUR, value=str(schedule.hour if schedule else 7),
            options=[{"label": f"{h:02d}:00 UTC", "value": str(h)} for h in range(24)]),
            "hour", "Sent within the hour, at five past."),
        html.Div(_field("Weekday", dbc.Select(
            id=WEEKDAY, value=str(schedule.weekday if weekly and schedule else 1),
            options=[{"label": name, "value": str(i)} for i, name in enumerate(WEEKDAYS, 1)]),
            "weekday"), id=WEEKDAY_BOX, hidden=not weekly),
        _field("Recipients", dbc.Textarea(
            id=RECIPIENTS, rows=4, placeholder="ann@example.com\nbo@example.com",
            value="\n".join(schedule.recipients) if schedule else ""),
            "recipients", "Up to 20 addresses, one per line or separated by commas."),
    ]  # fmt: skip
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Email this report")),
            dbc.ModalBody([
                delivery_alert(mailer.delivery_problem(), DIALOG_PROBLEM),
                html.P("Recipients get a summary of the report in the email and every row "
                       "(up to 5000) as a CSV attachment.", className="text-body-secondary"),
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


@callback(
    Output(MODAL, "is_open", allow_duplicate=True),
    Output(STATUS, "children", allow_duplicate=True),
    Output(REMOVE, "style", allow_duplicate=True),
    Output(FEEDBACK, "children"),
    *(Output(error_slot(f), "children") for f in FIELDS),
    Input(SAVE, "n_clicks"),
    State(FREQUENCY, "value"),
    State(HOUR, "value"),
    State(WEEKDAY, "value"),
    State(RECIPIENTS, "value"),
    State(ids.REPORT_ID, "data"),
    prevent_initial_call=True,
)
def save(
    clicks: int | None,
    frequency: str | None,
    hour: str | None,
    weekday: str | None,
    recipients: str | None,
    report_id: int,
) -> tuple[Any, ...]:
    user, report_id = _manageable_report(report_id)
    if not clicks:
        return (no_update,) * (4 + len(FIELDS))
    raw = {"frequency": frequency, "hour": hour, "weekday": weekday,
           "recipients": recipients or ""}  # fmt: skip
    try:
        schedule = parse_schedule(report_id, raw)
    except BadSchedule as bad:
        errors = {f: bad.messages_for(f) for f in FIELDS}
        return (True, no_update, no_update, "", *(errors[f] for f in FIELDS))
    saved = store_schedule(engines.default().web, tenant_id=user.tenant_id, user_id=user.id,
                           schedule=schedule)  # fmt: skip
    return (False, status_text(saved, mailer.delivery_problem()), {}, "", *("" for _ in FIELDS))


@callback(
    Output(MODAL, "is_open", allow_duplicate=True),
    Output(STATUS, "children", allow_duplicate=True),
    Output(REMOVE, "style", allow_duplicate=True),
    Input(REMOVE, "n_clicks"),
    State(ids.REPORT_ID, "data"),
    prevent_initial_call=True,
)
def remove(clicks: int | None, report_id: int) -> tuple[Any, ...]:
    user, report_id = _manageable_report(report_id)
    if not clicks:
        return no_update, no_update, no_update
    remove_schedule(engines.default().web, tenant_id=user.tenant_id, report_id=report_id)
    return False, status_text(None, None), {"display": "none"}


def current_schedule(user: HubUser, report_id: int) -> Schedule | None:
    return get_schedule(engines.default().web, tenant_id=user.tenant_id, report_id=report_id)
