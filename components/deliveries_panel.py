"""The report page's Email deliveries panel: Send now, Send me a test, and the history.

The history is the report's last 50 deliveries (db.deliveries): state, when, what kind,
each recipient's outcome, rows, attachment size and the error, with Re-send on a failed
or unknown one. While a delivery is queued or sending the panel re-reads every few
seconds. Every action needs `reports.manage` and the report's dataset leaf, checked here
on the server (permissions.manageable_report); jobs.schedules does the sending.
"""

from __future__ import annotations

from typing import Any, assert_never

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, dcc, html, no_update

import permissions
from access import HubUser
from components import ids
from db import engines
from db.deliveries import HISTORY_LIMIT, RESENDABLE, Delivery, Kind, history
from db.deliveries import State as DeliveryState
from db.schedules import Schedule
from errors import NotFound, UserError
from jobs.schedules import resend, send_now, send_test

PANEL = "report-deliveries"
SEND_NOW = "delivery-send-now"
SEND_TEST = "delivery-send-test"
FEEDBACK = "delivery-feedback"
NOTE = "delivery-note"
HISTORY = "delivery-history"
TICK = "delivery-tick"
TICK_MS = 3000
PENDING = (DeliveryState.QUEUED, DeliveryState.SENDING)
BADGES = {
    DeliveryState.QUEUED: ("Queued", "secondary"),
    DeliveryState.SENDING: ("Sending", "info"),
    DeliveryState.SENT: ("Sent", "success"),
    DeliveryState.FAILED: ("Failed", "danger"),
    DeliveryState.UNKNOWN: ("Unknown", "warning"),
    DeliveryState.SKIPPED: ("Skipped", "light"),
}
LIGHT_BADGES = ("light", "info", "warning")  # white text on these fails WCAG AA: dark text


def resend_id(delivery_id: Any) -> dict[str, Any]:
    return {"type": "delivery-resend", "delivery": delivery_id}


def size_text(size: int | None) -> str:
    """An attachment's size: "—", "820 B", "12.4 kB", "3.1 MB"."""
    if size is None:
        return "—"
    if size < 1000:
        return f"{size} B"
    return f"{size / 1000:.1f} kB" if size < 1_000_000 else f"{size / 1_000_000:.1f} MB"


def _kind(delivery: Delivery) -> str:
    match delivery.kind:
        case Kind.SCHEDULED:
            return f"Scheduled for {delivery.slot_day.isoformat() if delivery.slot_day else '—'}"
        case Kind.TEST:
            return "Test"
        case Kind.ALERT:
            return "Alert"
        case Kind.MANUAL:
            return "Sent by hand"
        case _:
            assert_never(delivery.kind)


def _recipients(delivery: Delivery) -> html.Ul:
    """Each address with its own outcome (sent, failed with the server's answer, pending)."""
    items = []
    for address in delivery.recipients:
        outcome = delivery.outcomes.get(address, {})
        state = outcome.get("state") or "pending"
        note = f": {outcome['error']}" if outcome.get("error") else ""
        items.append(html.Li(f"{address} — {state}{note}"))
    return html.Ul(items, className="list-unstyled mb-0 small")


def _row(delivery: Delivery) -> html.Tr:
    label, color = BADGES[delivery.state]
    action = (
        dbc.Button("Re-send", id=resend_id(delivery.id), size="sm", color="primary",
                   outline=True, title="Send again to the recipients not recorded as sent")
        if delivery.state in RESENDABLE
        else None
    )  # fmt: skip
    return html.Tr(
        [
            html.Td(dbc.Badge(label, color=color,
                              text_color="dark" if color in LIGHT_BADGES else None)),
            html.Td(f"{delivery.created_at:%Y-%m-%d %H:%M} UTC", className="text-nowrap"),
            html.Td(_kind(delivery)),
            html.Td(_recipients(delivery)),
            html.Td("—" if delivery.row_count is None else f"{delivery.row_count:,}",
                    className="text-end"),
            html.Td(size_text(delivery.attachment_bytes), className="text-end text-nowrap"),
            html.Td(delivery.error or "", className="small"),
            html.Td(action),
        ],
        **{"data-delivery": str(delivery.id), "data-state": delivery.state.value},
    )  # fmt: skip


def history_view(deliveries: list[Delivery]) -> Any:
    if not deliveries:
        return html.P("Nothing has been emailed yet.", className="text-body-secondary small mb-0")
    head = ("State", "Created", "Kind", "Recipients", "Rows", "Attachment", "Error", "")
    return dbc.Table(
        [html.Thead(html.Tr([html.Th(h, scope="col") for h in head])),
         html.Tbody([_row(d) for d in deliveries])],
        size="sm", responsive=True, className="mb-0 align-middle",
    )  # fmt: skip


def _history(user: HubUser, report_id: int) -> tuple[Any, bool]:
    """The history view, and whether the polling tick stays off (nothing is pending)."""
    found = history(engines.default().web, tenant_id=user.tenant_id, report_id=report_id)
    return history_view(found), not any(d.state in PENDING for d in found)


def blocked_by(schedule: Schedule | None, problem: str | None) -> tuple[bool, str]:
    """Whether Send now and Send me a test are off, and why ("" when they are on)."""
    if schedule is None:
        return True, "Schedule the report to email it."
    return (True, problem) if problem else (False, "")


def deliveries_panel(user: HubUser, report_id: int, schedule: Schedule | None,
                     problem: str | None) -> dbc.Card:  # fmt: skip
    """The panel for a manager: its actions work when the report has a schedule and mail
    is configured (`problem` says what to set otherwise)."""
    view, idle = _history(user, report_id)
    blocked, why = blocked_by(schedule, problem)
    buttons = html.Div(
        [
            dbc.Button("Send now", id=SEND_NOW, size="sm", color="primary", disabled=blocked,
                       title="Email the report to all its recipients now"),
            dbc.Button("Send me a test", id=SEND_TEST, size="sm", color="secondary",
                       outline=True, disabled=blocked,
                       title=f"Email it to {user.email} only; not counted as the day's email"),
        ],
        className="d-flex gap-2",
    )  # fmt: skip
    header = html.Div(
        [html.H2("Email deliveries", className="h6 mb-0"), buttons],
        className="d-flex justify-content-between align-items-center flex-wrap gap-2",
    )
    return dbc.Card(
        [
            dbc.CardHeader(header),
            dbc.CardBody([
                html.P(why, id=NOTE, className="small text-body-secondary"),
                html.Div(id=FEEDBACK, role="status"),
                html.Div(view, id=HISTORY),
                html.Div(f"The last {HISTORY_LIMIT} deliveries, newest first.",
                         className="form-text"),
                dcc.Interval(id=TICK, interval=TICK_MS, disabled=idle),
            ]),
        ],
        id=PANEL, className="mt-3",
    )  # fmt: skip


def _act(user: HubUser, report_id: int, trigger: Any) -> str:
    """Runs the action `trigger` names; the sentence that says what was queued."""
    web = engines.default().web
    if trigger == SEND_NOW:
        sent = send_now(web, user.tenant_id, report_id, user.id)
        return f"Sending to {len(sent.recipients)} recipient{'s' * (len(sent.recipients) != 1)}."
    if trigger == SEND_TEST:
        send_test(web, user.tenant_id, report_id, user.id, user.email)
        return f"Sending a test to {user.email}."
    delivery_id = trigger.get("delivery")
    if not isinstance(delivery_id, int) or isinstance(delivery_id, bool):
        raise NotFound("There is no such delivery.")
    sent = resend(web, user.tenant_id, delivery_id, user_id=user.id, report_id=report_id)
    return f"Re-sending to {', '.join(sent.recipients)}."


@callback(
    Output(HISTORY, "children"),
    Output(TICK, "disabled"),
    Output(FEEDBACK, "children"),
    Input(SEND_NOW, "n_clicks"),
    Input(SEND_TEST, "n_clicks"),
    Input(resend_id(ALL), "n_clicks"),
    Input(TICK, "n_intervals"),
    State(ids.REPORT_ID, "data"),
    prevent_initial_call=True,
)
def deliveries(
    _now: int | None, _test: int | None, _resends: list[int | None], _tick: int | None,
    report_id: int,
) -> tuple[Any, ...]:  # fmt: skip
    """Send now, Send me a test, Re-send, or the polling tick: the history afterwards, and
    what happened (or why not) next to the buttons."""
    user, report = permissions.manageable_report(report_id)
    trigger = dash.ctx.triggered_id
    feedback: Any = no_update
    if trigger != TICK:
        if not any(t["value"] for t in dash.ctx.triggered):  # a button drawn, not clicked
            return no_update, no_update, no_update
        try:
            feedback = dbc.Alert(_act(user, report.id, trigger), color="success",
                                 className="small py-2")  # fmt: skip
        except UserError as error:
            feedback = dbc.Alert(str(error), color="danger", className="small py-2")
    view, idle = _history(user, report.id)
    return view, idle, feedback
