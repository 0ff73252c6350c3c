"""A dataset's daily rollup plus a live tail of the base table, and the watermark.

The rollups (migrations 0005 and 0008) hold complete UTC days before the watermark
`ins_rollups_through.through_day`, grouped by the base table's breakdown columns, with
`row_count` and, per summed column X, `count__X` (its non-null rows) and `sum__X`. The
plan (`datasets.plan`) reads a measure from them when it can: counts and sums, with
breakdowns and filters on grouped columns. The source is then the rollup's rows before
the watermark united with the base rows from the watermark on, aggregated to the same
shape, so the numbers equal the base table's and today stays real-time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from datasets import dates
from datasets.model import Agg, Dataset, Measure
from datasets.plan import daily_columns
from db import schema as s


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
    groups = [base.c[c] for c in sorted(daily_columns(daily))]
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
