"""Answering a report from its dataset's daily rollup plus a live tail of the base table.

The rollups (migration 0005) hold complete UTC days before the watermark
`ins_rollups_through.through_day`, grouped by the base table's breakdown columns, with
`row_count` and, per summed column X, `count__X` (its non-null rows) and `sum__X`. A
definition is answered from them when all it asks can be: measures built from counts
and sums, breakdowns and filters on grouped columns. The source is then the rollup's
rows before the watermark united with the base rows from the watermark on, aggregated
to the same shape, so the numbers equal the base table's and today stays real-time.
Distinct counts, percentiles and numeric-range filters read the base rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from datasets import dates
from datasets.model import Agg, AggregateQuery, Dataset, Measure
from db import schema as s

SHAPE = frozenset({"tenant_id", "day", "row_count"})


def group_columns(daily: sa.Table) -> list[str]:
    """The rollup's grouping columns besides tenant and day."""
    return [
        c.key for c in daily.c if c.key not in SHAPE and not c.key.startswith(("count__", "sum__"))
    ]


def measure_rolls_up(dataset: Dataset, measure: Measure, daily: sa.Table) -> bool:
    match measure.agg:
        case Agg.COUNT:
            return measure.column is None or f"count__{measure.column}" in daily.c
        case Agg.COUNT_WHERE:
            return measure.column in group_columns(daily)
        case Agg.SUM | Agg.AVG:
            needed = {f"sum__{measure.column}", f"count__{measure.column}"}
            return needed <= {c.key for c in daily.c}
        case Agg.RATIO:
            assert measure.numerator and measure.denominator
            parts = (dataset.measure(measure.numerator), dataset.measure(measure.denominator))
            return all(measure_rolls_up(dataset, p, daily) for p in parts)
        case Agg.COUNT_DISTINCT | Agg.P95:
            return False


def answers(dataset: Dataset, definition: AggregateQuery) -> bool:
    """Whether the rollup can answer `definition` exactly."""
    daily = dataset.daily
    if daily is None:
        return False
    grouped = set(group_columns(daily))
    return (
        all(measure_rolls_up(dataset, dataset.measure(m), daily) for m in definition.measures)
        and all(
            dataset.dimension(r.id).is_time or dataset.dimension(r.id).column in grouped
            for r in definition.dimensions
        )
        and all(dataset.filter(f.field).column in grouped for f in definition.filters)
    )


def aggregate(measure: Measure, daily: sa.FromClause) -> ColumnElement[Any]:
    """The measure's aggregate over rollup-shaped rows (not for ratios)."""
    match measure.agg:
        case Agg.COUNT:
            column = daily.c[f"count__{measure.column}" if measure.column else "row_count"]
            return _count(sa.func.sum(column))
        case Agg.COUNT_WHERE:
            where = daily.c[str(measure.column)] == measure.where_value
            return _count(sa.func.sum(daily.c.row_count).filter(where))
        case Agg.SUM:
            return sa.func.coalesce(sa.func.sum(daily.c[f"sum__{measure.column}"]), 0)
        case Agg.AVG:
            total = sa.cast(sa.func.sum(daily.c[f"sum__{measure.column}"]), sa.Numeric)
            return total / sa.func.nullif(sa.func.sum(daily.c[f"count__{measure.column}"]), 0)
        case _:
            raise AssertionError(f"{measure.agg} does not roll up")


def _count(total: ColumnElement[Any]) -> ColumnElement[int]:
    return sa.cast(sa.func.coalesce(total, 0), sa.BigInteger)


def through_day() -> ColumnElement[dt.date]:
    """The watermark: rollups hold the days before it."""
    return sa.select(s.rollups_through.c.through_day).scalar_subquery()


def from_through() -> ColumnElement[dt.datetime]:
    """The instant the live tail starts: midnight UTC of the watermark day."""
    return sa.func.timezone(dates.UTC, sa.cast(through_day(), sa.DateTime()))


def rolled_days(daily: sa.Table, start: dt.date, end: dt.date) -> sa.Select:
    """The tenant's rollup rows for days in [start, end] before the watermark."""
    return sa.select(*daily.c).where(
        daily.c.tenant_id == sa.func.hub_current_tenant(),
        daily.c.day.between(start, end),
        daily.c.day < through_day(),
    )


def source(dataset: Dataset, start: dt.date, end: dt.date) -> sa.Subquery:
    """Rollup-shaped rows for [start, end]: rolled-up days, then the live tail."""
    daily = dataset.daily
    assert daily is not None
    base = dataset.table
    time = base.c[dataset.time_column]
    day = sa.cast(sa.func.timezone(dates.UTC, time), sa.Date)
    groups = [base.c[c] for c in group_columns(daily)]
    parts: list[ColumnElement[Any]] = []
    for name in (c.key for c in daily.c):
        if name == "day":
            parts.append(day.label(name))
        elif name == "row_count":
            parts.append(sa.func.count().label(name))
        elif name.startswith("count__"):
            parts.append(sa.func.count(base.c[name.removeprefix("count__")]).label(name))
        elif name.startswith("sum__"):
            parts.append(sa.func.sum(base.c[name.removeprefix("sum__")]).label(name))
        else:
            parts.append(base.c[name].label(name))
    tail = (
        sa.select(*parts)
        .where(time >= from_through(), dates.in_range(time, start, end))
        .group_by(base.c.tenant_id, day, *groups)
    )
    return sa.union_all(rolled_days(daily, start, end), tail).subquery(f"{dataset.id}_daily")
