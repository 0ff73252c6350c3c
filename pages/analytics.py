"""/admin/analytics — the hub landing: templates and the tenant's saved reports."""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html

import permissions
from access import HubUser, Leaf
from components import ids, shell
from components.export_controls import export_controls
from components.pin_control import pin_button
from datasets.registry import DATASETS
from datasets.templates import TEMPLATES, Template
from datasets.validate import is_clean_text
from db import engines
from db.reports import ReportSummary, list_reports

dash.register_page(__name__, path="/admin/analytics", title="Analytics · Analytics Hub")


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


def _report_row(user: HubUser, report: ReportSummary) -> html.Tr:
    badges = [
        dbc.Badge("Pinned", color="info", className="me-1") if report.is_pinned else None,
        dbc.Badge("Scheduled", color="secondary") if report.is_scheduled else None,
    ]
    manage = [
        html.A("Edit", href=f"/admin/analytics/reports/{report.id}/edit",
               className="small me-2", title="Open in the builder"),
        html.A("Schedule", href=f"/admin/analytics/reports/{report.id}?schedule=1",
               className="small me-2", title="Email this report daily or weekly"),
        pin_button(report.id, report.is_pinned, small_link=True),
    ] if permissions.may_manage_dataset(user, report.dataset) else []  # fmt: skip
    return html.Tr(
        [
            html.Td(
                [
                    html.A(report.name, href=f"/admin/analytics/reports/{report.id}",
                           className="fw-semibold d-block"),
                    *badges,
                ]
            ),
            html.Td(DATASETS[report.dataset].label if report.dataset in DATASETS else "—"),
            html.Td((report.viz or "—").capitalize()),
            html.Td(report.owner or "—"),
            html.Td(report.updated_at.strftime("%Y-%m-%d %H:%M UTC")),
            html.Td(html.Div([*manage, export_controls(report.id)],
                             className="d-flex align-items-center")),
        ]
    )  # fmt: skip


def _reports_body(user: HubUser, reports: list[ReportSummary], query: str) -> Any:
    if reports:
        head = ("Name", "Dataset", "Viz", "Owner", "Updated", "Actions")
        return dbc.Table(
            [html.Thead(html.Tr([html.Th(h) for h in head])),
             html.Tbody([_report_row(user, r) for r in reports])],
            hover=True, responsive=True, className="mb-0",
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
    user = permissions.require(Leaf.ANALYTICS)
    query = "".join(c for c in (query or "").strip()[:100] if is_clean_text(c))
    reports = list_reports(engines.default().web, tenant_id=user.tenant_id, name_contains=query)
    return _reports_body(user, reports, query)


def layout(**_query: str) -> html.Div:
    user = permissions.page_user(Leaf.ANALYTICS)
    if user is None:
        return shell.forbidden("Your role does not include the Analytics Hub.")
    reports = list_reports(engines.default().web, tenant_id=user.tenant_id)
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
            dbc.Row(
                [
                    dbc.Col(_templates_card(user), lg=4, className="mb-4"),
                    dbc.Col(_reports_card(user, reports), lg=8, className="mb-4"),
                ]
            ),
        ],
        id="hub-landing",
    )
