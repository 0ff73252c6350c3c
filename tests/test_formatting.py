"""The one formatter: every measure and dimension type renders to its display text."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from datasets.formatting import EMPTY, format_rows, format_value
from datasets.model import Column, Grain, MeasureType


def measure(kind: MeasureType, **extra: Any) -> Column:
    return Column("m", "Measure", "measure", kind.value, **extra)


def dimension(kind: str, grain: Grain | None = None) -> Column:
    return Column("d", "Dimension", "dimension", kind, grain=grain)


COUNT = measure(MeasureType.COUNT)
INTEGER = measure(MeasureType.INTEGER)
EUR = measure(MeasureType.CURRENCY, currency="EUR")
USD = measure(MeasureType.CURRENCY, currency="USD")
NO_CURRENCY = measure(MeasureType.CURRENCY)
RATIO = measure(MeasureType.RATIO)
DURATION = measure(MeasureType.DURATION)
DECIMAL_1 = measure(MeasureType.DECIMAL, precision=1)
DECIMAL_2 = measure(MeasureType.DECIMAL, precision=2)
CATEGORY = dimension("category")

NOV_23 = dt.date(2026, 11, 23)  # a Monday: the first day of its ISO week


@pytest.mark.parametrize(
    ("value", "column", "expected"),
    [
        # counts and integers: thousands separators, no decimals
        (0, COUNT, "0"),
        (7, COUNT, "7"),
        (1234, COUNT, "1,234"),
        (Decimal("1234567"), COUNT, "1,234,567"),
        (np.int64(1234), COUNT, "1,234"),
        (1234, INTEGER, "1,234"),
        (Decimal("98765432"), INTEGER, "98,765,432"),
        # currency: two decimals (ROUND_HALF_UP), thousands separators, the currency code
        (Decimal("1234.5"), EUR, "1,234.50 EUR"),
        (1234.5, EUR, "1,234.50 EUR"),
        (Decimal("0"), EUR, "0.00 EUR"),
        (Decimal("2.345"), USD, "2.35 USD"),
        (Decimal("2.344"), USD, "2.34 USD"),
        (2.675, USD, "2.68 USD"),
        (Decimal("-2.345"), USD, "-2.35 USD"),
        (Decimal("-1234.5"), EUR, "-1,234.50 EUR"),
        (Decimal("1234567.891"), EUR, "1,234,567.89 EUR"),
        (Decimal("0.123456"), USD, "0.12 USD"),  # token cost: fixed USD, six stored places
        (Decimal("1234.5"), NO_CURRENCY, "1,234.50"),
        # ratios: a percentage with one decimal
        (0.4523, RATIO, "45.2%"),
        (Decimal("0.4523000000"), RATIO, "45.2%"),
        (0, RATIO, "0.0%"),
        (1, RATIO, "100.0%"),
        (Decimal("1.5"), RATIO, "150.0%"),
        # durations: whole ms below a second, seconds with one decimal from there
        (0, DURATION, "0 ms"),
        (850, DURATION, "850 ms"),
        (Decimal("850.4"), DURATION, "850 ms"),
        (999, DURATION, "999 ms"),
        (1000, DURATION, "1.0 s"),
        (12400, DURATION, "12.4 s"),
        (Decimal("12449.9"), DURATION, "12.4 s"),
        (3_600_000, DURATION, "3,600.0 s"),
        # decimals: the measure's fixed precision, thousands separators
        (12.345, DECIMAL_1, "12.3"),
        (Decimal("7.0000000000"), DECIMAL_1, "7.0"),
        (Decimal("1234.56"), DECIMAL_1, "1,234.6"),
        (1234.5, DECIMAL_2, "1,234.50"),
        (Decimal("3.14159"), DECIMAL_2, "3.14"),
        # time buckets: ISO day for day and week grains, year-month for months
        (NOV_23, dimension("time", Grain.DAY), "2026-11-23"),
        (NOV_23, dimension("time", Grain.WEEK), "2026-11-23"),
        (dt.date(2026, 11, 1), dimension("time", Grain.MONTH), "2026-11"),
        (
            dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.UTC),
            dimension("time", Grain.DAY),
            "2026-11-23",
        ),
        (pd.Timestamp("2026-11-01"), dimension("time", Grain.MONTH), "2026-11"),
        # categories pass through as text
        ("whatsapp", CATEGORY, "whatsapp"),
        ("(no flow)", CATEGORY, "(no flow)"),
        (42, CATEGORY, "42"),
    ],
)
def test_format_value(value: Any, column: Column, expected: str) -> None:
    """Each type renders exactly as the spec says, whatever the numeric Python type."""
    assert format_value(value, column) == expected


@pytest.mark.parametrize(
    "column",
    [
        COUNT,
        INTEGER,
        EUR,
        NO_CURRENCY,
        RATIO,
        DURATION,
        DECIMAL_1,
        CATEGORY,
        dimension("time", Grain.MONTH),
    ],
    ids=lambda c: f"{c.type}-{c.grain}" if c.grain else c.type,
)
@pytest.mark.parametrize("empty", [None, math.nan, np.float64("nan"), pd.NaT], ids=repr)
def test_empty_values_render_as_a_dash(empty: Any, column: Column) -> None:
    """None, NaN and NaT are empty cells, shown as an em dash in every column type."""
    assert format_value(empty, column) == EMPTY == "—"


def test_row_currency_overrides_the_fixed_one() -> None:
    """The `currency` argument (the row's currency) wins over the column's fixed currency."""
    assert format_value(Decimal("5"), EUR, currency="GBP") == "5.00 GBP"


def test_duration_rounding_up_to_a_second_switches_to_seconds() -> None:
    """A duration that rounds to 1000 ms is shown in seconds, like 1000 ms itself."""
    assert format_value(999.6, DURATION) == "1.0 s"


def test_format_rows_takes_each_rows_currency_from_its_currency_column() -> None:
    """Revenue by currency: every row is formatted in its own currency; no currency, no code."""
    columns = (
        Column("currency", "Currency", "dimension", "category"),
        Column("conversions", "Conversions", "measure", "count"),
        Column("revenue", "Revenue", "measure", "currency", currency_column="currency"),
        Column("avg_value", "Avg value", "measure", "currency", currency_column="currency"),
    )
    frame = pd.DataFrame(
        [
            ("EUR", 1234, Decimal("5472.84"), Decimal("69.276")),
            ("GBP", 33, Decimal("-2.345"), None),
            ("USD", 0, Decimal("0"), math.nan),
            (None, 2, Decimal("12"), Decimal("6")),
        ],
        columns=[c.id for c in columns],
        dtype=object,
    )
    assert format_rows(frame, columns) == [
        ["EUR", "1,234", "5,472.84 EUR", "69.28 EUR"],
        ["GBP", "33", "-2.35 GBP", "—"],
        ["USD", "0", "0.00 USD", "—"],
        ["—", "2", "12.00", "6.00"],
    ]


def test_format_rows_uses_a_fixed_currency_and_time_grain() -> None:
    """Token cost per week: weeks as ISO days, cost in USD, decimals at their precision."""
    columns = (
        Column("time", "Time", "dimension", "time", grain=Grain.WEEK),
        Column("flow", "Flow", "dimension", "category"),
        Column("cost", "Cost (USD)", "measure", "currency", currency="USD"),
        Column("total_tokens", "Total tokens", "measure", "integer"),
        Column("avg", "Avg tokens / message", "measure", "decimal", precision=1),
        Column("success_rate", "Success rate", "measure", "ratio"),
        Column("p95", "p95 duration", "measure", "duration"),
    )
    frame = pd.DataFrame(
        [
            (NOV_23, "Order status", Decimal("12.345678"), 123456, Decimal("411.52"), 0.4523, 850),
            (dt.date(2026, 11, 30), "(no flow)", Decimal("0"), 0, None, None, 12400),
        ],
        columns=[c.id for c in columns],
        dtype=object,
    )
    assert format_rows(frame, columns) == [
        ["2026-11-23", "Order status", "12.35 USD", "123,456", "411.5", "45.2%", "850 ms"],
        ["2026-11-30", "(no flow)", "0.00 USD", "0", "—", "—", "12.4 s"],
    ]


def test_format_rows_of_an_empty_result_is_empty() -> None:
    """No rows, no formatted rows."""
    columns = (COUNT,)
    assert format_rows(pd.DataFrame([], columns=["m"], dtype=object), columns) == []
