"""The builder's controls, built from the registry, and the definition they describe.

Pure functions (no callbacks): options for each control, filter rows, and `assemble`,
which turns control values into a definition JSON — tested without a browser.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, assert_never

import dash_bootstrap_components as dbc
from dash import dcc, html

import permissions
from access import HubUser
from components import ids
from datasets.model import (
    Dataset,
    FieldType,
    Filter,
    FilterClause,
    MeasureType,
    Operator,
    QueryKind,
    Viz,
)
from datasets.operators import HUMAN, LIST_OPERATORS
from datasets.registry import DATASETS, dataset_named
from datasets.validate import single_value, viz_reason

CUSTOM = "custom"
RANGES = (
    ("7d", "Last 7 days"), ("14d", "Last 14 days"), ("30d", "Last 30 days"),
    ("90d", "Last 90 days"), ("180d", "Last 180 days"), ("365d", "Last 365 days"),
    ("today", "Today"), ("yesterday", "Yesterday"), ("mtd", "Month to date"),
    ("qtd", "Quarter to date"), ("ytd", "Year to date"), (CUSTOM, "Custom range…"),
)  # fmt: skip
NO_COMPARISON = "none"
COMPARISONS = ((NO_COMPARISON, "No comparison"), ("previous_period", "Previous period"),
               ("previous_year", "Previous year"))  # fmt: skip
VIZ_LABELS = {Viz.LINE: "Line", Viz.BAR: "Bar", Viz.TABLE: "Table", Viz.KPI: "KPI",
              Viz.PIE: "Pie", Viz.FUNNEL: "Funnel"}  # fmt: skip
TYPE_WORDS = {MeasureType.COUNT: "count", MeasureType.INTEGER: "number",
              MeasureType.CURRENCY: "money", MeasureType.RATIO: "%",
              MeasureType.DURATION: "duration", MeasureType.DECIMAL: "decimal"}  # fmt: skip


def datasets_for(user: HubUser) -> list[Dataset]:
    return [d for d in DATASETS.values() if permissions.may_read_dataset(user, d.id)]


def dataset_options(user: HubUser) -> list[dict[str, Any]]:
    return [{"label": d.label, "value": d.id, "title": d.description} for d in datasets_for(user)]


def today_utc() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def measure_label(label: str, word: str) -> str:
    """The measure's name and its type, without doubled brackets: "Cost (USD) · money"."""
    return f"{label} · {word}" if label.endswith(")") else f"{label} ({word})"


def measure_options(dataset: Dataset) -> list[dict[str, Any]]:
    return [{"label": measure_label(m.label, TYPE_WORDS[m.type]), "value": m.id,
             "title": m.description} for m in dataset.measures]  # fmt: skip


def dimension_options(dataset: Dataset) -> list[dict[str, Any]]:
    return [{"label": d.label, "value": d.id, "title": d.description}
            for d in dataset.dimensions]  # fmt: skip


def viz_options(dataset: Dataset, measures: list[str], dimensions: list[str]) -> list[dict]:
    """Every viz; the ones that cannot show this definition disabled, saying why."""
    options = []
    for viz, label in VIZ_LABELS.items():
        reason = viz_reason(dataset, viz, measures, dimensions)
        options.append({
            "label": html.Span(label, title=reason.capitalize() if reason else label),
            "value": viz.value, "disabled": reason is not None,
        })  # fmt: skip
    return options


def default_viz(dataset: Dataset, measures: list[str], dimensions: list[str]) -> str:
    order = (Viz.FUNNEL, Viz.LINE, Viz.BAR, Viz.KPI, Viz.TABLE)
    return next(v.value for v in order if viz_reason(dataset, v, measures, dimensions) is None)


def filter_spec(dataset: Dataset, field: str | None) -> Filter | None:
    return next((f for f in dataset.filters if f.field == field), None)


def value_control(index: int, spec: Filter | None, op: str | None, value: Any,
                  suggestions: list[dict[str, Any]] | None = None) -> list:  # fmt: skip
    """The value input that fits the field and operator; a list of values offers
    `suggestions` (else only the values chosen) before anything is typed."""
    if spec is None or op is None:
        return [dbc.Input(id=ids.b_filter("value", index), disabled=True, size="sm",
                          placeholder="Choose a field")]  # fmt: skip
    operator = Operator(op)
    if spec.type is FieldType.NUMBER:
        low = value[0] if isinstance(value, list) and value else value
        first = dbc.Input(id=ids.b_filter("value", index), type="number", value=low,
                          size="sm", placeholder="Value", debounce=True)  # fmt: skip
        if operator is not Operator.BETWEEN:
            return [first]
        high = value[1] if isinstance(value, list) and len(value) > 1 else None
        return [first, html.Span("and", className="mx-1 small"),
                dbc.Input(id=ids.b_filter("value2", index), type="number", value=high,
                          size="sm", placeholder="Value", debounce=True)]  # fmt: skip
    if operator is Operator.CONTAINS:
        return [dbc.Input(id=ids.b_filter("value", index), value=value or "", size="sm",
                          placeholder="Text to find", debounce=True)]  # fmt: skip
    many = operator in LIST_OPERATORS
    selected = value if isinstance(value, list) else ([] if value is None else [value])
    return [dcc.Dropdown(
        id=ids.b_filter("value", index), multi=many, value=value,
        options=suggestions if suggestions is not None else [
            {"label": str(v), "value": v} for v in selected],
        placeholder="Type to search…" if spec.suggest else "Value",
        searchable=True, className="hub-filter-value",
    )]  # fmt: skip


def filter_row(dataset: Dataset, index: int, clause: dict[str, Any] | None = None,
               suggestions: list[dict[str, Any]] | None = None) -> html.Div:  # fmt: skip
    clause = clause or {}
    spec = filter_spec(dataset, clause.get("field"))
    ops = sorted(spec.operators, key=list(Operator).index) if spec else []
    return html.Div([html.Div(
        [
            dcc.Dropdown(id=ids.b_filter("field", index), value=clause.get("field"),
                         options=[{"label": f.label, "value": f.field} for f in dataset.filters],
                         placeholder="Field", clearable=False, className="hub-filter-field"),
            dcc.Dropdown(id=ids.b_filter("op", index), value=clause.get("op"),
                         options=[{"label": HUMAN[o], "value": o.value} for o in ops],
                         placeholder="Operator", clearable=False, className="hub-filter-op"),
            html.Div(value_control(index, spec, clause.get("op"), clause.get("value"),
                                   suggestions),
                     id=ids.b_filter("value-box", index),
                     className="hub-filter-value-box d-flex align-items-center"),
            dbc.Button("Remove", id=ids.b_filter("remove", index), color="link", size="sm",
                       title="Remove this filter", className="text-danger"),
        ],
        className="hub-filter-row d-flex gap-2 align-items-center",
    ), html.Div(id=ids.b_filter("note", index), className="form-text text-warning")],
        id=ids.b_filter("row", index), className="mb-2")  # fmt: skip


def _filter_value(spec: Filter, op: Operator, value: Any, value2: Any) -> Any:
    if op is Operator.BETWEEN:
        return [value, value2]
    if op in LIST_OPERATORS:
        return value if isinstance(value, list) else ([] if value is None else [value])
    return value


def _clause(dataset: Dataset, row: dict[str, Any]) -> dict[str, Any] | None:
    """The filter a row describes, or None while it is unfinished."""
    spec = filter_spec(dataset, row.get("field"))
    if spec is None or not row.get("op"):
        return None
    value = _filter_value(spec, Operator(row["op"]), row.get("value"), row.get("value2"))
    if value in (None, "", []) or (isinstance(value, list) and None in value):
        return None
    return {"field": spec.field, "op": row["op"], "value": value}


def _filters(dataset: Dataset, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for row in rows if (c := _clause(dataset, row)) is not None]


def row_notes(dataset_id: str, rows: list[dict[str, Any]]) -> list[str | None]:
    """Per filter row: what is missing once a field is chosen (the row is not applied)."""
    dataset = dataset_named(dataset_id)
    return [None if not row.get("field") or _clause(dataset, row) is not None
            else "Not applied yet: choose a value (or remove this filter)."
            for row in rows]  # fmt: skip


def _needs_currency(dataset: Dataset, measures: list[str], dims: list[str], filters: list) -> bool:
    field = dataset.currency_field
    if field is None or field in dims:
        return False
    known = {m.id: m for m in dataset.measures}
    money = any(m in known and known[m].type is MeasureType.CURRENCY and not known[m].currency
                for m in measures)  # fmt: skip
    clauses = [FilterClause.model_validate(f) for f in filters]
    return money and single_value(clauses, field) is None


@dataclass(frozen=True)
class Controls:
    """The builder's control values that a kind may read (the date range is shared)."""

    measures: list[str]
    dimensions: list[str]
    grain: str | None
    viz: str | None
    flow_id: int | None
    filter_rows: list[dict[str, Any]]


# (dataset, date range, controls) -> (definition, dimensions shown, note to show)
Assembler = Callable[
    [Dataset, dict[str, Any], Controls], tuple[dict[str, Any], list[str], str | None]
]


def _aggregate_definition(
    dataset: Dataset, date_range: dict[str, Any], c: Controls
) -> tuple[dict[str, Any], list[str], str | None]:
    filters = _filters(dataset, c.filter_rows)
    note = None
    dims = list(c.dimensions)
    if _needs_currency(dataset, c.measures, dims, filters):
        dims.append(str(dataset.currency_field))
        note = ("Broken down by currency: money in different currencies cannot be added "
                "into one number.")  # fmt: skip
    definition = {
        "dataset": dataset.id,
        "measures": list(c.measures),
        "dimensions": [{"id": d, "grain": c.grain or "day"} if d == "time" else {"id": d}
                       for d in dims],
        "filters": filters,
        "date_range": date_range,
        "viz": c.viz or default_viz(dataset, c.measures, dims),
    }  # fmt: skip
    return definition, dims, note


def _funnel_definition(
    dataset: Dataset, date_range: dict[str, Any], c: Controls
) -> tuple[dict[str, Any], list[str], str | None]:
    definition = {"dataset": dataset.id, "date_range": date_range, "viz": c.viz or "funnel"}
    if c.flow_id is not None:
        definition["flow_id"] = c.flow_id
    return definition, [], None


@dataclass(frozen=True)
class KindForm:
    """How the builder shows and reads the controls of one query kind."""

    shows_flow: bool  # the flow picker
    shows_breakdowns: bool  # measures, breakdowns, grain and filters
    assemble: Assembler


AGGREGATE_FORM = KindForm(shows_flow=False, shows_breakdowns=True,
                          assemble=_aggregate_definition)  # fmt: skip
FUNNEL_FORM = KindForm(shows_flow=True, shows_breakdowns=False, assemble=_funnel_definition)


def kind_form(dataset: Dataset) -> KindForm:
    """The builder's one choice by query kind."""
    match dataset.kind:
        case QueryKind.AGGREGATE:
            return AGGREGATE_FORM
        case QueryKind.FUNNEL:
            return FUNNEL_FORM
        case _:
            assert_never(dataset.kind)


def assemble(
    *,
    dataset_id: str,
    measures: list[str],
    dimensions: list[str],
    grain: str | None,
    range_choice: str,
    start: str | None,
    end: str | None,
    viz: str | None,
    flow_id: int | None,
    filter_rows: list[dict[str, Any]],
    compare: str | None = None,
) -> tuple[dict[str, Any], list[str], str | None]:
    """(definition, dimensions — with currency added when money needs it, note to show)."""
    dataset = dataset_named(dataset_id)
    if range_choice == CUSTOM:
        date_range: dict[str, Any] = {"start": start, "end": end}
    else:
        date_range = {"preset": range_choice}
    controls = Controls(measures=list(measures or []), dimensions=list(dimensions or []),
                        grain=grain, viz=viz, flow_id=flow_id, filter_rows=filter_rows)  # fmt: skip
    definition, dims, note = kind_form(dataset).assemble(dataset, date_range, controls)
    if compare:
        definition["compare"] = compare
    return definition, dims, note


def first_measures(dataset: Dataset) -> list[str]:
    """What a newly chosen dataset starts with: its first measure (none for the funnel)."""
    return [m.id for m in dataset.measures[:1]]


def controls_from(definition: dict[str, Any]) -> dict[str, Any]:
    """The control values that show a (valid or template) definition."""
    date_range = definition.get("date_range") or {"preset": "30d"}
    dims = definition.get("dimensions") or []
    grain = next((d.get("grain") for d in dims if d.get("id") == "time"), None) or "day"
    return {
        "dataset": definition.get("dataset", "conversions"),
        "measures": definition.get("measures") or [],
        "dimensions": [d["id"] for d in dims],
        "grain": grain,
        "range": date_range.get("preset", CUSTOM),
        "start": date_range.get("start")
        or (dt.date.fromisoformat(today_utc()) - dt.timedelta(days=29)).isoformat(),
        "end": date_range.get("end") or today_utc(),
        "viz": definition.get("viz"),
        "flow_id": definition.get("flow_id"),
        "filters": definition.get("filters") or [],
        "compare": definition.get("compare") or NO_COMPARISON,
    }
