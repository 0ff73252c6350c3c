"""The rollups refreshed by day (migration 0008) give the base rows' numbers, exactly for
distinct counts and within 1 % for the p95, across refreshes, late rows and the live tail.

Each test builds its own tenant in a fresh database with rows on chosen days, so the
expectations are small hand-written SQL over the base tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from datasets.model import Mode
from datasets.run import run_report
from datasets.validate import validate
from db import accounts, engines, migrate
from db import schema as s

TODAY = dt.datetime.now(dt.UTC).date()
DAY = dt.timedelta(days=1)
BITMAPS = (s.goal_customer_bits, s.goal_conversation_bits, s.telemetry_conversation_bits)


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


@pytest.fixture
def db(fresh_database: Engine) -> Iterator[tuple[Engine, Engine, int]]:
    """(owner engine, web engine, tenant) in a migrated database with one goal."""
    migrate.upgrade(fresh_database)
    with fresh_database.begin() as conn:
        tenant = accounts.create_tenant(conn, slug="exact", name="Exact")
        conn.execute(
            sa.text("INSERT INTO ins_goals (tenant_id, name, event_name) "
                    "VALUES (:t, 'Order', 'order'), (:t, 'Lead', 'lead')"),
            {"t": tenant},
        )  # fmt: skip
    web = engines.create(fresh_database.url, role=engines.WEB_ROLE)
    yield fresh_database, web, tenant
    web.dispose()


def complete(owner: Engine, tenant: int, rows: list[tuple[str, str, str, int | None, dt.datetime]]
             ) -> None:  # fmt: skip
    """Goal completions: (goal name, channel, customer, conversation id or None, time)."""
    with owner.begin() as conn:
        for goal, channel, customer, conversation, when in rows:
            if conversation is not None:
                conn.execute(
                    sa.text("INSERT INTO chat_conversations (tenant_id, id, channel, customer_id, "
                            "started_at) VALUES (:t, :c, :ch, :cu, :at) ON CONFLICT DO NOTHING"),
                    {"t": tenant, "c": conversation, "ch": channel, "cu": customer, "at": when},
                )  # fmt: skip
            conn.execute(
                sa.text("INSERT INTO ins_goal_completions (tenant_id, goal_id, channel, currency, "
                        "value, customer_id, conversation_id, completed_at) "
                        "SELECT :t, id, :ch, 'EUR', 10, :cu, :c, :at FROM ins_goals "
                        "WHERE tenant_id = :t AND name = :g"),
                {"t": tenant, "g": goal, "ch": channel, "cu": customer, "c": conversation,
                 "at": when},
            )  # fmt: skip


def refresh(owner: Engine, *, full: bool = False) -> None:
    function = sa.func.ins_rebuild_analytics if full else sa.func.ins_refresh_analytics
    with owner.begin() as conn:
        conn.execute(sa.select(function()))


def report(web: Engine, tenant: int, body: dict[str, Any]) -> list[tuple[Any, ...]]:
    definition = validate({"date_range": {"start": (TODAY - 9 * DAY).isoformat(),
                                          "end": TODAY.isoformat()}, **body})  # fmt: skip
    result = run_report(definition, tenant_id=tenant, mode=Mode.EXPORT, engine=web, today=TODAY)
    return [tuple(r) for r in result.frame.itertuples(index=False)]


def hand(owner: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with owner.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


DISTINCT_BY_CHANNEL = """
SELECT channel, count(DISTINCT customer_id), count(DISTINCT conversation_id)
FROM ins_goal_completions WHERE tenant_id = :t AND completed_at >= :lo
GROUP BY channel ORDER BY 2 DESC, 1"""
DISTINCT_BY_DAY = """
SELECT d::date, count(DISTINCT x.customer_id), count(DISTINCT x.conversation_id)
FROM generate_series(CAST(:lo AS date), CAST(:today AS date), interval '1 day') d
LEFT JOIN ins_goal_completions x ON x.tenant_id = :t
     AND (x.completed_at AT TIME ZONE 'UTC')::date = d::date
GROUP BY d ORDER BY d"""


def test_todays_completions_carry_their_customers_number_or_are_looked_up(
    db: tuple[Engine, Engine, int],
) -> None:
    """A completion of a numbered customer carries its number from the insert (0014), one
    of a customer first seen since the refresh none; a row written without its number (a
    bulk load) is looked up when read, and ins_stamp_customer_numbers() stamps it. The
    count is the hand SQL's each way."""
    owner, web, tenant = db
    complete(owner, tenant, [("Order", "web", "c1", 1, at(TODAY - 2 * DAY)),
                             ("Order", "web", "c2", 2, at(TODAY - 2 * DAY))])  # fmt: skip
    refresh(owner)
    complete(owner, tenant, [("Order", "web", "c1", 3, at(TODAY, 0)),
                             ("Lead", "email", "c5", 4, at(TODAY, 0))])  # fmt: skip
    numbers = dict(hand(owner, "SELECT customer_id, n FROM rollup.ins_customer_ids "
                        "WHERE tenant_id = :t", t=tenant))  # fmt: skip
    today = {"t": tenant, "today": at(TODAY, 0)}
    todays = "FROM ins_goal_completions WHERE tenant_id = :t AND completed_at >= :today"
    assert dict(hand(owner, f"SELECT customer_id, customer_n {todays}", **today)) == {
        "c1": numbers["c1"], "c5": None}  # fmt: skip
    body = {"dataset": "conversions", "measures": ["distinct_customers"]}
    [(expected,)] = hand(owner, "SELECT count(DISTINCT customer_id) FROM ins_goal_completions "
                         "WHERE tenant_id = :t", t=tenant)  # fmt: skip
    assert expected == 3
    assert report(web, tenant, body) == [(expected,)]
    with owner.begin() as conn:  # as a bulk load with the trigger off writes them
        conn.execute(sa.text(f"UPDATE ins_goal_completions SET customer_n = NULL "
                             f"WHERE id IN (SELECT id {todays})"), today)  # fmt: skip
    assert report(web, tenant, body) == [(expected,)]
    with owner.begin() as conn:
        assert conn.scalar(sa.text("SELECT rollup.ins_stamp_customer_numbers()")) == 1  # c1
    assert dict(hand(owner, f"SELECT customer_id, customer_n {todays}", **today)) == {
        "c1": numbers["c1"], "c5": None}  # fmt: skip
    assert report(web, tenant, body) == [(expected,)]


def test_distinct_counts_span_rolled_days_the_live_tail_and_late_rows(
    db: tuple[Engine, Engine, int],
) -> None:
    """A customer seen on a rolled-up day and today counts once; one first seen today (not
    numbered yet) counts; a late row for an old day counts after the next refresh; a
    completion outside a conversation counts no conversation."""
    owner, web, tenant = db
    lo = TODAY - 9 * DAY
    complete(owner, tenant, [
        ("Order", "web", "c1", 1, at(TODAY - 5 * DAY)),
        ("Order", "web", "c3", 2, at(TODAY - 5 * DAY, 10)),
        ("Lead", "email", "c3", None, at(TODAY - 4 * DAY)),
        ("Order", "web", "c1", 3, at(TODAY - DAY)),
    ])  # fmt: skip
    refresh(owner)
    complete(owner, tenant, [("Order", "web", "c1", 4, at(TODAY, 0)),
                             ("Lead", "email", "c2", 5, at(TODAY, 0))])  # fmt: skip
    body = {"dataset": "conversions", "measures": ["distinct_customers",
                                                   "distinct_conversations"]}  # fmt: skip
    expected = hand(owner, DISTINCT_BY_CHANNEL, t=tenant, lo=at(lo, 0))
    assert report(web, tenant, {**body, "dimensions": [{"id": "channel"}]}) == expected
    assert expected == [("email", 2, 1), ("web", 2, 4)]
    assert report(web, tenant, body) == [(3, 5)]

    complete(owner, tenant, [("Lead", "email", "c9", 6, at(TODAY - 8 * DAY))])  # late
    assert report(web, tenant, body) == [(3, 5)]  # until the refresh
    refresh(owner)
    assert report(web, tenant, body) == [(4, 6)]
    by_day = report(web, tenant, {**body, "dimensions": [{"id": "time", "grain": "day"}]})
    assert by_day == hand(owner, DISTINCT_BY_DAY, t=tenant, lo=lo, today=TODAY)
    weekly = {**body, "dimensions": [{"id": "time", "grain": "week"}, {"id": "goal"}]}
    assert report(web, tenant, weekly) == hand(owner, """
        SELECT date_trunc('week', x.completed_at AT TIME ZONE 'UTC')::date AS w, g.name,
               count(DISTINCT x.customer_id), count(DISTINCT x.conversation_id)
        FROM ins_goal_completions x
        JOIN ins_goals g ON g.tenant_id = x.tenant_id AND g.id = x.goal_id
        WHERE x.tenant_id = :t AND x.completed_at >= :lo
        GROUP BY 1, 2 ORDER BY 1, 2""", t=tenant, lo=at(lo, 0))  # fmt: skip


def _rollup_rows(owner: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup table's rows, sorted (bitmaps as text), read as the owner."""
    tables = [t.name for t in s.ROLLUPS]
    return {name: sorted(hand(owner, f"SELECT * FROM rollup.{name}"), key=repr) for name in tables}


def test_refresh_touches_only_changed_days_and_equals_a_rebuild(
    db: tuple[Engine, Engine, int],
) -> None:
    """A refresh rewrites only the days that can have changed (here: the late row's day and
    yesterday), and what it leaves equals a rebuild from the rows."""
    owner, _, tenant = db
    complete(owner, tenant, [(("Order", "Lead")[i % 2], ("web", "email")[i % 3 % 2],
                              f"c{i % 7}", 100 + i, at(TODAY - (i % 9) * DAY, i % 24))
                             for i in range(60)])  # fmt: skip
    refresh(owner, full=True)
    written = "SELECT day, xmin::text FROM rollup.ins_goal_completions_daily WHERE day = :d"
    untouched = hand(owner, written, d=TODAY - 6 * DAY)
    complete(owner, tenant, [("Lead", "web", "c-late", 999, at(TODAY - 3 * DAY))])
    marked = hand(owner, "SELECT base, day FROM rollup.ins_dirty_days ORDER BY base")
    assert marked == [("chat", TODAY - 3 * DAY), ("ins_goal_completions", TODAY - 3 * DAY)]
    refresh(owner)
    assert hand(owner, written, d=TODAY - 6 * DAY) == untouched
    assert hand(owner, "SELECT count(*) FROM rollup.ins_dirty_days") == [(0,)]
    refreshed = _rollup_rows(owner)
    refresh(owner, full=True)
    assert _rollup_rows(owner) == refreshed
    assert refreshed["ins_goal_completions_daily"]


P95_BY_FLOW = """
SELECT f.name, percentile_cont(0.95) WITHIN GROUP (ORDER BY x.duration_ms)
FROM fs_executions x JOIN fs_flows f ON f.tenant_id = x.tenant_id AND f.id = x.flow_id
WHERE x.tenant_id = :t AND x.duration_ms IS NOT NULL
GROUP BY f.name ORDER BY f.name"""


def test_p95_from_histograms_is_within_one_percent(db: tuple[Engine, Engine, int]) -> None:
    """Durations from 0 ms to hours, rolled-up days and today: each flow's p95 within 1 % of
    percentile_cont over the rows; a flow whose runs all took 0 ms reads exactly 0."""
    owner, web, tenant = db
    durations = {"Spread": [0, 1, 7, 250, 999, 1000, 1001, 12_345, 60_000, 3_600_000] * 3,
                 "Instant": [0, 0, 0], "Single": [4321]}  # fmt: skip
    with owner.begin() as conn:
        for name, values in durations.items():
            flow = conn.scalar(sa.text("INSERT INTO fs_flows (tenant_id, name) VALUES (:t, :n) "
                                       "RETURNING id"), {"t": tenant, "n": name})  # fmt: skip
            for i, ms in enumerate(values):
                started = at(TODAY - (i % 4) * DAY, i % 20)
                conn.execute(
                    sa.text("INSERT INTO fs_executions (tenant_id, flow_id, status, trigger_type,"
                            " started_at, finished_at, duration_ms) VALUES (:t, :f, 'completed',"
                            " 'api', :s, :s + make_interval(secs => :ms / 1000.0), :ms)"),
                    {"t": tenant, "f": flow, "s": started, "ms": ms},
                )  # fmt: skip
    refresh(owner)
    got = report(web, tenant, {"dataset": "flow_runs", "measures": ["p95_duration"],
                               "dimensions": [{"id": "flow"}]})  # fmt: skip
    expected = hand(owner, P95_BY_FLOW, t=tenant)
    assert [name for name, _ in sorted(got)] == [name for name, _ in expected]
    for (name, value), (_, truth) in zip(sorted(got), expected, strict=True):
        assert value == pytest.approx(truth, rel=0.01), name
    assert dict(got)["Instant"] == 0
