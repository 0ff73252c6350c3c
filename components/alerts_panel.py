"""The report page's Alerts panel: email people when the report's number crosses a line.

An alert (db/alerts.py) watches one measure of a single-number report or a time series:
above or below a threshold, or a change by more than N % against the previous value;
checked hourly after the data refresh, emailed at most once per cooldown. The panel
lists the report's alerts with when each fired, adds and removes them. Thresholds are
entered as the measure is shown (a rate in %, a duration in ms, money in its currency)
and formatted by the shared formatter. Every callback needs `reports.manage` and the
report's dataset leaf (permissions.manageable_report).
"""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, clientside_callback, dcc, html, no_update

import permissions
from access import HubUser
from components import ids
from datasets.compile import result_columns
from datasets.formatting import format_value
from datasets.model import AggregateQuery, Column, Definition, MeasureType
from datasets.registry import DATASETS
from datasets.validate import validate
from db import engines
from db.alerts import (
    DEFAULT_COOLDOWN_HOURS,
    NOT_WATCHABLE,
    Alert,
    Condition,
    Firing,
    firings,
    list_alerts,
    parse_alert,
    remove_alert,
    save_alert,
    watchable,
)
from errors import BadAlert, BadDefinition, sentence

PANEL = "report-alerts"
LIST = "alert-list"
MEASURE = "alert-measure"
CONDITION = "alert-condition"
THRESHOLD = "alert-threshold"
UNIT = "alert-threshold-unit"
UNITS = "alert-units"  # measure id -> the unit its threshold is entered in
COOLDOWN = "alert-cooldown"
RECIPIENTS = "alert-recipients"
ADD = "alert-add"
FEEDBACK = "alert-feedback"
FIELDS = ("measure", "condition", "threshold", "cooldown_hours", "recipients")
CONDITIONS = {Condition.ABOVE: "rises above", Condition.BELOW: "falls below",
              Condition.CHANGE: "changes by more than"}  # fmt: skip
HISTORY_SHOWN = 10


def remove_id(alert_id: object) -> dict[str, object]:
    return {"type": "alert-remove", "alert": alert_id}


def error_slot(field: str) -> str:
    return f"alert-error-{field}"


def _columns(definition: Definition) -> dict[str, Column]:
    assert isinstance(definition, AggregateQuery)
    columns = result_columns(DATASETS[definition.dataset], definition)
    return {c.id: c for c in columns if c.role == "measure"}


def _scale(column: Column, condition: Condition) -> int:
    """Rates are entered in % (stored as fractions); a change is a % already."""
    return 100 if column.type == MeasureType.RATIO and condition is not Condition.CHANGE else 1


def _unit(column: Column) -> str:
    match column.type:
        case MeasureType.RATIO:
            return "%"
        case MeasureType.DURATION:
            return "ms"
        case MeasureType.CURRENCY:
            return column.currency or ""
        case _:
            return ""


def describe_alert(alert: Alert, column: Column) -> str:
    """e.g. "Success rate falls below 90.0%", "Conversions changes by more than 25 %"."""
    verb = CONDITIONS[alert.condition]
    if alert.condition is Condition.CHANGE:
        return f"{column.label} {verb} {alert.threshold.normalize():f} %"
    return f"{column.label} {verb} {format_value(alert.threshold, column)}"


def _history(fired: list[Firing], column: Column) -> html.Details | html.Div:
    """When the alert fired (the latest HISTORY_SHOWN), folded under a one-line summary."""
    if not fired:
        return html.Div("Not fired yet.", className="small text-body-secondary")
    more = "+" if len(fired) == HISTORY_SHOWN else ""
    times = f"{len(fired)}{more} time{'s' * (len(fired) != 1)}"
    lines = [
        f"{f.fired_at:%Y-%m-%d %H:%M} UTC: {format_value(f.value, column)}"
        + (f" (before: {format_value(f.previous, column)})" if f.previous is not None else "")
        for f in fired
    ]
    return html.Details([
        html.Summary(f"Fired {times}; last {fired[0].fired_at:%Y-%m-%d %H:%M} UTC",
                     className="small"),
        html.Ul([html.Li(line) for line in lines], className="small mb-0"),
    ])  # fmt: skip


def _alert_item(user: HubUser, alert: Alert, column: Column) -> html.Li:
    assert alert.id is not None
    fired = firings(engines.default().web, tenant_id=user.tenant_id, alert_id=alert.id,
                    limit=HISTORY_SHOWN)  # fmt: skip
    who = f"{len(alert.recipients)} recipient{'s' * (len(alert.recipients) != 1)}"
    history = _history(fired, column)
    return html.Li(
        [
            html.Div([
                html.Div(describe_alert(alert, column), className="fw-semibold"),
                html.Div(f"To {who} ({', '.join(alert.recipients)}), at most once every "
                         f"{alert.cooldown_hours} h", className="small text-body-secondary"),
                history,
            ]),
            dbc.Button("Remove", id=remove_id(alert.id), size="sm", color="danger", outline=True,
                       title="Delete this alert and its history"),
        ],
        className="list-group-item d-flex justify-content-between align-items-start gap-2",
        **{"data-alert": str(alert.id)},
    )  # fmt: skip


def alerts_view(user: HubUser, report_id: int, definition: Definition) -> html.Ul | html.P:
    columns = _columns(definition)
    found = list_alerts(engines.default().web, tenant_id=user.tenant_id, report_id=report_id)
    if not found:
        return html.P("No alerts yet.", className="small text-body-secondary mb-2")
    # A measure since removed from the report still shows (plainly formatted), to remove it.
    items = [_alert_item(user, a, columns.get(a.measure) or Column(
        a.measure, f"{a.measure} (no longer in the report)", "measure", MeasureType.DECIMAL.value))
        for a in found]  # fmt: skip
    return html.Ul(items, className="list-group list-group-flush mb-3")


def _field(label: str, control: object, field: str, width: int) -> dbc.Col:
    return dbc.Col(
        [dbc.Label(label, html_for=getattr(control, "id", None), className="small fw-semibold"),
         control,
         html.Div(id=error_slot(field), className="invalid-feedback d-block", role="alert")],
        md=width,
    )  # fmt: skip


def alerts_panel(user: HubUser, report_id: int, raw_definition: dict[str, object]) -> dbc.Card:
    """The panel for a manager of the report (or why the report cannot carry alerts)."""
    header = dbc.CardHeader(html.H2("Alerts", className="h6 mb-0"))
    try:
        definition = validate(raw_definition)
        why = None if watchable(definition) else sentence(NOT_WATCHABLE) + "."
    except BadDefinition:
        why = "This report cannot run, so it cannot carry alerts."
    if why is not None:
        return dbc.Card([header, dbc.CardBody(html.P(why, className="small mb-0"))],
                        id=PANEL, className="mt-3")  # fmt: skip
    columns = _columns(definition)
    first = next(iter(columns.values()))
    form = dbc.Row(
        [
            _field("Measure", dbc.Select(id=MEASURE, value=first.id,
                   options=[{"label": c.label, "value": c.id} for c in columns.values()]),
                   "measure", 3),
            _field("Condition", dbc.Select(id=CONDITION, value=Condition.ABOVE.value,
                   options=[{"label": text, "value": c.value} for c, text in CONDITIONS.items()]),
                   "condition", 3),
            _field("Threshold", dbc.InputGroup([
                dbc.Input(id=THRESHOLD, type="text", inputmode="decimal", placeholder="e.g. 90"),
                dbc.InputGroupText(_unit(first), id=UNIT)]), "threshold", 3),
            _field("At most every (h)", dbc.Input(id=COOLDOWN, type="number", min=1, max=720,
                   step=1, value=DEFAULT_COOLDOWN_HOURS), "cooldown_hours", 3),
            _field("Email to", dbc.Textarea(id=RECIPIENTS, rows=2, value=user.email,
                   placeholder="ann@example.com, bo@example.com"), "recipients", 9),
            dbc.Col(dbc.Button("Add alert", id=ADD, color="primary", className="w-100"), md=3,
                    className="d-flex align-items-end"),
        ],
        className="g-2",
    )  # fmt: skip
    units = {c.id: _unit(c) for c in columns.values()}
    return dbc.Card(
        [
            header,
            dbc.CardBody([
                html.P("Email people when this report's number crosses a line. Checked every "
                       "hour, after the data refresh.", className="small text-body-secondary"),
                html.Div(alerts_view(user, report_id, definition), id=LIST),
                form,
                html.Div(id=FEEDBACK, role="status", className="mt-2"),
                dcc.Store(id=UNITS, data=units),
            ]),
        ],
        id=PANEL, className="mt-3",
    )  # fmt: skip


# The threshold's unit follows the measure and the condition: no request.
clientside_callback(
    """function (measure, condition, units) {
        return condition === 'change' ? '%' : (units || {})[measure] || '';
    }""",
    Output(UNIT, "children"),
    Input(MEASURE, "value"),
    Input(CONDITION, "value"),
    State(UNITS, "data"),
)


@callback(
    Output(LIST, "children", allow_duplicate=True),
    Output(FEEDBACK, "children"),
    Output(THRESHOLD, "value"),
    *(Output(error_slot(f), "children") for f in FIELDS),
    Input(ADD, "n_clicks"),
    State(MEASURE, "value"),
    State(CONDITION, "value"),
    State(THRESHOLD, "value"),
    State(COOLDOWN, "value"),
    State(RECIPIENTS, "value"),
    State(ids.REPORT_ID, "data"),
    prevent_initial_call=True,
)
def add_alert(
    clicks: int | None, measure: str | None, condition: str | None, threshold: str | None,
    cooldown: object, recipients: str | None, report_id: int,
) -> tuple[object, ...]:  # fmt: skip
    user, report = permissions.manageable_report(report_id)
    if not clicks:
        return (no_update,) * (3 + len(FIELDS))
    try:
        definition = validate(report.definition)
        raw = {"measure": measure, "condition": condition, "threshold": threshold,
               "cooldown_hours": cooldown, "recipients": recipients or ""}  # fmt: skip
        alert = parse_alert(report.id, definition, raw)
    except BadDefinition:
        message = dbc.Alert("This report cannot run, so it cannot carry alerts.", color="danger")
        return (no_update, message, no_update, *("" for _ in FIELDS))
    except BadAlert as bad:
        other = bad.messages_besides(FIELDS)
        feedback = dbc.Alert(other, color="danger", className="small py-2") if other else ""
        return (no_update, feedback, no_update, *(bad.messages_for(f) for f in FIELDS))
    scale = _scale(_columns(definition)[alert.measure], alert.condition)
    stored = Alert(alert.report_id, alert.measure, alert.condition, alert.threshold / scale,
                   alert.recipients, alert.cooldown_hours)  # fmt: skip
    try:
        save_alert(engines.default().web, tenant_id=user.tenant_id, user_id=user.id, alert=stored)
    except BadAlert as bad:
        text = "; ".join(i.message for i in bad.issues)
        return (no_update, dbc.Alert(text, color="danger", className="small py-2"), no_update,
                *("" for _ in FIELDS))  # fmt: skip
    added = dbc.Alert("Alert added.", color="success", className="small py-2")
    return (alerts_view(user, report.id, definition), added, "", *("" for _ in FIELDS))


@callback(
    Output(LIST, "children", allow_duplicate=True),
    Input(remove_id(ALL), "n_clicks"),
    State(ids.REPORT_ID, "data"),
    prevent_initial_call=True,
)
def remove(_clicks: list[int | None], report_id: int) -> object:
    """Deletes the clicked alert of this report (another report's is never touched)."""
    user, report = permissions.manageable_report(report_id)
    trigger = dash.ctx.triggered_id
    if not isinstance(trigger, dict) or not any(t["value"] for t in dash.ctx.triggered):
        return no_update
    alert_id = trigger.get("alert")
    if not isinstance(alert_id, int) or isinstance(alert_id, bool):
        return no_update  # not one of this report's alerts
    remove_alert(engines.default().web, tenant_id=user.tenant_id, report_id=report.id,
                 alert_id=alert_id)  # fmt: skip
    return alerts_view(user, report.id, validate(report.definition))
