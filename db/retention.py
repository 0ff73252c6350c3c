"""Retention: rows past their window are deleted, in small batches.

Each entry of EXPIRIES names a table, its time column and how many days it keeps: a
tenant setting (raw telemetry, `tenants.telemetry_retention_days`, default 400, at least
31) or a fixed number (the delivery ledger and alert firings, DELIVERY_DAYS).
`expire_rows` deletes, per tenant, the rows older than the window in batches of
BATCH_ROWS through the (tenant_id, time) index, each batch its own short transaction, so
no lock is held for long and ingestion never waits. The rollups keep the aggregates of
deleted days (migrations 0008 and 0009); telemetry batches take the refresh's lock.
Expired export files are swept by RemoveExpiredExportsCronJob (jobs/exports.py), which
stays its own job.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from datasets import dates
from db import schema as s
from errors import BadRetention

BATCH_ROWS = 10_000
REFRESH_LOCK = "ins_refresh_analytics"  # the advisory lock the rollup refreshes take
MIN_RETENTION_DAYS = 31
DELIVERY_DAYS = 400  # a schedule's delivery history (db/deliveries.py) reaches back a year


@dataclass(frozen=True)
class Expiry:
    table: sa.Table
    time_column: str
    days: str | int  # the tenants column holding the number of days kept, or the number
    is_rolled_up: bool = False  # deleted under the rollup refresh's lock (see _delete_batch)


EXPIRIES = (
    Expiry(s.telemetry_events, "occurred_at", "telemetry_retention_days", is_rolled_up=True),
    Expiry(s.report_deliveries, "created_at", DELIVERY_DAYS),
    Expiry(s.alert_firings, "fired_at", DELIVERY_DAYS),  # an alert's history, as long
)


def set_telemetry_retention(conn: Connection, *, tenant_id: int, days: int) -> None:
    if days < MIN_RETENTION_DAYS:
        raise BadRetention([("days", f"at least {MIN_RETENTION_DAYS} days ({days} given)")])
    tenants = s.tenants
    conn.execute(
        sa.update(tenants).where(tenants.c.id == tenant_id).values(telemetry_retention_days=days)
    )


def _cutoffs(cron: Engine, expiry: Expiry, now: dt.datetime) -> list[tuple[int, dt.datetime]]:
    """(tenant, the instant before which its rows go): midnight UTC `days` days ago."""
    today = now.astimezone(dt.UTC).date()
    with cron.connect() as conn:
        days = expiry.days
        kept = s.tenants.c[days] if isinstance(days, str) else sa.literal(days, sa.Integer)
        rows = conn.execute(sa.select(s.tenants.c.id, kept))
        return [(tenant_id, dates.midnight(today - dt.timedelta(days=days)))
                for tenant_id, days in rows]  # fmt: skip


def _delete_batch(conn: Connection, expiry: Expiry, tenant_id: int, before: dt.datetime,
                  limit: int) -> int:  # fmt: skip
    if expiry.is_rolled_up:  # under the refresh's lock: a rebuild (0009) never sees a day
        # half deleted
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(REFRESH_LOCK))))
    t = expiry.table
    time = t.c[expiry.time_column]
    oldest = (
        sa.select(t.c.tenant_id, t.c.id)
        .where(t.c.tenant_id == tenant_id, time < before)
        .order_by(time)
        .limit(limit)
    )
    deleted = conn.execute(sa.delete(t).where(sa.tuple_(t.c.tenant_id, t.c.id).in_(oldest)))
    return deleted.rowcount


def expire_rows(cron: Engine, *, now: dt.datetime | None = None,
                batch_rows: int = BATCH_ROWS) -> dict[int, dict[str, int]]:  # fmt: skip
    """Deletes every tenant's expired rows (cron role: it sees all tenants); returns the
    rows deleted per tenant and table (tables with nothing to delete left out)."""
    now = now or dt.datetime.now(dt.UTC)
    counts: dict[int, dict[str, int]] = {}
    for expiry in EXPIRIES:
        for tenant_id, before in _cutoffs(cron, expiry, now):
            total = 0
            while True:
                with cron.begin() as conn:
                    deleted = _delete_batch(conn, expiry, tenant_id, before, batch_rows)
                total += deleted
                if deleted < batch_rows:
                    break
            if total:
                counts.setdefault(tenant_id, {})[expiry.table.name] = total
    return counts
