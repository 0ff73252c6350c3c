"""compile_definition(definition, today) -> one SQLAlchemy select. Pure: no connection.

Identifiers come only from the registry (`table.c[...]`); user values are bound
parameters. One path per query kind: an aggregate is planned (`datasets.plan`: each
measure's source), each step built by its source (`datasets.sources`) and the steps
joined on the breakdowns, then with a time dimension gap-filled so every bucket appears;
a funnel is `datasets.funnel.compile_funnel` with the dataset's outputs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, assert_never

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from datasets import dates
from datasets.funnel import compile_funnel
from datasets.model import (
    ADDITIVE,
    ZERO_WHEN_EMPTY,
    Agg,
    AggregateQuery,
    Column,
    Dataset,
    Definition,
    FunnelQuery,
    Grain,
    Measure,
    MeasureType,
)
from datasets.plan import Plan, Source, Step, plan
from datasets.registry import DATASETS
from datasets.sources import RATIO_TYPE, SOURCES, grouped_by
from datasets.validate import single_value

WINDOW, POSITION = "window__", "position__"  # the tags of Compiled.numbered rows
STEP_SQL = {g: sa.literal_column(f"interval '1 {g.value}'") for g in Grain}


@dataclass(frozen=True)
class Compiled:
    unordered: sa.Select
    order: tuple[ColumnElement[Any], ...]
    columns: tuple[Column, ...]
    start: dt.date
    end: dt.date
    # A time series is selected newest bucket first, so a row cap keeps the latest
    # periods; the runner turns the kept rows back into time order.
    newest_first: bool = False

    @property
    def select(self) -> sa.Select:
        return self.unordered.order_by(*self.order)

    def numbered(self, window: int, limit: int) -> sa.Select:
        """The first `limit` rows, each with `window` and its position in the order
        (WINDOW, POSITION): several windows then run as one statement, each kept whole."""
        tags = (sa.literal(window).label(WINDOW),
                sa.func.row_number().over(order_by=self.order).label(POSITION))  # fmt: skip
        return self.select.add_columns(*tags).limit(limit)


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


def result_columns(dataset: Dataset, definition: AggregateQuery) -> tuple[Column, ...]:
    """The typed columns of the definition's result (breakdowns, then measures), as the
    formatter needs them; also for numbers shown beside a result, such as an alert's."""
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
                better=m.better.value,
                **_currency_of(dataset, definition, m),
            )
        )
    return tuple(columns)


# The SQL type of each aggregation's column, so the steps of a plan line up in one union.
SQL_TYPE: dict[Agg, sa.types.TypeEngine[Any]] = {
    Agg.COUNT: sa.BigInteger(), Agg.COUNT_WHERE: sa.BigInteger(),
    Agg.COUNT_DISTINCT: sa.BigInteger(), Agg.SUM: sa.Numeric(), Agg.AVG: sa.Numeric(),
    Agg.P95: sa.Float(), Agg.RATIO: RATIO_TYPE,
}  # fmt: skip


def _aggregated(
    dataset: Dataset, definition: AggregateQuery, start: dt.date, end: dt.date, plan: Plan
) -> tuple[sa.Select, list[str]]:
    """GROUP BY select of dimensions (by id), hidden lookup keys and measures (by id): one
    select per step of the plan, and with several steps their union, one row per group."""
    selects = [SOURCES[step.source](dataset, definition, step, start, end) for step in plan.steps]
    groups = [c.name for c in selects[0].selected_columns if c.name not in definition.measures]
    keys = [g for g in groups if g.endswith("__key")]
    if len(selects) == 1:
        return selects[0], keys
    parts = []
    for step, select in zip(plan.steps, selects, strict=True):
        sub = select.subquery()
        values = [
            sa.cast(sub.c[m] if m in step.measures else sa.null(),
                    SQL_TYPE[dataset.measure(m).agg]).label(m)
            for m in definition.measures
        ]  # fmt: skip
        parts.append(sa.select(*(sub.c[g] for g in groups), *values))
    union = sa.union_all(*parts).subquery("steps")
    grouped = [union.c[g] for g in groups]
    measures = [sa.func.max(union.c[m]).label(m) for m in definition.measures]
    return grouped_by(sa.select(*grouped, *measures), grouped), keys


def _gap_filled(
    dataset: Dataset, definition: AggregateQuery, agg: sa.Select, keys: list[str],
    start: dt.date, end: dt.date,
) -> tuple[sa.Select, tuple[ColumnElement[Any], ...]]:  # fmt: skip
    grain = next(r.grain for r in definition.dimensions if r.id == "time")
    assert grain is not None
    rows = agg.cte("agg", nesting=True)
    first = dates.bucket_start(start, grain)
    last = dates.bucket_start(end, grain)
    series = sa.select(
        sa.cast(
            sa.func.generate_series(
                sa.cast(first, sa.DateTime()), sa.cast(last, sa.DateTime()), STEP_SQL[grain]
            ),
            sa.Date,
        ).label("time")
    ).cte("series", nesting=True)
    others = [r.id for r in definition.dimensions if r.id != "time"] + keys
    source: sa.FromClause = series
    match_on = [rows.c.time == series.c.time]
    shown_others: dict[str, ColumnElement[Any]] = {}
    if others:
        combos = sa.select(*(rows.c[o] for o in others)).distinct().cte("combos", nesting=True)
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
    others_desc = [shown_others[r.id].desc() for r in definition.dimensions if r.id != "time"]
    return sa.select(*out).select_from(source), (series.c.time.desc(), *others_desc)


def _aggregate_select(
    dataset: Dataset, definition: AggregateQuery, start: dt.date, end: dt.date, plan: Plan
) -> tuple[sa.Select, tuple[ColumnElement[Any], ...]]:
    agg, keys = _aggregated(dataset, definition, start, end, plan)
    if any(r.id == "time" for r in definition.dimensions):
        return _gap_filled(dataset, definition, agg, keys, start, end)
    shown = [c.id for c in result_columns(dataset, definition)]
    visible = agg.with_only_columns(*(agg.selected_columns[c] for c in shown))
    first = agg.selected_columns[definition.measures[0]]
    dims = [agg.selected_columns[r.id] for r in definition.dimensions]
    return visible, (first.desc().nulls_last(), *dims)


def compile_rows(
    dataset: Dataset, definition: AggregateQuery, start: dt.date, end: dt.date
) -> sa.Select:
    """The base rows `definition` reads in [start, end] under its filters, ungrouped, with
    each of its dimensions' values as a column (by id, shown as in its result: a lookup's
    name). `dataset` reads them from its table (drill-down passes the definition's
    dataset over its drill rows). Pure, like compile_definition."""
    step = Step(Source.ROWS, dataset.table, ())
    return SOURCES[Source.ROWS](dataset, definition, step, start, end).group_by(None)


def compile_definition(
    definition: Definition, *, today: dt.date, rows_only: bool = False
) -> Compiled:
    """The select for a definition that passed validate(); same input, same SQL.
    `rows_only` reads every measure from the base rows (datasets.plan)."""
    dataset = DATASETS[definition.dataset]
    start, end = dates.resolve(definition.date_range, today)
    match definition:
        case AggregateQuery():
            chosen = plan(dataset, definition, rows_only=rows_only)
            select, order = _aggregate_select(dataset, definition, start, end, chosen)
            columns = result_columns(dataset, definition)
        case FunnelQuery():
            assert definition.flow_id is not None, "validate() requires the funnel's flow"
            select, order = compile_funnel(definition.flow_id, start, end)
            columns = tuple(output.column() for output in dataset.outputs)
        case _:
            assert_never(definition)
    newest_first = isinstance(definition, AggregateQuery) and any(
        r.id == "time" for r in definition.dimensions
    )
    return Compiled(select, order, columns, start, end, newest_first)
