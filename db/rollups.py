"""Refreshing the rollups and their watermark (migrations 0004, 0005 and 0008).

The rollups are tables in schema `rollup` behind security-barrier views of the same
names. ins_refresh_analytics() recomputes, in one transaction, only the (tenant, day)
pairs that can have changed: the days from the old watermark to today for the ledger
rollups (complete UTC days before `ins_rollups_through.through_day`), yesterday and
today for the chat rollups, and every older day that a late row marked in
rollup.ins_dirty_days. ins_rebuild_analytics() recomputes everything. A reader never
sees a watermark that does not match the rollups.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db import schema as s


def refresh_rollups(cron: Engine, *, full: bool = False) -> None:
    """Runs ins_refresh_analytics() (or ins_rebuild_analytics() when `full`); needs the
    cron role, which may execute them."""
    function = sa.func.ins_rebuild_analytics if full else sa.func.ins_refresh_analytics
    with cron.begin() as conn:
        conn.execute(sa.select(function()))


def data_version(conn: sa.Connection) -> str:
    """What the rollups were built from, as a cache key part: the watermark and the moment
    of the last refresh, so it changes at every refresh."""
    row = conn.execute(
        sa.select(s.rollups_through.c.through_day, s.rollups_through.c.refreshed_at)
    ).one()
    return f"{row.through_day}/{row.refreshed_at.isoformat()}"


def last_refresh(engine: Engine) -> dt.datetime | None:
    """When the rollups were last refreshed (one row, readable by the web and cron roles)."""
    with engine.connect() as conn:
        return conn.scalar(sa.select(s.rollups_through.c.refreshed_at))
