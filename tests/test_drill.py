"""Drill-down: the rows behind a clicked number are the base rows that make it up.

Each case runs a report through the runner (web role, row-level security), picks a
point of its real result, drills into it and checks the drill's count against the
clicked number and against a count written by hand over the seeded base tables.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import pytest
import sqlalchemy as sa

from access import HubUser, Leaf, effective_leaves
from datasets import registry
from datasets.bucket import Bucket
from datasets.drill import ROW_CAP, Drill, drill
from datasets.model import Grain, Mode, QueryKind, RowCount
from datasets.run import Result, run_report
from datasets.validate import validate
from db import events as db_events
from errors import BadBucket, Forbidden, ReportTimeout
from tests.conftest import Hub

TODAY = dt.datetime.now(dt.UTC).date()
DAY = dt.timedelta(days=1)
START, END = TODAY - 41 * DAY, TODAY - DAY
FLOW_NAME = "coalesce((SELECT name FROM fs_flows f WHERE f.tenant_id = x.tenant_id " \
            "AND f.id = x.flow_id), '(no flow)')"  # fmt: skip
GOAL_NAME = "(SELECT name FROM ins_goals g WHERE g.tenant_id = x.tenant_id AND g.id = x.goal_id)"


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def user(hub: Hub, tenant: str = "acme", *leaves: Leaf) -> HubUser:
    granted = leaves or tuple(Leaf)
    return HubUser(id=1, tenant_id=hub.tenant_id(tenant), tenant_slug=tenant,
                   tenant_name=tenant.title(), email=f"drill@{tenant}.example", name="Drill",
                   leaves=effective_leaves(granted))  # fmt: skip


def definition(dataset: str, measures: list[str], dimensions: list[dict[str, str]],
               filters: list[dict[str, Any]] | None = None, start: dt.date = START,
               end: dt.date = END) -> dict[str, Any]:  # fmt: skip
    return {"dataset": dataset, "measures": measures, "dimensions": dimensions,
            "filters": filters or [], "viz": "table",
            "date_range": {"start": start.isoformat(), "end": end.isoformat()}}  # fmt: skip


def result_of(hub: Hub, raw: dict[str, Any], tenant: str = "acme") -> Result:
    return run_report(validate(raw), tenant_id=hub.tenant_id(tenant), mode=Mode.EXPORT,
                      engine=hub.web, today=TODAY)  # fmt: skip


def busiest(result: Result, measure: str) -> int:
    """The row with the largest value of `measure`: a point with rows behind it."""
    values = result.frame[measure].fillna(0).astype(float)
    assert values.max() > 0
    return int(values.to_numpy().argmax())


def hand_count(hub: Hub, sql: str, **params: Any) -> int:
    with hub.admin.connect() as conn:
        return int(conn.scalar(sa.text(sql), params))


ENGAGED = """EXISTS (SELECT 1 FROM chat_messages a WHERE a.tenant_id = x.tenant_id
    AND a.conversation_id = x.id AND a.role = 'agent' AND a.created_at > (
        SELECT min(u.created_at) FROM chat_messages u WHERE u.tenant_id = x.tenant_id
        AND u.conversation_id = x.id AND u.role = 'user'))"""


@dataclass(frozen=True)
class Case:
    """A report, the measure clicked, and the rows behind a point by hand: `table` x with
    `where` over :t, :lo, :hi (the point's UTC instants) and :<breakdown id> values."""

    name: str
    report: dict[str, Any]
    measure: str
    table: str
    time: str
    where: str = "TRUE"
    count: str = "count(*)"


CASES = [
    Case("conversions-day-channel",
         definition("conversions", ["conversions"], [{"id": "time", "grain": "day"},
                                                     {"id": "channel"}]),
         "conversions", "ins_goal_completions", "completed_at", "x.channel = :channel"),
    Case("conversions-week-goal-customers",
         definition("conversions", ["distinct_customers", "conversions"],
                    [{"id": "time", "grain": "week"}, {"id": "goal"}]),
         "distinct_customers", "ins_goal_completions", "completed_at",
         f"{GOAL_NAME} = :goal", "count(DISTINCT x.customer_id)"),
    Case("conversions-flow-revenue",
         definition("conversions", ["revenue"], [{"id": "currency"}, {"id": "flow"}]),
         "revenue", "ins_goal_completions", "completed_at",
         f"x.currency = :currency AND {FLOW_NAME} = :flow AND x.value IS NOT NULL"),
    Case("flow-runs-failed-by-flow",
         definition("flow_runs", ["total_runs", "failed"], [{"id": "flow"}]),
         "failed", "fs_executions", "started_at",
         f"{FLOW_NAME} = :flow AND x.status = 'failed'"),
    Case("flow-runs-month-status",
         definition("flow_runs", ["total_runs", "p95_duration"],
                    [{"id": "time", "grain": "month"}, {"id": "status"}]),
         "total_runs", "fs_executions", "started_at", "x.status = :status"),
    Case("flow-runs-success-rate",
         definition("flow_runs", ["success_rate"], [{"id": "trigger_type"}]),
         "success_rate", "fs_executions", "started_at",
         "x.trigger_type = :trigger_type AND x.finished_at IS NOT NULL"),
    Case("telemetry-day-event",
         definition("telemetry", ["events"], [{"id": "time", "grain": "day"},
                                              {"id": "event_name"}]),
         "events", "ins_telemetry_events", "occurred_at", "x.event_name = :event_name"),
    Case("telemetry-week-conversations",
         definition("telemetry", ["distinct_conversations"],
                    [{"id": "time", "grain": "week"}, {"id": "event_name"}]),
         "distinct_conversations", "ins_telemetry_events", "occurred_at",
         "x.event_name = :event_name", "count(DISTINCT x.conversation_id)"),
    Case("chat-day-conversations",
         definition("chat", ["conversations", "messages"], [{"id": "time", "grain": "day"}]),
         "conversations", "chat_conversations", "started_at"),
    Case("chat-week-engaged",
         definition("chat", ["engaged"], [{"id": "time", "grain": "week"}]),
         "engaged", "chat_conversations", "started_at", ENGAGED),
    Case("token-usage-day-flow-messages",
         definition("token_usage", ["messages", "total_tokens"],
                    [{"id": "time", "grain": "day"}, {"id": "flow"}]),
         "messages", "chat_messages", "created_at",
         f"{FLOW_NAME} = :flow AND x.total_tokens IS NOT NULL"),
    Case("token-usage-flow-cost",
         definition("token_usage", ["cost"], [{"id": "flow"}]),
         "cost", "chat_messages", "created_at",
         f"{FLOW_NAME} = :flow AND x.total_tokens IS NOT NULL"),
]  # fmt: skip


def point_span(report: dict[str, Any], values: dict[str, Any]) -> dict[str, dt.datetime]:
    """The clicked bucket's days within the report's, as UTC instants [lo, hi)."""
    start = dt.date.fromisoformat(report["date_range"]["start"])
    end = dt.date.fromisoformat(report["date_range"]["end"])
    grain = next((d.get("grain") for d in report["dimensions"] if d["id"] == "time"), None)
    if grain is not None:
        first = values["time"]
        after = {"day": first + DAY, "week": first + 7 * DAY,
                 "month": (first.replace(day=28) + 4 * DAY).replace(day=1)}[grain]  # fmt: skip
        start, end = max(start, first), min(end, after - DAY)
    return {"lo": midnight(start), "hi": midnight(end + DAY)}


def by_hand(hub: Hub, case: Case, values: dict[str, Any], tenant: str = "acme") -> int:
    sql = (f"SELECT {case.count} FROM {case.table} x WHERE x.tenant_id = :t "
           f"AND x.{case.time} >= :lo AND x.{case.time} < :hi AND ({case.where})")  # fmt: skip
    breakdowns = {k: v for k, v in values.items() if k != "time"}
    return hand_count(hub, sql, t=hub.tenant_id(tenant), **point_span(case.report, values),
                      **breakdowns)  # fmt: skip


def clicked(hub: Hub, case: Case, tenant: str = "acme") -> tuple[Result, Bucket, Any]:
    result = result_of(hub, case.report, tenant)
    row = busiest(result, case.measure)
    return result, Bucket.of_row(result, row, case.measure), result.frame[case.measure][row]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_drill_count_equals_the_clicked_number_and_hand_sql(hub: Hub, case: Case) -> None:
    """A point's drill counts the base rows behind it: equal to the number clicked for
    counts and distinct counts, to the rows a sum, average or rate reads otherwise, and
    always to a hand-written count over the base table."""
    result, bucket, number = clicked(hub, case)
    got = drill(result.definition, bucket, user=user(hub), today=TODAY, engine=hub.web)
    expected = by_hand(hub, case, dict(bucket.values))
    assert got.count == expected > 0
    if got.counts in (RowCount.ROWS, RowCount.DISTINCT):
        assert got.count == number
    assert len(got.rows) == min(got.row_count, ROW_CAP)
    assert got.truncated is (got.row_count > ROW_CAP)
    assert all(len(row) == len(got.columns) for row in got.rows)


def test_measures_say_how_their_drill_counts() -> None:
    """Counts drill to their rows, distinct counts to distinct values, the rest to the
    rows they are computed from; the failed runs are the runs with status failed."""
    flow_runs = registry.DATASETS["flow_runs"]
    assert flow_runs.measure("failed").rows is not None
    assert (flow_runs.measure("failed").rows.column, flow_runs.measure("failed").rows.value) == (
        "status", "failed")  # fmt: skip
    kinds = {
        (d.id, m.id): m.rows.count
        for d in registry.DATASETS.values() if d.kind is QueryKind.AGGREGATE
        for m in d.measures if m.rows is not None
    }  # fmt: skip
    assert kinds[("conversions", "distinct_customers")] is RowCount.DISTINCT
    assert kinds[("flow_runs", "p95_duration")] is RowCount.BEHIND
    assert kinds[("chat", "conversations")] is RowCount.ROWS
    assert kinds[("token_usage", "messages")] is RowCount.ROWS
    assert len(kinds) == sum(len(d.measures) for d in registry.DATASETS.values())


def test_failed_runs_drill_lists_only_failed_runs(hub: Hub) -> None:
    """The failed runs of a flow are the rows: every listed run failed, and they are
    newest first."""
    case = CASES[3]
    result, bucket, number = clicked(hub, case)
    got = drill(result.definition, bucket, user=user(hub), today=TODAY, engine=hub.web)
    status = [c.id for c in got.columns].index("status")
    assert {row[status] for row in got.rows} == {"failed"} and got.count == number
    times = [row[0] for row in got.rows]
    assert times == sorted(times, reverse=True)
    assert got.summary == f"{number:,} runs"
    shown = json.loads(json.dumps(got.to_json()))
    assert shown["count"] == number and shown["rows"] == got.rows and shown["report"]


def test_report_filters_and_date_range_apply(hub: Hub) -> None:
    """A report filtered to one goal over 10 days drills into that goal's completions of
    those days only: fewer than the same point of the unfiltered 40-day report."""
    with hub.admin.connect() as conn:
        goal = conn.scalar(sa.text("SELECT id FROM ins_goals WHERE tenant_id = :t AND name = "
                                   "'Lead qualified'"), {"t": hub.tenant_id("acme")})  # fmt: skip
    start = END - 9 * DAY
    narrow = definition("conversions", ["conversions"], [{"id": "channel"}],
                        [{"field": "goal", "op": "eq", "value": goal}], start=start)  # fmt: skip
    wide = definition("conversions", ["conversions"], [{"id": "channel"}])
    result = result_of(hub, narrow)
    row = busiest(result, "conversions")
    bucket = Bucket.of_row(result, row, "conversions")
    got = drill(result.definition, bucket, user=user(hub), today=TODAY, engine=hub.web)
    expected = hand_count(
        hub, "SELECT count(*) FROM ins_goal_completions WHERE tenant_id = :t AND goal_id = :g "
        "AND channel = :c AND completed_at >= :lo AND completed_at < :hi",
        t=hub.tenant_id("acme"), g=goal, c=bucket.values["channel"], lo=midnight(start),
        hi=midnight(END + DAY))  # fmt: skip
    assert got.count == result.frame["conversions"][row] == expected > 0
    assert (got.start, got.end) == (start, END)
    goal_column = [c.id for c in got.columns].index("goal")
    assert {r[goal_column] for r in got.rows} == {"Lead qualified"}
    assert all(start.isoformat() <= r[0][:10] <= END.isoformat() for r in got.rows)
    unfiltered = drill(validate(wide), bucket, user=user(hub), today=TODAY, engine=hub.web)
    assert unfiltered.count > got.count


def test_a_week_bucket_is_cut_to_the_report_days(hub: Hub) -> None:
    """The first week of a report starting mid-week holds only the report's days."""
    start = END - 20 * DAY
    while start.weekday() in (0, 6):
        start -= DAY
    raw = definition("telemetry", ["events"], [{"id": "time", "grain": "week"}], start=start)
    result = result_of(hub, raw)
    first = result.frame["time"][0]
    assert first < start
    got = drill(result.definition, Bucket.of_row(result, 0, "events"), user=user(hub),
                today=TODAY, engine=hub.web)  # fmt: skip
    assert got.start == start and got.count == result.frame["events"][0] > 0


def test_two_hundred_rows_is_the_cap(hub: Hub) -> None:
    """A point with thousands of events lists the newest 200, says it is truncated, and
    counts all of them."""
    raw = definition("telemetry", ["events"], [])
    result = result_of(hub, raw)
    got = drill(result.definition, Bucket("events", {}), user=user(hub), today=TODAY,
                engine=hub.web)  # fmt: skip
    assert got.count == result.frame["events"][0] > ROW_CAP
    assert got.truncated and len(got.rows) == ROW_CAP
    assert [r[0] for r in got.rows] == sorted((r[0] for r in got.rows), reverse=True)
    newest = hand_count(hub, "SELECT count(*) FROM ins_telemetry_events WHERE tenant_id = :t "
                        "AND occurred_at >= :lo AND occurred_at < :hi", t=hub.tenant_id("acme"),
                        lo=midnight(END), hi=midnight(END + DAY))  # fmt: skip
    assert newest > 0 and got.rows[0][0].startswith(END.isoformat())


NO_DATABASE = sa.create_engine("postgresql+psycopg://nobody@/none?host=/nonexistent")
DAY_BY_CHANNEL = definition("conversions", ["conversions"],
                            [{"id": "time", "grain": "week"}, {"id": "channel"}])  # fmt: skip
MONDAY = END - END.weekday() * DAY


@pytest.mark.parametrize(
    ("bucket", "path"),
    [
        (Bucket("conversions", {"time": MONDAY, "channel": "web", "goal": "x"}), "values.goal"),
        (Bucket("conversions", {"time": MONDAY}), "values.channel"),
        (Bucket("conversions", {"time": MONDAY, "channel": 7}), "values.channel"),
        (Bucket("conversions", {"time": "last week", "channel": "web"}), "values.time"),
        (Bucket("conversions", {"time": MONDAY + DAY, "channel": "web"}), "values.time"),
        (Bucket("conversions", {"time": MONDAY - 70 * DAY, "channel": "web"}), "values.time"),
        (Bucket("revenue", {"time": MONDAY, "channel": "web"}), "measure"),
    ],
    ids=["unknown-dimension", "missing-value", "number-for-text", "not-a-day",
         "not-a-week-start", "outside-range", "measure-not-in-report"],
)  # fmt: skip
def test_an_invalid_bucket_is_a_400_before_any_query(hub: Hub, bucket: Bucket, path: str) -> None:
    """A bucket that does not fit the report is refused naming the bad part, with no
    query (the engine given cannot even connect)."""
    with pytest.raises(BadBucket) as refused:
        drill(validate(DAY_BY_CHANNEL), bucket, user=user(hub), today=TODAY, engine=NO_DATABASE)
    assert refused.value.status == 400 and refused.value.issues[0].path == path


def test_a_bucket_from_json_is_checked_too(hub: Hub) -> None:
    """A client's bucket must be {"measure", "values"}; its values are checked as any."""
    with pytest.raises(BadBucket):
        Bucket.from_json({"measure": "conversions"})
    values = {"time": MONDAY.isoformat(), "channel": None}
    bucket = Bucket.from_json({"measure": "conversions", "values": values})
    got = drill(validate(DAY_BY_CHANNEL), bucket, user=user(hub), today=TODAY, engine=hub.web)
    assert got.count == 0 and got.rows == [] and not got.truncated  # no completion lacks one


def test_another_tenants_rows_never_appear(hub: Hub) -> None:
    """The same point drilled by Globex counts Globex's rows only (row-level security)."""
    case = CASES[6]
    result, bucket, _ = clicked(hub, case)
    acme = drill(result.definition, bucket, user=user(hub), today=TODAY, engine=hub.web)
    globex = drill(result.definition, bucket, user=user(hub, "globex"), today=TODAY,
                   engine=hub.web)  # fmt: skip
    assert globex.count == by_hand(hub, case, dict(bucket.values), "globex") != acme.count
    conversation = [c.id for c in globex.columns].index("conversation_id")
    with hub.admin.connect() as conn:
        theirs = {str(i) for (i,) in conn.execute(sa.text(
            "SELECT id FROM chat_conversations WHERE tenant_id = :t"),
            {"t": hub.tenant_id("globex")})}  # fmt: skip
    assert {r[conversation] for r in globex.rows} - {"—"} <= theirs


def test_event_rows_need_the_telemetry_leaf(hub: Hub) -> None:
    """Without comerix.insights.telemetry an event drill is refused before any query; the
    same user drills into goal completions."""
    viewer = user(hub, "acme", Leaf.ANALYTICS)
    events = validate(definition("telemetry", ["events"], []))
    with pytest.raises(Forbidden) as refused:
        drill(events, Bucket("events", {}), user=viewer, today=TODAY, engine=NO_DATABASE)
    assert refused.value.status == 403
    conversions = validate(definition("conversions", ["conversions"], []))
    assert drill(conversions, Bucket("conversions", {}), user=viewer, today=TODAY,
                 engine=hub.web).count > 0  # fmt: skip


def test_event_rows_open_in_the_explorer(hub: Hub) -> None:
    """An event drill links to the Event Explorer with the same events: its URL's filters
    parse and page exactly the drill's rows."""
    result, bucket, _ = clicked(hub, CASES[6])
    got = drill(result.definition, bucket, user=user(hub), today=TODAY, engine=hub.web)
    assert got.explorer_url is not None
    path, _, query = got.explorer_url.partition("?")
    assert path == "/admin/insights/events"
    filters = db_events.parse_filters(dict(parse_qsl(query)))
    assert filters.event_name == bucket.values["event_name"]
    listed = db_events.events_rows(hub.web, tenant_id=hub.tenant_id("acme"), filters=filters)
    assert len(listed) == got.count
    completions, point, _ = clicked(hub, CASES[0])
    no_events = drill(completions.definition, point, user=user(hub), today=TODAY, engine=hub.web)
    assert no_events.explorer_url is None


def test_the_filtered_report_holds_the_clicked_number(hub: Hub) -> None:
    """The drill's report is the report with the bucket as filters and days: run, its one
    row is the number clicked."""
    for case in (CASES[0], CASES[3]):
        result, bucket, number = clicked(hub, case)
        got: Drill = drill(result.definition, bucket, user=user(hub), today=TODAY,
                           engine=hub.web)  # fmt: skip
        again = result_of(hub, got.report)
        assert list(again.frame[case.measure]) == [number]
        grain = next((r.grain for r in result.definition.dimensions if r.id == "time"), None)
        assert grain in (None, Grain.DAY)


def test_a_funnel_step_drills_into_the_runs_that_reached_it(hub: Hub) -> None:
    """Each step of a flow's funnel drills into the flow's runs of the range that reached
    it: as many as the step's "Reached", counted again by hand."""
    acme = hub.tenant_id("acme")
    with hub.admin.connect() as conn:
        flow = conn.scalar(sa.text("SELECT id FROM fs_flows WHERE tenant_id = :t AND name = "
                                   "'Order status'"), {"t": acme})  # fmt: skip
    days = {"start": START.isoformat(), "end": END.isoformat()}
    funnel = validate({"dataset": "funnel", "flow_id": flow, "viz": "funnel", "date_range": days})
    result = run_report(funnel, tenant_id=acme, mode=Mode.EXPORT, engine=hub.web, today=TODAY)
    for row, (step, reached) in enumerate(zip(result.frame["step"], result.frame["reached"],
                                              strict=True)):  # fmt: skip
        got = drill(funnel, Bucket.of_row(result, row, "reached"), user=user(hub), today=TODAY,
                    engine=hub.web)  # fmt: skip
        by_hand = hand_count(
            hub, "SELECT count(*) FROM fs_executions x WHERE x.tenant_id = :t AND x.flow_id = :f "
            "AND x.started_at >= :lo AND x.started_at < :hi AND EXISTS (SELECT 1 FROM "
            "fs_execution_steps e JOIN fs_flow_steps s ON s.tenant_id = e.tenant_id AND "
            "s.id = e.step_id WHERE e.tenant_id = x.tenant_id AND e.execution_id = x.id AND "
            "s.position || '. ' || s.name = :step)",
            t=acme, f=flow, step=step, lo=midnight(START), hi=midnight(END + DAY))  # fmt: skip
        assert got.count == reached == by_hand and got.counts is RowCount.ROWS
        assert got.report is None and got.explorer_url is None
    assert reached > 0
    behind = drill(funnel, Bucket.of_row(result, 1, "conversion"), user=user(hub), today=TODAY,
                   engine=hub.web)  # fmt: skip
    assert behind.counts is RowCount.BEHIND and behind.count == result.frame["reached"][1]
    with pytest.raises(BadBucket):
        drill(funnel, Bucket("reached", {"step": "9. No such step"}), user=user(hub),
              today=TODAY, engine=hub.web)  # fmt: skip
    with pytest.raises(BadBucket):
        drill(funnel, Bucket("reached", {"flow": "x"}), user=user(hub), today=TODAY,
              engine=NO_DATABASE)  # fmt: skip


def test_a_dataset_without_drill_rows_is_refused_when_the_registry_loads() -> None:
    """An aggregate must say which rows drill-down lists, and each measure which of them
    it is made of."""
    conversions = registry.DATASETS["conversions"]
    undeclared = dataclasses.replace(
        conversions, id="undeclared",
        measures=(dataclasses.replace(conversions.measures[0], rows=None),),
    )  # fmt: skip
    bare = dataclasses.replace(conversions, id="bare", drill=None)
    with pytest.raises(registry.RegistryError) as refused:
        registry._load(undeclared, bare)
    assert "measure conversions declares no drill rows" in str(refused.value)
    assert "dataset bare: an aggregate declares the rows drill-down lists" in str(refused.value)


def test_a_slow_drill_stops_at_the_statement_timeout(hub: Hub) -> None:
    """A drill slower than the statement timeout stops with the reports' clear error."""
    year = validate({"dataset": "telemetry", "measures": ["distinct_conversations"],
                     "date_range": {"preset": "365d"}})  # fmt: skip
    with pytest.raises(ReportTimeout, match=r"took longer than 0\.001 s"):
        drill(year, Bucket("distinct_conversations", {}), user=user(hub), today=TODAY,
              engine=hub.web, statement_timeout_ms=1)  # fmt: skip


def test_an_empty_lookup_drills_into_the_rows_without_one(hub: Hub) -> None:
    """The "(no flow)" bucket drills into the completions without a flow; the filtered
    report keeps the breakdown (no filter names "no flow") and still holds the number."""
    result = result_of(hub, definition("conversions", ["conversions"], [{"id": "flow"}]))
    row = list(result.frame["flow"]).index("(no flow)")
    number = result.frame["conversions"][row]
    got = drill(result.definition, Bucket.of_row(result, row, "conversions"), user=user(hub),
                today=TODAY, engine=hub.web)  # fmt: skip
    expected = hand_count(
        hub, "SELECT count(*) FROM ins_goal_completions x WHERE x.tenant_id = :t AND "
        f"x.completed_at >= :lo AND x.completed_at < :hi AND {FLOW_NAME} = '(no flow)'",
        t=hub.tenant_id("acme"), lo=midnight(START), hi=midnight(END + DAY))  # fmt: skip
    assert got.count == number == expected > 0
    assert got.report is not None and got.report["filters"] == []
    again = result_of(hub, got.report)
    assert dict(zip(again.frame["flow"], again.frame["conversions"], strict=True))[
        "(no flow)"] == number  # fmt: skip


def test_token_days_the_rollup_no_longer_keeps_drill_into_nothing(hub: Hub) -> None:
    """Token usage reads 0 on days older than the rollup's 90: their drill is empty too,
    though messages with tokens exist then."""
    old = TODAY - 95 * DAY
    raw = definition("token_usage", ["messages"], [{"id": "time", "grain": "day"}],
                     start=old, end=old)  # fmt: skip
    result = result_of(hub, raw)
    got = drill(result.definition, Bucket.of_row(result, 0, "messages"), user=user(hub),
                today=TODAY, engine=hub.web)  # fmt: skip
    assert result.frame["messages"][0] == got.count == 0 and got.rows == []
    messages = hand_count(hub, "SELECT count(*) FROM chat_messages WHERE tenant_id = :t AND "
                          "total_tokens IS NOT NULL AND created_at >= :lo AND created_at < :hi",
                          t=hub.tenant_id("acme"), lo=midnight(old),
                          hi=midnight(old + DAY))  # fmt: skip
    assert messages > 0


def test_a_chat_day_lists_its_conversations_with_their_messages(hub: Hub) -> None:
    """Messages drill into the day's conversations (the rows they are counted in), each
    with its messages: together they are the number clicked."""
    raw = definition("chat", ["messages"], [{"id": "time", "grain": "day"}], start=END - 6 * DAY)
    result = result_of(hub, raw)
    row = busiest(result, "messages")
    got = drill(result.definition, Bucket.of_row(result, row, "messages"), user=user(hub),
                today=TODAY, engine=hub.web)  # fmt: skip
    assert got.counts is RowCount.BEHIND and got.summary.endswith("conversations")
    assert not got.truncated
    messages = [c.id for c in got.columns].index("messages")
    assert sum(int(r[messages].replace(",", "")) for r in got.rows) == result.frame["messages"][row]
