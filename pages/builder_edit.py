"""/admin/analytics/reports/<id>/edit — the builder on a saved report."""

from __future__ import annotations

import dash
from dash import html

import access
from access import Leaf
from components import builder, shell
from db import engines
from db.reports import get_report

dash.register_page(__name__, path_template="/admin/analytics/reports/<report_id>/edit",
                   title="Edit report · Analytics Hub")  # fmt: skip


def layout(report_id: str = "", **_query: str) -> html.Div:
    user = access.current()
    if user is None or not user.may(Leaf.REPORTS_MANAGE):
        return shell.forbidden("Editing reports needs comerix.insights.reports.manage.")
    report = (
        get_report(engines.default().web, tenant_id=user.tenant_id, report_id=int(report_id))
        if report_id.isdigit()
        else None
    )
    if report is None:
        return html.Div(
            [html.H1("Report not found", className="h4"),
             html.A("Back to Analytics", href="/admin/analytics")],
            className="hub-empty-state", id="hub-not-found",
        )  # fmt: skip
    return builder.layout(user, definition=report.definition, report_id=report.id,
                          name=report.name, description=report.description,
                          heading=f"Edit “{report.name}”")  # fmt: skip
