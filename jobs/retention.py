"""RetentionCronJob: deletes raw rows past their tenant's retention (db/retention.py)."""

from __future__ import annotations

import logging

from db import engines
from db.retention import expire_rows

log = logging.getLogger(__name__)


def expire_old_rows() -> dict[int, dict[str, int]]:
    """Entry point for RQ, on the cron (BYPASSRLS) connection; logs the counts per tenant."""
    counts = expire_rows(engines.default().cron)
    for tenant_id, tables in counts.items():
        log.info("retention: tenant %s: %s", tenant_id,
                 ", ".join(f"{n:,} rows of {table}" for table, n in tables.items()))  # fmt: skip
    if not counts:
        log.info("retention: nothing past any tenant's retention")
    return counts
