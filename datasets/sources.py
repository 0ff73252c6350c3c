"""One grouped select per plan step, by source: SOURCES[step.source](...).

Every builder returns a select of the report's breakdowns (labelled by dimension id),
the hidden lookup keys (`<id>__key`) and the step's measures (by id), grouped by the
breakdowns. They share `_grouping`: buckets, lookups and filters over a relation whose
rows are either base rows or rollup-shaped rows (rolled-up days, then the live tail).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, assert_never

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from datasets import daily, dates
from datasets.model import (
    Agg,
    AggregateQuery,
    Dataset,
    Dimension,
    FieldType,
    Grain,
    GroupedRollup,
    Measure,
)
from datasets.operators import condition
from datasets.plan import Source, Step

# Enum members rendered as SQL literals, so the same bucket expression can appear in
# SELECT and GROUP BY (a bound parameter in each would be two different expressions).
GRAIN_SQL = {g: sa.literal_column(f"'{g.value}'") for g in Grain}
RATIO_TYPE = sa.Numeric(30, 10)
BLOCK = 4096
ONE_BIT = sa.literal_column(f"('1' || repeat('0', {BLOCK - 1}))::bit({BLOCK})")
PERCENTILE = 0.95
# Numbers for text ids first seen in the live tail: far past any tenant's dense numbers
# (0, 1, 2 … in order of first appearance), still inside the integer column's range.
FRESH_NUMBERS = 2_000_000_000


def time_bucket(column: ColumnElement[Any], grain: Grain) -> ColumnElement[dt.date]:
    if isinstance(column.type, sa.Date):
        stamp = sa.cast(column, sa.DateTime())
    else:
        stamp = sa.func.timezone(dates.UTC, column)
    return sa.cast(sa.func.date_trunc(GRAIN_SQL[grain], stamp), sa.Date)


def grouped_by(select: sa.Select, columns: list[Any]) -> sa.Select:
    """`select` grouped by `columns`, or as it is when there are none (one row)."""
    return select.group_by(*columns) if columns else select


@dataclass(frozen=True)
class Grouping:
    """The breakdowns over a relation: what to show, what to group by, where from."""

    shown: list[sa.Label[Any]]
    keys: list[sa.Label[Any]]
    source: sa.FromClause
    where: list[ColumnElement[bool]]

    @property
    def group_by(self) -> list[ColumnElement[Any]]:
        return [c.element for c in (*self.shown, *self.keys)]

    def select(self, *columns: ColumnElement[Any]) -> sa.Select:
        select = sa.select(*self.shown, *self.keys, *columns).select_from(self.source)
        return grouped_by(select.where(*self.where), self.group_by)


def _dimension(
    dimension: Dimension, table: sa.FromClause, time_column: str, grain: Grain | None,
    source: sa.FromClause,
) -> tuple[ColumnElement[Any], ColumnElement[Any] | None, sa.FromClause]:  # fmt: skip
    """(shown expression, hidden id key or None, source with any lookup joined)."""
    column = table.c[time_column if dimension.is_time else dimension.column]
    if dimension.is_time:
        assert grain is not None
        return time_bucket(column, grain), None, source
    if dimension.lookup is None:
        return column, None, source
    lookup = dimension.lookup.table.alias(f"lookup_{dimension.id}")
    source = source.outerjoin(
        lookup, sa.and_(lookup.c.tenant_id == table.c.tenant_id, lookup.c.id == column)
    )
    name = sa.func.coalesce(lookup.c[dimension.lookup.name_column], dimension.lookup.missing_label)
    return name, column, source


def _numeric(value: Any) -> ColumnElement[Any]:
    return sa.literal(value, sa.Numeric())


def _grouping(
    dataset: Dataset, definition: AggregateQuery, table: sa.FromClause, time_column: str,
    where: list[ColumnElement[bool]],
) -> Grouping:  # fmt: skip
    source = table
    shown, keys = [], []
    for ref in definition.dimensions:
        expr, key, source = _dimension(
            dataset.dimension(ref.id), table, time_column, ref.grain, source
        )
        shown.append(expr.label(ref.id))
        if key is not None:
            keys.append(key.label(f"{ref.id}__key"))
    where = list(where)
    for clause in definition.filters:
        spec = dataset.filter(clause.field)
        value = clause.value
        if spec.type is FieldType.NUMBER:  # compare as numeric: no value overflows the column
            value = [_numeric(v) for v in value] if isinstance(value, list) else _numeric(value)
        where.append(condition(table.c[spec.column], clause.op, value))
    return Grouping(shown, keys, source, where)


def _row_aggregate(dataset: Dataset, measure: Measure, table: sa.FromClause,
                   rolled: bool) -> ColumnElement[Any]:  # fmt: skip
    """The measure over base rows, or over daily-rollup rows when `rolled`."""
    if rolled and measure.agg is not Agg.RATIO:
        return daily.aggregate(measure, table)
    column = table.c[measure.column] if measure.column else None
    match measure.agg:
        case Agg.COUNT:
            return sa.func.count(column) if column is not None else sa.func.count()
        case Agg.COUNT_WHERE:
            return sa.func.count().filter(column == measure.where_value)
        case Agg.COUNT_DISTINCT:
            return sa.func.count(sa.distinct(column))
        case Agg.SUM:
            return sa.func.coalesce(sa.func.sum(column), 0)
        case Agg.AVG:
            return sa.func.avg(column)
        case Agg.P95:
            return sa.func.percentile_cont(PERCENTILE).within_group(column)
        case Agg.RATIO:
            assert measure.numerator and measure.denominator
            parts = (dataset.measure(measure.numerator), dataset.measure(measure.denominator))
            numerator, denominator = (_row_aggregate(dataset, p, table, rolled) for p in parts)
            return sa.cast(numerator, RATIO_TYPE) / sa.func.nullif(denominator, 0)
        case _:
            assert_never(measure.agg)


def _measures(dataset: Dataset, step: Step, table: sa.FromClause,
              rolled: bool) -> list[sa.Label[Any]]:  # fmt: skip
    return [
        _row_aggregate(dataset, dataset.measure(m), table, rolled).label(m) for m in step.measures
    ]


def rows(dataset: Dataset, definition: AggregateQuery, step: Step, start: dt.date,
         end: dt.date) -> sa.Select:  # fmt: skip
    table = dataset.table
    in_range = dates.in_range(table.c[dataset.time_column], start, end)
    grouping = _grouping(dataset, definition, table, dataset.time_column, [in_range])
    return grouping.select(*_measures(dataset, step, table, rolled=False))


def daily_rollup(dataset: Dataset, definition: AggregateQuery, step: Step, start: dt.date,
                 end: dt.date) -> sa.Select:  # fmt: skip
    table = daily.source(dataset, start, end)
    grouping = _grouping(dataset, definition, table, "day", [])
    return grouping.select(*_measures(dataset, step, table, rolled=True))


def _rolled(rollup: GroupedRollup, kept: frozenset[str], values: list[str], start: dt.date,
            end: dt.date) -> sa.Select:  # fmt: skip
    """The rollup's rows of the tenant at grouping set `kept`, for days before the watermark."""
    t = rollup.table
    groups = [t.c[g] for g in rollup.groups if g in kept]
    columns = [t.c.tenant_id, t.c.day, *groups, *(t.c[v] for v in values)]
    return sa.select(*columns).where(
        t.c.tenant_id == sa.func.hub_current_tenant(),
        t.c.grouping == rollup.grouping(kept),
        t.c.day.between(start, end),
        t.c.day < daily.through_day(),
    )


def _tail_where(dataset: Dataset, start: dt.date, end: dt.date) -> list[ColumnElement[bool]]:
    time = dataset.table.c[dataset.time_column]
    return [time >= daily.from_through(), dates.in_range(time, start, end)]


def _utc_day(dataset: Dataset) -> ColumnElement[dt.date]:
    return sa.cast(sa.func.timezone(dates.UTC, dataset.table.c[dataset.time_column]), sa.Date)


def _ids(dataset: Dataset, rollup: GroupedRollup, kept: frozenset[str], start: dt.date,
         end: dt.date) -> sa.Subquery:  # fmt: skip
    """The live tail's (tenant, day, kept columns, n): each row's id as a number. Text ids take
    their dense number, stamped on the row at insert or else looked up; one not numbered
    yet (first seen since the last refresh) takes a number from FRESH_NUMBERS on, so it is
    counted once and never as anyone else."""
    base = dataset.table
    kept_columns = [base.c[g] for g in rollup.groups if g in kept]
    where = _tail_where(dataset, start, end)
    if rollup.numbers is None:
        n = base.c[rollup.column]
        return (
            sa.select(base.c.tenant_id, _utc_day(dataset).label("day"), *kept_columns, n.label("n"))
            .where(*where)
            .subquery("tail_ids")
        )
    # A lateral lookup, so a tail row without a stamped number probes the numbering's
    # (tenant_id, customer_id) key once, and a stamped one not at all: the tail is a day
    # of rows, the numbering millions. Its LIMIT (the key is unique) keeps the planner
    # from turning it into a join over the whole numbering.
    numbers = rollup.numbers
    stamped = base.c[rollup.stamped] if rollup.stamped else sa.null()
    looked_up = (
        sa.select(numbers.c.n.label("known"))
        .where(numbers.c.tenant_id == base.c.tenant_id,
               numbers.c.customer_id == base.c[rollup.column], stamped.is_(None))
        .limit(1)
        .lateral("known")
    )  # fmt: skip
    known = sa.func.coalesce(stamped, looked_up.c.known)
    rows = (
        sa.select(base.c.tenant_id, _utc_day(dataset).label("day"), *kept_columns,
                  base.c[rollup.column].label("id"), known.label("known"))
        .select_from(base.outerjoin(looked_up, sa.true()))
        .where(*where)
        .subquery("tail_rows")
    )  # fmt: skip
    fresh = FRESH_NUMBERS + sa.func.dense_rank().over(
        partition_by=rows.c.known.is_(None), order_by=rows.c.id
    )
    groups = [rows.c[g] for g in rollup.groups if g in kept]
    n = sa.func.coalesce(rows.c.known, fresh)
    return sa.select(rows.c.tenant_id, rows.c.day, *groups, n.label("n")).subquery("tail_ids")


def _merged(dataset: Dataset, definition: AggregateQuery, step: Step, tail: sa.Select,
            key: str, value: str, merge: Callable[[Any], ColumnElement[Any]], start: dt.date,
            end: dt.date) -> tuple[sa.Subquery, list[Any]]:  # fmt: skip
    """The grouped rollup's days before the watermark and the live tail (rows of day, kept
    columns, `key`, `value`), merged per breakdown and `key` (an id block, a bucket) with
    `merge`: the subquery, and its breakdown columns."""
    assert step.rollup is not None
    rolled = _rolled(step.rollup, step.kept, [key, value], start, end)
    table = sa.union_all(rolled, tail).subquery(f"{step.source.name.lower()}_days")
    grouping = _grouping(dataset, definition, table, "day", [])
    merged = grouping.select(table.c[key], merge(table.c[value]).label(value))
    merged = merged.group_by(table.c[key]).subquery(f"{step.source.name.lower()}_merged")
    return merged, [merged.c[c.name] for c in (*grouping.shown, *grouping.keys)]


def bitmaps(dataset: Dataset, definition: AggregateQuery, step: Step, start: dt.date,
            end: dt.date) -> sa.Select:  # fmt: skip
    """Distinct ids: per breakdown and id block, bit_or of the days' bitmaps; then the set
    bits counted. Exactly count(DISTINCT …) on the rows."""
    rollup, kept = step.rollup, step.kept
    assert rollup is not None
    ids = _ids(dataset, rollup, kept, start, end)
    groups = [ids.c[g] for g in rollup.groups if g in kept]
    block = sa.cast(ids.c.n // BLOCK, sa.Integer).label("block")
    shift = sa.cast(ids.c.n % BLOCK, sa.Integer)
    bits = sa.func.bit_or(ONE_BIT.op(">>")(shift))
    tail = sa.select(ids.c.tenant_id, ids.c.day, *groups, block, bits)
    tail = tail.group_by(ids.c.tenant_id, ids.c.day, *groups, block)
    blocks, outer = _merged(dataset, definition, step, tail, "block", "bits", sa.func.bit_or,
                            start, end)  # fmt: skip
    count = sa.cast(sa.func.coalesce(sa.func.sum(sa.func.bit_count(blocks.c.bits)), 0),
                    sa.BigInteger)  # fmt: skip
    return grouped_by(sa.select(*outer, count.label(step.measures[0])), outer)


def histograms(dataset: Dataset, definition: AggregateQuery, step: Step, start: dt.date,
               end: dt.date) -> sa.Select:  # fmt: skip
    """The percentile as percentile_cont computes it (interpolating between the two
    values around rank 0.95 * (n - 1)), reading each value as its bucket's: within 1 %."""
    rollup, kept = step.rollup, step.kept
    assert rollup is not None
    base = dataset.table
    groups = [base.c[g] for g in rollup.groups if g in kept]
    bucket = sa.func.ins_duration_bucket(base.c[rollup.column]).label("bucket")
    tail = (
        sa.select(base.c.tenant_id, _utc_day(dataset).label("day"), *groups, bucket,
                  sa.func.count().label("row_count"))
        .where(*_tail_where(dataset, start, end), base.c[rollup.column].is_not(None))
        .group_by(base.c.tenant_id, _utc_day(dataset), *groups, bucket)
    )  # fmt: skip
    counts, outer = _merged(dataset, definition, step, tail, "bucket", "row_count",
                            sa.func.sum, start, end)  # fmt: skip
    running = sa.select(
        *outer,
        counts.c.bucket,
        sa.func.sum(counts.c.row_count)
        .over(partition_by=outer, order_by=counts.c.bucket).label("upto"),
        sa.func.sum(counts.c.row_count).over(partition_by=outer).label("total"),
    ).subquery("running")  # fmt: skip
    keys = [running.c[c.name] for c in outer]
    rank = PERCENTILE * (running.c.total - 1)

    def value_at(position: ColumnElement[Any]) -> ColumnElement[float]:
        first = sa.func.min(running.c.bucket).filter(running.c.upto > position)
        return sa.func.ins_bucket_value(first)

    low, high = value_at(sa.func.floor(rank)), value_at(sa.func.ceil(rank))
    fraction = sa.func.max(rank - sa.func.floor(rank))
    value = sa.cast(low + fraction * (high - low), sa.Float).label(step.measures[0])
    return grouped_by(sa.select(*keys, value), keys)


Builder = Callable[[Dataset, AggregateQuery, Step, dt.date, dt.date], sa.Select]
SOURCES: dict[Source, Builder] = {
    Source.ROWS: rows,
    Source.DAILY: daily_rollup,
    Source.BITMAPS: bitmaps,
    Source.HISTOGRAMS: histograms,
}
