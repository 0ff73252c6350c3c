"""/admin/analytics/reports/<id> — a saved report: chart, table (500 rows), actions."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

import access
from access import HubUser, Leaf
from components import ids, schedule_form, shell
from components.export_controls import export_controls
from components.pin_control import pin_button
from components.report_view import REPORT_NOT_FOUND, find_report, render_result
from datasets.builder import preview
from datasets.model import Mode
from datasets.registry import DATASETS
from db import engines, pins
from db.reports import SavedReport, delete_report, duplicate_report
from jobs.exports import dataset_leaf

dash.register_page(
    __name__, path_template="/admin/analytics/reports/<report_id>", title="Report · Analytics Hub"
)


def _may_schedule(user: HubUser, report: SavedReport) -> bool:
    return user.may(Leaf.REPORTS_MANAGE) and user.may(Leaf(dataset_leaf(report)))


def _actions(user: HubUser, report: SavedReport) -> html.Div:
    manage = user.may(Leaf.REPORTS_MANAGE)
    buttons = [export_controls(report.id)]
    if manage:
        buttons = [
            dbc.Button("Edit", href=f"/admin/analytics/reports/{report.id}/edit", size="sm",
                       color="primary", className="me-2", id="report-edit"),
            *(
                [pin_button(report.id, pins.is_pinned(engines.default().web,
                                                      tenant_id=user.tenant_id,
                                                      report_id=report.id)),
                 schedule_form.schedule_button()]
                if _may_schedule(user, report) else []
            ),
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


def _body(user: HubUser, report: SavedReport) -> html.Div:
    outcome = preview(report.definition, user, mode=Mode.SAVED)
    if outcome.result is None:  # shown where the chart would be, never a traceback
        text = "; ".join(f"{path}: {message}" for path, message in outcome.issues)
        return dbc.Alert(f"This report cannot run: {text}", color="danger",
                         id="hub-report-error")  # fmt: skip
    return render_result(outcome.result, outcome.previous)


def _schedule_parts(user: HubUser, report: SavedReport, open_schedule: bool) -> list[Any]:
    """The schedule status line and dialog, for users who may manage schedules."""
    if not _may_schedule(user, report):
        return [None, None]
    schedule = schedule_form.current_schedule(user, report.id)
    status = html.P(schedule_form.status_text(schedule), id=schedule_form.STATUS,
                    className="small text-body-secondary mb-3")  # fmt: skip
    return [status, schedule_form.schedule_modal(schedule, is_open=open_schedule)]


def layout(report_id: str = "", schedule: str = "", **_query: str) -> html.Div:
    user = access.current()
    if user is None or not user.may(Leaf.ANALYTICS):
        return shell.forbidden("Your role does not include the Analytics Hub.")
    report = find_report(user, report_id)
    if report is None:
        return shell.not_found(*REPORT_NOT_FOUND)
    dataset = DATASETS.get(str(report.definition.get("dataset")))
    status, schedule_dialog = _schedule_parts(user, report, open_schedule=schedule == "1")
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
            status,
            dbc.Card(dbc.CardBody(_body(user, report))),
            _delete_modal(report),
            schedule_dialog,
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
    user = access.require(Leaf.REPORTS_MANAGE)
    if not clicks:  # Dash may call it when the page's components arrive
        return no_update
    copy = duplicate_report(engines.default().web, tenant_id=user.tenant_id, owner_id=user.id,
                            report_id=report_id)  # fmt: skip
    return f"/admin/analytics/reports/{copy}/edit"


@callback(
    Output(ids.REPORT_DELETE_MODAL, "is_open"),
    Input(ids.REPORT_DELETE, "n_clicks"),
    Input(ids.REPORT_DELETE_CANCEL, "n_clicks"),
    prevent_initial_call=True,
)
def toggle_delete(_open: int | None, _cancel: int | None) -> bool:
    access.require(Leaf.REPORTS_MANAGE)
    return dash.ctx.triggered_id == ids.REPORT_DELETE


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Input(ids.REPORT_DELETE_CONFIRM, "n_clicks"),
    State(ids.REPORT_ID, "data"),
    prevent_initial_call=True,
)
def delete(clicks: int | None, report_id: int) -> str:
    user = access.require(Leaf.REPORTS_MANAGE)
    if not clicks:
        return no_update
    delete_report(engines.default().web, tenant_id=user.tenant_id, report_id=report_id)
    return "/admin/analytics?deleted=1"
