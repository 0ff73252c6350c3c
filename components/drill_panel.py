"""Drill-down: click a chart's point or bar, or a table row, to see the rows behind it.

Charts carry each point's bucket in its customdata and grids name each row by its
breakdown values (components/charts.py), under the ids `drill_chart(report)` and
`drill_grid(report)` on a saved report's page and on dashboard cards, and the builder
preview's own ids (drilled under the definition being built). A click opens the
side panel: the count of the base rows behind the number (equal to it for a count), the
newest 200 of them, and links to open them in the Event Explorer (telemetry) or as a
report filtered to the point (for people who build reports). datasets.drill does the work
through the semantic layer, under the report's own filters and the user's leaves; the
click only names a bucket, which is checked against the report before any query.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, html, no_update

import permissions
from access import HubUser, Leaf
from components import ids
from datasets import compare
from datasets.bucket import Bucket
from datasets.drill import ROW_CAP, Drill, drill
from datasets.validate import validate
from errors import BadBucket, BadDefinition, ReportTimeout

PANEL = "drill-panel"
BODY = "drill-body"
CHART, GRID = "drill-chart", "drill-grid"
FUNNEL_MEASURE = "reached"


def drill_chart(report_id: Any) -> dict[str, Any]:
    return {"type": CHART, "report": report_id}


def drill_grid(report_id: Any) -> dict[str, Any]:
    return {"type": GRID, "report": report_id}


def drill_offcanvas() -> dbc.Offcanvas:
    """The side panel, once per page that shows drillable charts."""
    return dbc.Offcanvas(html.Div(id=BODY), id=PANEL, title="The rows behind this number",
                         placement="end", is_open=False, scrollable=True,
                         style={"width": "min(720px, 100vw)"})  # fmt: skip


def builder_url(definition: dict[str, Any]) -> str:
    """The builder opened on `definition` (not saved until the user saves it)."""
    return "/admin/analytics/reports/new?" + urlencode({"definition": json.dumps(definition)})


def drill_view(user: HubUser, found: Drill) -> html.Div:
    head = html.Div(
        [
            html.Div(found.summary, className="h5 mb-1", id="drill-summary"),
            html.Div(f"{found.start.isoformat()} to {found.end.isoformat()} (UTC)",
                     className="small text-body-secondary", id="drill-range"),
        ],
        className="mb-2",
    )  # fmt: skip
    links = [
        html.A("Open in the Event Explorer", href=found.explorer_url, className="me-3",
               id="drill-explorer") if found.explorer_url else None,
        html.A("Open as a filtered report", href=builder_url(found.report), id="drill-report")
        if found.report is not None and permissions.may_manage_dataset(user, found.dataset)
        else None,
    ]  # fmt: skip
    note = (f"Showing the newest {ROW_CAP:,} of {found.row_count:,}." if found.truncated
            else f"{found.row_count:,} row{'s' * (found.row_count != 1)}.")  # fmt: skip
    if not found.rows:
        table: Any = html.P("No rows.", className="text-body-secondary")
    else:
        table = dbc.Table(
            [html.Thead(html.Tr([html.Th(c.label, scope="col") for c in found.columns])),
             html.Tbody([html.Tr([html.Td(cell) for cell in row]) for row in found.rows])],
            size="sm", striped=True, responsive=True, className="small", id="drill-rows",
        )  # fmt: skip
    return html.Div([head, html.Div(links, className="mb-2"),
                     html.Div(note, className="small mb-2"), table])  # fmt: skip


def _bucket(on_chart: bool, clicked: Any, definition: Any) -> Bucket | None:
    """The bucket a click names, or None when it names none (an "Other" series)."""
    if on_chart:
        points = clicked.get("points") if isinstance(clicked, dict) else None
        point = points[0] if isinstance(points, list) and points else None
        raw = point.get("customdata") if isinstance(point, dict) else None
        return None if raw is None else Bucket.from_json(raw)
    if not isinstance(clicked, dict) or not isinstance(clicked.get("rowId"), str):
        return None
    try:
        values = json.loads(clicked["rowId"])
    except ValueError:
        raise BadBucket([("(bucket)", "a row of this report")]) from None
    # A funnel's row is a step, drilled by the runs that reached it.
    measures = list(definition.measures) or [FUNNEL_MEASURE]
    column = str(clicked.get("colId"))  # a measure's previous value or change: the measure
    column = column.removesuffix(compare.PREVIOUS).removesuffix(compare.DELTA)
    measure = column if column in measures else measures[0]
    return Bucket.from_json({"measure": measure, "values": values})


def drill_body(user: HubUser, raw: dict[str, Any], on_chart: bool, clicked: Any) -> Any:
    """What the panel shows for a click on the chart (or grid) of the report `raw`."""
    try:
        definition = validate(raw)
        bucket = _bucket(on_chart, clicked, definition)
        if bucket is None:
            return None
        return drill_view(user, drill(definition, bucket, user=user))
    except (BadDefinition, BadBucket) as error:
        text = "; ".join(issue.message for issue in error.issues)
        return dbc.Alert(f"These rows cannot be shown: {text}", color="warning")
    except ReportTimeout as error:
        return dbc.Alert(error.public_message, color="warning")


@callback(
    Output(PANEL, "is_open"),
    Output(BODY, "children"),
    Input(drill_chart(ALL), "clickData"),
    Input(drill_grid(ALL), "cellClicked"),
    prevent_initial_call=True,
)
def open_drill(_charts: list[Any], _grids: list[Any]) -> tuple[Any, Any]:
    """A click on a report's point or row: the rows behind it, for whoever may read it."""
    permissions.require(Leaf.ANALYTICS)
    trigger = dash.ctx.triggered_id
    clicked = dash.ctx.triggered[0]["value"] if dash.ctx.triggered else None
    if not isinstance(trigger, dict) or not clicked:
        return no_update, no_update
    user, report = permissions.readable_report(trigger.get("report"))
    body = drill_body(user, report.definition, trigger["type"] == CHART, clicked)
    return (no_update, no_update) if body is None else (True, body)


@callback(
    Output(PANEL, "is_open", allow_duplicate=True),
    Output(BODY, "children", allow_duplicate=True),
    Input({**ids.B_CHART, "draft": ALL}, "clickData"),
    Input({**ids.B_GRID, "draft": ALL}, "cellClicked"),
    State(ids.B_DEFINITION, "data"),
    prevent_initial_call=True,
)
def open_draft_drill(_charts: list[Any], _grids: list[Any], definition: Any) -> tuple[Any, Any]:
    """A click on the builder preview: the rows behind it under the definition being
    built (drill() checks the dataset's leaf; building needs reports.manage)."""
    user = permissions.require(Leaf.REPORTS_MANAGE)
    clicked = dash.ctx.triggered[0]["value"] if dash.ctx.triggered else None
    if not clicked or not isinstance(definition, dict):
        return no_update, no_update
    body = drill_body(user, definition, dash.ctx.triggered_id == ids.B_CHART, clicked)
    return (no_update, no_update) if body is None else (True, body)
