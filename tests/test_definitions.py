"""validate(): report definitions checked against the registry, every problem by JSON path."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasets.dates import MAX_RANGE_DAYS
from datasets.model import Definition, Grain, Operator, Preset, QueryKind, Viz
from datasets.registry import DATASETS
from datasets.validate import validate
from errors import BadDefinition, sentence

COUNT = {"dataset": "conversions", "measures": ["conversions"]}
RUNS = {"dataset": "flow_runs", "measures": ["total_runs"]}


def issues_of(raw: Any) -> list[tuple[str, str]]:
    with pytest.raises(BadDefinition) as caught:
        validate(raw)
    return caught.value.issues


def with_filter(base: dict[str, Any], field: str, op: str, value: Any) -> dict[str, Any]:
    return {**base, "filters": [{"field": field, "op": op, "value": value}]}


def explicit(start: dt.date, end: dt.date) -> dict[str, str]:
    return {"start": start.isoformat(), "end": end.isoformat()}


JAN_1 = dt.date(2026, 1, 1)

# ---- accepted definitions ----------------------------------------------------------------

VALID = {
    "conversions": {
        "dataset": "conversions",
        "measures": ["conversions", "revenue", "avg_value"],
        "dimensions": [{"id": "time", "grain": "week"}, {"id": "currency"}],
        "filters": [
            {"field": "channel", "op": "in", "value": ["web", "whatsapp"]},
            {"field": "goal", "op": "not_in", "value": [3]},
            {"field": "value", "op": "between", "value": [0, 99.5]},
        ],
        "date_range": {"preset": "90d"},
        "viz": "line",
    },
    "chat": {
        "dataset": "chat",
        "measures": ["conversations", "engaged", "messages_per_conversation"],
        "dimensions": [{"id": "time", "grain": "month"}],
        "date_range": explicit(JAN_1, dt.date(2026, 6, 30)),
        "viz": "line",
    },
    "token_usage": {
        "dataset": "token_usage",
        "measures": ["cost"],
        "dimensions": [{"id": "flow"}],
        "filters": [{"field": "flow", "op": "neq", "value": 2}],
        "viz": "pie",
    },
    "flow_runs": {
        "dataset": "flow_runs",
        "measures": ["success_rate", "avg_duration", "p95_duration"],
        "dimensions": [{"id": "status"}, {"id": "trigger_type"}],
        "filters": [{"field": "duration", "op": "gte", "value": 250}],
        "viz": "table",
    },
    "telemetry": {
        "dataset": "telemetry",
        "measures": ["events"],
        "dimensions": [{"id": "event_name"}],
        "filters": [{"field": "event_name", "op": "contains", "value": "cart"}],
        "date_range": {"preset": "ytd"},
        "viz": "bar",
    },
    "funnel": {
        "dataset": "funnel",
        "flow_id": 3,
        "date_range": {"preset": "30d"},
        "viz": "funnel",
    },
}


def test_every_registry_dataset_has_a_valid_case() -> None:
    """The accepted cases below cover all six datasets."""
    assert set(VALID) == set(DATASETS)


@pytest.mark.parametrize("dataset", sorted(VALID))
def test_valid_definition_round_trips(dataset: str) -> None:
    """A valid definition of each dataset is accepted and reads back as sent."""
    raw = VALID[dataset]
    definition = validate(raw)
    assert isinstance(definition, Definition)
    defaults = {"measures": [], "dimensions": [], "filters": [], "date_range": {"preset": "30d"}}
    assert definition.json_dict() == {**defaults, "viz": "table", **raw}


def test_defaults_fill_an_omitted_range_and_viz() -> None:
    """No date_range means the last 30 days; no viz means a table."""
    definition = validate(COUNT)
    assert definition.date_range.model_dump() == {"preset": Preset.D30}
    assert definition.viz is Viz.TABLE
    assert definition.flow_id is None


@pytest.mark.parametrize("dataset", ["conversions", "chat", "token_usage", "flow_runs"])
def test_time_dimension_without_grain_gets_day(dataset: str) -> None:
    """The time dimension defaults to the day grain; other dimensions stay without one."""
    measure = DATASETS[dataset].measures[0].id
    others = [{"id": d.id} for d in DATASETS[dataset].dimensions if not d.is_time][:1]
    raw = {"dataset": dataset, "measures": [measure], "dimensions": [{"id": "time"}, *others]}
    definition = validate(raw)
    assert definition.dimensions[0].grain is Grain.DAY
    assert all(ref.grain is None for ref in definition.dimensions[1:])


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param({**COUNT, "measures": ["revenue"], "dimensions": [{"id": "currency"}]},
                     id="currency-dimension"),
        pytest.param({**COUNT, "measures": ["revenue", "avg_value"], "viz": "line",
                      "dimensions": [{"id": "time"}, {"id": "currency"}]},
                     id="time-and-currency-dimensions"),
        pytest.param(with_filter({**COUNT, "measures": ["revenue"]}, "currency", "eq", "EUR"),
                     id="currency-eq"),
        pytest.param(with_filter({**COUNT, "measures": ["avg_value"]}, "currency", "in", ["USD"]),
                     id="currency-in-one"),
        pytest.param(with_filter({**COUNT, "measures": ["revenue"]}, "currency", "in",
                                 ["GBP", "GBP"]),
                     id="currency-in-one-repeated"),
        pytest.param({"dataset": "token_usage", "measures": ["cost"]},
                     id="fixed-currency-needs-nothing"),
    ],
)  # fmt: skip
def test_currency_measures_accepted_with_a_single_currency(raw: dict[str, Any]) -> None:
    """Money adds up when broken down by currency or filtered to exactly one."""
    assert validate(raw).measures == raw["measures"]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param({**COUNT, "viz": "kpi"}, id="kpi"),
        pytest.param({**COUNT, "dimensions": [{"id": "channel"}], "viz": "pie"}, id="pie"),
        pytest.param({**COUNT, "dimensions": [{"id": "time"}], "viz": "bar"}, id="bar-over-time"),
        pytest.param({**COUNT, "dimensions": [{"id": "time"}], "viz": "line"}, id="line"),
        pytest.param({**COUNT, "measures": ["conversions", "distinct_customers"]}, id="table"),
        pytest.param({"dataset": "funnel", "flow_id": 1, "viz": "bar"}, id="funnel-as-bar"),
        pytest.param({"dataset": "funnel", "flow_id": 1, "viz": "table"}, id="funnel-as-table"),
        pytest.param({**COUNT, "date_range": explicit(JAN_1, JAN_1)}, id="one-day-range"),
        pytest.param(
            {**COUNT, "date_range": explicit(JAN_1, JAN_1 + dt.timedelta(MAX_RANGE_DAYS - 1))},
            id="longest-range",
        ),
        pytest.param(with_filter(RUNS, "duration", "between", [100, 100]), id="between-equal"),
        pytest.param(with_filter(RUNS, "flow", "in", list(range(1, 101))), id="in-100-values"),
        pytest.param(with_filter(COUNT, "channel", "eq", "w" * 200), id="text-200-chars"),
    ],
)
def test_accepted_edge_cases(raw: dict[str, Any]) -> None:
    """Boundary values that are still valid pass validation."""
    assert isinstance(validate(raw), Definition)


# ---- rejected definitions ----------------------------------------------------------------

OVERLONG = explicit(JAN_1, JAN_1 + dt.timedelta(MAX_RANGE_DAYS))


def reject(raw: Any, path: str, phrase: str, count: int | None = 1, *, id: str) -> Any:
    """A rejection case: the issue (path, message containing phrase) and how many issues
    there are in all (None: pydantic's union alternatives add some we do not pin)."""
    return pytest.param(raw, path, phrase, count, id=id)


REJECTED = [
    # dataset
    reject({"dataset": "sales", "measures": ["x"]}, "dataset",
           "unknown dataset 'sales'; one of: chat, conversions, flow_runs, funnel, telemetry, "
           "token_usage", id="unknown-dataset"),
    reject({"measures": ["conversions"]}, "dataset", "Field required", id="missing-dataset"),
    reject({"dataset": 5}, "dataset", "valid string", id="dataset-not-text"),
    # measures
    reject({**COUNT, "measures": ["conversions", "profit"]}, "measures[1]",
           "unknown measure 'profit' for conversions", id="unknown-measure"),
    reject({**COUNT, "measures": ["conversions", "revenue", "conversions"],
            "dimensions": [{"id": "currency"}]},
           "measures[2]", "measure 'conversions' is listed twice", id="duplicate-measure"),
    reject({**COUNT, "measures": []}, "measures", "choose at least one measure",
           id="empty-measures"),
    reject({"dataset": "chat"}, "measures", "choose at least one measure", id="no-measures"),
    reject({**COUNT, "measures": ["conversions"] * 13}, "measures", "at most 12",
           id="too-many-measures"),
    reject({**COUNT, "measures": "conversions"}, "measures", "valid list",
           id="measures-not-a-list"),
    reject({"dataset": "token_usage", "measures": ["revenue"]}, "measures[0]",
           "unknown measure 'revenue' for token_usage", id="measure-of-another-dataset"),
    # dimensions
    reject({**COUNT, "dimensions": [{"id": "country"}]}, "dimensions[0].id",
           "unknown dimension 'country' for conversions", id="unknown-dimension"),
    reject({**COUNT, "dimensions": [{"id": "channel"}, {"id": "channel"}]}, "dimensions[1].id",
           "dimension 'channel' is listed twice", id="duplicate-dimension"),
    reject({**COUNT, "dimensions": [{"id": "time", "grain": "week"},
                                    {"id": "channel", "grain": "day"}]},
           "dimensions[1].grain", "only the time dimension takes a grain",
           id="grain-on-category"),
    reject({**COUNT, "dimensions": [{"id": "time", "grain": "year"}]}, "dimensions[0].grain",
           "Input should be 'day', 'week' or 'month'", id="bad-grain"),
    reject({**COUNT, "dimensions": [{"id": d} for d in ("time", "goal", "channel", "flow")]},
           "dimensions", "at most 3", id="too-many-dimensions"),
    reject({**COUNT, "dimensions": ["time"]}, "dimensions[0]", "valid dictionary",
           id="dimension-not-an-object"),
    # filters: fields and operators
    reject(with_filter(COUNT, "country", "eq", "DE"), "filters[0].field",
           "unknown filter field 'country' for conversions", id="unknown-filter-field"),
    reject(with_filter({"dataset": "chat", "measures": ["messages"]}, "day", "eq", "x"),
           "filters[0].field", "none: this dataset has no filters", id="dataset-without-filters"),
    reject(with_filter(COUNT, "channel", "contains", "wh"), "filters[0].op",
           "'contains' does not apply to channel; one of: eq, in, neq, not_in",
           id="contains-on-channel"),
    reject(with_filter(COUNT, "channel", "gt", "a"), "filters[0].op",
           "'gt' does not apply to channel", id="gt-on-channel"),
    reject(with_filter({"dataset": "telemetry", "measures": ["events"]}, "event_name", "neq",
                       "x"),
           "filters[0].op", "'neq' does not apply to event_name", id="neq-on-event-name"),
    reject(with_filter(COUNT, "channel", "like", "wh"), "filters[0].op",
           "Input should be 'eq', 'neq'", id="unknown-operator"),
    reject({**COUNT, "filters": [{"field": "channel", "op": "eq"}]}, "filters[0].value",
           "Field required", id="missing-value"),
    # filters: values
    reject(with_filter(COUNT, "value", "gt", "5"), "filters[0].value",
           "'gt' needs a single value, a number", id="text-for-number"),
    reject(with_filter(COUNT, "value", "gt", math.nan), "filters[0].value",
           "'gt' needs a single value, a number", id="nan-for-number"),
    reject(with_filter(COUNT, "channel", "eq", ["web"]), "filters[0].value",
           "'eq' needs a single value, a non-empty text", id="list-for-eq"),
    reject(with_filter(COUNT, "channel", "eq", ""), "filters[0].value",
           "a non-empty text", id="empty-text"),
    reject(with_filter(COUNT, "channel", "eq", "w" * 201), "filters[0].value",
           "a non-empty text", id="text-too-long"),
    reject(with_filter(COUNT, "channel", "eq", 5), "filters[0].value",
           "a non-empty text", id="number-for-text"),
    reject(with_filter(COUNT, "channel", "in", []), "filters[0].value",
           "'in' needs a list of 1 to 100 values", id="empty-list-for-in"),
    reject(with_filter(COUNT, "channel", "not_in", "web"), "filters[0].value",
           "'not_in' needs a list of 1 to 100 values", id="scalar-for-not-in"),
    reject(with_filter(RUNS, "flow", "in", list(range(101))), "filters[0].value",
           "'in' needs a list of 1 to 100 values", id="101-values"),
    reject(with_filter(RUNS, "flow", "in", [1, "2", 3.0]), "filters[0].value[1]",
           "must be an id (integer)", 2, id="bad-items-in-list"),
    reject(with_filter(RUNS, "duration", "between", [100]), "filters[0].value",
           "'between' needs a list of two numbers", id="between-one-value"),
    reject(with_filter(RUNS, "duration", "between", [1, 2, 3]), "filters[0].value",
           "'between' needs a list of two numbers", id="between-three-values"),
    reject(with_filter(RUNS, "duration", "between", 100), "filters[0].value",
           "'between' needs a list of two numbers", id="between-scalar"),
    reject(with_filter(RUNS, "duration", "between", [500, 100]), "filters[0].value",
           "'between' needs the low bound first", id="between-low-above-high"),
    reject(with_filter(RUNS, "duration", "between", [1, "2"]), "filters[0].value",
           "'between' needs a list of two numbers", id="between-text-bound"),
    reject(with_filter(RUNS, "flow", "eq", "3"), "filters[0].value",
           "'eq' needs a single value, an id (integer)", id="flow-id-as-text"),
    reject(with_filter(RUNS, "flow", "eq", 3.0), "filters[0].value",
           "'eq' needs a single value, an id (integer)", id="flow-id-as-float"),
    reject({**RUNS, "filters": [{"field": "flow", "op": "eq", "value": 1}] * 21}, "filters",
           "at most 20", id="too-many-filters"),
    # date range
    reject({**COUNT, "date_range": {"preset": "8d"}}, "date_range.preset",
           "Input should be 'today', 'yesterday', '7d'", None, id="unknown-preset"),
    reject({**COUNT, "date_range": explicit(JAN_1, JAN_1 - dt.timedelta(1))}, "date_range.end",
           "the end is before the start", id="end-before-start"),
    reject({**COUNT, "date_range": OVERLONG}, "date_range",
           f"spans {MAX_RANGE_DAYS + 1} days; the maximum is {MAX_RANGE_DAYS}",
           id="range-too-long"),
    reject({**COUNT, "date_range": {"start": "2026-02-30", "end": "2026-03-01"}},
           "date_range.start", "valid date", None, id="impossible-date"),
    reject({**COUNT, "date_range": "30d"}, "date_range", "valid dictionary", 1,
           id="range-not-an-object"),
    # visualization
    reject({**COUNT, "viz": "donut"}, "viz", "Input should be 'line', 'bar', 'table', 'kpi'",
           id="unknown-viz"),
    reject({**COUNT, "dimensions": [{"id": "channel"}], "viz": "line"}, "viz",
           "a line chart needs the time dimension", id="line-without-time"),
    reject({**COUNT, "dimensions": [{"id": "channel"}], "viz": "kpi"}, "viz",
           "a KPI shows one measure with no breakdown", id="kpi-with-dimension"),
    reject({**COUNT, "measures": ["conversions", "distinct_customers"], "viz": "kpi"}, "viz",
           "a KPI shows one measure with no breakdown", id="kpi-two-measures"),
    reject({**COUNT, "dimensions": [{"id": "time"}], "viz": "pie"}, "viz",
           "(not time)", id="pie-over-time"),
    reject({**COUNT, "dimensions": [{"id": "channel"}, {"id": "goal"}], "viz": "pie"}, "viz",
           "a pie shows one measure over one", id="pie-two-dimensions"),
    reject({**COUNT, "viz": "pie"}, "viz", "a pie shows one measure", id="pie-no-dimension"),
    reject({**COUNT, "viz": "bar"}, "viz", "a bar chart needs a breakdown", id="bar-no-dimension"),
    reject({**COUNT, "dimensions": [{"id": "channel"}], "viz": "funnel"}, "viz",
           "a funnel chart only shows the funnel dataset", id="funnel-viz-elsewhere"),
    # funnel and flow_id
    reject({"dataset": "funnel"}, "flow_id", "choose a flow: the funnel runs for one flow",
           id="funnel-without-flow"),
    reject({"dataset": "funnel", "flow_id": 1, "measures": ["reached"]}, "measures",
           "the funnel's columns are fixed; leave this empty", id="funnel-with-measures"),
    reject({"dataset": "funnel", "flow_id": 1, "dimensions": [{"id": "step"}]}, "dimensions",
           "the funnel's columns are fixed", id="funnel-with-dimensions"),
    reject({"dataset": "funnel", "flow_id": 1, "viz": "line"}, "viz",
           "the funnel shows as one of: bar, funnel, table", id="funnel-as-line"),
    reject({"dataset": "funnel", "flow_id": "3"}, "flow_id", "valid integer",
           id="flow-id-as-text-for-funnel"),
    reject({**COUNT, "flow_id": 3}, "flow_id", "only the funnel dataset takes a flow_id",
           id="flow-id-elsewhere"),
    # the currency rule
    reject({**COUNT, "measures": ["conversions", "revenue"]}, "measures[1]",
           "'revenue' adds up money: break it down by currency or filter to exactly one "
           "currency, because a total across currencies is meaningless", id="revenue-mixed"),
    reject({**COUNT, "measures": ["avg_value"], "dimensions": [{"id": "channel"}]},
           "measures[0]", "a total across currencies is meaningless", id="avg-value-mixed"),
    reject(with_filter({**COUNT, "measures": ["revenue"]}, "currency", "in", ["EUR", "USD"]),
           "measures[0]", "across currencies", id="revenue-two-currencies"),
    reject(with_filter({**COUNT, "measures": ["revenue"]}, "currency", "neq", "EUR"),
           "measures[0]", "across currencies", id="revenue-all-but-one-currency"),
    reject(with_filter({**COUNT, "measures": ["revenue"]}, "channel", "eq", "web"),
           "measures[0]", "across currencies", id="revenue-other-filter"),
    # unknown keys and non-objects
    reject({**COUNT, "colour": "red"}, "colour", "Extra inputs are not permitted",
           id="extra-top-level-key"),
    reject({**COUNT, "dimensions": [{"id": "time", "size": 2}]}, "dimensions[0].size",
           "Extra inputs are not permitted", id="extra-dimension-key"),
    reject({**COUNT, "filters": [{"field": "channel", "op": "eq", "value": "web", "x": 1}]},
           "filters[0].x", "Extra inputs are not permitted", id="extra-filter-key"),
    reject({**COUNT, "date_range": {"preset": "7d", "tz": "CET"}}, "date_range.tz",
           "Extra inputs are not permitted", None, id="extra-range-key"),
    reject([COUNT], "(definition)", "Input should be a valid dictionary", id="list"),
    reject("conversions", "(definition)", "Input should be a valid dictionary", id="string"),
    reject(None, "(definition)", "Input should be a valid dictionary", id="null"),
    reject(42, "(definition)", "Input should be a valid dictionary", id="number"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "path", "phrase", "count"), REJECTED)
def test_rejected_definition_names_the_bad_field(
    raw: Any, path: str, phrase: str, count: int | None
) -> None:
    """Each invalid definition raises BadDefinition with the bad field's path and why, in
    sentences: the phrase inside one, or opening it."""
    issues = issues_of(raw)
    assert any(p == path and (phrase in m or m.startswith(sentence(phrase))) for p, m in issues)
    assert all(m == sentence(m) for _, m in issues), issues
    if count is not None:
        assert len(issues) == count, issues


def test_every_problem_is_reported_at_once() -> None:
    """Independent problems are all listed at once: range, measures, dimensions, filters,
    viz, then the currency rule."""
    raw = {
        "dataset": "conversions",
        "measures": ["profit", "revenue"],
        "dimensions": [{"id": "country"}],
        "filters": [{"field": "channel", "op": "gt", "value": 1}],
        "date_range": explicit(JAN_1, JAN_1 - dt.timedelta(1)),
        "viz": "kpi",
    }
    assert [path for path, _ in issues_of(raw)] == [
        "date_range.end",
        "measures[0]",
        "dimensions[0].id",
        "filters[0].op",
        "viz",
        "measures[1]",
    ]


def test_error_message_leads_with_the_first_issue() -> None:
    """str(BadDefinition) is the first issue plus how many more there are."""
    with pytest.raises(BadDefinition) as caught:
        validate({**COUNT, "measures": ["a", "b"]})
    assert str(caught.value) == (
        "measures[0]: Unknown measure 'a' for conversions; one of: avg_value, conversions, "
        "distinct_conversations, distinct_customers, revenue (and 1 more)"
    )


@pytest.mark.parametrize(
    ("value", "path"),
    [({"a": 1}, "filters[0].value"), ([["web"]], "filters[0].value")],
    ids=["object", "nested-list"],
)
def test_value_of_the_wrong_json_type_is_reported_at_its_path(value: Any, path: str) -> None:
    """A filter value that is neither a scalar nor a list of scalars names the value's path."""
    assert {p for p, _ in issues_of(with_filter(COUNT, "channel", "eq", value))} == {path}


@pytest.mark.parametrize(
    ("op", "value", "path"),
    [("gt", True, "filters[0].value"), ("between", [False, 100], "filters[0].value")],
    ids=["gt-true", "between-false"],
)
def test_boolean_is_not_a_number(op: str, value: Any, path: str) -> None:
    """true/false are not numbers: a number filter refuses them."""
    assert [p for p, _ in issues_of(with_filter(RUNS, "duration", op, value))] == [path]


@pytest.mark.parametrize(
    ("date_range", "path"),
    [
        ({"preset": "8d"}, "date_range.preset"),
        ({"start": "2026-02-30", "end": "2026-03-01"}, "date_range.start"),
    ],
    ids=["unknown-preset", "impossible-date"],
)
def test_bad_date_range_reports_only_the_bad_field(date_range: dict[str, str], path: str) -> None:
    """A range with one bad field gets one issue, on that field, not on the other form's."""
    assert [p for p, _ in issues_of({**COUNT, "date_range": date_range})] == [path]


# ---- property: validate never fails with anything but BadDefinition ----------------------


def scalars(
    ints: st.SearchStrategy[int], floats: st.SearchStrategy[float], texts: st.SearchStrategy[str]
) -> st.SearchStrategy[Any]:
    """JSON scalars: null, booleans, numbers and strings."""
    return st.none() | st.booleans() | ints | floats | texts


def json_values(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Arbitrary JSON documents over `leaves`."""
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=20,
    )


ANY_SCALAR = scalars(st.integers(), st.floats(), st.text(max_size=12))
# Half the days fall in the demo's years (valid spans), half anywhere in 1..9999.
ANY_DAY = st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)) | st.dates()
ALL_IDS = sorted(
    set(DATASETS)
    | {m.id for d in DATASETS.values() for m in d.measures}
    | {x.id for d in DATASETS.values() for x in d.dimensions}
    | {c.id for d in DATASETS.values() for c in d.outputs}
    | {f.field for d in DATASETS.values() for f in d.filters}
    | {o.value for o in Operator}
    | {g.value for g in Grain}
    | {p.value for p in Preset}
    | {v.value for v in Viz}
)
SAMPLE_TEXTS = ["web", "whatsapp", "EUR", "USD", "cart", "order_placed", "completed"]


@st.composite
def near_valid(
    draw: st.DrawFn, leaves: st.SearchStrategy[Any], days: st.SearchStrategy[dt.date]
) -> dict[str, Any]:
    """A definition that is mostly right: ids of the chosen dataset nine times in ten,
    otherwise any registry id or a junk value from `leaves`; one time in four a key is
    dropped or replaced by junk, one time in ten an unknown key is added."""

    def mostly() -> bool:
        return draw(st.sampled_from([True] * 9 + [False]))

    def pick(good: Any) -> Any:
        if good and mostly():
            return draw(st.sampled_from(sorted(good)))
        return draw(st.sampled_from(ALL_IDS) | leaves)

    def some(ids: set[str], least: int) -> list[Any]:
        if mostly():
            return draw(st.lists(st.sampled_from(sorted(ids)), min_size=least, max_size=3,
                                 unique=True))  # fmt: skip
        return [pick(ids) for _ in range(draw(st.integers(least, 3)))]

    def value_for(op: Any, kind: str) -> Any:
        if not mostly():
            return draw(leaves)
        one = {
            "int": st.integers(1, 12),
            "number": st.integers(0, 5000) | st.floats(0, 5000),
            "text": st.sampled_from(SAMPLE_TEXTS),
        }[kind]
        if op in ("in", "not_in"):
            return draw(st.lists(one, min_size=1, max_size=3))
        if op == "between":
            return sorted(draw(st.tuples(one, one)))
        return draw(one)

    def fitting_viz(dimensions: list[dict[str, Any]], measures: list[Any]) -> list[str]:
        """The visualizations the shape allows (the registry's rule, written out)."""
        ids = [d["id"] for d in dimensions]
        fits = ["table"]
        fits += ["line"] if "time" in ids else []
        fits += ["bar"] if ids else []
        fits += ["kpi"] if len(measures) == 1 and not ids else []
        fits += ["pie"] if len(measures) == 1 and len(ids) == 1 and "time" not in ids else []
        return fits

    def date_range() -> dict[str, Any]:
        if draw(st.booleans()):
            return {"preset": pick({p.value for p in Preset})}
        start, end = draw(days), draw(days)
        if mostly():
            start, end = min(start, end), max(start, end)
        return {"start": start.isoformat(), "end": end.isoformat()}

    dataset_id = pick(set(DATASETS))
    dataset = DATASETS.get(dataset_id) if isinstance(dataset_id, str) else None
    raw: dict[str, Any] = {"dataset": dataset_id}
    if dataset is not None and dataset.kind is QueryKind.FUNNEL:
        raw["flow_id"] = draw(st.integers(1, 12)) if mostly() else draw(leaves)
        raw["viz"] = pick(["funnel", "bar", "table"])
    elif dataset is not None:
        filters = {f.field: f for f in dataset.filters}
        raw["measures"] = some({m.id for m in dataset.measures}, 1)
        raw["dimensions"] = []
        for dimension_id in some({x.id for x in dataset.dimensions}, 0):
            ref = {"id": dimension_id}
            if (dimension_id == "time") == mostly() and draw(st.booleans()):
                ref["grain"] = pick({g.value for g in Grain})
            raw["dimensions"].append(ref)
        raw["filters"] = []
        for _ in range(draw(st.integers(0, 2))):
            field = pick(set(filters))
            spec = filters.get(field) if isinstance(field, str) else None
            op = pick({o.value for o in spec.operators} if spec else set())
            value = value_for(op, spec.value_kind if spec else "text")
            raw["filters"].append({"field": field, "op": op, "value": value})
        raw["viz"] = pick(fitting_viz(raw["dimensions"], raw["measures"]))
    if draw(st.booleans()):
        raw["date_range"] = date_range()
    if draw(st.sampled_from([False] * 3 + [True])):
        key = draw(st.sampled_from(sorted(raw)))
        if draw(st.booleans()):
            del raw[key]
        else:
            raw[key] = draw(json_values(leaves))
    if not mostly():
        raw[draw(st.text(max_size=6))] = draw(json_values(leaves))
    return raw


@settings(max_examples=300, deadline=None)
@given(json_values(ANY_SCALAR) | near_valid(ANY_SCALAR, ANY_DAY))
def test_validate_returns_a_definition_or_bad_definition(raw: Any) -> None:
    """Whatever JSON arrives, validate answers with a Definition or with BadDefinition."""
    try:
        definition = validate(raw)
    except BadDefinition as exc:
        assert exc.issues
        assert all(isinstance(p, str) and p and isinstance(m, str) and m for p, m in exc.issues)
    else:
        assert isinstance(definition, Definition)
        assert definition.dataset in DATASETS
