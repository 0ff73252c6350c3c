"""compile_definition(definition, today) -> one SQLAlchemy select. Pure: no connection.

Identifiers come only from the registry (`table.c[...]`); user values are bound
parameters. One path per query kind: an aggregate is built as a pipeline (source and
lookups, range and filters, aggregates, then with a time dimension gap-filling so every
bucket appears); a funnel is `datasets.funnel.compile_funnel` with the dataset's outputs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, assert_never

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from datasets import daily, dates
from datasets.funnel import compile_funnel
from datasets.model import (
    ADDITIVE,
    ZERO_WHEN_EMPTY,
    Agg,
    AggregateQuery,
    Column,
    Dataset,
    Definition,
    Dimension,
    FieldType,
    FunnelQuery,
    Grain,
    Measure,
    MeasureType,
)
from datasets.operators import condition
from datasets.registry import DATASETS
from datasets.validate import single_value

# Enum members rendered as SQL literals, so the same bucket expression can appear in
# SELECT and GROUP BY (a bound parameter in each would be two different expressions).
GRAIN_SQL = {g: sa.literal_column(f"'{g.value}'") for g in Grain}
STEP_SQL = {g: sa.literal_column(f"interval '1 {g.value}'") for g in Grain}
RATIO_TYPE = sa.Numeric(30, 10)


@dataclass(frozen=True)
class Compiled:
    select: sa.Select
    columns: tuple[Column, ...]
    start: dt.date
    end: dt.date


def _time_bucket(column: ColumnElement[Any], grain: Grain) -> ColumnElement[dt.date]:
    if isinstance(column.type, sa.Date):
        stamp = sa.cast(column, sa.DateTime())
    else:
        stamp = sa.func.timezone(dates.UTC, column)
    return sa.cast(sa.func.date_trunc(GRAIN_SQL[grain], stamp), sa.Date)


def _aggregate(
    dataset: Dataset, measure: Measure, table: sa.FromClause, is_daily: bool
) -> ColumnElement[Any]:
    if is_daily and measure.agg is not Agg.RATIO:
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
            return sa.func.percentile_cont(0.95).within_group(column)
        case Agg.RATIO:
            assert measure.numerator and measure.denominator
            numerator = _aggregate(dataset, dataset.measure(measure.numerator), table, is_daily)
            denominator = _aggregate(dataset, dataset.measure(measure.denominator), table, is_daily)
            return sa.cast(numerator, RATIO_TYPE) / sa.func.nullif(denominator, 0)
        case _:
            assert_never(measure.agg)


def _currency_of(dataset: Dataset, definition: AggregateQuery, measure: Measure) -> dict[str, str]:
    if measure.type is not MeasureType.CURRENCY:
        return {}
    if measure.currency:
        return {"currency": measure.currency}
    field = dataset.currency_field
    if any(r.id == field for r in definition.dimensions):
        return {"currency_column": field}
    value = single_value(definition.filters, str(field))
    assert value is not None, "validate() guarantees a currency for currency measures"
    return {"currency": str(value)}


def _columns(dataset: Dataset, definition: AggregateQuery) -> tuple[Column, ...]:
    columns = []
    for ref in definition.dimensions:
        d = dataset.dimension(ref.id)
        kind = "time" if d.is_time else "category"
        columns.append(Column(d.id, d.label, "dimension", kind, grain=ref.grain))
    for measure_id in definition.measures:
        m = dataset.measure(measure_id)
        columns.append(
            Column(
                m.id,
                m.label,
                "measure",
                m.type.value,
                precision=m.precision,
                is_additive=m.agg in ADDITIVE,
                **_currency_of(dataset, definition, m),
            )
        )
    return tuple(columns)


def _dimension_expr(
    dimension: Dimension,
    table: sa.FromClause,
    time_column: str,
    grain: Grain | None,
    source: sa.FromClause,
) -> tuple[ColumnElement[Any], ColumnElement[Any] | None, sa.FromClause]:
    """(shown expression, hidden id key or None, source with any lookup joined)."""
    column = table.c[time_column if dimension.is_time else dimension.column]
    if dimension.is_time:
        assert grain is not None
        return _time_bucket(column, grain), None, source
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


def _aggregated(
    dataset: Dataset, definition: AggregateQuery, start: dt.date, end: dt.date
) -> tuple[sa.Select, list[str]]:
    """GROUP BY select of dimensions (by id), hidden lookup keys and measures (by id),
    over the daily rollup and live tail when they can answer, else over the base rows."""
    is_daily = daily.answers(dataset, definition)
    table: sa.FromClause
    if is_daily:
        table, time_column, where = daily.source(dataset, start, end), "day", []
    else:
        table, time_column = dataset.table, dataset.time_column
        where = [dates.in_range(table.c[time_column], start, end)]
    source = table
    shown, keys = [], []
    for ref in definition.dimensions:
        expr, key, source = _dimension_expr(
            dataset.dimension(ref.id), table, time_column, ref.grain, source
        )
        shown.append(expr.label(ref.id))
        if key is not None:
            keys.append(key.label(f"{ref.id}__key"))
    measures = [
        _aggregate(dataset, dataset.measure(m), table, is_daily).label(m)
        for m in definition.measures
    ]
    for clause in definition.filters:
        spec = dataset.filter(clause.field)
        value = clause.value
        if spec.type is FieldType.NUMBER:  # compare as numeric: no value overflows the column
            value = [_numeric(v) for v in value] if isinstance(value, list) else _numeric(value)
        where.append(condition(table.c[spec.column], clause.op, value))
    select = sa.select(*shown, *keys, *measures).select_from(source).where(*where)
    group = [c.element for c in (*shown, *keys)]
    if group:
        select = select.group_by(*group)
    return select, [k.name for k in keys]


def _gap_filled(
    dataset: Dataset, definition: AggregateQuery, agg: sa.Select, keys: list[str],
    start: dt.date, end: dt.date,
) -> sa.Select:  # fmt: skip
    grain = next(r.grain for r in definition.dimensions if r.id == "time")
    assert grain is not None
    rows = agg.cte("agg")
    first = dates.bucket_start(start, grain)
    last = dates.bucket_start(end, grain)
    series = sa.select(
        sa.cast(
            sa.func.generate_series(
                sa.cast(first, sa.DateTime()), sa.cast(last, sa.DateTime()), STEP_SQL[grain]
            ),
            sa.Date,
        ).label("time")
    ).cte("series")
    others = [r.id for r in definition.dimensions if r.id != "time"] + keys
    source: sa.FromClause = series
    match_on = [rows.c.time == series.c.time]
    shown_others: dict[str, ColumnElement[Any]] = {}
    if others:
        combos = sa.select(*(rows.c[o] for o in others)).distinct().cte("combos")
        source = source.join(combos, sa.true())
        match_on += [rows.c[o].is_not_distinct_from(combos.c[o]) for o in others]
        shown_others = {o: combos.c[o] for o in others}
    source = source.outerjoin(rows, sa.and_(*match_on))
    out: list[ColumnElement[Any]] = []
    for ref in definition.dimensions:
        out.append(series.c.time if ref.id == "time" else shown_others[ref.id].label(ref.id))
    for m in definition.measures:
        value = rows.c[m]
        if dataset.measure(m).agg in ZERO_WHEN_EMPTY:
            value = sa.func.coalesce(value, 0)
        out.append(value.label(m))
    order = [series.c.time, *(shown_others[r.id] for r in definition.dimensions
                              if r.id != "time")]  # fmt: skip
    return sa.select(*out).select_from(source).order_by(*order)


def _aggregate_select(
    dataset: Dataset, definition: AggregateQuery, start: dt.date, end: dt.date
) -> sa.Select:
    agg, keys = _aggregated(dataset, definition, start, end)
    if any(r.id == "time" for r in definition.dimensions):
        return _gap_filled(dataset, definition, agg, keys, start, end)
    shown = [c.id for c in _columns(dataset, definition)]
    visible = agg.with_only_columns(*(agg.selected_columns[c] for c in shown))
    first = agg.selected_columns[definition.measures[0]]
    dims = [agg.selected_columns[r.id] for r in definition.dimensions]
    return visible.order_by(first.desc().nulls_last(), *dims)


def compile_definition(definition: Definition, *, today: dt.date) -> Compiled:
    """The select for a definition that passed validate(); same input, same SQL."""
    dataset = DATASETS[definition.dataset]
    start, end = dates.resolve(definition.date_range, today)
    match definition:
        case AggregateQuery():
            select = _aggregate_select(dataset, definition, start, end)
            columns = _columns(dataset, definition)
        case FunnelQuery():
            assert definition.flow_id is not None, "validate() requires the funnel's flow"
            select = compile_funnel(definition.flow_id, start, end)
            columns = tuple(output.column() for output in dataset.outputs)
        case _:
            assert_never(definition)
    return Compiled(select, columns, start, end)
