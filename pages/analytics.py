"""/admin/analytics — the hub landing: templates and the tenant's saved reports."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

import access
from access import HubUser, Leaf
from components import shell
from components.export_controls import export_controls
from datasets.registry import DATASETS
from datasets.templates import TEMPLATES, Template
from db import engines
from db.reports import ReportSummary, list_reports

dash.register_page(__name__, path="/admin/analytics", title="Analytics · Analytics Hub")


def _template_item(user: HubUser, template: Template) -> html.Li:
    usable = user.may(Leaf.REPORTS_MANAGE) and user.may(Leaf(template.leaf))
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


def _report_row(report: ReportSummary) -> html.Tr:
    badges = [
        dbc.Badge("Pinned", color="info", className="me-1") if report.is_pinned else None,
        dbc.Badge("Scheduled", color="secondary") if report.is_scheduled else None,
    ]
    return html.Tr(
        [
            html.Td(
                [
                    html.A(
                        report.name,
                        href=f"/admin/analytics/reports/{report.id}",
                        className="fw-semibold d-block",
                    ),
                    *badges,
                ]
            ),
            html.Td(DATASETS[report.dataset].label if report.dataset in DATASETS else "—"),
            html.Td((report.viz or "—").capitalize()),
            html.Td(report.owner or "—"),
            html.Td(report.updated_at.strftime("%Y-%m-%d %H:%M UTC")),
            html.Td(export_controls(report.id)),
        ]
    )


def _reports_card(reports: list[ReportSummary]) -> dbc.Card:
    if reports:
        body = dbc.Table(
            [
                html.Thead(
                    html.Tr(
                        [
                            html.Th(h)
                            for h in ("Name", "Dataset", "Viz", "Owner", "Updated", "Export")
                        ]
                    )
                ),
                html.Tbody([_report_row(r) for r in reports]),
            ],
            hover=True,
            responsive=True,
            className="mb-0",
        )
    else:
        body = html.Div(
            "No saved reports yet. Reports you save from the builder will be listed here.",
            className="hub-empty-state",
        )
    return dbc.Card(
        [dbc.CardHeader(html.H2("Saved reports", className="h6 mb-0")), dbc.CardBody(body)],
        id="hub-saved-reports",
    )


def layout(**_query: str) -> html.Div:
    user = access.current()
    if user is None or not user.may(Leaf.ANALYTICS):
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
                    dbc.Col(_reports_card(reports), lg=8, className="mb-4"),
                ]
            ),
        ],
        id="hub-landing",
    )
