"""Refreshing the daily rollups (ins_conversation_stats_daily, ins_token_usage_daily)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine


def refresh_rollups(cron: Engine) -> None:
    """Runs ins_refresh_analytics(); needs the cron role, which may execute it."""
    with cron.begin() as conn:
        conn.execute(sa.select(sa.func.ins_refresh_analytics()))
