"""The KPI: one big formatted number and its change, coloured by the measure's sense."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from components.chart_rows import (
    Row,
    as_number,
    cell_text,
    previous_columns,
    result_rows,
    split_columns,
)
from datasets.formatting import format_value, row_currency
from datasets.model import Better, Column, Compare, MeasureType
from datasets.run import Result

# Bootstrap's success, danger and secondary colours.
GOOD, BAD, NEUTRAL = "#198754", "#dc3545", "#6c757d"
MINUS = "\u2212"


def kpi_figure(result: Result, previous: Result | None = None) -> go.Figure:
    """One big formatted number and its change: against the compared window when the
    definition compares (with the previous value and Δ under the title), else against
    the previous period if given ("▲ 12.5% vs the previous 30 days")."""
    measure = split_columns(result)[2][0]
    row = result_rows(result)[0] if len(result.frame) else {measure.id: None}
    value = as_number(row[measure.id])
    indicator: dict[str, Any] = {"mode": "number", "value": value,
                                 "title": {"text": measure.label}}  # fmt: skip
    number = _kpi_number_format(measure)
    indicator["number"] = number
    compared = previous_columns(result).get(measure.id)
    if compared is not None:
        before, versus = as_number(row.get(compared.id)), f"the previous {_compared_word(result)}"
        indicator["title"]["text"] = (
            f"{measure.label}<br><span style='font-size:0.8em;color:{NEUTRAL}'>"
            f"{versus}: {cell_text(row, compared)}{_difference(row, measure, compared)}</span>"
        )
    elif previous is not None and len(previous.frame):
        before = as_number(previous.frame.iloc[0][measure.id])
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
    now, then = as_number(row[measure.id]), as_number(row.get(previous.id))
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
