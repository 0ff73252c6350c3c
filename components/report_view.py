"""A run result on screen: the chart, the formatted table, and what was run."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from access import HubUser
from components import charts, ids
from datasets.model import Viz
from datasets.run import Result
from db import engines
from db.reports import SavedReport, get_report


def find_report(user: HubUser, report_id: str) -> SavedReport | None:
    """The user's tenant's report named by a URL segment, or None (unknown, other tenant's
    or not a number alike)."""
    if not report_id.isdigit():
        return None
    return get_report(engines.default().web, tenant_id=user.tenant_id, report_id=int(report_id))


REPORT_NOT_FOUND = ("Report not found", "It may have been deleted, or the link is wrong.")


def run_summary(result: Result) -> html.Div:
    rows = len(result.frame)
    parts = [
        f"{rows:,} row{'s' if rows != 1 else ''}",
        f"{result.start.isoformat()} to {result.end.isoformat()} (UTC)",
        f"ran at {result.ran_at:%H:%M:%S} UTC in {result.elapsed_ms:,.0f} ms",
    ]
    notice = (
        dbc.Alert(
            f"Showing the first {result.row_cap:,} rows: the result was truncated at "
            f"{result.row_cap:,}. Export it for up to 5,000 rows, or narrow it down.",
            color="warning", className="py-2 mb-2", id="hub-truncated",
        )
        if result.truncated
        else None
    )  # fmt: skip
    return html.Div(
        [notice, html.Div(" · ".join(parts), className="text-body-secondary small")],
        className="mb-2",
    )


def render_result(
    result: Result, previous: Result | None = None, *, grid_id: str | dict = ids.GRID
) -> html.Div:
    """Chart (unless the viz is a table) above the sortable, formatted table."""
    if result.frame.empty:
        body: list = [html.Div("No data for this range and these filters.",
                               className="hub-empty-state", id="hub-no-data")]  # fmt: skip
        return html.Div([run_summary(result), *body])
    parts = [run_summary(result)]
    if result.definition.viz is not Viz.TABLE:
        height = 160 if result.definition.viz is Viz.KPI else 380
        parts.append(
            dcc.Graph(
                figure=charts.figure(result, previous).update_layout(height=height),
                config={"displaylogo": False, "responsive": True},
                className="mb-3",
                id=ids.CHART,
            )
        )
    parts.append(charts.table(result, grid_id=grid_id))
    return html.Div(parts)
