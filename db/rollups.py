"""Refreshing the daily rollups and their watermark.

ins_refresh_analytics() (migrations 0004 and 0005) refreshes, CONCURRENTLY and in one
transaction, the materialized views in schema `rollup`: ins_conversation_stats_daily and
ins_token_usage_daily (0004), the watermark ins_rollups_through (the UTC day of the
refresh) and the daily rollups of the Conversions, Flow runs, Telemetry and Funnel
datasets, which hold complete days before it: ins_goal_completions_daily,
fs_executions_daily, ins_telemetry_events_daily and fs_execution_steps_daily (0005). A
reader never sees a watermark that does not match the rollups.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db import schema as s


def refresh_rollups(cron: Engine) -> None:
    """Runs ins_refresh_analytics(); needs the cron role, which may execute it."""
    with cron.begin() as conn:
        conn.execute(sa.select(sa.func.ins_refresh_analytics()))


def data_version(conn: sa.Connection) -> str:
    """What the rollups were built from, as a cache key part: it changes at every refresh
    that changes what a report can read from them."""
    through = conn.scalar(sa.select(s.rollups_through.c.through_day))
    return str(through)
