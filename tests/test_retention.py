"""RetentionCronJob: raw telemetry past a tenant's retention is deleted, in batches; newer
rows, other tenants and the rollups' aggregates of the deleted days stay (hand SQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db import accounts, engines, migrate
from db.retention import expire_rows, set_telemetry_retention

NOW = dt.datetime.now(dt.UTC)
AGES = (0, 10, 30, 31, 32, 40, 100, 399, 401, 500)  # days before today


def _events(conn: sa.Connection, tenant: int) -> None:
    """Three events a day at each age, at 12:00 UTC (the cutoff is a UTC midnight)."""
    today = NOW.date()
    for age in AGES:
        noon = dt.datetime.combine(today - dt.timedelta(days=age), dt.time(12), tzinfo=dt.UTC)
        for name in ("opened", "opened", "closed"):
            conn.execute(
                sa.text("INSERT INTO ins_telemetry_events (tenant_id, event_name, occurred_at) "
                        "VALUES (:t, :n, :at)"),
                {"t": tenant, "n": name, "at": min(noon, NOW)},
            )  # fmt: skip


def _ages(owner: Engine, sql: str, tenant: int) -> list[tuple[Any, ...]]:
    with owner.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), {"t": tenant, "today": NOW.date()})]


RAW = """SELECT :today - (occurred_at AT TIME ZONE 'UTC')::date, count(*)
FROM ins_telemetry_events WHERE tenant_id = :t GROUP BY 1 ORDER BY 1"""
ROLLED = """SELECT :today - day, sum(row_count)::int FROM rollup.ins_telemetry_events_daily
WHERE tenant_id = :t GROUP BY 1 ORDER BY 1"""


def test_retention_deletes_old_raw_rows_and_keeps_their_aggregates(
    fresh_database: Engine,
) -> None:
    migrate.upgrade(fresh_database)
    with fresh_database.begin() as conn:
        short = accounts.create_tenant(conn, slug="short", name="Short")
        default = accounts.create_tenant(conn, slug="default", name="Default")
        _events(conn, short)
        _events(conn, default)
        set_telemetry_retention(conn, tenant_id=short, days=31)
    with fresh_database.begin() as conn:
        conn.execute(sa.select(sa.func.ins_rebuild_analytics()))
    every_day = [(age, 3) for age in AGES]
    rolled_before = _ages(fresh_database, ROLLED, short)
    assert rolled_before == [(age, 3) for age in AGES if age > 0]  # today is the live tail

    cron = engines.create(fresh_database.url, role=engines.CRON_ROLE)
    try:
        counts = expire_rows(cron, now=NOW, batch_rows=2)  # several batches per tenant
    finally:
        cron.dispose()

    # Short keeps 31 days: rows from the UTC day 31 days ago on; Default keeps 400.
    assert _ages(fresh_database, RAW, short) == [(a, 3) for a in AGES if a <= 31]
    assert _ages(fresh_database, RAW, default) == [(a, 3) for a in AGES if a <= 400]
    assert counts == {short: {"ins_telemetry_events": 3 * 6},
                      default: {"ins_telemetry_events": 3 * 2}}  # fmt: skip
    assert _ages(fresh_database, RAW, default) != every_day
    for refresh in ("ins_refresh_analytics", "ins_rebuild_analytics"):
        with fresh_database.begin() as conn:
            conn.execute(sa.select(getattr(sa.func, refresh)()))
        assert _ages(fresh_database, ROLLED, short) == rolled_before, refresh
        assert _ages(fresh_database, ROLLED, default) == rolled_before, refresh
