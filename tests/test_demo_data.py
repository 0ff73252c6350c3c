"""The demo data: shape, determinism, and rollups that equal hand-written SQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from db import accounts, demo, engines, migrate
from db.databases import create_database, drop_database
from db.tenancy import tenant_transaction
from tests.conftest import Hub

TODAY = dt.datetime.now(dt.UTC).date()


def _scalar(conn: Connection, sql: str, **params: object) -> object:
    return conn.execute(sa.text(sql), params).scalar_one()


@pytest.fixture(scope="module")
def acme(hub: Hub) -> int:
    return hub.tenant_id("acme")


@pytest.fixture(scope="module")
def seeded_at(hub: Hub, acme: int) -> dt.datetime:
    """The moment Acme was seeded: its tenant row is written in the seed's transaction."""
    with hub.admin.connect() as conn:
        return _scalar(conn, "SELECT created_at FROM tenants WHERE id = :t", t=acme)


@pytest.fixture(scope="module")
def acme_again(hub: Hub, seeded_at: dt.datetime) -> Iterator[tuple[Engine, int]]:
    """Acme seeded again with the same profile at the same moment, in a fresh database."""
    url = create_database(hub.admin_url)
    engine = engines.create(url)
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            tenant_id = accounts.create_tenant(conn, slug="acme", name="Acme")
            demo.seed_platform_data(conn, tenant_id=tenant_id, profile=demo.ACME, now=seeded_at)
        yield engine, tenant_id
    finally:
        engine.dispose()
        drop_database(url)


def test_history_covers_thirteen_months_up_to_the_seed(
    hub: Hub, acme: int, seeded_at: dt.datetime
) -> None:
    """Conversations start 13 months ago and run through the seed's day, every day."""
    with hub.admin.connect() as conn:
        first, last, days = conn.execute(
            sa.text(
                "SELECT min(started_at AT TIME ZONE 'UTC')::date, "
                "max(started_at AT TIME ZONE 'UTC')::date, "
                "count(DISTINCT (started_at AT TIME ZONE 'UTC')::date) "
                "FROM chat_conversations WHERE tenant_id = :t"
            ),
            {"t": acme},
        ).one()
    seed_day = seeded_at.astimezone(dt.UTC).date()
    assert first == seed_day - dt.timedelta(days=demo.HISTORY_DAYS - 1)
    assert last == seed_day
    assert days == demo.HISTORY_DAYS


def test_vocabularies_are_all_present(hub: Hub, acme: int) -> None:
    """Five channels, three currencies, four statuses, four trigger types, a dozen events."""
    with hub.admin.connect() as conn:

        def values(sql: str) -> set[str]:
            return set(conn.scalars(sa.text(sql), {"t": acme}))

        assert values("SELECT DISTINCT channel FROM chat_conversations WHERE tenant_id = :t") == {
            "web", "whatsapp", "messenger", "instagram", "email"
        }  # fmt: skip
        assert values(
            "SELECT DISTINCT currency FROM ins_goal_completions WHERE tenant_id = :t"
        ) == {"USD", "EUR", "GBP"}
        assert values("SELECT DISTINCT status FROM fs_executions WHERE tenant_id = :t") == {
            "completed", "failed", "aborted", "running"
        }  # fmt: skip
        assert values("SELECT DISTINCT trigger_type FROM fs_executions WHERE tenant_id = :t") == {
            "message", "schedule", "api", "manual"
        }  # fmt: skip
        events = values("SELECT DISTINCT event_name FROM ins_telemetry_events WHERE tenant_id = :t")
        assert len(events) >= 10


def test_tokens_only_on_agent_replies_and_consistent(hub: Hub, acme: int) -> None:
    """Token columns are null off agent replies, set on most of them, and add up."""
    with hub.admin.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT count(*) FILTER (WHERE role <> 'agent' AND total_tokens IS NOT NULL), "
                "count(*) FILTER (WHERE total_tokens <> prompt_tokens + completion_tokens), "
                "count(*) FILTER (WHERE (total_tokens IS NULL) <> (cost_usd IS NULL)), "
                "avg((total_tokens IS NOT NULL)::int) FILTER (WHERE role = 'agent') "
                "FROM chat_messages WHERE tenant_id = :t"
            ),
            {"t": acme},
        ).one()
    assert row[:3] == (0, 0, 0)
    assert 0.6 < row[3] < 0.98


def test_running_flows_are_recent_and_funnels_narrow(hub: Hub, acme: int) -> None:
    """Only runs from today or yesterday are still running; each step is reached by no more
    executions than the one before it."""
    with hub.admin.connect() as conn:
        stale = _scalar(
            conn,
            "SELECT count(*) FROM fs_executions WHERE tenant_id = :t AND status = 'running' "
            "AND started_at < (:today - 1)::timestamp AT TIME ZONE 'UTC'",
            t=acme,
            today=TODAY,
        )
        widening = _scalar(
            conn,
            "WITH reached AS ("
            " SELECT s.flow_id, s.position, count(*) AS n FROM fs_execution_steps e"
            " JOIN fs_flow_steps s ON s.tenant_id = e.tenant_id AND s.id = e.step_id"
            " WHERE e.tenant_id = :t GROUP BY 1, 2)"
            " SELECT count(*) FROM reached a JOIN reached b"
            " ON a.flow_id = b.flow_id AND b.position = a.position + 1 WHERE b.n > a.n",
            t=acme,
        )
    assert (stale, widening) == (0, 0)


ENGAGEMENT_BY_HAND = """
WITH per_conversation AS (
    SELECT (c.started_at AT TIME ZONE 'UTC')::date AS day,
           count(m.id) AS messages,
           count(m.id) FILTER (WHERE m.role = 'user') AS user_messages,
           count(m.id) FILTER (WHERE m.role = 'agent') AS agent_messages,
           bool_or(m.role = 'agent' AND EXISTS (
               SELECT 1 FROM chat_messages u
               WHERE u.tenant_id = c.tenant_id AND u.conversation_id = c.id
                 AND u.role = 'user' AND u.created_at < m.created_at)) AS engaged
    FROM chat_conversations c
    LEFT JOIN chat_messages m ON m.tenant_id = c.tenant_id AND m.conversation_id = c.id
    WHERE c.tenant_id = :t
    GROUP BY c.id, c.started_at
)
SELECT day, count(*), sum(messages), sum(user_messages), sum(agent_messages),
       count(*) FILTER (WHERE engaged)
FROM per_conversation GROUP BY day ORDER BY day
"""

TOKENS_BY_HAND = """
SELECT (created_at AT TIME ZONE 'UTC')::date AS day, flow_id, count(*),
       count(DISTINCT conversation_id), sum(prompt_tokens), sum(completion_tokens),
       sum(total_tokens), sum(cost_usd)
FROM chat_messages
WHERE tenant_id = :t AND total_tokens IS NOT NULL
  AND (created_at AT TIME ZONE 'UTC')::date >= :today - 89
GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST
"""


def test_engagement_rollup_equals_hand_sql(hub: Hub, acme: int) -> None:
    """ins_conversation_stats_daily, read as the web role, equals the raw-table count."""
    with hub.admin.connect() as conn:
        expected = [tuple(r) for r in conn.execute(sa.text(ENGAGEMENT_BY_HAND), {"t": acme})]
    with tenant_transaction(hub.web, tenant_id=acme) as conn:
        got = [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT day, conversations, messages, user_messages, agent_messages, "
                    "engaged_conversations FROM ins_conversation_stats_daily ORDER BY day"
                )
            )
        ]
    assert expected and got == expected


def test_token_rollup_equals_hand_sql_over_ninety_days(hub: Hub, acme: int) -> None:
    """ins_token_usage_daily holds exactly the last 90 days of token-bearing messages."""
    with hub.admin.connect() as conn:
        expected = [
            tuple(r) for r in conn.execute(sa.text(TOKENS_BY_HAND), {"t": acme, "today": TODAY})
        ]
    with tenant_transaction(hub.web, tenant_id=acme) as conn:
        got = [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT day, flow_id, messages, conversations, prompt_tokens, "
                    "completion_tokens, total_tokens, cost_usd FROM ins_token_usage_daily "
                    "ORDER BY day, flow_id NULLS FIRST"
                )
            )
        ]
    assert expected and got == expected
    assert {r[0] for r in got} == {TODAY - dt.timedelta(days=n) for n in range(90)}


FINGERPRINT = {
    "fs_flows": "name",
    "fs_flow_steps": "flow_id, position, name",
    "chat_conversations": "id, channel, customer_id, started_at",
    "chat_messages": "id, conversation_id, flow_id, role, created_at, total_tokens, cost_usd",
    "fs_executions": "id, flow_id, conversation_id, status, trigger_type, started_at, duration_ms",
    "fs_execution_steps": "execution_id, step_id, reached_at",
    "ins_telemetry_events": "id, conversation_id, event_name, properties, occurred_at",
    "ins_goals": "name, event_name, active, value_rule, fixed_value",
    "ins_goal_completions": "goal_id, channel, currency, value, customer_id, completed_at",
}


def _fingerprint(engine: Engine, tenant_id: int) -> dict[str, tuple[int, str]]:
    with engine.connect() as conn:
        return {
            table: tuple(
                conn.execute(
                    sa.text(
                        f"SELECT count(*), md5(string_agg(({cols})::text, ',' ORDER BY {cols})) "
                        f"FROM {table} WHERE tenant_id = :t"
                    ),
                    {"t": tenant_id},
                ).one()
            )
            for table, cols in FINGERPRINT.items()
        }


def test_seeding_is_deterministic_and_tenants_differ(
    hub: Hub, acme_again: tuple[Engine, int]
) -> None:
    """The same profile and moment give identical rows in a fresh database; Globex differs."""
    acme = _fingerprint(hub.admin, hub.tenant_id("acme"))
    assert _fingerprint(*acme_again) == acme
    globex = _fingerprint(hub.admin, hub.tenant_id("globex"))
    assert all(globex[t] != acme[t] for t in ("chat_conversations", "chat_messages"))
    assert globex["chat_conversations"][0] < acme["chat_conversations"][0]


TIME_COLUMNS = """
SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = 'public' AND table_name = ANY(:tables)
  AND data_type IN ('timestamp with time zone', 'timestamp without time zone', 'date')
ORDER BY table_name, column_name
"""


def test_nothing_is_later_than_the_seed(
    acme_again: tuple[Engine, int], seeded_at: dt.datetime
) -> None:
    """No timestamp of any table the demo seeds is later than the moment of seeding, and
    the seed's day has rows up to shortly before it."""
    engine, tenant_id = acme_again
    with engine.connect() as conn:
        columns = conn.execute(sa.text(TIME_COLUMNS), {"tables": list(FINGERPRINT)}).all()
        latest = {
            f"{table}.{column}": _scalar(
                conn, f"SELECT max({column}) FROM {table} WHERE tenant_id = :t", t=tenant_id
            )
            for table, column in columns
        }
    assert {c.split(".")[0] for c in latest} >= set(FINGERPRINT) - {"fs_flow_steps"}
    assert all(value is not None for value in latest.values()), latest
    later = {column: value for column, value in latest.items() if value > seeded_at}
    assert later == {}
    assert latest["chat_messages.created_at"] > seeded_at - dt.timedelta(hours=6)
