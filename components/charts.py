"""Run results as Plotly figures: line, bar, pie, funnel, and the KPI (components.kpi_chart).

Every number a person reads — hover labels, slice and bar text, KPI values, time ticks —
comes from the shared formatter, so a chart says exactly what the export says. One theme
(`hub`) for all charts, readable at card size and full width: axes grow their margins to
fit their labels (nothing is clipped), a colour-blind safe palette (Okabe and Ito), and
every value axis titled with its unit. Measures of two units get a left and a right
axis; more are refused by the viz picker (`viz_reason`).

Over time, one series per combination of the other breakdowns ("web · EUR"), at most
MAX_SERIES: the rest add up into "Other" when every measure adds up, else the chart is
refused with the reason on it. Time ticks are the table's period labels, and the last
period, when it is not over yet, is marked (a dotted segment or hatched bar and
"this week so far" under its tick) rather than read as a drop.

`figure()`, the one way in, escapes the result's tenant text for Plotly
(components.chart_rows.literal) before any trace is built; the markup the builders add
(`<br>`) is ours. The table is components.grid.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, assert_never

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from components.chart_rows import (
    ROW,
    Row,
    as_number,
    cell_text,
    drill_values,
    hover_then,
    literal,
    previous_columns,
    result_rows,
    split_columns,
)
from components.kpi_chart import kpi_figure
from datasets.dates import bucket_start
from datasets.formatting import format_value, is_empty, row_currency
from datasets.model import Column, Grain, MeasureType, Viz
from datasets.run import Result
from datasets.validate import measure_unit

# Okabe & Ito's colour-blind safe palette, yellow last (weakest on white).
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
           "#F0E442"]  # fmt: skip
OTHER_COLOR = "#8C8C8C"
MAX_PIE_SLICES = 8  # more fold into "Other"
MAX_SERIES = 8  # lines or bar groups per chart, "Other" included: one colour each
MAX_TIME_TICKS = 6  # labelled periods on a time axis: unrotated on a half-width card
# The Plotly toolbar covers the legend and adds a dozen tab stops: off everywhere
# (assets/charts.css hides it also where a page passes its own config).
GRAPH_CONFIG = {"displayModeBar": False, "displaylogo": False, "responsive": True}
PERIOD_TITLES = {Grain.DAY: "Day", Grain.WEEK: "Week (from Monday)", Grain.MONTH: "Month"}
PERIOD_DAYS = {Grain.DAY: 1, Grain.WEEK: 7, Grain.MONTH: 30}  # roughly, to pad a time axis

_AXIS = {"gridcolor": "#eef0f3", "linecolor": "#ced4da", "zeroline": False, "automargin": True,
         "title": {"font": {"size": 12, "color": "#495057"}}}  # fmt: skip
pio.templates["hub"] = go.layout.Template(
    layout=go.Layout(
        font={"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
              "size": 13, "color": "#212529"},
        colorway=PALETTE,
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin={"l": 16, "r": 16, "t": 24, "b": 16},
        hoverlabel={"font": {"size": 13}},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        xaxis=_AXIS,
        yaxis=_AXIS,
    )
)  # fmt: skip


def _drill_point(plot: _Plot, row: Row, measure: Column) -> dict[str, Any] | None:
    """The bucket a chart point opens ({"measure", "values"}); None for "Other"."""
    index = row.get(ROW)
    return None if index is None else {"measure": measure.id, "values": plot.keys[index]}


def _unit(column: Column) -> str:
    return measure_unit(MeasureType(column.type), column.currency)


@dataclass(frozen=True)
class _Axis:
    """A value axis: its layout (title with the unit, tick format) and the factor its
    values are divided by (durations of a second or more are drawn in seconds)."""

    layout: dict[str, Any]
    scale: float = 1.0


def _value_axis(measures: list[Column], rows: list[Row]) -> _Axis:
    """The axis for measures of one unit, titled "Revenue, Avg value (EUR)"."""
    first = measures[0]
    labels = ", ".join(m.label for m in measures)

    def titled(unit: str | None, **ticks: Any) -> dict[str, Any]:
        text = f"{labels} ({unit})" if unit else labels
        return {"title": {"text": text}, "rangemode": "tozero", **ticks}

    match MeasureType(first.type):
        case MeasureType.COUNT | MeasureType.INTEGER:
            return _Axis(titled(None, tickformat=",~f"))
        case MeasureType.RATIO:
            return _Axis(titled("%", tickformat=".0%"))
        case MeasureType.DURATION:
            values = [
                abs(v) for m in measures for r in rows if (v := as_number(r[m.id])) is not None
            ]
            if values and max(values) >= 1000:
                return _Axis(titled("s", tickformat=",~f"), scale=1000.0)
            return _Axis(titled("ms", tickformat=",~f"))
        case MeasureType.CURRENCY:
            return _Axis(titled(first.currency or "each series' currency", tickformat=",.2f"))
        case MeasureType.DECIMAL:
            return _Axis(titled(None, tickformat=f",.{first.precision}f"))
        case _:
            assert_never(first.type)


def _value_axes(measures: list[Column], rows: list[Row]) -> tuple[dict[str, str], dict[str, _Axis]]:
    """Which axis each measure is drawn on ("y" or "y2", one per unit) and the axes."""
    units = list(dict.fromkeys(_unit(m) for m in measures))
    if len(units) > 2:  # the viz picker refuses this (datasets.validate.viz_reason)
        raise ValueError(f"a chart shows at most two units, not {', '.join(units)}")
    names = dict(zip(units, ("y", "y2"), strict=False))
    on = {m.id: names[_unit(m)] for m in measures}
    axes = {name: _value_axis([m for m in measures if on[m.id] == name], rows)
            for name in names.values()}  # fmt: skip
    return on, axes


def _axes_layout(axes: dict[str, _Axis]) -> dict[str, Any]:
    layout = {"yaxis": axes["y"].layout}
    if "y2" in axes:
        layout["yaxis2"] = {**axes["y2"].layout, "overlaying": "y", "side": "right",
                            "tickmode": "auto", "showgrid": False}  # fmt: skip
    return layout


def _instant(period: Any) -> dt.datetime:
    """A time bucket (a date, or a pandas Timestamp) as the midnight it starts."""
    return pd.Timestamp(period).to_pydatetime()


def _partial_note(result: Result, time: Column, last: Any) -> str | None:
    """The note for the last bucket when its period is not over: "this week so far" (or
    "partial week", when the range ends inside a past week); None when it is complete."""
    grain = time.grain or Grain.DAY
    day = last.date() if isinstance(last, pd.Timestamp | dt.datetime) else last
    if bucket_start(result.end, grain) != day:
        return None
    today = result.ran_at.date()
    ends_inside = bucket_start(result.end + dt.timedelta(days=1), grain) == day
    if not ends_inside and result.end < today:
        return None
    if bucket_start(today, grain) == day:
        return "today so far" if grain is Grain.DAY else f"this {grain.value} so far"
    return f"partial {grain.value}"


def _time_ticks(values: list[Any], labels: list[str], note: str | None) -> dict[str, Any]:
    """At most MAX_TIME_TICKS of the periods, counted back from the last, labelled as the
    table labels them; the last one carries the partial-period note."""
    step = math.ceil(len(values) / MAX_TIME_TICKS) or 1
    picked = list(range(len(values) - 1, -1, -step))[::-1]
    text = [labels[i] for i in picked]
    if note is not None and picked:
        text[-1] = f"{text[-1]}<br>{note}"
    return {"tickmode": "array", "tickvals": [values[i] for i in picked], "ticktext": text}


@dataclass(frozen=True)
class _Series:
    name: str  # the combination of the other breakdowns' values, "" when there is none
    rows: list[Row]
    color: str | None = None


def _series(result: Result, x: Column, by: list[Column]) -> list[_Series] | str:
    """One series per combination of the `by` values, in order of first appearance; past
    MAX_SERIES the largest keep theirs and the rest add up into "Other" — or, when a
    measure does not add up, the reason the chart cannot be drawn."""
    _, _, measures = split_columns(result)
    groups: dict[str, list[Row]] = {}
    for row in result_rows(result):
        groups.setdefault(" · ".join(cell_text(row, c) for c in by), []).append(row)
    if len(groups) <= MAX_SERIES:
        return [_Series(name, rows) for name, rows in groups.items()]
    mixed = {m.currency_column for m in measures} & {c.id for c in by}
    lost = [m.label for m in measures if not m.is_additive] or (
        [m.label for m in measures if m.currency_column in mixed])  # fmt: skip
    if lost:
        return (f"{len(groups)} combinations of {' and '.join(c.label for c in by)} are too "
                f"many lines to read,<br>and {', '.join(lost)} cannot be added up into "
                "“Other”: filter to fewer, or show a table.")  # fmt: skip
    first = measures[0]
    ranked = sorted(groups, key=lambda k: -sum(abs(as_number(r[first.id]) or 0) for r in groups[k]))
    keep = ranked[: MAX_SERIES - 1]
    other: dict[Any, Row] = {}
    for name in ranked[MAX_SERIES - 1 :]:
        for row in groups[name]:
            total = other.setdefault(row[x.id], {x.id: row[x.id], **{m.id: 0 for m in measures}})
            for m in measures:
                total[m.id] += as_number(row[m.id]) or 0
    return [*(_Series(k, groups[k]) for k in keep),
            _Series("Other", list(other.values()), OTHER_COLOR)]  # fmt: skip


def _refused(reason: str) -> go.Figure:
    """A chart that cannot be drawn readably: the reason in its place."""
    figure = go.Figure()
    figure.update_layout(
        template="hub", xaxis={"visible": False}, yaxis={"visible": False},
        annotations=[{"text": reason, "showarrow": False, "xref": "paper", "yref": "paper",
                      "x": 0.5, "y": 0.5, "font": {"size": 14, "color": "#495057"}}],
    )  # fmt: skip
    return figure


def _xy_figure(result: Result, kind: Viz, keys: list[dict[str, Any]]) -> go.Figure:
    """Line (over time) or bar (over the first category, else time): a trace per measure
    and series, each measure on the axis of its unit; time reads as the table's periods.
    Each point carries the bucket it drills into (`keys`: the raw rows' breakdowns)."""
    time, categories, measures = split_columns(result)
    x = time if kind is Viz.LINE or not categories else categories[0]
    assert x is not None
    by = [c for c in (*categories, time) if c is not None and c is not x]
    series = _series(result, x, by)
    if isinstance(series, str):
        return _refused(series)
    rows = result_rows(result)
    on, axes = _value_axes(measures, rows)
    is_time = x is time
    periods = sorted({r[x.id] for r in rows}) if is_time else []
    labels = {p: format_value(p, x) for p in periods}
    note = _partial_note(result, x, periods[-1]) if periods else None
    plot = _Plot(kind, x, on, axes, labels, note, keys, previous_columns(result))
    traces: list[go.BaseTraceType] = []
    for index, (measure, item) in enumerate((m, i) for m in measures for i in series):
        name = measure.label if not item.name else (
            item.name if len(measures) == 1 else f"{measure.label} · {item.name}")  # fmt: skip
        color = item.color or PALETTE[index % len(PALETTE)]
        traces.extend(_trace(plot, item.rows, measure, name, color))
    figure = go.Figure(traces)
    xaxis: dict[str, Any] = {"title": {"text": PERIOD_TITLES[x.grain or Grain.DAY] if is_time
                                       else x.label}}  # fmt: skip
    if is_time:
        values = periods if kind is Viz.LINE else [labels[p] for p in periods]
        xaxis.update(_time_ticks(values, list(labels.values()), note))
    if is_time and kind is Viz.LINE:
        # Half a period either side, as bars have: the first and last ticks' labels (the
        # last with its note) stay inside the plot, where Plotly would hide them.
        pad = dt.timedelta(days=PERIOD_DAYS[x.grain or Grain.DAY] / 2)
        xaxis["range"] = [_instant(periods[0]) - pad, _instant(periods[-1]) + pad]
    if kind is Viz.BAR:
        xaxis["type"] = "category"  # "2026" or "2026-11" are names here, not numbers or dates
    figure.update_layout(template="hub", xaxis=xaxis, **_axes_layout(axes))
    if kind is Viz.BAR:
        figure.update_layout(barmode="group")
    else:
        figure.update_layout(hovermode="closest")
    return figure


@dataclass(frozen=True)
class _Plot:
    """What every trace of one line or bar chart shares."""

    kind: Viz
    x: Column
    on: dict[str, str]  # measure id -> its axis, "y" or "y2"
    axes: dict[str, _Axis]
    labels: dict[Any, str]  # time x: each period and the table's label of it
    note: str | None  # the last period's note when it is not over
    keys: list[dict[str, Any]]  # each result row's breakdown values (drill_values)
    previous: dict[str, Column]  # a compared measure's id -> its previous values' column


def _trace(
    plot: _Plot, rows: list[Row], measure: Column, name: str, color: str
) -> list[go.BaseTraceType]:
    """The traces of one series: a bar trace (the unfinished last period hatched), or a
    line whose unfinished last period is a dotted segment of its own (same colour and
    legend entry)."""
    x, labels, note, yaxis = plot.x, plot.labels, plot.note, plot.on[measure.id]
    scale = plot.axes[yaxis].scale
    previous = plot.previous.get(measure.id)
    xs = [r[x.id] if x.type == "time" else str(r[x.id]) for r in rows]
    ys = [None if (v := as_number(r[measure.id])) is None else v / scale for r in rows]
    hover = [f"{cell_text(r, x)}<br>{name}: {cell_text(r, measure)}"
             f"{hover_then(r, measure, previous)}" for r in rows]  # fmt: skip
    points = [_drill_point(plot, r, measure) for r in rows]
    partial = note is not None and bool(xs) and bool(labels) and xs[-1] == max(labels)
    earlier = [] if previous is None else [_previous_trace(plot, rows, xs, previous, name, color)]
    if plot.kind is Viz.BAR:
        shapes = ["/" if partial and i == len(xs) - 1 else "" for i in range(len(xs))]
        return [*earlier,
                go.Bar(x=[labels[v] for v in xs] if labels else xs, y=ys, name=name,
                       hovertext=hover, hoverinfo="text", yaxis=yaxis, offsetgroup=name,
                       customdata=points,
                       marker={"color": color, "pattern": {"shape": shapes}})]  # fmt: skip
    common = {"name": name, "hoverinfo": "text", "yaxis": yaxis, "legendgroup": name,
              "line": {"color": color}, "marker": {"size": 5, "color": color}}  # fmt: skip
    if not partial or len(xs) < 2:
        return [*earlier, go.Scatter(x=xs, y=ys, hovertext=hover, customdata=points,
                                     mode="lines+markers", **common)]  # fmt: skip
    return [
        *earlier,
        go.Scatter(x=xs[:-1], y=ys[:-1], hovertext=hover[:-1], customdata=points[:-1],
                   mode="lines+markers", **common),
        go.Scatter(x=xs[-2:], y=ys[-2:], hovertext=[hover[-2], f"{hover[-1]} ({note})"],
                   customdata=points[-2:], mode="lines+markers", showlegend=False,
                   **{**common, "line": {"color": color, "dash": "dot"}}),
    ]  # fmt: skip


def _previous_trace(plot: _Plot, rows: list[Row], xs: list[Any], previous: Column, name: str,
                    color: str) -> go.BaseTraceType:  # fmt: skip
    """A compared measure's previous values at the current periods or categories: a
    dashed line, or a pale bar beside each bar ("then, now")."""
    yaxis = plot.on[previous.compares or ""]
    scale = plot.axes[yaxis].scale
    ys = [None if (v := as_number(r.get(previous.id))) is None else v / scale for r in rows]
    label = f"{name} (previous)"
    hover = [f"{cell_text(r, plot.x)}<br>{label}: {cell_text(r, previous)}" for r in rows]
    common = {"y": ys, "name": label, "hovertext": hover, "hoverinfo": "text", "yaxis": yaxis}
    if plot.kind is Viz.BAR:
        return go.Bar(x=[plot.labels[v] for v in xs] if plot.labels else xs, offsetgroup=label,
                      marker={"color": color, "opacity": 0.4}, **common)  # fmt: skip
    return go.Scatter(x=xs, mode="lines", legendgroup=label,
                      line={"color": color, "dash": "dash", "width": 1.5}, **common)  # fmt: skip


def _pie_slices(result: Result) -> tuple[list[str], list[float], list[str], list[int | None]]:
    """(labels, values, display texts, result row indexes), largest first; past
    MAX_PIE_SLICES the rest fold into "Other" (no row) when the measure adds up (a sum
    of averages would mean nothing)."""
    _, categories, measures = split_columns(result)
    dim, measure = categories[0], measures[0]
    rows = sorted(
        (r for r in result_rows(result) if not is_empty(r[measure.id])),
        key=lambda r: float(r[measure.id]),
        reverse=True,
    )
    labels = [str(r[dim.id]) for r in rows]
    values = [float(r[measure.id]) for r in rows]
    texts = [cell_text(r, measure) for r in rows]
    indexes: list[int | None] = [r[ROW] for r in rows]
    if len(rows) > MAX_PIE_SLICES and measure.is_additive:
        keep = MAX_PIE_SLICES - 1
        other = sum(values[keep:])
        currency = row_currency(rows[0], measure)
        labels = [*labels[:keep], "Other"]
        values = [*values[:keep], other]
        texts = [*texts[:keep], format_value(other, measure, currency=currency)]
        indexes = [*indexes[:keep], None]
    return labels, values, texts, indexes


def _pie_figure(result: Result, keys: list[dict[str, Any]]) -> go.Figure:
    labels, values, texts, indexes = _pie_slices(result)
    measure = split_columns(result)[2][0]
    points = [None if i is None else {"measure": measure.id, "values": keys[i]} for i in indexes]
    previous, rows = previous_columns(result).get(measure.id), result_rows(result)
    thens = ["" if i is None else hover_then(rows[i], measure, previous) for i in indexes]
    figure = go.Figure(
        # Names in the legend, shares inside: long names outside the slices left the card.
        go.Pie(labels=labels, values=values, hole=0.45, sort=False, customdata=points,
               text=[t + then for t, then in zip(texts, thens, strict=True)],
               textposition="inside", texttemplate="%{percent:.1%}",
               hovertemplate=("%{label} (%{percent:.1%}): %{text}" if previous else
                              "%{label}: %{text} (%{percent:.1%})") + "<extra></extra>")
    )  # fmt: skip
    figure.update_layout(template="hub", showlegend=True)
    return figure


def _funnel_figure(result: Result, keys: list[dict[str, Any]]) -> go.Figure:
    """Runs reaching each step; compared, each step's conversion then and now."""
    rows = result_rows(result)
    named = {c.id: c for c in result.columns}
    reached, drop_off, conversion = named["reached"], named["drop_off"], named["conversion"]
    then = previous_columns(result).get("conversion")
    texts = [
        f"{cell_text(r, reached)} · {cell_text(r, conversion)} of first"
        + ("" if then is None else f" (then {cell_text(r, then)})")
        + ("" if is_empty(r["drop_off"]) else f" · {cell_text(r, drop_off)} lost")
        for r in rows
    ]
    figure = go.Figure(
        go.Funnel(y=[r["step"] for r in rows], x=[int(r["reached"]) for r in rows], text=texts,
                  customdata=[{"measure": "reached", "values": keys[r[ROW]]} for r in rows],
                  textinfo="text", textposition="inside", hoverinfo="text",
                  marker={"color": PALETTE[0]})
    )  # fmt: skip
    figure.update_layout(template="hub")
    return figure


def figure(result: Result, previous: Result | None = None) -> go.Figure:
    """The Plotly figure for the definition's viz (a table has no figure: components.grid), with
    the result's text escaped for Plotly. `previous` gives the KPI its change (numbers only)."""
    viz = result.definition.viz
    keys = drill_values(result)  # before escaping: a drill names the values as stored
    result = literal(result)
    match viz:
        case Viz.LINE | Viz.BAR:
            return _xy_figure(result, viz, keys)
        case Viz.PIE:
            return _pie_figure(result, keys)
        case Viz.KPI:
            return kpi_figure(result, previous)
        case Viz.FUNNEL:
            return _funnel_figure(result, keys)
        case Viz.TABLE:
            raise ValueError("a table is rendered with components.grid.table, not as a figure")
        case _:
            assert_never(viz)
