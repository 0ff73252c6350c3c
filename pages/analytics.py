"""/admin/analytics — the hub landing: templates and the tenant's saved reports.

Each report row has Run and Export for everyone; Edit, Schedule, Pin, Duplicate and
Delete (after a confirmation naming it) for people who may manage it, checked again on
the server. A deletion, here or on the report's page, is confirmed at the top by name.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, clientside_callback, dcc, html, no_update

import permissions
from access import HubUser, Leaf
from components import ids, shell
from components.card_table import CARD_TABLE, cell
from components.export_controls import export_controls
from components.pin_control import pin_button
from components.report_view import take_deleted
from datasets.registry import DATASETS
from datasets.templates import TEMPLATES, Template
from datasets.validate import is_clean_text
from db import engines
from db.deliveries import failing
from db.reports import ReportSummary, delete_report, duplicate_report, list_reports

dash.register_page(__name__, path="/admin/analytics", title="Analytics · Analytics Hub")

NOTICE = "landing-notice"
DELETE_MODAL, DELETE_TEXT = "landing-delete-modal", "landing-delete-text"
DELETE_TARGET = "landing-delete-target"
DELETE_CONFIRM, DELETE_CANCEL = "landing-delete-confirm", "landing-delete-cancel"


def action_id(action: str, report_id: object) -> dict[str, object]:
    """A row's Duplicate or Delete button."""
    return {"type": f"landing-{action}", "report": report_id}


def _deleted_notice(name: str) -> dbc.Alert:
    return dbc.Alert(f"“{name}” was deleted, with its pin, schedule, alerts and history.",
                     color="success", dismissable=True, className="py-2")  # fmt: skip


def _template_item(user: HubUser, template: Template) -> html.Li:
    usable = permissions.may_manage_dataset(user, template.definition["dataset"])
    name = (
        html.A(template.name, href=f"/admin/analytics/reports/new?template={template.id}",
               className="fw-semibold")
        if usable
        else html.Span(template.name, className="fw-semibold")
    )  # fmt: skip
    return html.Li(
        [name, html.Div(template.description, className="small text-body-secondary")],
        className="list-group-item",
    )


def _templates_card(user: HubUser) -> dbc.Card:
    hint = (
        "Open one to start the builder pre-filled; nothing is saved until you save."
        if user.may(Leaf.REPORTS_MANAGE)
        else "Starting points for people who build reports."
    )
    return dbc.Card(
        [
            dbc.CardHeader(html.H2("Templates", className="h6 mb-0")),
            dbc.CardBody(html.P(hint, className="text-body-secondary small mb-0")),
            html.Ul([_template_item(user, t) for t in TEMPLATES],
                    className="list-group list-group-flush"),
        ],
        id="hub-templates",
    )  # fmt: skip


def _report_row(user: HubUser, report: ReportSummary, failing: bool) -> html.Tr:
    badges = [
        dbc.Badge("Pinned", color="info", text_color="dark", className="me-1")
        if report.is_pinned
        else None,
        dbc.Badge("Scheduled", color="secondary", className="me-1")
        if report.is_scheduled
        else None,
        dbc.Badge(
            "Email failing",
            color="danger",
            id={"type": "report-failing", "report": report.id},
            title="Its last email failed or may not have gone "
            "out: open the report to see why and re-send it.",
        )
        if failing
        else None,
    ]
    link = {"color": "link", "className": "small me-2 p-0 align-baseline"}
    manage = [
        html.A("Edit", href=f"/admin/analytics/reports/{report.id}/edit",
               className="small me-2", title="Open in the builder"),
        html.A("Schedule", href=f"/admin/analytics/reports/{report.id}?schedule=1",
               className="small me-2", title="Email this report daily or weekly"),
        pin_button(report.id, report.is_pinned, small_link=True),
        dbc.Button("Duplicate", id=action_id("duplicate", report.id),
                   title="Copy it and open the copy in the builder", **link),
        dbc.Button("Delete", id=action_id("delete", report.id), title="Delete it (asks first)",
                   **{**link, "className": f"{link['className']} text-danger"}),
    ] if permissions.may_manage_dataset(user, report.dataset) else []  # fmt: skip
    run = html.A("Run", href=f"/admin/analytics/reports/{report.id}", className="small me-2",
                 title="Open it with today's numbers")  # fmt: skip
    return html.Tr(
        [
            html.Td(
                [
                    html.A(report.name, href=f"/admin/analytics/reports/{report.id}",
                           className="fw-semibold d-block"),
                    *badges,
                ]
            ),
            cell("Dataset",
                  DATASETS[report.dataset].label if report.dataset in DATASETS else "—"),
            cell("Viz", (report.viz or "—").capitalize()),
            cell("Owner", report.owner or html.Span(
                "Provisioned", title="Created with the tenant; nobody owns it",
                className="text-body-secondary")),
            cell("Updated", report.updated_at.strftime("%Y-%m-%d %H:%M UTC")),
            html.Td(html.Div([run, *manage, export_controls(report.id)],
                             className="d-flex align-items-center flex-wrap")),
        ]
    )  # fmt: skip


def _reports_body(user: HubUser, reports: list[ReportSummary], query: str) -> Any:
    """The reports' table (cards on a phone); a schedule whose last email failed is marked
    until one succeeds."""
    if reports:
        head = ("Name", "Dataset", "Viz", "Owner", "Updated", "Actions")
        failed = failing(engines.default().web, tenant_id=user.tenant_id)
        return dbc.Table(
            [html.Thead(html.Tr([html.Th(h) for h in head])),
             html.Tbody([_report_row(user, r, r.id in failed) for r in reports])],
            hover=True, responsive=True, className=f"mb-0 {CARD_TABLE}",
        )  # fmt: skip
    if query:
        text = f"No saved report has “{query}” in its name."
    elif user.may(Leaf.REPORTS_MANAGE):
        text = "No saved reports yet. Start from a template or press New report, then save."
    else:
        text = "No saved reports yet. Ask someone who builds reports to save one."
    return html.Div(text, className="hub-empty-state")


def _reports_card(user: HubUser, reports: list[ReportSummary]) -> dbc.Card:
    search = html.Div([
        dbc.Label("Search saved reports by name", html_for=ids.LANDING_SEARCH,
                  className="visually-hidden"),
        dbc.Input(id=ids.LANDING_SEARCH, type="search", placeholder="Search by name",
                  size="sm", debounce=300, className="hub-search"),
    ])  # fmt: skip
    header = html.Div(
        [html.H2("Saved reports", className="h6 mb-0"), search],
        className="d-flex justify-content-between align-items-center gap-3",
    )
    return dbc.Card(
        [dbc.CardHeader(header),
         dbc.CardBody(_reports_body(user, reports, ""), id=ids.LANDING_REPORTS)],
        id="hub-saved-reports",
    )  # fmt: skip


@callback(
    Output(ids.LANDING_REPORTS, "children"),
    Input(ids.LANDING_SEARCH, "value"),
    prevent_initial_call=True,
)
def search_reports(query: str | None) -> Any:
    return _searched(permissions.require(Leaf.ANALYTICS), query)


def _searched(user: HubUser, query: str | None) -> Any:
    query = "".join(c for c in (query or "").strip()[:100] if is_clean_text(c))
    reports = list_reports(engines.default().web, tenant_id=user.tenant_id, name_contains=query)
    return _reports_body(user, reports, query)


def _delete_modal() -> dbc.Modal:
    return dbc.Modal(
        [
            dbc.ModalHeader(dbc.ModalTitle("Delete this report?")),
            dbc.ModalBody(html.P(id=DELETE_TEXT)),
            dbc.ModalFooter([
                dbc.Button("Cancel", id=DELETE_CANCEL, color="secondary", outline=True),
                dbc.Button("Delete report", id=DELETE_CONFIRM, color="danger"),
            ]),
            dcc.Store(id=DELETE_TARGET),
        ],
        id=DELETE_MODAL, is_open=False,
    )  # fmt: skip


def layout(**_query: str) -> html.Div:
    user = permissions.page_user(Leaf.ANALYTICS)
    if user is None:
        return shell.forbidden(Leaf.ANALYTICS, "The Analytics Hub")
    reports = list_reports(engines.default().web, tenant_id=user.tenant_id)
    deleted = take_deleted()
    return html.Div(
        [
            html.Div(
                [
                    html.Div(
                        [
                            html.H1("Analytics", className="h3 mb-1"),
                            dbc.Button(
                                "New report",
                                href="/admin/analytics/reports/new",
                                color="primary",
                                id="hub-new-report",
                            )
                            if user.may(Leaf.REPORTS_MANAGE)
                            else None,
                        ],
                        className="d-flex justify-content-between align-items-center",
                    ),
                    html.P(
                        f"Reports on {user.tenant_name}'s conversations, flows and revenue.",
                        className="text-body-secondary",
                    ),
                ],
                className="mb-4",
            ),
            html.Div(
                _deleted_notice(deleted) if deleted else None,
                id=NOTICE,
                role="status",
            ),
            dbc.Row(
                [
                    dbc.Col(_templates_card(user), lg=4, className="mb-4"),
                    dbc.Col(_reports_card(user, reports), lg=8, className="mb-4"),
                ]
            ),
            _delete_modal() if user.may(Leaf.REPORTS_MANAGE) else None,
        ],
        id="hub-landing",
    )


def _clicked_report() -> object | None:
    """The report id of the row button that was clicked (None: drawn, not clicked)."""
    trigger = dash.ctx.triggered_id
    if not isinstance(trigger, dict) or not any(t["value"] for t in dash.ctx.triggered):
        return None
    return trigger.get("report")


@callback(
    Output(ids.URL, "href", allow_duplicate=True),
    Input(action_id("duplicate", ALL), "n_clicks"),
    prevent_initial_call=True,
)
def duplicate(_clicks: list[int | None]) -> str:
    """Duplicating is managing the original; the copy opens in the builder."""
    if (clicked := _clicked_report()) is None:
        return no_update
    user, report = permissions.manageable_report(clicked)
    copy = duplicate_report(engines.default().web, tenant_id=user.tenant_id, owner_id=user.id,
                            report_id=report.id)  # fmt: skip
    return f"/admin/analytics/reports/{copy}/edit"


@callback(
    Output(DELETE_MODAL, "is_open", allow_duplicate=True),
    Output(DELETE_TEXT, "children"),
    Output(DELETE_TARGET, "data"),
    Input(action_id("delete", ALL), "n_clicks"),
    prevent_initial_call=True,
)
def ask_delete(_clicks: list[int | None]) -> tuple[Any, ...]:
    if (clicked := _clicked_report()) is None:
        return no_update, no_update, no_update
    _user, report = permissions.manageable_report(clicked)
    text = (f"“{report.name}” will be deleted, un-pinned from the dashboard, and its email "
            "schedule, alerts and delivery history removed. This cannot be undone.")  # fmt: skip
    return True, text, report.id


clientside_callback(
    "function (clicks) { return clicks ? false : dash_clientside.no_update; }",
    Output(DELETE_MODAL, "is_open", allow_duplicate=True),
    Input(DELETE_CANCEL, "n_clicks"),
    prevent_initial_call=True,
)


@callback(
    Output(DELETE_MODAL, "is_open", allow_duplicate=True),
    Output(ids.LANDING_REPORTS, "children", allow_duplicate=True),
    Output(NOTICE, "children"),
    Input(DELETE_CONFIRM, "n_clicks"),
    State(DELETE_TARGET, "data"),
    State(ids.LANDING_SEARCH, "value"),
    prevent_initial_call=True,
)
def confirm_delete(clicks: int | None, report_id: object, query: str | None) -> tuple[Any, ...]:
    user, report = permissions.manageable_report(report_id)
    if not clicks:
        return no_update, no_update, no_update
    web = engines.default().web
    delete_report(web, tenant_id=user.tenant_id, report_id=report.id)
    return False, _searched(user, query), _deleted_notice(report.name)
