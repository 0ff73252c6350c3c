"""/admin/analytics/reports/<id>/edit — the builder on a saved report."""

from __future__ import annotations

import dash
from dash import html

import access
from access import Leaf
from components import builder, shell
from components.report_view import REPORT_NOT_FOUND, find_report

dash.register_page(__name__, path_template="/admin/analytics/reports/<report_id>/edit",
                   title="Edit report · Analytics Hub")  # fmt: skip


def layout(report_id: str = "", **_query: str) -> html.Div:
    user = access.current()
    if user is None or not user.may(Leaf.REPORTS_MANAGE):
        return shell.forbidden("Editing reports needs comerix.insights.reports.manage.")
    report = find_report(user, report_id)
    if report is None:
        return shell.not_found(*REPORT_NOT_FOUND)
    return builder.layout(user, definition=report.definition, report_id=report.id,
                          name=report.name, description=report.description,
                          heading=f"Edit “{report.name}”")  # fmt: skip
