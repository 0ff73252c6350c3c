"""/admin/analytics/reports/run and /suggest through the real Flask app and database.

Every number a route returns is checked against a hand-written query on the admin
engine (which sees every tenant), so tenant isolation is checked by the same queries.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import flask
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from db.seed import DEMO_PASSWORD
from tests.conftest import Hub
from tests.test_definitions import json_values, near_valid, scalars
from tests.test_login import sign_in

RUN = "/admin/analytics/reports/run"
SUGGEST = "/admin/analytics/reports/suggest"
ADMIN, ANALYST, VIEWER = "admin@acme.example", "analyst@acme.example", "viewer@acme.example"
GLOBEX_ADMIN = "admin@globex.example"

TODAY = dt.datetime.now(dt.UTC).date()  # the demo data is seeded relative to this day
START, END = TODAY - dt.timedelta(days=59), TODAY - dt.timedelta(days=1)
RANGE = {"start": START.isoformat(), "end": END.isoformat()}
# The hand queries' half-open window [FROM, UNTIL) of UTC instants for RANGE.
WINDOW = {
    "from": dt.datetime.combine(START, dt.time(), dt.UTC),
    "until": dt.datetime.combine(END + dt.timedelta(days=1), dt.time(), dt.UTC),
}
SUGGEST_SINCE = dt.datetime.combine(TODAY - dt.timedelta(days=89), dt.time(), dt.UTC)

KPI = {"dataset": "conversions", "measures": ["conversions"], "date_range": RANGE, "viz": "kpi"}
TELEMETRY = {"dataset": "telemetry", "measures": ["events"], "date_range": RANGE, "viz": "kpi"}


@pytest.fixture(scope="session")
def server(flask_app: flask.Flask) -> flask.Flask:
    return flask_app


def _fresh_client(server: flask.Flask, hub: Hub) -> FlaskClient:
    for key in hub.redis.scan_iter("hub:login-failures:*"):
        hub.redis.delete(key)
    return server.test_client()


@pytest.fixture(scope="module")
def signed_in(server: flask.Flask, hub: Hub) -> Callable[[str], FlaskClient]:
    """A signed-in test client per demo user, made once per module (reads only)."""
    clients: dict[str, FlaskClient] = {}

    def client_for(email: str) -> FlaskClient:
        if email not in clients:
            client = _fresh_client(server, hub)
            assert sign_in(client, email, DEMO_PASSWORD).status_code == 302
            clients[email] = client
        return clients[email]

    return client_for


@pytest.fixture
def anonymous(server: flask.Flask, hub: Hub) -> Iterator[FlaskClient]:
    with _fresh_client(server, hub) as client:
        yield client


def run(client: FlaskClient, body: Any, mode: str | None = None, **kwargs: Any) -> TestResponse:
    query = {} if mode is None else {"mode": mode}
    return client.post(RUN, json=body, query_string=query, **kwargs)


def ok_json(response: TestResponse) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def hand(hub: Hub, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """A hand-written query on the admin engine, which sees every tenant's rows."""
    with hub.admin.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql), params)]


def suggest(client: FlaskClient, **args: str) -> TestResponse:
    return client.get(SUGGEST, query_string=args)


# ---- run: the response and its numbers -----------------------------------------------------


def test_run_answers_columns_rows_and_formatted_cells(
    signed_in: Callable[[str], FlaskClient], hub: Hub
) -> None:
    """Conversions by channel: typed columns, raw rows equal to hand SQL, formatted cells."""
    body = {**KPI, "dimensions": [{"id": "channel"}], "viz": "bar"}
    got = ok_json(run(signed_in(ADMIN), body))
    expected = hand(
        hub,
        "SELECT channel, count(*) FROM ins_goal_completions WHERE tenant_id = :t "
        "AND completed_at >= :from AND completed_at < :until GROUP BY 1 ORDER BY 2 DESC, 1",
        t=hub.tenant_id("acme"),
        **WINDOW,
    )
    assert len(expected) == 5
    assert set(got) == {"columns", "rows", "formatted", "truncated", "row_cap", "elapsed_ms",
                        "range"}  # fmt: skip
    assert got["columns"] == [
        {"id": "channel", "label": "Channel", "type": "category", "role": "dimension"},
        {"id": "conversions", "label": "Conversions", "type": "count", "role": "measure"},
    ]
    assert got["rows"] == [[channel, n] for channel, n in expected]
    assert got["formatted"] == [[channel, f"{n:,}"] for channel, n in expected]
    assert got["truncated"] is False
    assert got["row_cap"] == 200
    assert isinstance(got["elapsed_ms"], float) and got["elapsed_ms"] >= 0
    assert got["range"] == RANGE


CASES = [
    pytest.param(
        KPI,
        "SELECT count(*) FROM ins_goal_completions WHERE tenant_id = :t "
        "AND completed_at >= :from AND completed_at < :until",
        id="conversions-kpi",
    ),
    pytest.param(
        {**KPI, "measures": ["revenue", "conversions"], "dimensions": [{"id": "currency"}],
         "viz": "table"},
        "SELECT currency, coalesce(sum(value), 0)::float8, count(*) FROM ins_goal_completions "
        "WHERE tenant_id = :t AND completed_at >= :from AND completed_at < :until GROUP BY 1",
        id="revenue-by-currency",
    ),
    pytest.param(
        {"dataset": "conversions", "measures": ["revenue"], "date_range": RANGE, "viz": "kpi",
         "filters": [{"field": "currency", "op": "eq", "value": "EUR"},
                     {"field": "channel", "op": "in", "value": ["web", "whatsapp"]}]},
        "SELECT coalesce(sum(value), 0)::float8 FROM ins_goal_completions WHERE tenant_id = :t "
        "AND completed_at >= :from AND completed_at < :until AND currency = 'EUR' "
        "AND channel IN ('web', 'whatsapp')",
        id="eur-revenue-on-two-channels",
    ),
    pytest.param(
        {**KPI, "filters": [{"field": "flow", "op": "not_in", "value": [1, 2]}]},
        "SELECT count(*) FROM ins_goal_completions WHERE tenant_id = :t "
        "AND completed_at >= :from AND completed_at < :until "
        "AND (flow_id IS NULL OR flow_id NOT IN (1, 2))",
        id="not-in-keeps-rows-without-flow",
    ),
    pytest.param(
        {"dataset": "flow_runs", "measures": ["total_runs", "failed"], "date_range": RANGE,
         "dimensions": [{"id": "flow"}]},
        "SELECT f.name, count(*), count(*) FILTER (WHERE e.status = 'failed') "
        "FROM fs_executions e JOIN fs_flows f ON f.tenant_id = e.tenant_id AND f.id = e.flow_id "
        "WHERE e.tenant_id = :t AND e.started_at >= :from AND e.started_at < :until GROUP BY 1",
        id="runs-by-flow-name",
    ),
    pytest.param(
        {"dataset": "flow_runs", "measures": ["total_runs"], "date_range": RANGE,
         "dimensions": [{"id": "status"}],
         "filters": [{"field": "duration", "op": "between", "value": [1000, 5000]}]},
        "SELECT status, count(*) FROM fs_executions WHERE tenant_id = :t "
        "AND started_at >= :from AND started_at < :until "
        "AND duration_ms BETWEEN 1000 AND 5000 GROUP BY 1",
        id="runs-by-status-with-duration-between",
    ),
    pytest.param(
        {"dataset": "telemetry", "measures": ["events"], "date_range": RANGE,
         "dimensions": [{"id": "event_name"}],
         "filters": [{"field": "event_name", "op": "contains", "value": "CART"}]},
        "SELECT event_name, count(*) FROM ins_telemetry_events WHERE tenant_id = :t "
        "AND occurred_at >= :from AND occurred_at < :until AND event_name ILIKE '%cart%' "
        "GROUP BY 1",
        id="telemetry-contains-is-case-insensitive",
    ),
    pytest.param(
        {**KPI, "dimensions": [{"id": "time", "grain": "week"}, {"id": "channel"}],
         "viz": "line"},
        "SELECT w.week::date::text, c.channel, count(g.id) "
        "FROM generate_series(date_trunc('week', CAST(:start AS timestamp)), "
        "                     date_trunc('week', CAST(:end AS timestamp)), interval '1 week') "
        "     AS w(week) "
        "CROSS JOIN (SELECT DISTINCT channel FROM ins_goal_completions WHERE tenant_id = :t "
        "            AND completed_at >= :from AND completed_at < :until) c "
        "LEFT JOIN ins_goal_completions g ON g.tenant_id = :t AND g.channel = c.channel "
        "AND g.completed_at >= :from AND g.completed_at < :until "
        "AND date_trunc('week', g.completed_at AT TIME ZONE 'UTC') = w.week GROUP BY 1, 2",
        id="weekly-by-channel-gap-filled",
    ),
    pytest.param(
        {"dataset": "chat", "measures": ["messages"], "dimensions": [{"id": "time"}],
         "date_range": RANGE, "viz": "line"},
        "SELECT d.day::date::text, coalesce(sum(r.messages), 0) "
        "FROM generate_series(CAST(:start AS timestamp), CAST(:end AS timestamp), "
        "                     interval '1 day') AS d(day) "
        "LEFT JOIN rollup.ins_conversation_stats_daily r ON r.tenant_id = :t AND r.day = d.day "
        "GROUP BY 1",
        id="daily-chat-messages-gap-filled",
    ),
    pytest.param(
        {"dataset": "chat", "measures": ["conversations", "messages"], "date_range": RANGE,
         "viz": "table"},
        "SELECT sum(conversations), sum(messages) FROM rollup.ins_conversation_stats_daily "
        "WHERE tenant_id = :t AND day BETWEEN :start AND :end",
        id="chat-totals-from-the-rollup",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("definition", "check_query"), CASES)
@pytest.mark.parametrize(("email", "slug"), [(ADMIN, "acme"), (GLOBEX_ADMIN, "globex")])
def test_run_equals_hand_sql(
    signed_in: Callable[[str], FlaskClient],
    hub: Hub,
    definition: dict[str, Any],
    check_query: str,
    email: str,
    slug: str,
) -> None:
    """Each tenant's admin gets exactly its own tenant's hand-counted numbers."""
    got = ok_json(run(signed_in(email), definition))["rows"]
    params = {"start": START, "end": END, **WINDOW}
    expected = hand(hub, check_query, t=hub.tenant_id(slug), **params)
    other = hand(hub, check_query, t=hub.tenant_id("globex" if slug == "acme" else "acme"),
                 **params)  # fmt: skip
    assert expected and expected != other  # the check can tell the tenants apart
    assert sorted(map(tuple, got)) == sorted(expected)


def test_kpi_formats_its_number(signed_in: Callable[[str], FlaskClient], hub: Hub) -> None:
    """A KPI is one row, one cell: the raw count and its formatted text."""
    got = ok_json(run(signed_in(VIEWER), KPI))
    [[count]] = hand(
        hub,
        "SELECT count(*) FROM ins_goal_completions WHERE tenant_id = :t "
        "AND completed_at >= :from AND completed_at < :until",
        t=hub.tenant_id("acme"),
        **WINDOW,
    )
    assert got["rows"] == [[count]]
    assert got["formatted"] == [[f"{count:,}"]]


def test_ratio_and_average_measures_equal_hand_sql(
    signed_in: Callable[[str], FlaskClient], hub: Hub
) -> None:
    """Success rate leaves running runs out; avg duration matches PostgreSQL's own, and
    the p95 (from histograms) is within its declared 1 %."""
    body = {"dataset": "flow_runs", "date_range": RANGE, "dimensions": [{"id": "trigger_type"}],
            "measures": ["success_rate", "avg_duration", "p95_duration", "in_flight"]}  # fmt: skip
    got = ok_json(run(signed_in(ADMIN), body))["rows"]
    expected = hand(
        hub,
        "SELECT trigger_type, (count(*) FILTER (WHERE status = 'completed'))::float8 "
        "  / nullif(count(finished_at), 0), avg(duration_ms)::float8, "
        "  percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms), "
        "  count(*) FILTER (WHERE status = 'running') "
        "FROM fs_executions WHERE tenant_id = :t AND started_at >= :from "
        "AND started_at < :until GROUP BY 1",
        t=hub.tenant_id("acme"),
        **WINDOW,
    )
    assert len(expected) > 1
    assert [row[0] for row in sorted(got)] == [row[0] for row in sorted(expected)]
    for got_row, expected_row in zip(sorted(got), sorted(expected), strict=True):
        rate, avg, p95, running = got_row[1:]
        assert [rate, avg, running] == pytest.approx(
            [expected_row[1], expected_row[2], expected_row[4]], rel=1e-9
        )
        assert p95 == pytest.approx(expected_row[3], rel=0.01)


def test_money_is_formatted_in_each_rows_currency(
    signed_in: Callable[[str], FlaskClient], hub: Hub
) -> None:
    """Revenue by currency: each formatted cell carries its own row's currency code."""
    body = {**KPI, "measures": ["revenue"], "dimensions": [{"id": "currency"}], "viz": "bar"}
    got = ok_json(run(signed_in(ADMIN), body))
    expected = hand(
        hub,
        "SELECT currency, to_char(coalesce(sum(value), 0), 'FM999,999,990.00') "
        "|| ' ' || currency FROM ins_goal_completions WHERE tenant_id = :t "
        "AND completed_at >= :from AND completed_at < :until GROUP BY 1",
        t=hub.tenant_id("acme"),
        **WINDOW,
    )
    assert len(expected) == 3
    assert sorted(map(tuple, got["formatted"])) == sorted(expected)


@pytest.mark.parametrize("text", ["%", "_", "\\", "_to_"])
def test_contains_matches_wildcards_literally(
    signed_in: Callable[[str], FlaskClient], hub: Hub, text: str
) -> None:
    """'contains' finds the text itself: % and _ are not LIKE wildcards, \\ is no escape."""
    body = {**TELEMETRY, "filters": [{"field": "event_name", "op": "contains", "value": text}]}
    [[expected]] = hand(
        hub,
        "SELECT count(*) FROM ins_telemetry_events WHERE tenant_id = :t "
        "AND occurred_at >= :from AND occurred_at < :until AND strpos(event_name, :text) > 0",
        t=hub.tenant_id("acme"),
        text=text,
        **WINDOW,
    )
    assert ok_json(run(signed_in(ADMIN), body))["rows"] == [[expected]]


def test_money_takes_the_currency_it_was_filtered_to(
    signed_in: Callable[[str], FlaskClient], hub: Hub
) -> None:
    """Filtered to USD or EUR and then to EUR only, revenue is EUR and says so."""
    body = {**KPI, "measures": ["revenue"],
            "filters": [{"field": "currency", "op": "in", "value": ["USD", "EUR"]},
                        {"field": "currency", "op": "eq", "value": "EUR"}]}  # fmt: skip
    [[expected]] = hand(
        hub,
        "SELECT to_char(coalesce(sum(value), 0), 'FM999,999,990.00') || ' EUR' "
        "FROM ins_goal_completions WHERE tenant_id = :t AND currency = 'EUR' "
        "AND completed_at >= :from AND completed_at < :until",
        t=hub.tenant_id("acme"),
        **WINDOW,
    )
    assert ok_json(run(signed_in(ADMIN), body))["formatted"] == [[expected]]


def test_filter_on_another_tenants_flow_matches_nothing(
    signed_in: Callable[[str], FlaskClient], hub: Hub
) -> None:
    """Acme filtering by a Globex flow id counts zero runs: ids never cross tenants."""
    [[globex_flow]] = hand(hub, "SELECT min(id) FROM fs_flows WHERE tenant_id = :t",
                           t=hub.tenant_id("globex"))  # fmt: skip
    body = {"dataset": "flow_runs", "measures": ["total_runs"], "date_range": RANGE,
            "filters": [{"field": "flow", "op": "eq", "value": globex_flow}]}  # fmt: skip
    assert ok_json(run(signed_in(ADMIN), body))["rows"] == [[0]]


def test_funnel_of_another_tenants_flow_is_refused(
    signed_in: Callable[[str], FlaskClient], hub: Hub
) -> None:
    """Acme cannot run the funnel of a Globex flow: to Acme that flow does not exist."""
    [[globex_flow]] = hand(hub, "SELECT min(id) FROM fs_flows WHERE tenant_id = :t",
                           t=hub.tenant_id("globex"))  # fmt: skip
    response = run(signed_in(ADMIN), {"dataset": "funnel", "flow_id": globex_flow})
    assert response.status_code == 400
    assert response.get_json() == {
        "error": f"flow_id: There is no flow with id {globex_flow}",
        "status": 400,
        "errors": [{"path": "flow_id", "message": f"There is no flow with id {globex_flow}"}],
    }


def test_funnel_counts_executions_reaching_each_step(
    signed_in: Callable[[str], FlaskClient], hub: Hub
) -> None:
    """The funnel of Acme's first flow lists its steps in order with hand-counted reach."""
    [[flow]] = hand(hub, "SELECT min(id) FROM fs_flows WHERE tenant_id = :t",
                    t=hub.tenant_id("acme"))  # fmt: skip
    expected = hand(
        hub,
        "SELECT s.position || '. ' || s.name, count(r.execution_id) FROM fs_flow_steps s "
        "LEFT JOIN (fs_execution_steps r JOIN fs_executions e ON e.tenant_id = r.tenant_id "
        "AND e.id = r.execution_id AND e.started_at >= :from AND e.started_at < :until) "
        "ON r.tenant_id = s.tenant_id AND r.step_id = s.id "
        "WHERE s.flow_id = :flow GROUP BY s.position, s.name ORDER BY s.position",
        flow=flow,
        **WINDOW,
    )
    got = ok_json(run(signed_in(ADMIN), {"dataset": "funnel", "flow_id": flow,
                                         "date_range": RANGE, "viz": "funnel"}))  # fmt: skip
    assert [c["id"] for c in got["columns"]] == ["step", "reached", "drop_off", "conversion"]
    assert expected and expected[0][1] > 0
    assert [(step, reached) for step, reached, _, _ in got["rows"]] == expected
    assert got["rows"][0][2] is None and got["rows"][0][3] == 1.0


# ---- run: modes and row caps ---------------------------------------------------------------

DAILY_300 = {
    "dataset": "conversions",
    "measures": ["conversions"],
    "dimensions": [{"id": "time"}],
    "date_range": {"start": (TODAY - dt.timedelta(days=299)).isoformat(),
                   "end": TODAY.isoformat()},
    "viz": "line",
}  # fmt: skip


@pytest.mark.parametrize(
    ("mode", "row_cap", "rows", "truncated"),
    [
        (None, 200, 200, True),
        ("", 200, 200, True),
        ("preview", 200, 200, True),
        ("saved", 500, 300, False),
        ("export", 5000, 300, False),
    ],
)
def test_mode_sets_the_row_cap(
    signed_in: Callable[[str], FlaskClient],
    mode: str | None,
    row_cap: int,
    rows: int,
    truncated: bool,
) -> None:
    """300 gap-filled days: a preview keeps the latest 200 and says so; saved and export
    show all."""
    got = ok_json(run(signed_in(ADMIN), DAILY_300, mode))
    assert (got["row_cap"], len(got["rows"]), got["truncated"]) == (row_cap, rows, truncated)
    first = TODAY - dt.timedelta(days=rows - 1)
    assert (got["rows"][0][0], got["rows"][-1][0]) == (first.isoformat(), TODAY.isoformat())


def test_export_stops_at_5000_rows(signed_in: Callable[[str], FlaskClient]) -> None:
    """Days x goals x channels over a year (more than 5000 rows) export 5000, truncated."""
    body = {
        **DAILY_300,
        "dimensions": [{"id": "time"}, {"id": "goal"}, {"id": "channel"}],
        "date_range": {"preset": "365d"},
        "viz": "table",
    }
    got = ok_json(run(signed_in(ADMIN), body, "export"))
    assert (got["row_cap"], len(got["rows"]), got["truncated"]) == (5000, 5000, True)


@pytest.mark.parametrize("mode", ["draft", "PREVIEW", "5000"])
def test_unknown_mode_is_refused(signed_in: Callable[[str], FlaskClient], mode: str) -> None:
    """Only preview, saved and export are modes."""
    response = run(signed_in(ADMIN), KPI, mode)
    assert response.status_code == 400
    assert response.get_json() == {"error": "mode: one of preview, saved, export", "status": 400}


# ---- run: refusals -------------------------------------------------------------------------


def test_invalid_definition_lists_every_issue(signed_in: Callable[[str], FlaskClient]) -> None:
    """A 400 names each bad field by its JSON path; the headline is the first issue."""
    body = {**KPI, "measures": ["conversions", "profit"], "viz": "line"}
    response = run(signed_in(ADMIN), body)
    assert response.status_code == 400
    unknown = (
        "Unknown measure 'profit' for conversions; one of: avg_value, conversions, "
        "distinct_conversations, distinct_customers, revenue"
    )
    line = "A line chart needs the time dimension"
    assert response.get_json() == {
        "error": f"measures[1]: {unknown} (and 1 more)",
        "status": 400,
        "errors": [{"path": "measures[1]", "message": unknown}, {"path": "viz", "message": line}],
    }


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ("null", "the body must be a JSON report definition"),
        ("{not json", "the body must be a JSON report definition"),
        ("", "the body must be a JSON report definition"),
        ('["conversions"]', "(definition): Input should be a valid dictionary or instance of "
                            "Definition"),
    ],
    ids=["null", "malformed", "empty", "list"],
)  # fmt: skip
def test_json_that_is_no_definition_is_refused(
    signed_in: Callable[[str], FlaskClient], data: str, error: str
) -> None:
    """A JSON body that is not an object, or not JSON at all, is a 400."""
    response = signed_in(ADMIN).post(RUN, data=data, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"] == error


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": {"dataset": "conversions", "measures": "conversions"}},
        {"data": json.dumps(KPI), "content_type": "text/plain"},
        {"data": json.dumps(KPI), "content_type": "multipart/form-data; boundary=x"},
        {},
    ],
    ids=["form", "text-plain", "multipart", "no-body"],
)
def test_non_json_post_is_refused(
    signed_in: Callable[[str], FlaskClient], kwargs: dict[str, Any]
) -> None:
    """CSRF rule: a POST whose body is not declared JSON is refused before any work."""
    response = signed_in(ADMIN).post(RUN, **kwargs)
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "send the request body as JSON (Content-Type: application/json)",
        "status": 400,
    }


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("https://evil.example", 403),
        ("http://localhost.evil.example", 403),
        ("http://localhost:8050", 403),
        ("null", 403),
        ("http://localhost", 200),
        (None, 200),
    ],
)
def test_origin_must_be_this_site(
    signed_in: Callable[[str], FlaskClient], origin: str | None, status: int
) -> None:
    """A browser's cross-site POST is refused; same-site and script (no Origin) pass."""
    headers = {} if origin is None else {"Origin": origin}
    response = run(signed_in(ADMIN), KPI, headers=headers)
    assert response.status_code == status
    if status == 403:
        assert response.get_json() == {"error": "cross-site requests are not accepted",
                                       "status": 403}  # fmt: skip


def test_run_needs_a_session(anonymous: FlaskClient) -> None:
    """Signed out, /run answers 401 with a JSON error, not a page."""
    response = run(anonymous, KPI)
    assert response.status_code == 401
    assert response.get_json() == {"error": "Please sign in to continue.", "status": 401}


def test_suggest_needs_a_session(anonymous: FlaskClient) -> None:
    """Signed out, /suggest answers 401 with a JSON error, like /run."""
    response = suggest(anonymous, dataset="conversions", field="channel", q="w")
    assert response.status_code == 401
    assert response.get_json() == {"error": "Please sign in to continue.", "status": 401}


def test_signed_out_suggest_reveals_nothing(anonymous: FlaskClient) -> None:
    """Whatever the status, a signed-out suggest carries no values."""
    response = suggest(anonymous, dataset="conversions", field="channel", q="w")
    assert response.status_code in (302, 401)
    assert b"whatsapp" not in response.get_data()


# ---- access --------------------------------------------------------------------------------

NO_TELEMETRY = {"error": "Your role does not include viewing raw telemetry.",
                "status": 403, "leaf": "comerix.insights.telemetry"}  # fmt: skip


@pytest.mark.parametrize(
    ("email", "definition", "status"),
    [
        (VIEWER, KPI, 200),
        (VIEWER, TELEMETRY, 403),
        (ANALYST, KPI, 200),
        (ANALYST, TELEMETRY, 403),
        (ADMIN, TELEMETRY, 200),
        (GLOBEX_ADMIN, TELEMETRY, 200),
    ],
)
def test_run_access_matrix(
    signed_in: Callable[[str], FlaskClient], email: str, definition: dict[str, Any], status: int
) -> None:
    """Telemetry needs its own leaf; everything else needs analytics only."""
    response = run(signed_in(email), definition)
    assert response.status_code == status
    if status == 403:
        assert response.get_json() == NO_TELEMETRY


@pytest.mark.parametrize(
    ("email", "status"), [(VIEWER, 403), (ANALYST, 403), (ADMIN, 200), (GLOBEX_ADMIN, 200)]
)
def test_suggest_access_to_telemetry(
    signed_in: Callable[[str], FlaskClient], email: str, status: int
) -> None:
    """Event-name suggestions are telemetry too."""
    response = suggest(signed_in(email), dataset="telemetry", field="event_name", q="cart")
    assert response.status_code == status
    if status == 403:
        assert response.get_json() == NO_TELEMETRY
    else:
        assert {v["value"] for v in response.get_json()["values"]} >= {"add_to_cart"}


# ---- suggest -------------------------------------------------------------------------------


def suggest_sql(table: str, column: str, time: str, matched: str, join: str = "") -> str:
    """The hand version of a suggestion query: value, label, count over the last 90 days."""
    label = "f.name" if join else f"x.{column}"
    return (
        f"SELECT x.{column}, {label}, count(*) FROM {table} x {join} "
        f"WHERE x.tenant_id = :t AND x.{time} >= :since AND x.{column} IS NOT NULL "
        f"AND {matched} ILIKE :q GROUP BY 1, 2 ORDER BY 3 DESC, 2 LIMIT 20"
    )


FLOW_JOIN = "JOIN fs_flows f ON f.tenant_id = x.tenant_id AND f.id = x.flow_id"


def expected_suggestions(hub: Hub, slug: str, sql: str, q: str) -> list[dict[str, Any]]:
    found = hand(hub, sql, t=hub.tenant_id(slug), since=SUGGEST_SINCE, q=f"%{q}%")
    return [{"value": value, "label": label, "count": n} for value, label, n in found]


@pytest.mark.parametrize(
    ("dataset", "field", "q", "sql"),
    [
        ("conversions", "channel", "WH",
         suggest_sql("ins_goal_completions", "channel", "completed_at", "x.channel")),
        ("conversions", "channel", "",
         suggest_sql("ins_goal_completions", "channel", "completed_at", "x.channel")),
        ("conversions", "currency", "  eur ",
         suggest_sql("ins_goal_completions", "currency", "completed_at", "x.currency")),
        ("flow_runs", "status", "",
         suggest_sql("fs_executions", "status", "started_at", "x.status")),
        ("flow_runs", "flow", "",
         suggest_sql("fs_executions", "flow_id", "started_at", "f.name", FLOW_JOIN)),
        ("flow_runs", "flow", "ORDER",
         suggest_sql("fs_executions", "flow_id", "started_at", "f.name", FLOW_JOIN)),
        ("conversions", "goal", "",
         suggest_sql("ins_goal_completions", "goal_id", "completed_at", "f.name",
                     "JOIN ins_goals f ON f.tenant_id = x.tenant_id AND f.id = x.goal_id")),
        ("token_usage", "flow", "",
         suggest_sql("ins_token_usage_daily", "flow_id", "day", "f.name", FLOW_JOIN)),
        ("telemetry", "event_name", "_",
         suggest_sql("ins_telemetry_events", "event_name", "occurred_at", "x.event_name")),
    ],
    ids=["channel-wh", "channel-all", "currency-padded", "status", "flow-all", "flow-order",
         "goal", "token-flow", "underscore-is-literal"],
)  # fmt: skip
@pytest.mark.parametrize(("email", "slug"), [(ADMIN, "acme"), (GLOBEX_ADMIN, "globex")])
def test_suggest_equals_hand_sql(
    signed_in: Callable[[str], FlaskClient],
    hub: Hub,
    dataset: str,
    field: str,
    q: str,
    sql: str,
    email: str,
    slug: str,
) -> None:
    """Values of the tenant's own recent rows matching q, most frequent first, at most 20."""
    response = suggest(signed_in(email), dataset=dataset, field=field, q=q)
    got = ok_json(response)
    q_sql = q.strip().replace("_", "\\_")
    expected = expected_suggestions(hub, slug, sql, q_sql)
    assert expected
    assert got == {"dataset": dataset, "field": field, "values": expected}
    counts = [v["count"] for v in got["values"]]
    assert counts == sorted(counts, reverse=True) and len(counts) <= 20


def test_suggest_matches_case_insensitively(signed_in: Callable[[str], FlaskClient]) -> None:
    """q=WH finds whatsapp; each suggestion is exactly {value, label, count}."""
    values = ok_json(suggest(signed_in(VIEWER), dataset="conversions", field="channel", q="WH"))[
        "values"
    ]
    assert [v["value"] for v in values] == ["whatsapp"]
    assert all(set(v) == {"value", "label", "count"} and v["count"] > 0 for v in values)


def test_flow_suggestions_are_ids_labelled_with_names(
    signed_in: Callable[[str], FlaskClient], hub: Hub
) -> None:
    """A lookup field suggests the flow's id as value and its name as label."""
    values = ok_json(suggest(signed_in(ADMIN), dataset="flow_runs", field="flow"))["values"]
    names = dict(hand(hub, "SELECT id, name FROM fs_flows WHERE tenant_id = :t",
                      t=hub.tenant_id("acme")))  # fmt: skip
    assert values and all(isinstance(v["value"], int) for v in values)
    assert {v["value"]: v["label"] for v in values}.items() <= names.items()


@pytest.mark.parametrize(
    ("email", "slug", "other"), [(ADMIN, "acme", "globex"), (GLOBEX_ADMIN, "globex", "acme")]
)
@pytest.mark.parametrize("dataset", ["flow_runs", "conversions", "token_usage"])
def test_flow_suggestions_stay_in_the_tenant(
    signed_in: Callable[[str], FlaskClient], hub: Hub, email: str, slug: str, other: str,
    dataset: str,
) -> None:  # fmt: skip
    """Flow suggestions carry only the tenant's own ids, never a name only the other has."""
    flows = "SELECT id, name FROM fs_flows WHERE tenant_id = :t"
    own, theirs = (dict(hand(hub, flows, t=hub.tenant_id(s))) for s in (slug, other))
    only_theirs = set(theirs.values()) - set(own.values())
    assert only_theirs  # the demo gives each tenant flows the other does not have
    values = ok_json(suggest(signed_in(email), dataset=dataset, field="flow"))["values"]
    assert values
    assert {v["value"] for v in values} <= set(own)
    assert not {v["label"] for v in values} & only_theirs
    for name in only_theirs:
        found = ok_json(suggest(signed_in(email), dataset=dataset, field="flow", q=name))
        assert found["values"] == []


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"dataset": "sales", "field": "channel"}, "dataset: unknown dataset 'sales'"),
        ({"dataset": "conversions", "field": "country"},
         "field: conversions has no filter field 'country'"),
        ({"dataset": "conversions", "field": "value"},
         "field: conversions.value does not offer suggestions"),
        ({"dataset": "flow_runs", "field": "duration"},
         "field: flow_runs.duration does not offer suggestions"),
        ({"dataset": "chat", "field": "time"}, "field: chat has no filter field 'time'"),
        ({"field": "channel"}, "dataset: unknown dataset ''"),
        ({"dataset": "conversions"}, "field: conversions has no filter field ''"),
    ],
    ids=["unknown-dataset", "unknown-field", "value-no-suggest", "duration-no-suggest",
         "dataset-without-filters", "no-dataset", "no-field"],
)  # fmt: skip
def test_suggest_refuses_what_has_no_suggestions(
    signed_in: Callable[[str], FlaskClient], args: dict[str, str], error: str
) -> None:
    """Unknown datasets and fields, and fields without suggestions, are a 400."""
    response = suggest(signed_in(ADMIN), **args)
    assert response.status_code == 400
    assert response.get_json() == {"error": error, "status": 400}


# ---- values the database could not take are refused before any query ------------------

TOO_BIG_FOR_BIGINT = 2**63


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param({**KPI, "date_range": {"start": "9999-12-30", "end": "9999-12-31"}}, 400,
                     id="range-ends-on-date-max"),
        pytest.param({"dataset": "funnel", "flow_id": 1,
                      "date_range": {"start": "9999-12-31", "end": "9999-12-31"}}, 400,
                     id="funnel-range-ends-on-date-max"),
        pytest.param({**KPI, "filters": [{"field": "channel", "op": "eq", "value": "we\u0000b"}]},
                     400, id="nul-in-text"),
        pytest.param({**KPI, "filters": [{"field": "channel", "op": "eq", "value": "\ud800"}]},
                     400, id="lone-surrogate-in-text"),
        pytest.param({**KPI, "filters": [{"field": "flow", "op": "eq",
                                          "value": TOO_BIG_FOR_BIGINT}]}, 400,
                     id="flow-id-beyond-bigint"),
        pytest.param({"dataset": "funnel", "flow_id": TOO_BIG_FOR_BIGINT}, 400,
                     id="funnel-flow-id-beyond-bigint"),
        pytest.param({"dataset": "flow_runs", "measures": ["total_runs"],
                      "filters": [{"field": "duration", "op": "gt", "value": 3_000_000_000}]},
                     200, id="duration-beyond-integer-is-compared-as-numeric"),
        pytest.param({**KPI, "filters": [{"field": "value", "op": "gt", "value": 10**30}]}, 400,
                     id="value-beyond-the-number-bound"),
    ],
)  # fmt: skip
def test_values_the_database_cannot_take_are_a_400(
    signed_in: Callable[[str], FlaskClient], body: dict[str, Any], status: int
) -> None:
    """Such values are refused with 400 (or compared safely), never a 500."""
    response = signed_in(ADMIN).post(RUN, data=json.dumps(body), content_type="application/json")
    assert response.status_code == status, response.get_data(as_text=True)


def test_suggest_with_nul_in_q_is_not_a_500(signed_in: Callable[[str], FlaskClient]) -> None:
    """A NUL byte in q is dropped: suggestions as for the rest of the text."""
    response = suggest(signed_in(ADMIN), dataset="conversions", field="channel", q="w\u0000")
    assert response.status_code == 200


# ---- property: whatever is POSTed, /run answers 200 or 400 ---------------------------------

# Values inside what the database types hold, text without NUL or lone surrogates, days
# before date.max: the failures outside those bounds are the known ones above.
SAFE_SCALAR = scalars(
    st.integers(-(2**31) + 1, 2**31 - 1),
    st.floats(-2e9, 2e9) | st.just(float("nan")),
    st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12),
)
SAFE_DAY = st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)) | st.dates(
    max_value=dt.date(9999, 12, 30)
)
MODES = st.sampled_from([None, None, None, "saved", "export", "draft"])


@settings(max_examples=100, deadline=None)
@given(body=json_values(SAFE_SCALAR) | near_valid(SAFE_SCALAR, SAFE_DAY), mode=MODES)
def test_run_never_fails_with_a_500(
    signed_in: Callable[[str], FlaskClient], body: Any, mode: str | None
) -> None:
    """Any JSON body gets a result (200) or a reason (400), never a server error."""
    response = signed_in(ADMIN).post(
        RUN,
        data=json.dumps(body),
        content_type="application/json",
        query_string={} if mode is None else {"mode": mode},
    )
    assert response.status_code in (200, 400), (body, response.get_data(as_text=True))
    payload = response.get_json()
    if response.status_code == 200:
        assert len(payload["rows"]) == len(payload["formatted"]) <= payload["row_cap"]
    else:
        assert payload["status"] == 400 and payload["error"]
