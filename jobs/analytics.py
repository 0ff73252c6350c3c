"""RefreshInsightsCronJob: refreshes the daily rollups for every tenant."""

from __future__ import annotations

from db import engines
from db.rollups import refresh_rollups


def refresh_analytics() -> None:
    """Entry point for RQ: refresh on the cron (BYPASSRLS) connection."""
    refresh_rollups(engines.default().cron)
