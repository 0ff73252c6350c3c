"""Run results as Plotly figures (line, bar, pie, KPI, funnel) and an AG Grid table.

Every number a person reads — hover labels, slice and bar text, KPI values, table
cells — comes from the shared formatter, so a chart says exactly what the export says.
One theme (`hub`) for all charts, readable at card size and full width.

Plotly renders a subset of HTML in every string of a figure (`<a href>`, `<b>`, `<br>`,
`<span style>`), and goal, flow, step, event and channel names are tenant text. So
`figure()`, the one way in, escapes every text cell and column label of the result
(`plotly_text`) before any trace is built; the markup the builders add (`<br>`) is ours.
The AG Grid table shows text as text and takes the result as it is.
"""

from __future__ import annotations

import html
from dataclasses import replace
from typing import Any, assert_never

import dash_ag_grid as dag
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from datasets.formatting import format_value, is_empty, row_currency
from datasets.model import Column, MeasureType, Viz
from datasets.run import Result

PALETTE = ["#3b6fd4", "#e07b39", "#3aa57a", "#c4455b", "#8a63c9", "#c9a227", "#4aa3b5",
           "#7d8590"]  # fmt: skip
MAX_PIE_SLICES = 8  # more fold into "Other"

pio.templates["hub"] = go.layout.Template(
    layout=go.Layout(
        font={"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
              "size": 13, "color": "#212529"},
        colorway=PALETTE,
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin={"l": 56, "r": 24, "t": 24, "b": 48},
        hoverlabel={"font": {"size": 13}},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        xaxis={"gridcolor": "#eef0f3", "linecolor": "#ced4da", "zeroline": False},
        yaxis={"gridcolor": "#eef0f3", "linecolor": "#ced4da", "zeroline": False},
    )
)  # fmt: skip


def plotly_text(text: str) -> str:
    """`text` as Plotly shows it literally: &, < and > as the entities Plotly turns back
    into those characters, so "a & b" still reads "a & b" and no tag takes effect.
    (Quotes stay: Plotly does not decode `&quot;`, and outside a tag they are inert.)"""
    return html.escape(text, quote=False)


def _literal(result: Result) -> Result:
    """The result with every text Plotly would read escaped: string cells (categories
    such as goal, flow, step, event, channel and currency) and the columns' labels and
    fixed currencies (a currency can come from a filter value)."""
    frame = pd.DataFrame(
        [[plotly_text(v) if isinstance(v, str) else v for v in row]
         for row in result.frame.itertuples(index=False, name=None)],
        columns=result.frame.columns, index=result.frame.index, dtype=object,
    )  # fmt: skip
    columns = tuple(
        replace(c, label=plotly_text(c.label),
                currency=None if c.currency is None else plotly_text(c.currency))
        for c in result.columns
    )  # fmt: skip
    return replace(result, frame=frame, columns=columns)


def _rows(result: Result) -> list[dict[str, Any]]:
    return result.frame.to_dict("records")


def _text(row: dict[str, Any], column: Column) -> str:
    return format_value(row[column.id], column, currency=row_currency(row, column))


def _number(value: Any) -> float | None:
    return None if is_empty(value) else float(value)


def _axis_format(column: Column) -> dict[str, Any]:
    """Tick format for a measure axis, matching the formatter's style."""
    match column.type:
        case MeasureType.RATIO:
            return {"tickformat": ".0%"}
        case MeasureType.DURATION:
            return {"tickformat": ",.0f", "ticksuffix": " ms"}
        case MeasureType.CURRENCY:
            suffix = f" {column.currency}" if column.currency else ""
            return {"tickformat": ",.2f", "ticksuffix": suffix}
        case _:
            return {"tickformat": ",~f"}


def _split(result: Result) -> tuple[Column | None, list[Column], list[Column]]:
    dims = [c for c in result.columns if c.role == "dimension"]
    time = next((c for c in dims if c.type == "time"), None)
    categories = [c for c in dims if c.type != "time"]
    return time, categories, [c for c in result.columns if c.role == "measure"]


def _traces(result: Result, x: Column, series: Column | None, kind: str) -> list[go.BaseTraceType]:
    """One trace per measure, or per (measure, series value) with a second dimension."""
    _, _, measures = _split(result)
    rows = _rows(result)
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault("" if series is None else str(row[series.id]), []).append(row)
    traces = []
    for measure in measures:
        for key, members in groups.items():
            name = measure.label if not key else (key if len(measures) == 1 else
                                                  f"{measure.label} · {key}")  # fmt: skip
            xs = [r[x.id] if x.type == "time" else str(r[x.id]) for r in members]
            ys = [_number(r[measure.id]) for r in members]
            hover = [f"{_text(r, x)}<br>{name}: {_text(r, measure)}" for r in members]
            common = {"x": xs, "y": ys, "name": name, "hovertext": hover, "hoverinfo": "text"}
            if kind == "line":
                traces.append(go.Scatter(mode="lines+markers", marker={"size": 5}, **common))
            else:
                traces.append(go.Bar(**common))
    return traces


def _line_figure(result: Result) -> go.Figure:
    time, categories, measures = _split(result)
    assert time is not None
    figure = go.Figure(_traces(result, time, categories[0] if categories else None, "line"))
    figure.update_layout(template="hub", hovermode="closest", yaxis=_axis_format(measures[0]))
    return figure


def _bar_figure(result: Result) -> go.Figure:
    time, categories, measures = _split(result)
    x = categories[0] if categories else time
    assert x is not None
    series = next((c for c in (*categories[1:], time) if c is not None and c is not x), None)
    figure = go.Figure(_traces(result, x, series, "bar"))
    figure.update_layout(template="hub", barmode="group", yaxis=_axis_format(measures[0]))
    return figure


def _pie_slices(result: Result) -> tuple[list[str], list[float], list[str]]:
    """(labels, values, display texts), largest first; past MAX_PIE_SLICES the rest fold
    into "Other" when the measure adds up (a sum of averages would mean nothing)."""
    _, categories, measures = _split(result)
    dim, measure = categories[0], measures[0]
    rows = sorted(
        (r for r in _rows(result) if not is_empty(r[measure.id])),
        key=lambda r: float(r[measure.id]),
        reverse=True,
    )
    labels = [str(r[dim.id]) for r in rows]
    values = [float(r[measure.id]) for r in rows]
    texts = [_text(r, measure) for r in rows]
    if len(rows) > MAX_PIE_SLICES and measure.is_additive:
        keep = MAX_PIE_SLICES - 1
        other = sum(values[keep:])
        currency = row_currency(rows[0], measure)
        labels = [*labels[:keep], "Other"]
        values = [*values[:keep], other]
        texts = [*texts[:keep], format_value(other, measure, currency=currency)]
    return labels, values, texts


def _pie_figure(result: Result) -> go.Figure:
    labels, values, texts = _pie_slices(result)
    figure = go.Figure(
        go.Pie(labels=labels, values=values, text=texts, textinfo="label+percent",
               hovertemplate="%{label}: %{text} (%{percent})<extra></extra>", hole=0.45,
               sort=False)
    )  # fmt: skip
    figure.update_layout(template="hub", showlegend=len(labels) <= MAX_PIE_SLICES)
    return figure


def _kpi_figure(result: Result, previous: Result | None = None) -> go.Figure:
    """One big formatted number, and its change against the previous period if given."""
    measure = _split(result)[2][0]
    row = _rows(result)[0] if len(result.frame) else {measure.id: None}
    value = _number(row[measure.id])
    indicator: dict[str, Any] = {"mode": "number", "value": value,
                                 "title": {"text": measure.label}}  # fmt: skip
    number = _kpi_number_format(measure)
    indicator["number"] = number
    if previous is not None and len(previous.frame) and value is not None:
        before = _number(previous.frame.iloc[0][measure.id])
        if before:
            indicator["mode"] = "number+delta"
            indicator["delta"] = {"reference": before, "relative": True,
                                  "valueformat": ".1%"}  # fmt: skip
    figure = go.Figure(go.Indicator(**indicator))
    figure.update_layout(template="hub", margin={"l": 16, "r": 16, "t": 48, "b": 16})
    return figure


def _kpi_number_format(measure: Column) -> dict[str, Any]:
    match measure.type:
        case MeasureType.RATIO:
            return {"valueformat": ".1%"}
        case MeasureType.CURRENCY:
            return {"valueformat": ",.2f", "suffix": f" {measure.currency or ''}".rstrip()}
        case MeasureType.DURATION:
            return {"valueformat": ",.0f", "suffix": " ms"}
        case MeasureType.DECIMAL:
            return {"valueformat": f",.{measure.precision}f"}
        case _:
            return {"valueformat": ",d"}


def _funnel_figure(result: Result) -> go.Figure:
    rows = _rows(result)
    _step, reached, drop_off, conversion = result.columns
    texts = [
        f"{_text(r, reached)} · {_text(r, conversion)} of first"
        + ("" if is_empty(r["drop_off"]) else f" · {_text(r, drop_off)} lost")
        for r in rows
    ]
    figure = go.Figure(
        go.Funnel(y=[r["step"] for r in rows], x=[int(r["reached"]) for r in rows], text=texts,
                  textinfo="text", hoverinfo="text", marker={"color": PALETTE[0]})
    )  # fmt: skip
    figure.update_layout(template="hub", margin={"l": 180, "r": 24, "t": 24, "b": 24})
    return figure


def table(result: Result, *, grid_id: str | dict[str, Any]) -> dag.AgGrid:
    """A sortable grid: raw values sort, the formatter's text shows, header pinned."""
    rows = []
    for row in _rows(result):
        record: dict[str, Any] = {}
        for column in result.columns:
            value = row[column.id]
            record[column.id] = None if is_empty(value) else (
                str(value) if column.role == "dimension" else float(value))  # fmt: skip
            record[f"{column.id}__text"] = _text(row, column)
        rows.append(record)
    column_defs = [
        {"field": c.id, "headerName": c.label, "sortable": True, "resizable": True,
         "valueFormatter": {"function": f"params.data['{c.id}__text']"},
         "type": "rightAligned" if c.role == "measure" else None}
        for c in result.columns
    ]  # fmt: skip
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=column_defs,
        defaultColDef={"flex": 1, "minWidth": 110},
        dashGridOptions={"domLayout": "autoHeight" if len(rows) <= 15 else "normal"},
        style={"height": None if len(rows) <= 15 else "480px"},
        className="ag-theme-alpine",
    )  # fmt: skip


def figure(result: Result, previous: Result | None = None) -> go.Figure:
    """The Plotly figure for the definition's viz (table has no figure: use `table`), with
    the result's text escaped for Plotly. `previous` gives the KPI its change (numbers only)."""
    viz = result.definition.viz
    result = _literal(result)
    match viz:
        case Viz.LINE:
            return _line_figure(result)
        case Viz.BAR:
            return _bar_figure(result)
        case Viz.PIE:
            return _pie_figure(result)
        case Viz.KPI:
            return _kpi_figure(result, previous)
        case Viz.FUNNEL:
            return _funnel_figure(result)
        case Viz.TABLE:
            raise ValueError("a table is rendered with charts.table(), not as a figure")
        case _:
            assert_never(viz)
