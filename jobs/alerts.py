"""Alerts on a measure as RQ jobs (db/alerts.py holds the alerts and their firings).

`check_due_alerts` is AlertCheckCronJob (cron `10 * * * *`: after the hourly rollup
refresh at :00 has landed). On the cron connection it lists every tenant's active alerts
and enqueues one `check_alert` job per alert outside its cooldown, on the email queue.

`check_alert` reads the alert's value under its tenant's row-level security through the
result cache (the same numbers the report shows): a single-number report's value and the
same measure over the previous period, or a time series' latest point and the point
before. When the alert fires, `db.alerts.record_firing` records it and queues an `alert`
delivery in the ledger in one transaction (once per cooldown however many checks run),
and `jobs.schedules.deliver` emails it like every delivery.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from rq import Queue

import redis_client
from datasets.cache import run_cached
from datasets.compare import previous_period
from datasets.formatting import is_empty
from datasets.model import Definition, Mode
from datasets.run import Result
from datasets.validate import validate
from db import engines
from db.alerts import Reading, due_alerts, get_alert, record_firing
from db.reports import get_report
from errors import UserError
from jobs import queues
from jobs.schedules import JOB_TIMEOUT_SECONDS, RESULT_TTL_SECONDS, enqueue

log = logging.getLogger(__name__)


def check_due_alerts(now: dt.datetime | None = None) -> list[int]:
    """Cron entry point: enqueues a check of every active alert outside its cooldown;
    returns their ids."""
    now = now or dt.datetime.now(dt.UTC)
    cron = engines.default().cron
    queue = Queue(queues.EMAIL, connection=redis_client.default())
    checked = []
    for tenant_id, alert in due_alerts(cron, now=now):
        assert alert.id is not None
        queue.enqueue(check_alert, tenant_id, alert.id, job_id=f"alert-{tenant_id}-{alert.id}-"
                      f"{now:%Y%m%d%H}", job_timeout=JOB_TIMEOUT_SECONDS,
                      result_ttl=RESULT_TTL_SECONDS)  # fmt: skip
        checked.append(alert.id)
    return checked


def _number(value: Any) -> Decimal | None:
    return None if is_empty(value) else Decimal(str(value))


def reading_of(result: Result, measure: str, previous: Result | None = None) -> Reading | None:
    """The value an alert watches in a report's result: its one row (with `previous`, the
    previous period's result), or a time series' latest point and the one before; None
    when there is no single value (no rows, an empty value, rows per currency)."""
    frame = result.frame
    if "time" in frame.columns:
        frame = frame.sort_values("time")
        if frame["time"].duplicated().any() or frame.empty:
            return None
        value = _number(frame[measure].iloc[-1])
        before = _number(frame[measure].iloc[-2]) if len(frame) > 1 else None
        return None if value is None else Reading(value, before)
    if len(frame) != 1 or (value := _number(frame[measure].iloc[0])) is None:
        return None
    earlier = None
    if previous is not None and len(previous.frame) == 1:
        earlier = _number(previous.frame[measure].iloc[0])
    return Reading(value, earlier)


def read_alert(definition: Definition, measure: str, *, tenant_id: int) -> Reading | None:
    result = run_cached(definition, tenant_id=tenant_id, mode=Mode.SAVED)
    previous = None
    if not definition.dimensions:
        earlier = previous_period(definition, result.start, result.end)
        previous = run_cached(earlier, tenant_id=tenant_id, mode=Mode.SAVED)
    return reading_of(result, measure, previous)


def check_alert(tenant_id: int, alert_id: int, now: dt.datetime | None = None) -> str:
    """RQ entry point: reads one alert's value and fires it when its condition holds."""
    now = now or dt.datetime.now(dt.UTC)
    web, cron = engines.default().web, engines.default().cron
    with cron.connect() as conn:
        alert = get_alert(conn, tenant_id=tenant_id, alert_id=alert_id)
    if alert is None or not alert.active:
        return "gone"
    report = get_report(web, tenant_id=tenant_id, report_id=alert.report_id)
    if report is None:
        return "gone"
    try:
        reading = read_alert(validate(report.definition), alert.measure, tenant_id=tenant_id)
    except UserError as error:  # the report can no longer run: nothing to compare
        log.warning("alert %s of report %s: %s", alert_id, report.id, error.public_message)
        return "report cannot run"
    if reading is None or not alert.fires(reading):
        return "quiet"
    delivery = record_firing(cron, tenant_id=tenant_id, alert_id=alert_id, reading=reading,
                             now=now)  # fmt: skip
    if delivery is None:
        return "cooling"
    enqueue(delivery)
    return "fired"
