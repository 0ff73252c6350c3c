"""drill(definition, bucket, *, user) -> Drill: the base rows behind one number.

A bucket is one clicked point of a report's result (`datasets.bucket`), checked against
the definition before any query. Then it becomes more of the definition, never SQL: the
time bucket narrows the date range to its days within the report's, and each breakdown
value is an equality on that breakdown's shown value (`operators.condition`), on top of
the report's own filters. The rows are compiled by the semantic layer
(`compile.compile_rows`) over the dataset's drill rows (`Dataset.drill`), and the
measure's declared rows (`Measure.rows`) say which of them it is made of and how the
count relates to the number clicked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, assert_never
from urllib.parse import urlencode

import pandas as pd
import sqlalchemy as sa
from psycopg.errors import QueryCanceled
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.elements import ColumnElement

import permissions
from access import HubUser
from datasets.bucket import Bucket, Point, aggregate_point, funnel_point
from datasets.compile import compile_rows
from datasets.formatting import format_rows
from datasets.funnel import step_label
from datasets.model import (
    AggregateQuery,
    Column,
    Dataset,
    Definition,
    DimensionRef,
    ExplicitRange,
    FilterClause,
    FunnelQuery,
    MeasureRows,
    Operator,
    RowCount,
    RowField,
    RowSource,
)
from datasets.operators import MAX_LIST_VALUES, condition
from datasets.registry import DATASETS
from datasets.run import STATEMENT_TIMEOUT_MS
from datasets.validate import single_value, validate
from db import engines
from db import schema as s
from db.tenancy import tenant_transaction
from errors import BadBucket, ReportTimeout, echo

ROW_CAP = 200  # the side panel's rows; the count covers all of them
EXPLORER = "/admin/insights/events"
FUNNEL_RUNS = "flow_runs"  # a funnel counts flow runs: a step drills into their rows


@dataclass(frozen=True)
class Drill:
    """The rows behind a clicked number: `count` of them all (for a distinct count, the
    distinct values; RowCount.BEHIND: the rows a sum, average or rate is computed from),
    the newest ROW_CAP formatted for display, and where to open them all."""

    dataset: str
    measure: str
    noun: str  # what a row is: "goal completions"
    counts: RowCount  # how `count` relates to the number clicked
    count: int
    row_count: int  # the rows themselves (differs from `count` for a distinct count)
    columns: tuple[Column, ...]
    rows: list[list[str]]  # newest first, at most ROW_CAP, formatted like the screen
    truncated: bool
    start: dt.date  # the days the rows are from (inclusive, UTC)
    end: dt.date
    # The report's definition with the bucket as filters and days (JSON), to open as a
    # report; None for a funnel step (no report holds just the runs that reached a step).
    report: dict[str, Any] | None
    explorer_url: str | None  # the same events in the Event Explorer (telemetry only)

    @property
    def summary(self) -> str:
        """What the count is, in words: "37 runs", "12 distinct, in 40 goal completions"."""
        match self.counts:
            case RowCount.ROWS:
                return f"{self.count:,} {self.noun}"
            case RowCount.DISTINCT:
                return f"{self.count:,} distinct, in {self.row_count:,} {self.noun}"
            case RowCount.BEHIND:
                return f"computed from {self.count:,} {self.noun}"
            case _:
                assert_never(self.counts)

    def to_json(self) -> dict[str, Any]:
        """What a side panel shows, JSON-ready (a dcc.Store, an HTTP answer)."""
        return {
            "dataset": self.dataset, "measure": self.measure, "counts": self.counts.value,
            "count": self.count, "row_count": self.row_count, "summary": self.summary,
            "columns": [{"id": c.id, "label": c.label, "type": c.type} for c in self.columns],
            "rows": self.rows, "truncated": self.truncated,
            "range": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "report": self.report, "explorer_url": self.explorer_url,
        }  # fmt: skip


def _is_made_of(rows: MeasureRows, source: RowSource) -> list[ColumnElement[bool]]:
    if rows.column is None:
        return []
    column = source.column(rows.column)
    return [column.is_not(None) if rows.value is None else column == rows.value]


def _shown(field: RowField, value: Any) -> Any:
    """A drill field's value as the formatter takes it: JSON as its text."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False) if field.type == "json" else value


def _field_column(field: RowField) -> Column:
    if field.type in ("category", "json"):
        return Column(field.id, field.label, "dimension", "category")
    return Column(field.id, field.label, "measure", field.type.value, currency=field.currency,
                  currency_column=field.currency_column)  # fmt: skip


def _columns(dataset: Dataset, source: RowSource) -> tuple[Column, ...]:
    """The rows' columns: the time, every breakdown of the dataset, the source's fields."""
    time = dataset.dimension("time")
    breakdowns = [d for d in dataset.dimensions if not d.is_time]
    return (
        Column("time", time.label, "dimension", "category"),
        *(Column(d.id, d.label, "dimension", "category") for d in breakdowns),
        *(_field_column(f) for f in source.fields),
    )


def _report(conn: Connection, dataset: Dataset, definition: AggregateQuery,
            point: Point) -> dict[str, Any]:  # fmt: skip
    """The report narrowed to the bucket's days, with a filter for each breakdown value a
    filter can name (a lookup's name becomes its ids); the others stay breakdowns only."""
    filters = list(definition.filters)
    fields = {f.field: f for f in dataset.filters}
    for dimension_id, value in point.values.items():
        spec, lookup = fields.get(dimension_id), dataset.dimension(dimension_id).lookup
        if value is None or spec is None:
            continue
        if lookup is None:
            filters.append(FilterClause(field=spec.field, op=Operator.EQ, value=value))
            continue
        names = lookup.table
        ids = conn.scalars(
            sa.select(names.c.id).where(names.c[lookup.name_column] == value)
            .order_by(names.c.id).limit(MAX_LIST_VALUES)
        ).all()  # fmt: skip
        if ids:
            filters.append(FilterClause(field=spec.field, op=Operator.IN, value=list(ids)))
    days = ExplicitRange(start=point.start, end=point.end)
    narrowed = definition.model_copy(update={"filters": filters, "date_range": days})
    return validate(narrowed.json_dict()).json_dict()


def _explorer_url(definition: AggregateQuery, point: Point) -> str | None:
    """The Event Explorer's URL for exactly these events, when its filters can say it (one
    exact event name at most: a 'contains' or several names cannot)."""
    names = {point.values["event_name"]} if "event_name" in point.values else set()
    for clause in definition.filters:
        name = single_value([clause], "event_name")
        if name is None:
            return None
        names.add(str(name))
    if len(names) > 1 or None in names:
        return None
    query = {"start": point.start.isoformat(), "end": point.end.isoformat()}
    if names:
        query["event"] = str(names.pop())
    return f"{EXPLORER}?{urlencode(query)}"


@dataclass(frozen=True)
class _Listing:
    noun: str
    count: int
    row_count: int
    columns: tuple[Column, ...]
    rows: list[list[str]]
    truncated: bool

    def drill(self, dataset: Dataset, point: Point, report: dict[str, Any] | None,
              explorer_url: str | None) -> Drill:  # fmt: skip
        return Drill(
            dataset=dataset.id, measure=point.measure, noun=self.noun,
            counts=point.made_of.count, count=self.count, row_count=self.row_count,
            columns=self.columns, rows=self.rows, truncated=self.truncated, start=point.start,
            end=point.end, report=report, explorer_url=explorer_url,
        )  # fmt: skip


def _listed(conn: Connection, dataset: Dataset, definition: AggregateQuery, point: Point,
            today: dt.date, also: list[ColumnElement[bool]]) -> _Listing:  # fmt: skip
    """The dataset's drill rows in the point's days under the definition's filters, the
    point's breakdown values and `also`: counted, and the newest ROW_CAP formatted."""
    source = dataset.drill
    assert source is not None, "the registry checks that every aggregate declares its rows"
    start = point.start
    if source.kept_days is not None:
        start = max(start, today - dt.timedelta(days=source.kept_days - 1))
    # Every breakdown of the dataset is a column of the rows (more than a report may pick:
    # this definition is only compiled, never stored); the clicked ones are also filters.
    every = [DimensionRef(id=d.id) for d in dataset.dimensions if not d.is_time]
    widened = definition.model_copy(update={"dimensions": every})
    over_rows = dataclasses.replace(dataset, table=source.table, time_column=source.time_column)
    rows = compile_rows(over_rows, widened, start, point.end)
    table = source.table
    where = (
        _is_made_of(point.made_of, source)
        + also
        + [condition(rows.selected_columns[d], Operator.EQ, v) for d, v in point.values.items()]
    )
    if source.present is not None:
        where.append(table.c[source.present].is_not(None))
    rows = rows.where(*where)
    distinct = (
        sa.func.count(sa.distinct(source.column(str(point.made_of.column))))
        if point.made_of.count is RowCount.DISTINCT
        else sa.func.count()
    )
    row_count, count = conn.execute(rows.with_only_columns(sa.func.count(), distinct)).one()
    time = table.c[source.time_column]
    shown = rows.with_only_columns(
        time, *(rows.selected_columns[d.id] for d in every),
        *(source.column(f.id) for f in source.fields),
    ).order_by(time.desc(), table.c[source.key].desc()).limit(ROW_CAP + 1)  # fmt: skip
    found = conn.execute(shown).all()
    columns = _columns(dataset, source)
    frame = pd.DataFrame(
        [
            [f"{row[0].astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC", *row[1 : 1 + len(every)],
             *(_shown(f, v) for f, v in zip(source.fields, row[1 + len(every):], strict=True))]
            for row in found[:ROW_CAP]
        ],
        columns=[c.id for c in columns],
        dtype=object,
    )  # fmt: skip
    return _Listing(source.noun, count, row_count, columns, format_rows(frame, columns),
                    len(found) > ROW_CAP)  # fmt: skip


def _step_runs(conn: Connection, definition: FunnelQuery,
               step: str) -> tuple[AggregateQuery, list[ColumnElement[bool]]]:  # fmt: skip
    """The funnel's runs as a Flow runs definition (its flow, its days) and the condition
    that a run reached `step`; BadBucket when the flow has no such step."""
    steps, reached, runs = s.flow_steps, s.execution_steps, s.executions
    step_id = conn.scalar(
        sa.select(steps.c.id).where(steps.c.flow_id == definition.flow_id,
                                    step_label(steps) == step)
    )  # fmt: skip
    if step_id is None:
        raise BadBucket([("values.step", f"'{echo(step)}' is not a step of this flow")])
    of_flow = validate({
        "dataset": FUNNEL_RUNS, "measures": ["total_runs"],
        "filters": [{"field": "flow", "op": "eq", "value": definition.flow_id}],
        "date_range": definition.date_range.model_dump(mode="json"),
    })  # fmt: skip
    assert isinstance(of_flow, AggregateQuery)
    at_step = sa.exists().where(
        reached.c.tenant_id == runs.c.tenant_id, reached.c.execution_id == runs.c.id,
        reached.c.step_id == step_id,
    )  # fmt: skip
    return of_flow, [at_step]


def _aggregate_drill(dataset: Dataset, definition: AggregateQuery, point: Point,
                     today: dt.date, conn: Connection) -> Drill:  # fmt: skip
    listing = _listed(conn, dataset, definition, point, today, [])
    source = dataset.drill
    is_events = source is not None and source.table is s.telemetry_events
    explorer_url = _explorer_url(definition, point) if is_events else None
    return listing.drill(dataset, point, _report(conn, dataset, definition, point), explorer_url)


def _step_drill(funnel: Dataset, definition: FunnelQuery, point: Point, step: str,
                today: dt.date, conn: Connection) -> Drill:  # fmt: skip
    of_flow, at_step = _step_runs(conn, definition, step)
    listing = _listed(conn, DATASETS[FUNNEL_RUNS], of_flow, point, today, at_step)
    return listing.drill(funnel, point, None, None)


def drill(
    definition: Definition,
    bucket: Bucket,
    *,
    user: HubUser,
    today: dt.date | None = None,
    engine: Engine | None = None,
    statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
) -> Drill:
    """The rows behind `bucket` of a validated definition, for `user`'s tenant (web role:
    row-level security applies) as of `today` (UTC; by default now). Forbidden unless the
    user may read the dataset (the telemetry leaf for events); BadBucket for a bucket that
    does not fit the definition, before any query (a funnel step the flow lacks: after
    looking for it)."""
    permissions.require_dataset(user, definition.dataset)
    dataset = DATASETS[definition.dataset]
    today = today or dt.datetime.now(dt.UTC).date()
    read: Callable[[Connection], Drill]
    match definition:
        case AggregateQuery():
            point = aggregate_point(dataset, definition, bucket, today)
            read = functools.partial(_aggregate_drill, dataset, definition, point, today)
        case FunnelQuery():
            point, step = funnel_point(dataset, definition, bucket, today)
            read = functools.partial(_step_drill, dataset, definition, point, step, today)
        case _:
            assert_never(definition)
    engine = engine if engine is not None else engines.default().web
    try:
        with tenant_transaction(
            engine, tenant_id=user.tenant_id, statement_timeout_ms=statement_timeout_ms
        ) as conn:
            return read(conn)
    except OperationalError as exc:
        if isinstance(exc.orig, QueryCanceled):
            raise ReportTimeout(statement_timeout_ms / 1000) from exc
        raise
