"""The vocabulary of reports: enums, the registry's element types, and definitions.

Registry elements (Dataset, Measure, Dimension, Filter) are frozen dataclasses written
by hand in the dataset modules. A dataset declares its QueryKind; a report Definition is
the JSON a user sends, parsed by the frozen pydantic model of its dataset's kind
(extra="forbid"); `datasets.validate` parses it and checks it against the registry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictInt, StrictStr, Tag
from sqlalchemy.sql.elements import ColumnElement


class QueryKind(StrEnum):
    """What a dataset computes, and so the shape of its definitions: one code path each."""

    AGGREGATE = "aggregate"  # chosen measures over chosen breakdowns, filtered
    FUNNEL = "funnel"  # one flow's steps in order, with how many runs reached each


class MeasureType(StrEnum):
    """Drives formatting everywhere: screen, CSV, XLSX, email."""

    COUNT = "count"
    INTEGER = "integer"
    CURRENCY = "currency"
    RATIO = "ratio"
    DURATION = "duration"
    DECIMAL = "decimal"


class Agg(StrEnum):
    COUNT = "count"  # count(*)
    COUNT_WHERE = "count_where"  # count(*) FILTER (WHERE column = value)
    COUNT_DISTINCT = "count_distinct"
    SUM = "sum"
    AVG = "avg"
    P95 = "p95"  # percentile_cont(0.95)
    RATIO = "ratio"  # numerator measure / denominator measure, empty when 0


# Aggregations whose empty bucket is 0; the others are empty (NULL) when nothing matched.
ZERO_WHEN_EMPTY = frozenset({Agg.COUNT, Agg.COUNT_WHERE, Agg.COUNT_DISTINCT, Agg.SUM})
# Aggregations whose values over disjoint rows add up (distinct counts do not: one
# customer can convert on two goals).
ADDITIVE = frozenset({Agg.COUNT, Agg.COUNT_WHERE, Agg.SUM})


class Grain(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class FieldType(StrEnum):
    CATEGORY = "category"  # a closed or tenant-defined set of values
    NUMBER = "number"
    TEXT = "text"  # free text matched with contains


class Operator(StrEnum):
    EQ = "eq"
    NEQ = "neq"
    IN = "in"
    NOT_IN = "not_in"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    BETWEEN = "between"
    CONTAINS = "contains"


class Viz(StrEnum):
    LINE = "line"
    BAR = "bar"
    TABLE = "table"
    KPI = "kpi"
    PIE = "pie"
    FUNNEL = "funnel"


class Compare(StrEnum):
    """What a report's numbers are compared with (`datasets.compare`)."""

    PREVIOUS_PERIOD = "previous_period"  # the same length, immediately before
    PREVIOUS_YEAR = "previous_year"  # the same dates a year earlier (weeks: 52 weeks)


class Better(StrEnum):
    """Which way a measure's change is good news: colours its comparison, with words."""

    UP = "up"
    DOWN = "down"  # failed runs, durations, token spend
    NEITHER = "neither"  # runs in flight: more or fewer is no judgement


class Mode(StrEnum):
    PREVIEW = "preview"
    SAVED = "saved"
    EXPORT = "export"

    @property
    def row_cap(self) -> int:
        return ROW_CAPS[self]


ROW_CAPS = {Mode.PREVIEW: 200, Mode.SAVED: 500, Mode.EXPORT: 5000}


class Preset(StrEnum):
    TODAY = "today"
    YESTERDAY = "yesterday"
    D7 = "7d"
    D14 = "14d"
    D30 = "30d"
    D90 = "90d"
    D180 = "180d"
    D365 = "365d"
    MTD = "mtd"
    QTD = "qtd"
    YTD = "ytd"


class RowCount(StrEnum):
    """How a drill-down's count relates to the measure clicked (datasets.drill)."""

    ROWS = "rows"  # the measure counts these rows: the drill's count is the number clicked
    DISTINCT = "distinct"  # it counts distinct values of a column of them: so does the drill
    BEHIND = "behind"  # it sums, averages or divides them: the count is how many it reads


# ---- registry elements ---------------------------------------------------------------


@dataclass(frozen=True)
class MeasureRows:
    """The drill rows a measure is made of (its dataset's RowSource): those whose `column`
    (a base column, or a computed field) is set, or equals `value`; every row when
    `column` is None. DISTINCT counts the distinct values of `column`."""

    count: RowCount
    column: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class Measure:
    id: str
    label: str
    type: MeasureType
    agg: Agg
    description: str
    column: str | None = None  # the source column (not for COUNT / RATIO)
    where_value: str | None = None  # COUNT_WHERE: column = where_value
    numerator: str | None = None  # RATIO: ids of two other measures of the dataset
    denominator: str | None = None
    precision: int = 2  # DECIMAL places
    currency: str | None = None  # a fixed currency (token cost is USD)
    rows: MeasureRows | None = None  # what drill-down shows and counts (required: registry)
    better: Better = Better.UP  # whether a rise is good news (compared reports colour it)


@dataclass(frozen=True)
class Lookup:
    """Show a name for an id: join `table` on (tenant_id, id) and read `name_column`."""

    table: sa.Table
    name_column: str = "name"
    missing_label: str = "(none)"


@dataclass(frozen=True)
class Dimension:
    id: str
    label: str
    description: str
    column: str  # for time: the timestamptz or date column to bucket
    is_time: bool = False
    lookup: Lookup | None = None


@dataclass(frozen=True)
class Filter:
    field: str  # the id users send
    label: str
    type: FieldType
    column: str
    operators: frozenset[Operator]
    suggest: bool = False
    lookup: Lookup | None = None  # suggest names, filter by id
    value_kind: Literal["text", "int", "number"] = "text"


@dataclass(frozen=True)
class Column:
    """Typed metadata of one result column; drives formatting everywhere."""

    id: str
    label: str
    # A comparison column (`datasets.compare`) holds a measure's previous value (of the
    # measure's type) or its change ("change": a fraction, empty without a previous value).
    role: Literal["dimension", "measure", "comparison"]
    type: str  # a MeasureType value for measures; "time" or "category" for dimensions
    grain: Grain | None = None
    currency: str | None = None  # fixed currency of a currency measure
    currency_column: str | None = None  # or the column holding each row's currency
    precision: int = 2
    is_additive: bool = False  # rows of a measure add up to a meaningful total
    better: str = "up"  # a Better value: which way the measure's change is good news
    compares: str | None = None  # a comparison column: the measure it compares


@dataclass(frozen=True)
class OutputColumn:
    """A fixed result column of a kind that computes its own columns (the funnel)."""

    id: str
    label: str
    description: str
    role: Literal["dimension", "measure"]
    type: MeasureType | Literal["category"]
    rows: MeasureRows | None = None  # a measure's drill rows (the funnel: runs at the step)

    def column(self) -> Column:
        return Column(self.id, self.label, self.role, str(self.type))


@dataclass(frozen=True)
class GroupedRollup:
    """A per-day rollup of one column whose figure does not add up across days, kept for
    several grouping sets in one table (migration 0008): exact id bitmaps for a distinct
    count, or log-spaced duration histograms for a percentile. `groups` are the grouped
    columns in GROUPING() order; `sets` the grouping sets it keeps."""

    agg: Agg  # COUNT_DISTINCT (bitmaps) or P95 (histograms)
    column: str  # the base column it summarises
    table: sa.Table
    groups: tuple[str, ...]
    sets: tuple[frozenset[str], ...]
    numbers: sa.Table | None = None  # dense numbers of text ids (bitmaps of customers)
    # The base column holding a row's number when it was known at insert (else null).
    stamped: str | None = None

    def smallest_set(self, needed: frozenset[str]) -> frozenset[str] | None:
        """The smallest kept grouping set holding every needed column, if any."""
        fits = [s for s in self.sets if needed <= s]
        return min(fits, key=len) if fits else None

    def grouping(self, kept: frozenset[str]) -> int:
        """PostgreSQL's GROUPING() of `kept`: a bit per column left out, first column first."""
        width = len(self.groups)
        return sum(1 << (width - 1 - i) for i, g in enumerate(self.groups) if g not in kept)


@dataclass(frozen=True)
class RowField:
    """A column of drill-down rows besides the time and the dataset's breakdowns: a base
    column, or a value computed for each row (`expression`, e.g. a conversation's message
    count), shown as a measure type, as text ("category"), or as JSON text ("json")."""

    id: str
    label: str
    type: MeasureType | Literal["category", "json"]
    currency: str | None = None  # a fixed currency
    currency_column: str | None = None  # or the breakdown holding each row's currency
    expression: ColumnElement[Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class RowSource:
    """The base rows behind an aggregate dataset's numbers, which drill-down lists.

    `table` holds the dataset's breakdown and filter columns under the same names, and
    `time_column` puts a row in a UTC day (indexed with the tenant, so the newest rows of
    a bucket are one index range); rows sort newest first by it, then by `key`. Only rows
    whose `present` column is set count (tokens: the messages that recorded a total), and
    with `kept_days` only those of the last that many UTC days (what the rollup keeps).
    """

    noun: str  # what one row is, plural: "goal completions"
    table: sa.Table
    time_column: str
    fields: tuple[RowField, ...]
    key: str = "id"
    present: str | None = None
    kept_days: int | None = None

    def column(self, name: str) -> ColumnElement[Any]:
        """A base column of `table`, or the computed field of that id."""
        computed = {f.id: f.expression for f in self.fields if f.expression is not None}
        return computed[name] if name in computed else self.table.c[name]


def each_alone_and_none(groups: tuple[str, ...]) -> tuple[frozenset[str], ...]:
    """The grouping sets migration 0008 keeps: every column alone, and none."""
    return (*(frozenset({g}) for g in groups), frozenset())


@dataclass(frozen=True)
class Dataset:
    id: str
    label: str
    description: str
    table: sa.Table
    time_column: str
    measures: tuple[Measure, ...] = ()
    dimensions: tuple[Dimension, ...] = ()
    filters: tuple[Filter, ...] = ()
    leaf: str = "comerix.insights.analytics"
    # Currency measures without a fixed currency take each row's currency from this
    # dimension, or from a filter to exactly one value of the same field.
    currency_field: str | None = None
    kind: QueryKind = QueryKind.AGGREGATE
    # The result columns of a kind whose columns are fixed (the funnel: users pick no
    # measures); an aggregate's columns are the dimensions and measures a definition picks.
    outputs: tuple[OutputColumn, ...] = ()
    # The daily rollup that answers what it can (see datasets.daily), or None.
    daily: sa.Table | None = None
    # Rollups for the measures that do not add up across days (see datasets.plan).
    grouped: tuple[GroupedRollup, ...] = ()
    # The base rows drill-down lists (every aggregate dataset has them; see datasets.drill).
    drill: RowSource | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def measure(self, measure_id: str) -> Measure:
        return next(m for m in self.measures if m.id == measure_id)

    def dimension(self, dimension_id: str) -> Dimension:
        return next(d for d in self.dimensions if d.id == dimension_id)

    def filter(self, field_id: str) -> Filter:
        return next(f for f in self.filters if f.field == field_id)


# ---- definitions (user JSON) -----------------------------------------------------------

FROZEN = ConfigDict(frozen=True, extra="forbid")


class DimensionRef(BaseModel):
    model_config = FROZEN
    id: StrictStr
    grain: Grain | None = None


class FilterClause(BaseModel):
    model_config = FROZEN
    field: StrictStr
    op: Operator
    value: Any  # JSON; validate() checks it against the field's kind and the operator


class PresetRange(BaseModel):
    model_config = FROZEN
    preset: Preset


class ExplicitRange(BaseModel):
    model_config = FROZEN
    start: dt.date
    end: dt.date


def _range_form(value: Any) -> str:
    if isinstance(value, PresetRange) or (isinstance(value, dict) and "preset" in value):
        return "preset-range"
    return "explicit-range"


# A range is a preset when it names one, otherwise an explicit window: errors then speak
# of the form the user meant, not of both.
DateRange = Annotated[
    Annotated[PresetRange, Tag("preset-range")] | Annotated[ExplicitRange, Tag("explicit-range")],
    Discriminator(_range_form),
]


Measures = Annotated[list[StrictStr], Field(max_length=12)]
Dimensions = Annotated[list[DimensionRef], Field(max_length=3)]
Filters = Annotated[list[FilterClause], Field(max_length=20)]


class BaseQuery(BaseModel):
    """What a definition of every kind names: its dataset, date range and visualization.

    The JSON format is one object for all kinds (saved reports and templates keep it), so
    each kind's model also carries the other kind's keys, only to refuse them with a
    reason (`datasets.validate`): saved funnels carry empty measures, for instance.
    """

    model_config = FROZEN
    kind: ClassVar[QueryKind]
    dataset: StrictStr
    date_range: DateRange = PresetRange(preset=Preset.D30)
    viz: Viz = Viz.TABLE
    compare: Compare | None = None  # beside each measure, its value in an earlier window

    def json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class AggregateQuery(BaseQuery):
    """Measures over breakdowns (at most one of them time), filtered, in a date range."""

    kind: ClassVar[QueryKind] = QueryKind.AGGREGATE
    measures: Measures = []
    dimensions: Dimensions = []
    filters: Filters = []
    flow_id: StrictInt | None = None  # the funnel's key: refused


class FunnelQuery(BaseQuery):
    """The funnel of one flow in a date range; its columns are the dataset's outputs."""

    kind: ClassVar[QueryKind] = QueryKind.FUNNEL
    flow_id: StrictInt | None = None  # required: validate() says to choose a flow
    measures: Measures = []  # the aggregate's keys: refused unless empty
    dimensions: Dimensions = []
    filters: Filters = []


# A report definition: the model of its dataset's kind (`datasets.validate.DEFINITION`
# parses one). Dispatch on it with `match` and `assert_never`.
Definition = AggregateQuery | FunnelQuery
