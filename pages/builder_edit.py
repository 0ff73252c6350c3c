"""/admin/analytics/reports/<id>/edit — the builder on a saved report."""

from __future__ import annotations

import dash
from dash import html

from components import builder
from components.report_view import open_report

dash.register_page(__name__, path_template="/admin/analytics/reports/<report_id>/edit",
                   title="Edit report · Analytics Hub")  # fmt: skip


def layout(report_id: str = "", **_query: str) -> html.Div:
    opened = open_report(report_id, manage=True)
    if not isinstance(opened, tuple):
        return opened
    user, report = opened
    return builder.layout(user, definition=report.definition, report_id=report.id,
                          name=report.name, description=report.description,
                          heading=f"Edit “{report.name}”")  # fmt: skip
