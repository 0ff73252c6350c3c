"""/admin/analytics/reports/<id> — a saved report: chart, table (500 rows), actions.

The report is read through the result cache (datasets.cache) and says when its data was
computed; Refresh recomputes it for anyone who may read it."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, dcc, html, no_update

import mailer
import permissions
from access import HubUser
from components import (
    alerts_panel,
    deliveries_panel,
    drill_panel,
    history_panel,
    ids,
    schedule_form,
)
from components.export_controls import export_controls
from components.freshness_note import freshness_note
from components.pin_control import pin_button
from components.report_view import open_report, remember_deleted, render_result
from datasets.model import Mode
from datasets.registry import DATASETS
from db import engines, pins
from db.reports import SavedReport, delete_report, duplicate_report
from reporting import preview

dash.register_page(
    __name__, path_template="/admin/analytics/reports/<report_id>", title="Report · Analytics Hub"
)

REFRESH = "report-refresh"
BODY = "report-body"
FRESHNESS = "report-freshness"
DELIVERY_PROBLEM = "report-delivery-problem"


def _may_manage(user: HubUser, report: SavedReport) -> bool:
    return permissions.may_manage_definition(user, report.definition)


def _actions(user: HubUser, report: SavedReport) -> html.Div:
    refresh = dbc.Button("Refresh", id=REFRESH, size="sm", color="secondary", outline=True,
                         className="me-2", title="Run the report again now instead of "
                         "reading the cached result")  # fmt: skip
    buttons = [refresh, export_controls(report.id)]
    if _may_manage(user, report):
        buttons = [
            dbc.Button("Edit", href=f"/admin/analytics/reports/{report.id}/edit", size="sm",
                       color="primary", className="me-2", id="report-edit"),
            pin_button(report.id, pins.is_pinned(engines.default().web, tenant_id=user.tenant_id,
                                                 report_id=report.id)),
            schedule_form.schedule_button(),
            dbc.Button("Duplicate", id=ids.REPORT_DUPLICATE, size="sm", color="secondary",
                       outline=True, className="me-2"),
            dbc.Button("Delete", id=ids.REPORT_DELETE, size="sm", color="danger", outline=True,
                       className="me-3"),
            *buttons,
        ]  # fmt: skip
    return html.Div(buttons, className="d-flex align-items-center flex-wrap gap-1")


def _delete_modal(report: SavedReport) -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Delete this report?")),
            dbc.ModalBody(f"“{report.name}” will be deleted, un-pinned from the dashboard and "
                          "its email schedule stopped. This cannot be undone."),
            dbc.ModalFooter([
                dbc.Button("Cancel", id=ids.REPORT_DELETE_CANCEL, color="secondary",
                           outline=True),
                dbc.Button("Delete report", id=ids.REPORT_DELETE_CONFIRM, color="danger"),
            ]),
        ],
        id=ids.REPORT_DELETE_MODAL, is_open=False,
    )  # fmt: skip


def _body(user: HubUser, report: SavedReport, *, refresh: bool = False) -> html.Div | dbc.Alert:
    outcome = preview(report.definition, user, mode=Mode.SAVED, refresh=refresh)
    if outcome.result is None:  # shown where the chart would be, never a traceback
        text = "; ".join(f"{path}: {message}" for path, message in outcome.issues)
        return dbc.Alert(f"This report cannot run: {text}", color="danger",
                         id="hub-report-error")  # fmt: skip
    return html.Div(
        [
            render_result(
                outcome.result,
                outcome.previous,
                chart_id=drill_panel.drill_chart(report.id),
                grid_id=drill_panel.drill_grid(report.id),
            ),
            freshness_note(outcome.result.definition.dataset, note_id=FRESHNESS),
        ]
    )


def _manager_parts(user: HubUser, report: SavedReport, open_schedule: bool) -> list[Any]:
    """The schedule status line, the schedule dialog, the email deliveries and alerts
    panels and the delete confirmation, only for users who may manage the report: their
    callbacks would refuse anyone else, and Dash fires them as the page's components
    arrive."""
    if not _may_manage(user, report):
        return [None, None, None, None]
    schedule, problem = schedule_form.current_schedule(user, report.id), mailer.delivery_problem()
    status = html.Div([
        schedule_form.delivery_alert(problem, DELIVERY_PROBLEM),
        html.P(schedule_form.status_text(schedule, problem), id=schedule_form.STATUS,
               className="small text-body-secondary mb-3"),
    ])  # fmt: skip
    return [
        status,
        schedule_form.schedule_modal(schedule, is_open=open_schedule),
        html.Div(
            [
                deliveries_panel.deliveries_panel(user, report.id, schedule, problem),
                alerts_panel.alerts_panel(user, report.id, report.definition),
            ]
        ),
        _delete_modal(report),
    ]


def layout(report_id: str = "", schedule: str = "", restored: str = "", **_query: str) -> html.Div:
    opened = open_report(report_id)
    if not isinstance(opened, tuple):
        return opened
    user, report = opened
    versions = history_panel.report_versions(user, report.id)
    dataset = DATASETS.get(str(report.definition.get("dataset")))
    status, schedule_dialog, deliveries, delete_dialog = _manager_parts(
        user, report, open_schedule=schedule == "1"
    )
    return html.Div(
        [
            dcc.Store(id=ids.REPORT_ID, data=report.id),
            html.Div(html.A("← Analytics", href="/admin/analytics"), className="small mb-2"),
            html.Div(
                [
                    html.Div([
                        html.H1(report.name, className="h3 mb-1", id="report-name"),
                        html.P(report.description or (dataset.description if dataset else ""),
                               className="text-body-secondary mb-0"),
                    ]),
                    _actions(user, report),
                ],
                className="d-flex justify-content-between align-items-start flex-wrap gap-3 "
                "mb-2",
            ),
            history_panel.restored_notice(versions, restored),
            status,
            dbc.Card(dbc.CardBody(dcc.Loading(html.Div(_body(user, report), id=BODY)))),
            deliveries,
            history_panel.history_panel(versions, may_restore=_may_manage(user, report)),
            delete_dialog,
            schedule_dialog,
            drill_panel.drill_offcanvas(),
        ],
        id="hub-report",
    )  # fmt: skip


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Input(ids.REPORT_DUPLICATE, "n_clicks"),
    State(ids.REPORT_ID, "data"),
    prevent_initial_call=True,
)
def duplicate(clicks: int | None, report_id: int) -> str:
    """Duplicating is managing the original (see permissions.py)."""
    user, report = permissions.manageable_report(report_id)
    if not clicks:  # Dash may call it when the page's components arrive
        return no_update
    copy = duplicate_report(engines.default().web, tenant_id=user.tenant_id, owner_id=user.id,
                            report_id=report.id)  # fmt: skip
    return f"/admin/analytics/reports/{copy}/edit"


@callback(
    Output(BODY, "children"),
    Input(REFRESH, "n_clicks"),
    State(ids.REPORT_ID, "data"),
    prevent_initial_call=True,
)
def refresh_report(clicks: int | None, report_id: int) -> html.Div | dbc.Alert:
    """Recomputes the report past the cache; reading the report is all it needs."""
    user, report = permissions.readable_report(report_id)
    if not clicks:
        return no_update
    return _body(user, report, refresh=True)


# Opening and cancelling the confirmation is UI only: no request to the server.
clientside_callback(
    """function (opened, cancelled) {
        const trigger = dash_clientside.callback_context.triggered_id;
        return trigger === "OPEN" && Boolean(opened);
    }""".replace("OPEN", ids.REPORT_DELETE),
    Output(ids.REPORT_DELETE_MODAL, "is_open"),
    Input(ids.REPORT_DELETE, "n_clicks"),
    Input(ids.REPORT_DELETE_CANCEL, "n_clicks"),
    prevent_initial_call=True,
)


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Input(ids.REPORT_DELETE_CONFIRM, "n_clicks"),
    State(ids.REPORT_ID, "data"),
    prevent_initial_call=True,
)
def delete(clicks: int | None, report_id: int) -> str:
    user, report = permissions.manageable_report(report_id)
    if not clicks:
        return no_update
    delete_report(engines.default().web, tenant_id=user.tenant_id, report_id=report.id)
    remember_deleted(report.name)
    return "/admin/analytics"
