"""A run result on screen: the chart, the formatted table, and what was run."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import flask
from dash import dcc, html

import permissions
from access import HubUser
from components import charts, grid, ids, shell
from datasets.compare import window_words
from datasets.model import Viz
from datasets.run import Result
from db.reports import SavedReport
from errors import MissingLeaf, NotFound

REPORT_NOT_FOUND = ("Report not found", "It may have been deleted, or the link is wrong.")


def open_report(report_id: str, *, manage: bool = False) -> tuple[HubUser, SavedReport] | html.Div:
    """The user and the report a page (named by a URL segment) shows when they may read it,
    or manage it; otherwise the page that says why: not found (unknown, another tenant's,
    not a number) before forbidden."""
    check = permissions.manageable_report if manage else permissions.readable_report
    try:
        return check(int(report_id) if report_id.isdigit() else None)
    except NotFound:
        return shell.not_found(*REPORT_NOT_FOUND)
    except MissingLeaf as refused:
        return shell.forbidden(refused.leaf, "Editing this report" if manage else "This report")


def run_summary(result: Result) -> html.Div:
    rows = len(result.frame)
    parts = [
        f"{rows:,} row{'s' if rows != 1 else ''}",
        f"{result.start.isoformat()} to {result.end.isoformat()} (UTC)",
        f"{result.as_of} (computed in {result.elapsed_ms:,.0f} ms)",
    ]
    if result.compared and result.definition.compare:
        compared = window_words(result.definition.compare, *result.compared)
        parts.insert(2, f"compared with {compared}")
    notice = (
        dbc.Alert(
            f"Showing the {'latest' if result.keeps_latest else 'first'} {result.row_cap:,} "
            f"rows: the result was truncated at {result.row_cap:,}. Export it for up to "
            "5,000 rows, or narrow it down.",
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
    result: Result,
    previous: Result | None = None,
    *,
    grid_id: dict[str, Any],
    chart_id: dict[str, Any],
) -> html.Div:
    """Chart (unless the viz is a table) above the sortable, formatted table; a KPI is
    its one number, with no grid of one cell under it. The ids are pattern ids, whose
    clicks drill down (components.drill_panel)."""
    if result.frame.empty:
        body: list = [html.Div("No data for this range and these filters.",
                               className="hub-empty-state", id="hub-no-data")]  # fmt: skip
        return html.Div([run_summary(result), *body])
    parts = [run_summary(result)]
    if result.definition.viz is not Viz.TABLE:
        height = 160 if result.definition.viz is Viz.KPI else 380
        graph = dcc.Graph(figure=charts.figure(result, previous).update_layout(height=height),
                          config=charts.GRAPH_CONFIG, id=chart_id)  # fmt: skip
        parts.append(html.Div(graph, id=ids.CHART, className="mb-3"))
    if result.definition.viz is not Viz.KPI:
        parts.append(grid.table(result, grid_id=grid_id))
    return html.Div(parts)


DELETED_KEY = "deleted_report"  # the session's name of the report just deleted


def remember_deleted(name: str) -> None:
    """The landing says "“name” was deleted." once, the next time it is drawn."""
    flask.session[DELETED_KEY] = name


def take_deleted() -> str | None:
    name = flask.session.pop(DELETED_KEY, None)
    return name if isinstance(name, str) else None
