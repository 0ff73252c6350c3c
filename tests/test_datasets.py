"""Every dataset, measure, dimension and filter operator equals hand-written SQL.

Each case is a report definition plus its expectation written by hand over the base
tables (tests/hand_sql.py; never the compiler's SQL nor the rollup views), run on the
owner engine for one tenant while the report runs as the web role under row-level
security. Ranges are explicit UTC days relative to today, as the demo data is.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row

from datasets import dates
from datasets.model import AggregateQuery, Grain, Mode, QueryKind
from datasets.plan import Source, plan
from datasets.registry import DATASETS
from datasets.run import Result, run_report
from datasets.validate import validate
from db import accounts, engines, migrate
from errors import BadDefinition
from tests.conftest import Hub
from tests.hand_sql import EDGE_ROWS, FACTS, FUNNEL_SQL, expected_sql

TODAY = dt.datetime.now(dt.UTC).date()
DAY = dt.timedelta(days=1)


def _wednesday_not_first_of_month(day: dt.date) -> dt.date:
    day -= dt.timedelta(days=(day.weekday() - 2) % 7)
    return day - 7 * DAY if day.day == 1 else day


# ~60 days inside the token rollup's 90, starting on a Wednesday that is not the 1st, so
# week and month buckets start before it (facts before the start must not leak in).
START = _wednesday_not_first_of_month(TODAY - 59 * DAY)
END = TODAY - DAY
USD = (("currency", "eq", "USD"),)  # revenue and avg_value need one currency
USD_SQL = "x.currency = 'USD'"


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def span(start: dt.date = START, end: dt.date = END) -> dict[str, dt.datetime]:
    """The range's UTC instants: :lo (inclusive) and :hi (exclusive)."""
    return {"lo": midnight(start), "hi": midnight(end + DAY)}


def hand(engine: Engine, sql: str, **params: Any) -> list[Row[Any]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


@pytest.fixture(scope="module")
def acme(hub: Hub) -> int:
    return hub.tenant_id("acme")


@pytest.fixture(scope="module")
def ids(hub: Hub, acme: int) -> dict[str, int]:
    """Ids that cases name "$name": Acme's flows and goals, looked up by name."""
    names = "SELECT name, id FROM {} WHERE tenant_id = :t"
    flows = {name: id_ for name, id_ in hand(hub.admin, names.format("fs_flows"), t=acme)}
    goals = {name: id_ for name, id_ in hand(hub.admin, names.format("ins_goals"), t=acme)}
    return {"order_status": flows["Order status"], "product_finder": flows["Product finder"],
            "order_goal": goals["Order placed"], "lead_goal": goals["Lead qualified"]}  # fmt: skip


def _resolve(value: Any, ids: Mapping[str, Any]) -> Any:
    if isinstance(value, list):
        return [_resolve(v, ids) for v in value]
    return ids[value[1:]] if isinstance(value, str) and value.startswith("$") else value


@dataclass(frozen=True)
class Case:
    """A report definition and, in `where`, its filters written again by hand over `x`."""

    dataset: str
    measures: tuple[str, ...]
    dimensions: tuple[str, ...] = ()  # not time
    grain: str | None = None  # with a grain, time is the first dimension
    filters: tuple[tuple[str, str, Any], ...] = ()
    where: str = "TRUE"
    start: dt.date = START
    end: dt.date = END

    def definition(self, ids: Mapping[str, Any]) -> dict[str, Any]:
        time = [{"id": "time", "grain": self.grain}] if self.grain else []
        return {
            "dataset": self.dataset,
            "measures": list(self.measures),
            "dimensions": time + [{"id": d} for d in self.dimensions],
            "filters": [
                {"field": f, "op": o, "value": _resolve(v, ids)} for f, o, v in self.filters
            ],
            "date_range": {"start": self.start.isoformat(), "end": self.end.isoformat()},
        }

    @property
    def approx(self) -> set[int]:
        """Positions of averages and ratios: compared as floats within 1e-9."""
        first = len(self.dimensions) + (1 if self.grain else 0)
        averages = FACTS[self.dataset].averages
        return {first + i for i, m in enumerate(self.measures) if m in averages}

    def expected(
        self, engine: Engine, tenant: int, ids: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        sql = expected_sql(FACTS[self.dataset], list(self.measures), list(self.dimensions),
                           self.grain, self.where)  # fmt: skip
        rows = hand(engine, sql, t=tenant, a=self.start, **span(self.start, self.end), **ids)
        return [
            tuple(pytest.approx(float(v), rel=self.tolerance(i))
                  if i in self.approx and v is not None else v
                  for i, v in enumerate(row))
            for row in rows
        ]  # fmt: skip

    def tolerance(self, position: int) -> float:
        """1e-9 for averages and ratios; a percentile's declared 1 % (read from histograms)."""
        first = len(self.dimensions) + (1 if self.grain else 0)
        measure = self.measures[position - first]
        return 0.01 if measure in FACTS[self.dataset].percentiles else 1e-9


def run(
    definition: dict[str, Any], tenant: int, engine: Engine, mode: Mode = Mode.EXPORT
) -> Result:
    return run_report(validate(definition), tenant_id=tenant, mode=mode, engine=engine, today=TODAY)


def _cell(value: Any, as_float: bool) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value) if as_float else value


def rows_of(result: Result, approx: Collection[int] = ()) -> list[tuple[Any, ...]]:
    """The rows as tuples: NaN read as empty (None), `approx` positions as floats."""
    return [
        tuple(_cell(v, i in approx) for i, v in enumerate(row))
        for row in result.frame.itertuples(index=False)
    ]


def check(hub: Hub, case: Case, tenant: int, ids: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    """Runs the case; asserts its rows (values and order) equal the hand SQL's; returns them."""
    result = run(case.definition(ids), tenant, hub.web)
    got = rows_of(result, case.approx)
    assert not result.truncated
    assert got == case.expected(hub.admin, tenant, ids)
    return got


def hand_count(hub: Hub, case: Case, tenant: int, ids: Mapping[str, Any]) -> int:
    """The base rows the case reads (its range, its hand-written filters), counted by hand."""
    facts = FACTS[case.dataset]
    [(n,)] = hand(hub.admin, f"SELECT count(*) FROM {facts.source} WHERE x.tenant_id = :t "
                  f"AND {facts.time} >= :lo AND {facts.time} < :hi AND ({case.where})",
                  t=tenant, **span(case.start, case.end), **ids)  # fmt: skip
    return n


def _id(case: Case) -> str:
    parts = [case.dataset, case.measures[0], *case.dimensions, *filter(None, [case.grain])]
    for field, op, value in case.filters:
        shown = "|".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{field}-{op}-{shown}")
    return ":".join(parts)


def every(dataset: str) -> tuple[str, ...]:
    return tuple(FACTS[dataset].measures)


def _usd(dataset: str, needed: bool = True) -> dict[str, Any]:
    return {"filters": USD, "where": USD_SQL} if dataset == "conversions" and needed else {}


def test_every_measure_and_dimension_has_hand_sql() -> None:
    """The hand SQL covers exactly the registry's measures and dimensions of each dataset."""
    assert set(FACTS) == {d for d, x in DATASETS.items() if x.kind is QueryKind.AGGREGATE}
    for dataset_id, facts in FACTS.items():
        dataset = DATASETS[dataset_id]
        assert set(facts.measures) == {m.id for m in dataset.measures}
        assert set(facts.dimensions) | {"time"} == {d.id for d in dataset.dimensions}


SINGLE = [Case(d, (m,), **_usd(d, m in ("revenue", "avg_value"))) for d in FACTS for m in every(d)]


@pytest.mark.parametrize("case", SINGLE, ids=_id)
def test_each_measure_alone_is_one_row(
    hub: Hub, acme: int, ids: dict[str, int], case: Case
) -> None:
    """Each measure without a breakdown is one row equal to the hand SQL's aggregate, over
    rows that exist (a count of nothing would be one row too)."""
    got = check(hub, case, acme, ids)
    assert len(got) == 1 and got[0][0] is not None and hand_count(hub, case, acme, ids) > 0


BREAKDOWNS = [
    Case(d, every(d), (dim,), **_usd(d, dim != "currency"))
    for d in FACTS
    for dim in FACTS[d].dimensions
]


@pytest.mark.parametrize("case", BREAKDOWNS, ids=_id)
def test_each_dimension_with_all_measures(
    hub: Hub, acme: int, ids: dict[str, int], case: Case
) -> None:
    """One row per value with every measure, ordered by the first measure desc, then value."""
    got = check(hub, case, acme, ids)
    assert len(got) > 1 and [r[1] for r in got] == sorted((r[1] for r in got), reverse=True)


@pytest.mark.parametrize("grain", ["day", "week", "month"])
@pytest.mark.parametrize("dataset", list(FACTS))
def test_time_grains_fill_every_bucket(
    hub: Hub, acme: int, ids: dict[str, int], dataset: str, grain: str
) -> None:
    """By day, week (from Monday) or month: a row per bucket, from the one holding the start."""
    got = check(hub, Case(dataset, every(dataset), grain=grain, **_usd(dataset)), acme, ids)
    days = [START + i * DAY for i in range((END - START).days + 1)]
    bucket = {"day": lambda d: d, "week": lambda d: d - d.weekday() * DAY,
              "month": lambda d: d.replace(day=1)}[grain]  # fmt: skip
    assert [r[0] for r in got] == sorted({bucket(d) for d in days})
    assert grain == "day" or got[0][0] < START


TIME_AND_DIMENSIONS = [
    Case("conversions", every("conversions"), ("channel",), "week", USD, USD_SQL),
    Case("conversions", every("conversions"), ("goal", "flow"), "month", USD, USD_SQL),
    Case("token_usage", every("token_usage"), ("flow",), "week"),
    Case("flow_runs", every("flow_runs"), ("status",), "month"),
    Case("flow_runs", every("flow_runs"), ("flow", "trigger_type"), "week"),
    Case("telemetry", every("telemetry"), ("event_name",), "week"),
]


@pytest.mark.parametrize("case", TIME_AND_DIMENSIONS, ids=_id)
def test_time_with_other_dimensions_is_every_bucket_times_every_value(
    hub: Hub, acme: int, ids: dict[str, int], case: Case
) -> None:
    """Time with breakdowns: every bucket has a row for every combination seen in the range."""
    got = check(hub, case, acme, ids)
    combos = {r[1 : 1 + len(case.dimensions)] for r in got}
    assert len(got) == len({r[0] for r in got}) * len(combos) and len(combos) > 1


def test_rare_goal_by_day_and_channel_has_empty_buckets(
    hub: Hub, acme: int, ids: dict[str, int]
) -> None:
    """A rare goal by day and channel: empty cells are 0 (counts, sums) and empty (average)."""
    rare = ("goal", "eq", "$order_goal")
    case = Case("conversions", every("conversions"), ("channel",), "day", (*USD, rare),
                f"{USD_SQL} AND x.goal_id = :order_goal")  # fmt: skip
    got = check(hub, case, acme, ids)
    empty = [r for r in got if r[2] == 0]
    assert empty and all(r[3:] == (0, None, 0, 0) for r in empty)
    assert len(got) == ((END - START).days + 1) * len({r[1] for r in got})


def test_running_runs_in_an_old_range_are_all_empty(
    hub: Hub, acme: int, ids: dict[str, int]
) -> None:
    """Runs still run only today and yesterday: older weeks are all 0 and empty (declared)."""
    case = Case("flow_runs", ("in_flight", "total_runs", "avg_duration", "success_rate"),
                grain="week", filters=(("status", "eq", "running"),), where="x.status = 'running'",
                start=TODAY - 80 * DAY, end=TODAY - 20 * DAY)  # fmt: skip
    got = check(hub, case, acme, ids)
    assert len(got) >= 9 and all(r[1:] == (0, 0, None, None) for r in got)


def test_lookup_dimensions_show_names(hub: Hub, acme: int, ids: dict[str, int]) -> None:
    """Goal and flow show names; completions without a flow show "(no flow)"."""
    goals = {r[0] for r in check(hub, Case("conversions", ("conversions",), ("goal",)), acme, ids)}
    flows = {r[0] for r in check(hub, Case("conversions", ("conversions",), ("flow",)), acme, ids)}
    names = {
        r[0] for r in hand(hub.admin, "SELECT name FROM fs_flows WHERE tenant_id = :t", t=acme)
    }
    assert goals == {"Order placed", "Appointment booked", "Lead qualified", "Newsletter signup"}
    assert "(no flow)" in flows and flows - {"(no flow)"} <= names


def F(dataset: str, measures: tuple[str, ...], dimension: str, *filters: Any, where: str) -> Case:
    return Case(dataset, measures, (dimension,) if dimension else (), filters=filters, where=where)


OS_OR_NONE = "(x.flow_id <> :order_status OR x.flow_id IS NULL)"
OS, PF, N, REV = "$order_status", "$product_finder", ("conversions",), ("revenue", "conversions")
FILTERS = [
    F("conversions", REV, "flow", *USD, ("flow", "eq", OS),
      where=f"{USD_SQL} AND x.flow_id = :order_status"),
    F("conversions", ("conversions", "distinct_customers"), "flow", ("flow", "neq", OS),
      where=OS_OR_NONE),
    F("conversions", N, "flow", ("flow", "not_in", [OS, PF]),
      where="(x.flow_id IS NULL OR x.flow_id NOT IN (:order_status, :product_finder))"),
    F("conversions", N, "flow", ("flow", "in", [OS, PF]),
      where="x.flow_id IN (:order_status, :product_finder)"),
    F("conversions", N, "channel", ("channel", "in", ["web", "email"]),
      where="x.channel IN ('web', 'email')"),
    F("conversions", N, "channel", ("channel", "not_in", ["web", "email"]),
      where="x.channel NOT IN ('web', 'email')"),
    F("conversions", N, "channel", ("channel", "neq", "web"), where="x.channel <> 'web'"),
    F("conversions", N, "goal", ("goal", "eq", "$lead_goal"), where="x.goal_id = :lead_goal"),
    F("conversions", N, "goal", ("value", "neq", 25), where="(x.value <> 25 OR x.value IS NULL)"),
    F("conversions", REV, "currency", ("value", "gt", 99.5), where="x.value > 99.5"),
    F("conversions", REV, "currency", ("value", "gte", 25), where="x.value >= 25"),
    F("conversions", REV, "currency", ("value", "lt", 25), where="x.value < 25"),
    F("conversions", REV, "currency", ("value", "lte", 10), where="x.value <= 10"),
    F("conversions", REV, "currency", ("value", "between", [10, 25]),
      where="x.value >= 10 AND x.value <= 25"),
    F("conversions", ("revenue", "avg_value"), "", ("currency", "in", ["EUR"]),
      where="x.currency = 'EUR'"),
    F("flow_runs", ("total_runs", "avg_duration"), "status", ("duration", "between", [1000, 5000]),
      where="x.duration_ms >= 1000 AND x.duration_ms <= 5000"),
    F("flow_runs", ("total_runs",), "trigger_type", ("duration", "gt", 10000),
      where="x.duration_ms > 10000"),
    F("flow_runs", ("total_runs",), "status", ("duration", "neq", 1500),
      where="(x.duration_ms <> 1500 OR x.duration_ms IS NULL)"),
    F("flow_runs", ("total_runs", "success_rate"), "status",
      ("status", "in", ["failed", "aborted"]), where="x.status IN ('failed', 'aborted')"),
    F("flow_runs", ("total_runs",), "flow", ("trigger_type", "neq", "message"),
      ("flow", "eq", PF), where="x.trigger_type <> 'message' AND x.flow_id = :product_finder"),
    F("token_usage", ("total_tokens", "conversations"), "flow", ("flow", "neq", OS),
      where=OS_OR_NONE),
    F("token_usage", ("total_tokens",), "flow", ("flow", "not_in", [OS]), where=OS_OR_NONE),
    F("token_usage", ("total_tokens",), "flow", ("flow", "eq", OS),
      where="x.flow_id = :order_status"),
    F("telemetry", ("events",), "event_name", ("event_name", "eq", "link_clicked"),
      where="x.event_name = 'link_clicked'"),
    F("telemetry", ("events",), "event_name", ("event_name", "in", ["link_clicked", "add_to_cart"]),
      where="x.event_name IN ('link_clicked', 'add_to_cart')"),
]  # fmt: skip


@pytest.mark.parametrize("case", FILTERS, ids=_id)
def test_filter_operators(hub: Hub, acme: int, ids: dict[str, int], case: Case) -> None:
    """Each operator keeps exactly the rows its hand-written condition keeps, and some."""
    got = check(hub, case, acme, ids)
    # Without a breakdown the result is one row even when nothing matches: count by hand.
    assert got if case.dimensions else hand_count(hub, case, acme, ids) > 0


def test_neq_and_not_in_keep_empty_fields(hub: Hub, acme: int, ids: dict[str, int]) -> None:
    """flow neq / not_in X keep completions without a flow; eq and in never match them."""
    [(no_flow,)] = hand(hub.admin, "SELECT count(*) FROM ins_goal_completions WHERE tenant_id = :t "
                        "AND flow_id IS NULL AND completed_at >= :lo AND completed_at < :hi",
                        t=acme, **span())  # fmt: skip
    for op, value in [("neq", "$order_status"), ("not_in", ["$order_status"]),
                      ("eq", "$order_status"), ("in", ["$order_status"])]:  # fmt: skip
        case = Case("conversions", ("conversions",), ("flow",), filters=(("flow", op, value),))
        got = dict(rows_of(run(case.definition(ids), acme, hub.web)))
        assert got.get("(no flow)") == (no_flow if op in ("neq", "not_in") else None)
    assert no_flow > 0


@pytest.mark.parametrize(
    ("text", "names"),
    [("CLICK", ["link_clicked"]), ("E_S", ["message_sent"]), ("e_t", []), ("d_c", []), ("%", [])],
    ids=["CLICK", "E_S", "e_t", "d_c", "percent"],
)
def test_contains_ignores_case_and_reads_wildcards_literally(
    hub: Hub, acme: int, ids: dict[str, int], text: str, names: list[str]
) -> None:
    """contains ignores case; '%' and '_' match only themselves ('d_c' is not 'duc')."""
    case = Case("telemetry", ("events", "distinct_conversations"), ("event_name",),
                filters=(("event_name", "contains", text),),
                where=f"position('{text.lower()}' IN x.event_name) > 0")  # fmt: skip
    assert [r[0] for r in check(hub, case, acme, ids)] == names


def money(amount: Decimal, code: str) -> str:
    """The formatter's rule: two decimals rounded half up, thousands separator, code."""
    return f"{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f} {code}"


def test_revenue_by_currency_and_in_one_currency(hub: Hub, acme: int, ids: dict[str, int]) -> None:
    """Revenue per currency equals sum(value); filtered to EUR it reads "5,472.84 EUR"."""
    year = {"start": TODAY - 365 * DAY}
    by_hand = {c: (s, a) for c, s, a in hand(
        hub.admin, "SELECT currency, sum(value), avg(value) FROM ins_goal_completions WHERE "
        "tenant_id = :t AND completed_at >= :lo AND completed_at < :hi GROUP BY 1",
        t=acme, **span(**year))}  # fmt: skip
    by_currency = Case("conversions", ("revenue", "avg_value"), ("currency",), **year)
    result = run(by_currency.definition(ids), acme, hub.web)
    assert {r[0]: r[1] for r in rows_of(result)} == {c: s for c, (s, _) in by_hand.items()}
    assert sorted(result.formatted()) == sorted(
        [c, money(s, c), money(a, c)] for c, (s, a) in by_hand.items()
    )
    eur = Case(
        "conversions", ("revenue", "avg_value"), filters=(("currency", "eq", "EUR"),), **year
    )
    result = run(eur.definition(ids), acme, hub.web)
    revenue, average = by_hand["EUR"]
    assert rows_of(result)[0][0] == revenue and revenue > 1000
    assert result.formatted() == [[money(revenue, "EUR"), money(average, "EUR")]]


def test_token_conversations_are_summed_over_days_and_flows(
    hub: Hub, acme: int, ids: dict[str, int]
) -> None:
    """token_usage conversations = count(distinct conversation) per (day, flow), summed."""
    tokens = "FROM chat_messages WHERE tenant_id = :t AND total_tokens IS NOT NULL " \
             "AND created_at >= :lo AND created_at < :hi"  # fmt: skip
    [(summed, distinct)] = hand(
        hub.admin, f"SELECT sum(n), (SELECT count(DISTINCT conversation_id) {tokens}) FROM "
        f"(SELECT count(DISTINCT conversation_id) AS n {tokens} "
        "GROUP BY (created_at AT TIME ZONE 'UTC')::date, flow_id) per_day_and_flow",
        t=acme, **span())  # fmt: skip
    got = rows_of(run(Case("token_usage", ("conversations",)).definition(ids), acme, hub.web))
    assert got == [(summed,)] and summed >= distinct  # > in test_edge_rows_in_a_fresh_database


def funnel(engine: Engine, tenant: int, flow: int, start: dt.date, end: dt.date) -> list[Any]:
    """(step, reached, drop-off from the previous step, conversion from the first), by hand."""
    steps = hand(engine, FUNNEL_SQL, t=tenant, f=flow, **span(start, end))
    first = steps[0][1]
    return [
        (name, n, pytest.approx(1 - n / steps[i - 1][1]) if i and steps[i - 1][1] else None,
         pytest.approx(n / first) if first else None)
        for i, (name, n) in enumerate(steps)
    ]  # fmt: skip


def test_funnel_of_every_flow_equals_hand_sql(hub: Hub, acme: int) -> None:
    """Each flow's steps in order, runs reaching each, drop-off and conversion; none: empty."""
    flows = hand(hub.admin, "SELECT id, created_at::date FROM fs_flows WHERE tenant_id = :t "
                 "ORDER BY id", t=acme)  # fmt: skip
    for flow, created in flows:
        before = (created - 30 * DAY, created - DAY)  # the flow did not exist yet
        for start, end in [(START, END), before]:
            period = {"start": start.isoformat(), "end": end.isoformat()}
            definition = {
                "dataset": "funnel",
                "flow_id": flow,
                "viz": "funnel",
                "date_range": period,
            }
            got = rows_of(run(definition, acme, hub.web), {2, 3})
            assert got == funnel(hub.admin, acme, flow, start, end) and len(got) >= 3
            assert got[0][1] > 0 if start == START else all(r[1:] == (0, None, None) for r in got)


def test_funnel_of_another_tenants_flow_is_refused(hub: Hub, acme: int) -> None:
    """A flow id of Globex is unknown to Acme: the funnel is a BadDefinition."""
    [(flow,)] = hand(hub.admin, "SELECT min(id) FROM fs_flows WHERE tenant_id = :t",
                     t=hub.tenant_id("globex"))  # fmt: skip
    with pytest.raises(BadDefinition):
        run({"dataset": "funnel", "flow_id": flow}, acme, hub.web)


BIG = Case("conversions", ("conversions", "revenue"), ("channel", "currency"), "day",
           start=TODAY - 395 * DAY, end=TODAY)  # fmt: skip


@pytest.mark.parametrize("mode", list(Mode))
def test_large_results_are_truncated_at_the_mode_cap(
    hub: Hub, acme: int, ids: dict[str, int], mode: Mode
) -> None:
    """396 days x every (channel, currency) is over 5000 rows: each mode returns its cap,
    keeping the latest periods (a time series cut at the cap loses its oldest rows)."""
    expected = BIG.expected(hub.admin, acme, ids)
    assert len(expected) > 5000
    result = run(BIG.definition(ids), acme, hub.web, mode)
    cap = {Mode.PREVIEW: 200, Mode.SAVED: 500, Mode.EXPORT: 5000}[mode]
    assert result.truncated and result.keeps_latest
    assert len(result.frame) == result.row_cap == cap
    assert rows_of(result) == expected[-cap:] and rows_of(result)[-1][0] == TODAY


@pytest.mark.parametrize(("days", "truncated"), [(7, False), (200, False), (201, True)])
def test_preview_truncates_only_beyond_its_cap(
    hub: Hub, acme: int, ids: dict[str, int], days: int, truncated: bool
) -> None:
    """By day in preview: 7 or exactly 200 days are complete; 201 days are cut to the
    latest 200."""
    case = Case("conversions", ("conversions",), grain="day", start=END - (days - 1) * DAY)
    result = run(case.definition(ids), acme, hub.web, Mode.PREVIEW)
    assert result.truncated is truncated and len(result.frame) == min(days, 200)
    assert rows_of(result) == case.expected(hub.admin, acme, ids)[-200:]


def test_token_usage_older_than_ninety_days_reads_zero(
    hub: Hub, acme: int, ids: dict[str, int]
) -> None:
    """The token rollup keeps 90 UTC days: older days are 0 although messages exist then."""
    kept, start, end = TODAY - 89 * DAY, TODAY - 95 * DAY, TODAY - 80 * DAY
    case = Case("token_usage", ("total_tokens", "messages"), grain="day",
                where="x.created_at >= :kept", start=start, end=end)  # fmt: skip
    got = check(hub, case, acme, {**ids, "kept": midnight(kept)})
    assert all((r[1] == 0) is (r[0] < kept) for r in got)
    [(older,)] = hand(hub.admin, "SELECT count(*) FROM chat_messages WHERE tenant_id = :t AND "
                      "total_tokens IS NOT NULL AND created_at < :kept AND created_at >= :lo",
                      t=acme, kept=midnight(kept), lo=midnight(case.start))  # fmt: skip
    assert older > 0


TENANT_CASES = [
    Case("conversions", ("conversions", "distinct_customers"), ("channel",)),
    Case("chat", every("chat"), (), "week"),
    Case("token_usage", every("token_usage"), ("flow",)),
    Case("flow_runs", every("flow_runs"), ("trigger_type",)),
    Case("telemetry", every("telemetry"), ("event_name",)),
]


@pytest.mark.parametrize("case", TENANT_CASES, ids=_id)
def test_each_tenant_sees_its_own_numbers(
    hub: Hub, acme: int, ids: dict[str, int], case: Case
) -> None:
    """The same definition run for Globex equals Globex's hand SQL and differs from Acme's."""
    assert check(hub, case, hub.tenant_id("globex"), ids) != check(hub, case, acme, ids)


def test_edge_rows_in_a_fresh_database(fresh_database: Engine) -> None:
    """Hand-made edge rows (agent-first chats, late replies, ties, '%', '_') give exact values."""
    d = TODAY - 10 * DAY
    migrate.upgrade(fresh_database)
    with fresh_database.begin() as conn:
        tenant = accounts.create_tenant(conn, slug="edge", name="Edge")
        for statement in EDGE_ROWS:
            conn.execute(sa.text(statement), {"t": tenant, "d": midnight(d)})
    with fresh_database.begin() as conn:
        conn.execute(sa.select(sa.func.ins_refresh_analytics()))
    web = engines.create(fresh_database.url, role=engines.WEB_ROLE)
    try:

        def got(dataset: str, dims: tuple[str, ...] = (), grain: str | None = None,
                contains: str = "") -> list[tuple[Any, ...]]:  # fmt: skip
            filters = (("event_name", "contains", contains),) if contains else ()
            where = f"position('{contains}' IN x.event_name) > 0" if contains else "TRUE"
            case = Case(dataset, every(dataset), dims, grain, filters, where, d, d + DAY)
            rows = rows_of(run(case.definition({}), tenant, web), case.approx)
            assert rows == case.expected(fresh_database, tenant, {})
            return rows

        assert got("chat", (), "day") == [(d, 4, 8, 3, 5, 2, 2.0), (d + DAY, 0, 0, 0, 0, 0, None)]
        third = pytest.approx(100 / 3)
        assert got("token_usage", (), "day") == [
            (d, 100, 60, 40, Decimal("0.001"), 1, 1, 100.0, 100.0),
            (d + DAY, 100, 61, 39, Decimal("0.001"), 3, 2, third, 50.0),
        ]
        assert got("token_usage", ("flow",)) == [
            ("(no flow)", 200, 121, 79, Decimal("0.002"), 4, 3, 50.0, pytest.approx(200 / 3))
        ]
        assert got("telemetry", ("event_name",)) == [("a_b", 2, 1), ("axb", 2, 1), ("50%", 1, 1)]
        assert got("telemetry", ("event_name",), contains="_") == [("a_b", 2, 1)]
        assert got("telemetry", ("event_name",), contains="%") == [("50%", 1, 1)]
    finally:
        web.dispose()


# What each daily rollup answers, written out by hand (migration 0005): the additive
# measures, in registry order, and the breakdowns it groups by. Distinct counts and the
# p95 have rollups of their own (test_plan_reads_each_measure_from_its_source).
ROLLED_UP: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "conversions": (("conversions", "revenue", "avg_value"),
                    ("goal", "channel", "currency", "flow")),
    "flow_runs": (("total_runs", "completed", "failed", "aborted", "in_flight", "finished_runs",
                   "success_rate", "avg_duration"),
                  ("flow", "status", "trigger_type")),
    "telemetry": (("events",), ("event_name",)),
}  # fmt: skip
ROLLED = [
    Case(d, measures, dims, "day", **_usd(d, "currency" not in dims), end=TODAY)
    for d, (measures, breakdowns) in ROLLED_UP.items()
    for dims in [(), *((x,) for x in breakdowns)]
] + [
    Case("conversions", ROLLED_UP["conversions"][0], ("goal",), "week",
         (*USD, ("channel", "in", ["web", "whatsapp"])),
         f"{USD_SQL} AND x.channel IN ('web', 'whatsapp')", end=TODAY),
    Case("flow_runs", ROLLED_UP["flow_runs"][0], ("flow",), "month",
         (("status", "not_in", ["running"]),), "x.status <> 'running'", end=TODAY),
    Case("telemetry", ("events",), (), "week", (("event_name", "contains", "view"),),
         "position('view' IN x.event_name) > 0", end=TODAY),
]  # fmt: skip


@pytest.mark.parametrize("case", ROLLED, ids=_id)
def test_rollup_and_live_tail_equal_the_base_rows(
    hub: Hub, acme: int, ids: dict[str, int], case: Case
) -> None:
    """Additive measures answered by the daily rollup, with today from the live tail, equal
    the hand SQL over the base rows (which exist: every bucket is a row even when empty)."""
    definition = validate(case.definition(ids))
    steps = plan(DATASETS[case.dataset], definition).steps
    assert [s.source for s in steps] == [Source.DAILY]
    assert check(hub, case, acme, ids)[-1][0] == dates.bucket_start(TODAY, Grain(case.grain))
    assert hand_count(hub, case, acme, ids) > 0


@pytest.mark.parametrize(
    ("definition", "explained"),
    [
        ({"dataset": "conversions", "measures": ["distinct_customers"]},
         "distinct_customers: bitmaps ins_goal_completions_customer_bits by nothing + live tail"),
        ({"dataset": "conversions", "measures": ["conversions", "distinct_conversations"],
          "dimensions": [{"id": "time", "grain": "week"}, {"id": "channel"}]},
         "conversions: daily rollup ins_goal_completions_daily + live tail; "
         "distinct_conversations: bitmaps ins_goal_completions_conversation_bits by channel "
         "+ live tail"),
        ({"dataset": "conversions", "measures": ["distinct_customers"],
          "dimensions": [{"id": "goal"}, {"id": "channel"}]},
         "distinct_customers: rows ins_goal_completions"),
        ({"dataset": "conversions", "measures": ["conversions", "distinct_customers"],
          "filters": [{"field": "value", "op": "gt", "value": 10}]},
         "conversions, distinct_customers: rows ins_goal_completions"),
        ({"dataset": "flow_runs", "measures": ["total_runs", "p95_duration"],
          "filters": [{"field": "status", "op": "eq", "value": "failed"}]},
         "total_runs: daily rollup fs_executions_daily + live tail; "
         "p95_duration: histograms fs_executions_duration_hist by status + live tail"),
        ({"dataset": "flow_runs", "measures": ["total_runs"],
          "filters": [{"field": "duration", "op": "lt", "value": 1000}]},
         "total_runs: rows fs_executions"),
        ({"dataset": "telemetry", "measures": ["distinct_conversations"],
          "dimensions": [{"id": "event_name"}]},
         "distinct_conversations: bitmaps ins_telemetry_events_conversation_bits by event_name "
         "+ live tail"),
        ({"dataset": "chat", "measures": ["conversations"]},
         "conversations: rows ins_conversation_stats_daily"),
    ],
)  # fmt: skip
def test_plan_reads_each_measure_from_its_source(
    definition: dict[str, Any], explained: str
) -> None:
    """Each measure reads the smallest rollup that holds its breakdowns and filters; a
    numeric range filter, or breakdowns no rollup keeps together, read the base rows."""
    parsed = validate(definition)
    assert isinstance(parsed, AggregateQuery)
    assert plan(DATASETS[parsed.dataset], parsed).explain() == explained


def test_today_is_live_and_history_waits_for_the_refresh(fresh_database: Engine) -> None:
    """A completion recorded now counts at once (the live tail); one recorded late for an
    earlier day counts after the next refresh rolls that day up again."""
    migrate.upgrade(fresh_database)
    past = TODAY - 3 * DAY
    with fresh_database.begin() as conn:
        tenant = accounts.create_tenant(conn, slug="live", name="Live")
        goal = conn.scalar(
            sa.text(
                "INSERT INTO ins_goals (tenant_id, name, event_name) VALUES (:t, 'Order', 'order') "
                "RETURNING id"
            ),
            {"t": tenant},
        )
    late = midnight(past) + dt.timedelta(hours=9)

    def record(at: dt.datetime) -> None:
        with fresh_database.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO ins_goal_completions (tenant_id, goal_id, channel, currency, "
                    "value, customer_id, completed_at) "
                    "VALUES (:t, :g, 'web', 'EUR', 12.50, 'c1', :at)"
                ),
                {"t": tenant, "g": goal, "at": at},
            )

    def refresh() -> None:
        with fresh_database.begin() as conn:
            conn.execute(sa.select(sa.func.ins_refresh_analytics()))

    web = engines.create(fresh_database.url, role=engines.WEB_ROLE)
    case = Case("conversions", ("conversions", "revenue"), (), "day", (("currency", "eq", "EUR"),),
                start=past, end=TODAY)  # fmt: skip

    def by_day() -> dict[dt.date, tuple[int, Decimal]]:
        rows = rows_of(run(case.definition({}), tenant, web))
        return {day: (n, revenue) for day, n, revenue in rows if n}

    try:
        record(late)
        refresh()
        assert by_day() == {past: (1, Decimal("12.50"))}
        record(dt.datetime.now(dt.UTC))
        record(late)
        assert by_day() == {past: (1, Decimal("12.50")), TODAY: (1, Decimal("12.50"))}
        refresh()
        assert by_day() == {past: (2, Decimal("25.00")), TODAY: (1, Decimal("12.50"))}
    finally:
        web.dispose()
