"""A run result read for the charts and the grid: its rows, cells as the formatter shows
them, drill-down keys, compared columns, and text escaped for Plotly.

Plotly renders a subset of HTML in every string of a figure (`<a href>`, `<b>`, `<br>`,
`<span style>`), and goal, flow, step, event and channel names are tenant text: `literal`
escapes every text cell and column label of a result (`plotly_text`) before any trace is
built (components.charts.figure, the one way in).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import replace
from typing import Any

import pandas as pd

from datasets.compare import DELTA
from datasets.formatting import CHANGE, format_change, format_value, is_empty, row_currency
from datasets.model import Column
from datasets.run import Result


def plotly_text(text: str) -> str:
    """`text` as Plotly shows it literally: &, < and > as the entities Plotly turns back
    into those characters, so "a & b" still reads "a & b" and no tag takes effect.
    (Quotes stay: Plotly does not decode `&quot;`, and outside a tag they are inert.)"""
    return html.escape(text, quote=False)


def literal(result: Result) -> Result:
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


def result_rows(result: Result) -> list[Row]:
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


def cell_text(row: Row, column: Column) -> str:
    """A cell as the formatter shows it (empty when the row lacks it: an "Other" series'
    sums have no previous values)."""
    return format_value(row.get(column.id), column, currency=row_currency(row, column))


def as_number(value: Any) -> float | None:
    return None if is_empty(value) else float(value)


def previous_columns(result: Result) -> dict[str, Column]:
    """Each compared measure's column of previous values (none unless compared)."""
    return {c.compares: c for c in result.columns
            if c.compares is not None and c.type != CHANGE}  # fmt: skip


def hover_then(row: Row, measure: Column, previous: Column | None) -> str:
    """What a compared point's hover adds: "<br>previous: 1,204 (▲ 12.5%)"; "" if none."""
    if previous is None:
        return ""
    change = row.get(measure.id + DELTA)
    return f"<br>previous: {cell_text(row, previous)}" + (
        "" if is_empty(change) else f" ({format_change(change)})")  # fmt: skip


def split_columns(result: Result) -> tuple[Column | None, list[Column], list[Column]]:
    dims = [c for c in result.columns if c.role == "dimension"]
    time = next((c for c in dims if c.type == "time"), None)
    categories = [c for c in dims if c.type != "time"]
    return time, categories, [c for c in result.columns if c.role == "measure"]
