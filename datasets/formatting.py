"""The one formatter: a value and its column's type -> the text shown everywhere.

Screen, CSV, XLSX and email all call `format_value` / `format_rows`, so a number reads
the same wherever it appears: currency to two decimals with its currency code, ratios
as percentages, durations in ms or s, decimals to the measure's fixed precision.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

from datasets.model import Column, Grain, MeasureType

EMPTY = "—"
CHANGE = "change"  # a comparison's change column (datasets.compare): a fraction


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT


def format_time(value: dt.date, grain: Grain | None) -> str:
    if isinstance(value, pd.Timestamp | dt.datetime):
        value = value.date()
    return value.strftime("%Y-%m") if grain is Grain.MONTH else value.isoformat()


def format_money(value: Any, currency: str | None) -> str:
    amount = _half_up(value, 2)
    return f"{amount:,.2f} {currency}" if currency else f"{amount:,.2f}"


def _half_up(value: Any, places: int) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_duration(ms: float) -> str:
    """`850 ms` under a second (after rounding), else seconds to one decimal."""
    whole_ms = _half_up(ms, 0)
    if abs(whole_ms) < 1000:
        return f"{whole_ms:.0f} ms"
    return f"{_half_up(ms / 1000, 1):,.1f} s"


def format_change(fraction: Any) -> str:
    """A change against an earlier value, with its direction in text: ▲ 12.5%, ▼ 3.0%
    (the direction of the exact change, as the XLSX format shows it)."""
    exact = Decimal(str(fraction))
    if exact == 0:
        return "0.0%"
    return f"{'▲' if exact > 0 else '▼'} {_half_up(abs(exact) * 100, 1):,.1f}%"


def format_value(value: Any, column: Column, *, currency: str | None = None) -> str:
    """Display text of one cell; `currency` is the row's currency for currency measures."""
    if is_empty(value):
        return EMPTY
    if column.type == CHANGE:
        return format_change(value)
    if column.type == "time":
        return format_time(value, column.grain)
    if column.type == "category":
        return str(value)
    match MeasureType(column.type):
        case MeasureType.COUNT | MeasureType.INTEGER:
            return f"{int(value):,}"
        case MeasureType.CURRENCY:
            return format_money(value, currency or column.currency)
        case MeasureType.RATIO:
            return f"{_half_up(Decimal(str(value)) * 100, 1):.1f}%"
        case MeasureType.DURATION:
            return format_duration(float(value))
        case MeasureType.DECIMAL:
            return f"{_half_up(value, column.precision):,.{column.precision}f}"


def row_currency(row: dict[str, Any], column: Column) -> str | None:
    if column.currency_column is not None:
        value = row.get(column.currency_column)
        return None if is_empty(value) else str(value)
    return column.currency


def format_rows(frame: pd.DataFrame, columns: tuple[Column, ...]) -> list[list[str]]:
    """Every cell of a result as display text, row by row."""
    out = []
    for row in frame.to_dict("records"):
        out.append([format_value(row[c.id], c, currency=row_currency(row, c)) for c in columns])
    return out
