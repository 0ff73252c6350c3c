"""Run results as Plotly figures (line, bar, pie, KPI, funnel) and an AG Grid table.

Every number a person reads — hover labels, slice and bar text, KPI values, table
cells, time ticks — comes from the shared formatter, so a chart says exactly what the
export says. One theme (`hub`) for all charts, readable at card size and full width:
axes grow their margins to fit their labels (nothing is clipped), a colour-blind safe
palette (Okabe and Ito), and every value axis titled with its unit. Measures of two units
get a left and a right axis; more are refused by the viz picker (`viz_reason`).

Over time, one series per combination of the other breakdowns ("web · EUR"), at most
MAX_SERIES: the rest add up into "Other" when every measure adds up, else the chart is
refused with the reason on it. Time ticks are the table's period labels, and the last
period, when it is not over yet, is marked (a dotted segment or hatched bar and
"this week so far" under its tick) rather than read as a drop.

Plotly renders a subset of HTML in every string of a figure (`<a href>`, `<b>`, `<br>`,
`<span style>`), and goal, flow, step, event and channel names are tenant text. So
`figure()`, the one way in, escapes every text cell and column label of the result
(`plotly_text`) before any trace is built; the markup the builders add (`<br>`) is ours.
The AG Grid table shows text as text and takes the result as it is.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from dataclasses import dataclass, replace
from typing import Any, assert_never

import dash_ag_grid as dag
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from datasets.compare import DELTA, TONES, tone
from datasets.dates import bucket_start
from datasets.formatting import CHANGE, format_change, format_value, is_empty, row_currency
from datasets.model import Better, Column, Compare, Grain, MeasureType, Viz
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


Row = dict[str, Any]


ROW = "__row"  # each record's index in the result's frame (its drill-down key)
DRILL_ID = "drill_key"  # a grid row's id: its breakdown values as JSON


def _rows(result: Result) -> list[Row]:
    return [{**r, ROW: i} for i, r in enumerate(result.frame.to_dict("records"))]


def drill_values(result: Result) -> list[dict[str, Any]]:
    """Each row's breakdown values as a drill-down bucket names them (datasets.bucket),
    JSON-ready: time as "YYYY-MM-DD", other values as the result holds them."""
    breakdowns = [c.id for c in result.columns if c.role == "dimension"]
    return [{b: _drill_value(row[b]) for b in breakdowns}
            for row in result.frame.to_dict("records")]  # fmt: skip


def _drill_value(value: Any) -> Any:
    if is_empty(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value  # numpy scalars


def _drill_point(plot: _Plot, row: Row, measure: Column) -> dict[str, Any] | None:
    """The bucket a chart point opens ({"measure", "values"}); None for "Other"."""
    index = row.get(ROW)
    return None if index is None else {"measure": measure.id, "values": plot.keys[index]}


def _text(row: Row, column: Column) -> str:
    """A cell as the formatter shows it (empty when the row lacks it: an "Other" series'
    sums have no previous values)."""
    return format_value(row.get(column.id), column, currency=row_currency(row, column))


def _number(value: Any) -> float | None:
    return None if is_empty(value) else float(value)


def _previous_columns(result: Result) -> dict[str, Column]:
    """Each compared measure's column of previous values (none unless compared)."""
    return {c.compares: c for c in result.columns
            if c.compares is not None and c.type != CHANGE}  # fmt: skip


def _then(row: Row, measure: Column, previous: Column | None) -> str:
    """What a compared point's hover adds: "<br>previous: 1,204 (▲ 12.5%)"; "" if none."""
    if previous is None:
        return ""
    change = row.get(measure.id + DELTA)
    return f"<br>previous: {_text(row, previous)}" + (
        "" if is_empty(change) else f" ({format_change(change)})")  # fmt: skip


def _split(result: Result) -> tuple[Column | None, list[Column], list[Column]]:
    dims = [c for c in result.columns if c.role == "dimension"]
    time = next((c for c in dims if c.type == "time"), None)
    categories = [c for c in dims if c.type != "time"]
    return time, categories, [c for c in result.columns if c.role == "measure"]


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
            values = [abs(v) for m in measures for r in rows if (v := _number(r[m.id])) is not None]
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
    _, _, measures = _split(result)
    groups: dict[str, list[Row]] = {}
    for row in _rows(result):
        groups.setdefault(" · ".join(_text(row, c) for c in by), []).append(row)
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
    ranked = sorted(groups, key=lambda k: -sum(abs(_number(r[first.id]) or 0) for r in groups[k]))
    keep = ranked[: MAX_SERIES - 1]
    other: dict[Any, Row] = {}
    for name in ranked[MAX_SERIES - 1 :]:
        for row in groups[name]:
            total = other.setdefault(row[x.id], {x.id: row[x.id], **{m.id: 0 for m in measures}})
            for m in measures:
                total[m.id] += _number(row[m.id]) or 0
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
    time, categories, measures = _split(result)
    x = time if kind is Viz.LINE or not categories else categories[0]
    assert x is not None
    by = [c for c in (*categories, time) if c is not None and c is not x]
    series = _series(result, x, by)
    if isinstance(series, str):
        return _refused(series)
    rows = _rows(result)
    on, axes = _value_axes(measures, rows)
    is_time = x is time
    periods = sorted({r[x.id] for r in rows}) if is_time else []
    labels = {p: format_value(p, x) for p in periods}
    note = _partial_note(result, x, periods[-1]) if periods else None
    plot = _Plot(kind, x, on, axes, labels, note, keys, _previous_columns(result))
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
    ys = [None if (v := _number(r[measure.id])) is None else v / scale for r in rows]
    hover = [f"{_text(r, x)}<br>{name}: {_text(r, measure)}{_then(r, measure, previous)}"
             for r in rows]  # fmt: skip
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
    ys = [None if (v := _number(r.get(previous.id))) is None else v / scale for r in rows]
    label = f"{name} (previous)"
    hover = [f"{_text(r, plot.x)}<br>{label}: {_text(r, previous)}" for r in rows]
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
    measure = _split(result)[2][0]
    points = [None if i is None else {"measure": measure.id, "values": keys[i]} for i in indexes]
    previous, rows = _previous_columns(result).get(measure.id), _rows(result)
    thens = ["" if i is None else _then(rows[i], measure, previous) for i in indexes]
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


GOOD, BAD, NEUTRAL = "#198754", "#dc3545", "#6c757d"  # Bootstrap's success, danger, secondary
MINUS = "\u2212"


def _kpi_figure(result: Result, previous: Result | None = None) -> go.Figure:
    """One big formatted number and its change: against the compared window when the
    definition compares (with the previous value and Δ under the title), else against
    the previous period if given ("▲ 12.5% vs the previous 30 days")."""
    measure = _split(result)[2][0]
    row = _rows(result)[0] if len(result.frame) else {measure.id: None}
    value = _number(row[measure.id])
    indicator: dict[str, Any] = {"mode": "number", "value": value,
                                 "title": {"text": measure.label}}  # fmt: skip
    number = _kpi_number_format(measure)
    indicator["number"] = number
    compared = _previous_columns(result).get(measure.id)
    if compared is not None:
        before, versus = _number(row.get(compared.id)), f"the previous {_compared_word(result)}"
        indicator["title"]["text"] = (
            f"{measure.label}<br><span style='font-size:0.8em;color:{NEUTRAL}'>"
            f"{versus}: {_text(row, compared)}{_difference(row, measure, compared)}</span>"
        )
    elif previous is not None and len(previous.frame):
        before = _number(previous.frame.iloc[0][measure.id])
        versus = f"the previous {(previous.end - previous.start).days + 1} days"
    else:
        before = None
    if before and value is not None:
        good, bad = (GOOD, BAD) if measure.better == Better.UP else (BAD, GOOD)
        if measure.better == Better.NEITHER:
            good = bad = NEUTRAL
        indicator["mode"] = "number+delta"
        indicator["delta"] = {"reference": before, "relative": True, "valueformat": ".1%",
                              "suffix": f" vs {versus}", "increasing": {"color": good},
                              "decreasing": {"color": bad}}  # fmt: skip
    figure = go.Figure(go.Indicator(**indicator))
    figure.update_layout(template="hub", margin={"l": 16, "r": 16, "t": 48, "b": 16})
    return figure


def _compared_word(result: Result) -> str:
    return "year" if result.definition.compare == Compare.PREVIOUS_YEAR else "period"


def _difference(row: Row, measure: Column, previous: Column) -> str:
    """· Δ +137 (a ratio's in points: Δ +2.5 pp); "" without both values."""
    now, then = _number(row[measure.id]), _number(row.get(previous.id))
    if now is None or then is None:
        return ""
    diff = now - then
    if measure.type == MeasureType.RATIO:
        return f" · Δ {diff * 100:+,.1f} pp"
    text = format_value(abs(diff), measure, currency=row_currency(row, measure))
    return f" · Δ {'+' if diff > 0 else MINUS if diff < 0 else ''}{text}"


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


def _funnel_figure(result: Result, keys: list[dict[str, Any]]) -> go.Figure:
    """Runs reaching each step; compared, each step's conversion then and now."""
    rows = _rows(result)
    named = {c.id: c for c in result.columns}
    reached, drop_off, conversion = named["reached"], named["drop_off"], named["conversion"]
    then = _previous_columns(result).get("conversion")
    texts = [
        f"{_text(r, reached)} · {_text(r, conversion)} of first"
        + ("" if then is None else f" (then {_text(r, then)})")
        + ("" if is_empty(r["drop_off"]) else f" · {_text(r, drop_off)} lost")
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


def table(result: Result, *, grid_id: str | dict[str, Any]) -> dag.AgGrid:
    """A sortable grid: raw values sort, the formatter's text shows, header pinned."""
    rows = []
    keys = drill_values(result)
    for row in _rows(result):
        # The row's id is its drill-down bucket's values; a click reports it (cellClicked).
        record: dict[str, Any] = {DRILL_ID: json.dumps(keys[row[ROW]], sort_keys=True)}
        for column in result.columns:
            value = row[column.id]
            record[column.id] = None if is_empty(value) else (
                str(value) if column.role == "dimension" else float(value))  # fmt: skip
            record[f"{column.id}__text"] = _text(row, column)
            if column.type == CHANGE:
                record[f"{column.id}__tone"] = tone(value, column.better)
        rows.append(record)
    column_defs = [
        {"field": c.id, "headerName": c.label, "sortable": True, "resizable": True,
         "valueFormatter": {"function": f"params.data['{c.id}__text']"},
         "type": "rightAligned" if c.role != "dimension" else None,
         **({"cellClassRules": {f"hub-{t}": f"params.data['{c.id}__tone'] === '{t}'"
                                for t in TONES}} if c.type == CHANGE else {})}
        for c in result.columns
    ]  # fmt: skip
    return dag.AgGrid(
        id=grid_id,
        rowData=rows,
        columnDefs=column_defs,
        # Headers wrap rather than end in "Success r…"; columns share the width.
        defaultColDef={"flex": 1, "minWidth": 110, "wrapHeaderText": True,
                       "autoHeaderHeight": True},
        getRowId=f"params.data.{DRILL_ID}",
        # Columns take their widths at once, not sliding into place after the first draw.
        dashGridOptions={"domLayout": "autoHeight" if len(rows) <= 15 else "normal",
                         "suppressColumnMoveAnimation": True},
        style={"height": None if len(rows) <= 15 else "480px"},
        className="ag-theme-alpine",
    )  # fmt: skip


def figure(result: Result, previous: Result | None = None) -> go.Figure:
    """The Plotly figure for the definition's viz (table has no figure: use `table`), with
    the result's text escaped for Plotly. `previous` gives the KPI its change (numbers only)."""
    viz = result.definition.viz
    keys = drill_values(result)  # before escaping: a drill names the values as stored
    result = _literal(result)
    match viz:
        case Viz.LINE | Viz.BAR:
            return _xy_figure(result, viz, keys)
        case Viz.PIE:
            return _pie_figure(result, keys)
        case Viz.KPI:
            return _kpi_figure(result, previous)
        case Viz.FUNNEL:
            return _funnel_figure(result, keys)
        case Viz.TABLE:
            raise ValueError("a table is rendered with charts.table(), not as a figure")
        case _:
            assert_never(viz)
