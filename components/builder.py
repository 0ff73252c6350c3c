"""The report builder page body and its callbacks (new report, template, edit).

Every callback checks `comerix.insights.reports.manage` itself, parses, and calls
datasets/ or db/; the registry decides every option offered.
"""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import (
    ALL,
    MATCH,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    ctx,
    dcc,
    html,
    no_update,
)

import permissions
import reporting
from access import HubUser, Leaf
from components import builder_form as form
from components import drill_panel, ids
from components.report_view import render_result
from datasets.model import Dataset, Filter, Operator
from datasets.registry import DATASETS, dataset_named
from datasets.suggest import suggest
from db import engines
from db.flows import list_flows

# Issue paths (their first segment) -> the control whose error slot shows them.
ERROR_SLOTS = (
    "dataset",
    "measures",
    "dimensions",
    "filters",
    "date_range",
    "compare",
    "viz",
    "flow_id",
)
SAVE_SLOTS = ("name",)


# Shown by assets/builder_failures.js when a request fails: "<id>-text" says what failed,
# "<id>-retry" sends it again; the preview frame is dimmed under the stale badge.
PREVIEW_FAILURE = "builder-preview-failure"
SAVE_FAILURE = "builder-save-failure"
PREVIEW_FRAME = "builder-preview-frame"
STALE_BADGE = "builder-stale-badge"
RETRY = "builder-retry"  # set to a new value by the preview's Retry: re-reads the controls


def _failure(slot: str) -> html.Div:
    return html.Div([
        html.Span(id=f"{slot}-text", className="me-2"),
        dbc.Button("Retry", id=f"{slot}-retry", size="sm", color="danger", outline=True),
    ], id=slot, role="alert", hidden=True,
       className="alert alert-danger py-2 small mt-2 mb-2")  # fmt: skip


def _label(text: str, for_id: str) -> dbc.Label:
    return dbc.Label(text, html_for=for_id, className="fw-semibold small mb-1")


def _error(slot: str) -> html.Div:
    return html.Div(id=ids.b_error(slot), className="invalid-feedback d-block small")


def layout(
    user: HubUser, *, definition: dict[str, Any], report_id: int | None = None,
    name: str = "", description: str = "", heading: str = "New report",
) -> html.Div:  # fmt: skip
    state = form.controls_from(definition)
    dataset = DATASETS[state["dataset"]]
    shown = form.kind_form(dataset)
    flows = list_flows(engines.default().web, tenant_id=user.tenant_id)
    is_custom = state["range"] == form.CUSTOM
    controls = dbc.Card(dbc.CardBody([
        _label("Dataset", ids.B_DATASET),
        dcc.Dropdown(id=ids.B_DATASET, options=form.dataset_options(user),
                     value=dataset.id, clearable=False),
        html.Div(dataset.description, id=ids.B_DATASET_HELP,
                 className="form-text mb-3"),
        _error("dataset"),
        html.Div([
            _label("Flow", ids.B_FLOW),
            dcc.Dropdown(id=ids.B_FLOW, options=[{"label": n, "value": i} for i, n in flows],
                         value=state["flow_id"], placeholder="Choose the flow to follow"),
            _error("flow_id"),
        ], id=ids.B_FLOW_BOX, className="mb-3", hidden=not shown.shows_flow),
        html.Div([
            _label("Measures", ids.B_MEASURES),
            dcc.Dropdown(id=ids.B_MEASURES, options=form.measure_options(dataset),
                         value=state["measures"], multi=True,
                         placeholder="What to count or add up"),
            _error("measures"),
            _label("Breakdowns", ids.B_DIMENSIONS),
            dcc.Dropdown(id=ids.B_DIMENSIONS, options=form.dimension_options(dataset),
                         value=state["dimensions"], multi=True, placeholder="None"),
            html.Div(id=ids.B_NOTE, className="form-text text-info-emphasis"),
            _error("dimensions"),
            html.Div([
                _label("Grain", ids.B_GRAIN),
                dbc.RadioItems(id=ids.B_GRAIN, value=state["grain"], inline=True,
                               options=[{"label": g.capitalize(), "value": g}
                                        for g in ("day", "week", "month")]),
            ], id=ids.B_GRAIN_BOX, hidden="time" not in state["dimensions"]),
            _label("Filters", ids.B_FILTER_ADD),
            html.Div([form.filter_row(dataset, i, c, _row_suggestions(user, dataset, c))
                      for i, c in enumerate(state["filters"])], id=ids.B_FILTERS),
            dbc.Button("+ Add filter", id=ids.B_FILTER_ADD, color="link", size="sm",
                       className="px-0", disabled=not dataset.filters),
            _error("filters"),
        ], id=ids.B_BREAKDOWN_BOX, hidden=not shown.shows_breakdowns, className="mb-3"),
        _label("Date range", ids.B_RANGE),
        dcc.Dropdown(id=ids.B_RANGE, value=state["range"], clearable=False,
                     options=[{"label": label, "value": v} for v, label in form.RANGES]),
        dcc.DatePickerRange(id=ids.B_DATES, start_date=state["start"], end_date=state["end"],
                            display_format="YYYY-MM-DD", className="mt-2",
                            first_day_of_week=1, max_date_allowed=form.today_utc(),
                            style={"display": "block" if is_custom else "none"}),
        _error("date_range"),
        _label("Compare with", ids.B_COMPARE),
        dcc.Dropdown(id=ids.B_COMPARE, value=state["compare"], clearable=False,
                     options=[{"label": label, "value": v} for v, label in form.COMPARISONS]),
        html.Div("Each measure gets its previous value and Δ %; a period so far is compared "
                 "with the same days before it.", className="form-text mb-2"),
        _error("compare"),
        _label("Visualization", ids.B_VIZ),
        dbc.RadioItems(id=ids.B_VIZ, value=state["viz"], inline=True,
                       options=form.viz_options(dataset, state["measures"],
                                                state["dimensions"])),
        _error("viz"),
    ]), className="mb-3")  # fmt: skip
    save = dbc.Card(dbc.CardBody([
        _label("Name", ids.B_NAME),
        dbc.Input(id=ids.B_NAME, value=name, placeholder="e.g. Weekly revenue by goal",
                  maxLength=200, required=True),
        _error("name"),
        _label("Description (optional)", ids.B_DESCRIPTION),
        dbc.Textarea(id=ids.B_DESCRIPTION, value=description, rows=2),
        html.Div([
            dbc.Button("Save report", id=ids.B_SAVE, color="primary", className="mt-3",
                       title="Save (Ctrl+S)"),
            html.Span(id=ids.B_SAVE_FEEDBACK, className="ms-2 small text-danger"),
        ]),
        _failure(SAVE_FAILURE),
    ]))  # fmt: skip
    return html.Div([
        dcc.Store(id=ids.B_REPORT_ID, data=report_id),
        dcc.Store(id=ids.B_DEFINITION),
        dcc.Store(id=ids.B_DEBOUNCED),
        dcc.Store(id=ids.B_DIRTY, data=False),
        dcc.Store(id=ids.B_SAVED_URL),
        dcc.Store(id=RETRY),
        html.Div([
            html.Div(html.A("← Analytics", href="/admin/analytics"), className="small"),
            html.H1(heading, className="h3 mb-3"),
        ]),
        dbc.Row([
            dbc.Col([controls, save], lg=4),
            dbc.Col(dbc.Card([
                dbc.CardHeader(html.Div([
                    html.H2(["Preview", html.Span("Not up to date", id=STALE_BADGE,
                                                  className="badge text-bg-warning ms-2",
                                                  hidden=True)],
                            className="h6 mb-0"),
                    dbc.Button("Run (Ctrl+Enter)", id=ids.B_RUN, size="sm", color="secondary",
                               outline=True),
                ], className="d-flex justify-content-between align-items-center")),
                dbc.CardBody([
                    _failure(PREVIEW_FAILURE),
                    html.Div(dcc.Loading(html.Div(id=ids.B_PREVIEW), type="dot",
                                         delay_show=300),
                             id=PREVIEW_FRAME, className="hub-preview-frame"),
                ]),
            ]), lg=8),
        ]),
        drill_panel.drill_offcanvas(),
    ], id="hub-builder")  # fmt: skip


def _user() -> HubUser:
    return permissions.require(Leaf.REPORTS_MANAGE)


@callback(
    Output(ids.B_MEASURES, "options"), Output(ids.B_MEASURES, "value"),
    Output(ids.B_DIMENSIONS, "options"), Output(ids.B_DIMENSIONS, "value"),
    Output(ids.B_FILTERS, "children"), Output(ids.B_FILTER_ADD, "disabled"),
    Output(ids.B_DATASET_HELP, "children"), Output(ids.B_FLOW_BOX, "hidden"),
    Output(ids.B_BREAKDOWN_BOX, "hidden"), Output(ids.B_VIZ, "value"),
    Input(ids.B_DATASET, "value"),
    prevent_initial_call=True,
)  # fmt: skip
def change_dataset(dataset_id: str) -> tuple:
    """A new dataset starts from its first measure, no breakdown and no filters."""
    _user()
    dataset = dataset_named(dataset_id)
    measures, shown = form.first_measures(dataset), form.kind_form(dataset)
    return (form.measure_options(dataset), measures, form.dimension_options(dataset), [], [],
            not dataset.filters, dataset.description, not shown.shows_flow,
            not shown.shows_breakdowns, form.default_viz(dataset, measures, []))  # fmt: skip


@callback(
    Output(ids.B_DEFINITION, "data"), Output(ids.B_DIMENSIONS, "value", allow_duplicate=True),
    Output(ids.B_NOTE, "children"), Output(ids.B_GRAIN_BOX, "hidden"),
    Output(ids.B_VIZ, "options"), Output(ids.B_VIZ, "value", allow_duplicate=True),
    Output(ids.B_DATES, "style"), Output(ids.b_filter("note", ALL), "children"),
    Input(ids.B_DATASET, "value"), Input(ids.B_MEASURES, "value"),
    Input(ids.B_DIMENSIONS, "value"), Input(ids.B_GRAIN, "value"), Input(ids.B_RANGE, "value"),
    Input(ids.B_DATES, "start_date"), Input(ids.B_DATES, "end_date"), Input(ids.B_VIZ, "value"),
    Input(ids.B_FLOW, "value"), Input(ids.B_COMPARE, "value"), Input(RETRY, "data"),
    Input(ids.b_filter("field", ALL), "value"), Input(ids.b_filter("op", ALL), "value"),
    Input(ids.b_filter("value", ALL), "value"), Input(ids.b_filter("value2", ALL), "value"),
    prevent_initial_call="initial_duplicate",
)  # fmt: skip
def describe_definition(dataset_id: str, measures: list[str] | None, dims: list[str] | None,
                        grain: str | None, range_choice: str, start: str | None,
                        end: str | None, viz: str | None, flow_id: int | None,
                        compare: str | None, _retry: int | None,
                        *_filters: list[Any]) -> tuple:  # fmt: skip
    """The controls as one definition (again on Retry); keeps the viz among those that
    fit."""
    _user()
    rows = _filter_rows()
    definition, dims_now, note = form.assemble(
        dataset_id=dataset_id, measures=measures or [], dimensions=dims or [], grain=grain,
        range_choice=range_choice, start=start, end=end, viz=viz, flow_id=flow_id,
        filter_rows=rows, compare=None if compare == form.NO_COMPARISON else compare,
    )  # fmt: skip
    dataset = dataset_named(dataset_id)
    options = form.viz_options(dataset, measures or [], dims_now)
    fitting = {o["value"] for o in options if not o["disabled"]}
    chosen = viz if viz in fitting else form.default_viz(dataset, measures or [], dims_now)
    definition["viz"] = chosen
    return (definition, dims_now if dims_now != (dims or []) else no_update, note,
            "time" not in dims_now, options, chosen if chosen != viz else no_update,
            {"display": "block" if range_choice == form.CUSTOM else "none"},
            _notes_in_output_order(dataset_id, rows))  # fmt: skip


def _notes_in_output_order(dataset_id: str, rows: list[dict[str, Any]]) -> list:
    """Each filter row's note, in the order Dash lists the rows' note outputs."""
    indexes = sorted(item["id"]["index"] for item in ctx.outputs_list[-1])
    notes = dict(zip(indexes, form.row_notes(dataset_id, rows), strict=True))
    return [notes[item["id"]["index"]] for item in ctx.outputs_list[-1]]


def _filter_rows() -> list[dict[str, Any]]:
    """Filter rows from the triggering request's pattern-matched inputs, by row index."""
    rows: dict[int, dict[str, Any]] = {}
    for group in ctx.inputs_list:
        if not isinstance(group, list):  # a plain control, not the filter rows' ALL inputs
            continue
        for item in group:
            part = item["id"]["type"].removeprefix("builder-filter-")
            rows.setdefault(item["id"]["index"], {})[part] = item.get("value")
    return [rows[i] for i in sorted(rows)]


clientside_callback(
    """function (definition) {
        window.clearTimeout(window.hubPreviewTimer);
        window.hubPreviewTimer = window.setTimeout(function () {
            dash_clientside.set_props("DEBOUNCED", {data: definition});
        }, 150);
        return dash_clientside.no_update;
    }""".replace("DEBOUNCED", ids.B_DEBOUNCED),
    Output(ids.B_DEBOUNCED, "id"),
    Input(ids.B_DEFINITION, "data"),
)


@callback(
    Output(ids.B_PREVIEW, "children"),
    *(Output(ids.b_error(slot), "children") for slot in ERROR_SLOTS),
    Input(ids.B_DEBOUNCED, "data"), Input(ids.B_RUN, "n_clicks"),
    State(ids.B_DEFINITION, "data"),
    prevent_initial_call=True,
)  # fmt: skip
def refresh_preview(_debounced: Any, _run: int | None, definition: dict | None) -> tuple:
    """Validates and runs the definition (200 rows); problems go next to their control."""
    user = _user()
    if not definition:
        return (no_update,) * (1 + len(ERROR_SLOTS))
    outcome = reporting.preview(definition, user)
    if _waits_for_flow(outcome.issues, definition) and ctx.triggered_id != ids.B_RUN:
        prompt = dbc.Alert("Choose the flow to follow to see its funnel.", color="light",
                           className="mb-0", id="hub-preview-blocked")  # fmt: skip
        return (prompt, *(None for _ in ERROR_SLOTS))
    errors = _errors_by_slot(outcome.issues, ERROR_SLOTS)
    if outcome.result is None:
        body = dbc.Alert("Fix the highlighted fields to see a preview.", color="light",
                         className="mb-0", id="hub-preview-blocked")  # fmt: skip
        return (body, *errors)
    shown = render_result(
        outcome.result, outcome.previous, chart_id=ids.B_CHART, grid_id=ids.B_GRID
    )
    return (_still(shown), *errors)


def _still(body: html.Div) -> html.Div:
    """The preview's grid redraws at once as the user edits: no row animation."""
    for part in body.children:
        if isinstance(part, dag.AgGrid):
            part.dashGridOptions = {**(part.dashGridOptions or {}), "animateRows": False}
    return body


def _waits_for_flow(issues: tuple[tuple[str, str], ...], definition: dict) -> bool:
    """Only the flow is missing: a prompt, not an error, until Run is pressed."""
    return "flow_id" not in definition and [p for p, _ in issues] == ["flow_id"]


def _errors_by_slot(issues: tuple[tuple[str, str], ...], slots: tuple[str, ...]) -> list:
    by_slot: dict[str, list[str]] = {slot: [] for slot in slots}
    for path, message in issues:
        slot = path.split("[")[0].split(".")[0]
        by_slot.get(slot, by_slot[slots[0]]).append(
            message if slot in by_slot else f"{path}: {message}")  # fmt: skip
    return [html.Ul([html.Li(m) for m in by_slot[s]], className="mb-0 ps-3") if by_slot[s]
            else None for s in slots]  # fmt: skip


@callback(
    Output(ids.B_FILTERS, "children", allow_duplicate=True),
    Input(ids.B_FILTER_ADD, "n_clicks"), Input(ids.b_filter("remove", ALL), "n_clicks"),
    State(ids.B_FILTERS, "children"), State(ids.B_DATASET, "value"),
    prevent_initial_call=True,
)  # fmt: skip
def add_or_remove_filter(_add: int | None, _removes: list, rows: list | None,
                         dataset_id: str) -> list:  # fmt: skip
    _user()
    rows = rows or []
    trigger = ctx.triggered_id
    if trigger == ids.B_FILTER_ADD:
        taken = [r["props"]["id"]["index"] for r in rows]
        return [*rows, form.filter_row(dataset_named(dataset_id), max(taken, default=-1) + 1)]
    if not ctx.triggered[0]["value"]:
        return no_update
    return [r for r in rows if r["props"]["id"]["index"] != trigger["index"]]


@callback(
    Output(ids.b_filter("op", MATCH), "options"), Output(ids.b_filter("op", MATCH), "value"),
    Input(ids.b_filter("field", MATCH), "value"),
    State(ids.B_DATASET, "value"),
    prevent_initial_call=True,
)  # fmt: skip
def fit_operators_to_field(field: str | None, dataset_id: str) -> tuple:
    """The field decides the operators offered; the first one is chosen."""
    _user()
    spec = form.filter_spec(dataset_named(dataset_id), field)
    if spec is None:
        return [], None
    operators = sorted(spec.operators, key=list(Operator).index)
    return [{"label": form.HUMAN[o], "value": o.value} for o in operators], operators[0].value


@callback(
    Output(ids.b_filter("value-box", MATCH), "children"),
    Input(ids.b_filter("op", MATCH), "value"),
    State(ids.b_filter("field", MATCH), "value"), State(ids.B_DATASET, "value"),
    prevent_initial_call=True,
)  # fmt: skip
def fit_value_to_operator(op: str | None, field: str | None, dataset_id: str) -> list:
    """The field and operator decide the value input: a list, a number, two, or text."""
    user = _user()
    dataset = dataset_named(dataset_id)
    spec = form.filter_spec(dataset, field)
    suggestions = _row_suggestions(user, dataset, {"field": field, "op": op})
    return form.value_control(ctx.triggered_id["index"], spec, op, None, suggestions)


@callback(
    Output(ids.b_filter("value", MATCH), "options"),
    Input(ids.b_filter("value", MATCH), "search_value"),
    State(ids.b_filter("value", MATCH), "value"), State(ids.b_filter("field", MATCH), "value"),
    State(ids.B_DATASET, "value"),
    prevent_initial_call=True,
)  # fmt: skip
def suggest_values(search: str | None, selected: Any, field: str | None,
                   dataset_id: str) -> list:  # fmt: skip
    """Values from the tenant's own data as the user types, most frequent first."""
    user = _user()
    dataset = dataset_named(dataset_id)
    found = _suggestions(user, dataset, form.filter_spec(dataset, field), search or "", selected)
    return no_update if found is None else found


def _row_suggestions(user: HubUser, dataset: Dataset,
                     clause: dict[str, Any]) -> list[dict[str, Any]] | None:  # fmt: skip
    """A filter row's suggestions before anything is typed, for a saved row as for a new
    one (none for text to find)."""
    if clause.get("op") == Operator.CONTAINS:
        return None
    spec = form.filter_spec(dataset, clause.get("field"))
    return _suggestions(user, dataset, spec, "", clause.get("value"))


def _suggestions(user: HubUser, dataset: Dataset, spec: Filter | None, search: str,
                 selected: Any) -> list[dict[str, Any]] | None:  # fmt: skip
    """Options with their counts over the last 90 days, most frequent first, plus the
    values already chosen; None when the field offers no suggestions to this user."""
    if spec is None or not spec.suggest or not permissions.may_read_dataset(user, dataset.id):
        return None
    found = suggest(dataset, spec, search, tenant_id=user.tenant_id)
    options = [{"label": html.Span([str(v["label"]),
                                    html.Span(f"{v['count']:,}", className="text-muted ms-2")]),
                "search": str(v["label"]), "value": v["value"]} for v in found]  # fmt: skip
    kept = selected if isinstance(selected, list) else ([] if selected is None else [selected])
    known = {o["value"] for o in options}
    return [*options, *({"label": str(v), "value": v} for v in kept if v not in known)]


@callback(
    Output(ids.B_SAVED_URL, "data"),
    *(Output(ids.b_error(slot), "children", allow_duplicate=True) for slot in SAVE_SLOTS),
    Output(ids.B_SAVE_FEEDBACK, "children"),
    Input(ids.B_SAVE, "n_clicks"),
    State(ids.B_DEFINITION, "data"), State(ids.B_NAME, "value"),
    State(ids.B_DESCRIPTION, "value"), State(ids.B_REPORT_ID, "data"),
    prevent_initial_call=True,
)  # fmt: skip
def save_report(clicks: int | None, definition: dict | None, name: str | None,
                description: str | None, report_id: int | None) -> tuple:  # fmt: skip
    user = _user()
    if not clicks:  # Dash may call it when the builder's components arrive
        return (no_update,) * (2 + len(SAVE_SLOTS))
    saved = reporting.save(definition or {}, user, name=name or "", description=description or "",
                         report_id=report_id)  # fmt: skip
    if saved.report_id is None:
        name_errors = _errors_by_slot(tuple(i for i in saved.issues if i[0] == "name"),
                                      SAVE_SLOTS)  # fmt: skip
        others = [m for p, m in saved.issues if p != "name"]
        summary = "Not saved: " + "; ".join(others) if others else "Not saved."
        return (no_update, *name_errors, summary)
    return (f"/admin/analytics/reports/{saved.report_id}", None, "")


# Unsaved changes: any edit after the page settled marks the builder dirty; leaving then
# asks first. A successful save clears the mark and opens the saved report.
clientside_callback(
    """function (definition, name, description) {
        if (window.hubBuilderSettled) { window.hubBuilderDirty = true; }
        window.setTimeout(function () { window.hubBuilderSettled = true; }, 1500);
        window.onbeforeunload = function (event) {
            if (window.hubBuilderDirty) { event.preventDefault(); event.returnValue = ""; }
        };
        return dash_clientside.no_update;
    }""",
    Output(ids.B_DIRTY, "data"),
    Input(ids.B_DEFINITION, "data"), Input(ids.B_NAME, "value"),
    Input(ids.B_DESCRIPTION, "value"),
)  # fmt: skip

clientside_callback(
    """function (url) {
        if (url) { window.hubBuilderDirty = false; window.location.assign(url); }
        return dash_clientside.no_update;
    }""",
    Output(ids.B_SAVED_URL, "id"),
    Input(ids.B_SAVED_URL, "data"),
    prevent_initial_call=True,
)
