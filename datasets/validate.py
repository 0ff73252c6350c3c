"""validate(json) -> Definition: every check against the registry, before any query.

Each problem is reported with the JSON path of the bad field (`measures[1]`,
`filters[0].value`, `date_range.end`) and why; all problems are reported at once.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, assert_never

from pydantic import (
    Discriminator,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from datasets.dates import MAX_RANGE_DAYS
from datasets.model import (
    AggregateQuery,
    BaseQuery,
    Dataset,
    Definition,
    DimensionRef,
    ExplicitRange,
    FilterClause,
    FunnelQuery,
    Grain,
    MeasureType,
    Operator,
    QueryKind,
    Viz,
)
from datasets.operators import LIST_OPERATORS, MAX_LIST_VALUES
from datasets.registry import DATASETS
from errors import BadDefinition, echo

Issues = list[tuple[str, str]]
MAX_TEXT = 200
UNION_TAGS = frozenset({"preset-range", "explicit-range"})  # the tags of the date_range union
# Range limits of values, so no user value can overflow a database type.
MAX_ID = 2**63 - 1
MAX_NUMBER = 1e15
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)
FUNNEL_VIZ = frozenset({Viz.FUNNEL, Viz.BAR, Viz.TABLE})


def _kind_of(raw: Any) -> str:
    """The tag of the model that parses `raw`: its dataset's kind. A definition naming no
    known dataset parses as an aggregate, and is then refused for its dataset."""
    if isinstance(raw, BaseQuery):
        return raw.kind.value
    dataset_id = raw.get("dataset") if isinstance(raw, dict) else None
    dataset = DATASETS.get(dataset_id) if isinstance(dataset_id, str) else None
    return (dataset.kind if dataset is not None else QueryKind.AGGREGATE).value


def _an_object(raw: Any, parse: ValidatorFunctionWrapHandler) -> Any:
    """A definition of any kind is an object: anything else is refused as not one."""
    if not isinstance(raw, dict | BaseQuery):
        raise PydanticCustomError(
            "model_type",
            "Input should be a valid dictionary or instance of {class_name}",
            {"class_name": "Definition"},
        )
    return parse(raw)


# Parses a definition (a dict, or JSON with validate_json) as the model of its kind.
DEFINITION: TypeAdapter[Definition] = TypeAdapter(
    Annotated[
        Annotated[AggregateQuery, Tag(QueryKind.AGGREGATE.value)]
        | Annotated[FunnelQuery, Tag(QueryKind.FUNNEL.value)],
        Discriminator(_kind_of),
        WrapValidator(_an_object),
    ]
)


def _path(loc: tuple[str | int, ...]) -> str:
    """The JSON path of a pydantic error (its first part names the kind's model, not a key)."""
    path = ""
    for part in loc[1:]:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in UNION_TAGS or "[" in part:
            continue  # pydantic's name for a union member, not a JSON key
        else:
            path += f".{echo(part)}" if path else echo(part)
    return path or "(definition)"


def is_clean_text(text: str) -> bool:
    """No NUL and no lone surrogate: text PostgreSQL can store and compare."""
    return "\x00" not in text and not any("\ud800" <= c <= "\udfff" for c in text)


def _one_of(values: Any) -> str:
    return ", ".join(sorted(str(v) for v in values))


def _check_value(f_path: str, clause: FilterClause, kind: str) -> Issues:
    value, op = clause.value, clause.op
    path = f"{f_path}.value"

    def fits(item: Any) -> bool:
        if kind == "int":
            return isinstance(item, int) and not isinstance(item, bool) and 0 < item <= MAX_ID
        if kind == "number":
            return (
                isinstance(item, int | float)
                and not isinstance(item, bool)
                and math.isfinite(item)
                and abs(item) <= MAX_NUMBER
            )
        return isinstance(item, str) and 0 < len(item) <= MAX_TEXT and is_clean_text(item)

    expected = {
        "int": "an id (integer)",
        "number": f"a number (at most ±{MAX_NUMBER:,.0f})",
        "text": f"a non-empty text (at most {MAX_TEXT} characters)",
    }[kind]
    if op in LIST_OPERATORS:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST_VALUES:
            return [(path, f"'{op}' needs a list of 1 to {MAX_LIST_VALUES} values")]
        return [(f"{path}[{i}]", f"must be {expected}") for i, v in enumerate(value) if not fits(v)]
    if op is Operator.BETWEEN:
        if not (isinstance(value, list) and len(value) == 2 and all(fits(v) for v in value)):
            return [(path, f"'between' needs a list of two numbers, [low, high], each {expected}")]
        if value[0] > value[1]:
            return [(path, "'between' needs the low bound first")]
        return []
    if isinstance(value, list) or not fits(value):
        return [(path, f"'{op}' needs a single value, {expected}")]
    return []


def _check_dimensions(dataset: Dataset, refs: list[DimensionRef]) -> Issues:
    issues: Issues = []
    known = {d.id: d for d in dataset.dimensions}
    seen: set[str] = set()
    for i, ref in enumerate(refs):
        path = f"dimensions[{i}]"
        dimension = known.get(ref.id)
        if dimension is None:
            issues.append((f"{path}.id", f"unknown dimension '{echo(ref.id)}' for {dataset.id}; "
                           f"one of: {_one_of(known)}"))  # fmt: skip
        elif ref.id in seen:
            issues.append((f"{path}.id", f"dimension '{echo(ref.id)}' is listed twice"))
        elif ref.grain is not None and not dimension.is_time:
            issues.append((f"{path}.grain", "only the time dimension takes a grain"))
        seen.add(ref.id)
    return issues


def _check_filters(dataset: Dataset, clauses: list[FilterClause]) -> Issues:
    issues: Issues = []
    known = {f.field: f for f in dataset.filters}
    for i, clause in enumerate(clauses):
        path = f"filters[{i}]"
        spec = known.get(clause.field)
        if spec is None:
            choices = _one_of(known) if known else "none: this dataset has no filters"
            issues.append((f"{path}.field", f"unknown filter field '{echo(clause.field)}' for "
                           f"{dataset.id}; one of: {choices}"))  # fmt: skip
        elif clause.op not in spec.operators:
            issues.append((f"{path}.op", f"'{echo(clause.op)}' does not apply to {clause.field}; "
                           f"one of: {_one_of(spec.operators)}"))  # fmt: skip
        else:
            issues.extend(_check_value(path, clause, spec.value_kind))
    return issues


MAX_CHART_UNITS = 2  # a line or bar chart has a left and a right value axis


def measure_unit(measure_type: MeasureType, currency: str | None) -> str:
    """The unit a measure's values are in, as a person reads it: measures of one unit
    share a chart axis. Money without a fixed currency is in each row's currency."""
    match measure_type:
        case MeasureType.COUNT | MeasureType.INTEGER:
            return "count"
        case MeasureType.CURRENCY:
            return currency or "money"
        case MeasureType.RATIO:
            return "percent"
        case MeasureType.DURATION:
            return "duration"
        case MeasureType.DECIMAL:
            return "number"
        case _:
            assert_never(measure_type)


def viz_reason(
    dataset: Dataset, viz: Viz, measures: list[str], dimensions: list[str]
) -> str | None:
    """Why `viz` cannot show these measures and dimensions, or None when it can. The
    builder asks this to disable what the validator would refuse."""
    match dataset.kind:
        case QueryKind.AGGREGATE:
            return _aggregate_viz_reason(dataset, viz, measures, dimensions)
        case QueryKind.FUNNEL:
            ok = viz in FUNNEL_VIZ
            return None if ok else f"the funnel shows as one of: {_one_of(FUNNEL_VIZ)}"
        case _:
            assert_never(dataset.kind)


def _aggregate_viz_reason(
    dataset: Dataset, viz: Viz, measures: list[str], dimensions: list[str]
) -> str | None:
    known = {d.id: d for d in dataset.dimensions}
    dims = [known[d] for d in dimensions if d in known]
    has_time = any(x.is_time for x in dims)
    categorical = [x for x in dims if not x.is_time]
    if viz in (Viz.LINE, Viz.BAR):
        chosen = [m for m in dataset.measures if m.id in measures]
        units = list(dict.fromkeys(measure_unit(m.type, m.currency) for m in chosen))
        if len(units) > MAX_CHART_UNITS:
            return (
                f"a {viz.value} chart has two value axes, and these measures are in "
                f"{len(units)} units ({', '.join(units)}): choose measures of at most two"
            )
    match viz:
        case Viz.LINE:
            return None if has_time else "a line chart needs the time dimension"
        case Viz.KPI:
            ok = len(measures) == 1 and not dimensions
            return None if ok else "a KPI shows one measure with no breakdown"
        case Viz.PIE:
            ok = len(measures) == 1 and len(dimensions) == 1 and bool(categorical)
            return (
                None if ok else "a pie shows one measure over one categorical breakdown (not time)"
            )
        case Viz.BAR:
            return None if dimensions else "a bar chart needs a breakdown"
        case Viz.TABLE:
            return None
        case Viz.FUNNEL:
            return "a funnel chart only shows the funnel dataset"
        case _:
            assert_never(viz)


def single_value(filters: list[FilterClause], field: str) -> Any | None:
    """The one value a filter pins `field` to (eq, or in with one distinct value), if any."""
    for clause in filters:
        if clause.field != field:
            continue
        if clause.op is Operator.EQ and not isinstance(clause.value, list):
            return clause.value
        if (
            clause.op is Operator.IN
            and isinstance(clause.value, list)
            and len(set(map(str, clause.value))) == 1
        ):
            return clause.value[0]
    return None


def _check_currency(dataset: Dataset, d: AggregateQuery) -> Issues:
    field = dataset.currency_field
    if field is None:
        return []
    known = {m.id: m for m in dataset.measures}
    mixed = [
        (i, m) for i, m in enumerate(d.measures)
        if m in known and known[m].type is MeasureType.CURRENCY and known[m].currency is None
    ]  # fmt: skip
    if not mixed:
        return []
    if any(r.id == field for r in d.dimensions) or single_value(d.filters, field) is not None:
        return []
    return [
        (f"measures[{i}]", f"'{m}' adds up money: break it down by {field} or filter to "
         f"exactly one {field}, because a total across currencies is meaningless")
        for i, m in mixed
    ]  # fmt: skip


def _check_range(d: Definition) -> Issues:
    if not isinstance(d.date_range, ExplicitRange):
        return []
    issues: Issues = []
    span = (d.date_range.end - d.date_range.start).days + 1
    for key in ("start", "end"):
        day = getattr(d.date_range, key)
        if not FIRST_DAY <= day <= LAST_DAY:
            issues.append((f"date_range.{key}", f"must be between {FIRST_DAY} and {LAST_DAY}"))
    if span < 1:
        issues.append(("date_range.end", "the end is before the start"))
    elif span > MAX_RANGE_DAYS:
        issues.append(("date_range", f"spans {span} days; the maximum is {MAX_RANGE_DAYS}"))
    return issues


def _check_aggregate(dataset: Dataset, d: AggregateQuery) -> Issues:
    issues: Issues = []
    if d.flow_id is not None:
        issues.append(("flow_id", "only the funnel dataset takes a flow_id"))
    if not d.measures:
        issues.append(("measures", "choose at least one measure"))
    known = {m.id for m in dataset.measures}
    for i, m in enumerate(d.measures):
        if m not in known:
            issues.append((f"measures[{i}]", f"unknown measure '{echo(m)}' for {dataset.id}; "
                           f"one of: {_one_of(known)}"))  # fmt: skip
        elif d.measures.index(m) != i:
            issues.append((f"measures[{i}]", f"measure '{echo(m)}' is listed twice"))
    issues += _check_dimensions(dataset, d.dimensions)
    issues += _check_filters(dataset, d.filters)
    reason = viz_reason(dataset, d.viz, d.measures, [r.id for r in d.dimensions])
    if reason:
        issues.append(("viz", reason))
    issues += _check_currency(dataset, d)
    return issues


def _check_funnel(dataset: Dataset, d: FunnelQuery) -> Issues:
    issues: Issues = []
    if d.flow_id is None:
        issues.append(("flow_id", "choose a flow: the funnel runs for one flow"))
    elif not 0 < d.flow_id <= MAX_ID:
        issues.append(("flow_id", "must be a flow id (a positive integer)"))
    for key in ("measures", "dimensions", "filters"):
        if getattr(d, key):
            issues.append((key, "the funnel's columns are fixed; leave this empty"))
    reason = viz_reason(dataset, d.viz, [], [])
    if reason:
        issues.append(("viz", reason))
    return issues


def _check(d: Definition) -> Issues:
    dataset = DATASETS.get(d.dataset)
    if dataset is None:
        return [("dataset", f"unknown dataset '{echo(d.dataset)}'; one of: {_one_of(DATASETS)}")]
    issues = _check_range(d)
    match d:
        case AggregateQuery():
            return issues + _check_aggregate(dataset, d)
        case FunnelQuery():
            return issues + _check_funnel(dataset, d)
        case _:
            assert_never(d)


def _with_default_grain(d: Definition) -> Definition:
    refs = [
        r.model_copy(update={"grain": Grain.DAY}) if r.id == "time" and r.grain is None else r
        for r in d.dimensions
    ]
    return d.model_copy(update={"dimensions": refs})


def validate(raw: Any) -> Definition:
    """The definition in `raw` (parsed JSON), or BadDefinition naming every bad field."""
    try:
        definition = DEFINITION.validate_python(raw)
    except ValidationError as exc:
        issues: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            issues.setdefault(_path(error["loc"]), error["msg"])
        raise BadDefinition(list(issues.items())) from None
    issues = _check(definition)
    if issues:
        raise BadDefinition(issues)
    return _with_default_grain(definition)
