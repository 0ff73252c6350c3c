"""ReportScheduleCronJob: email every due schedule its report, once per UTC day.

The sweep reads all tenants' schedules on the cron (BYPASSRLS) connection. Each due
schedule is then delivered in its own transaction that locks its row (SKIP LOCKED, so
two overlapping sweeps never send twice): the report runs in export mode under its
tenant's row-level security on the web role (through the result cache, so never older
than the cache's freshness rule allows; the email says when its data was computed), the
email goes out, and `last_sent_on` is stamped. A failing report is logged and left
unstamped (the next hourly sweep retries it the same day); it never stops the rest of
the batch.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import sqlalchemy as sa

import config
import mailer
from datasets.cache import run_cached
from datasets.model import Mode
from datasets.validate import validate
from db import engines
from db import schema as s
from db.reports import get_report
from db.schedules import COLUMNS, Schedule, from_row, is_due
from report_email import compose

log = logging.getLogger(__name__)


@dataclass
class Delivery:
    """What one sweep did; the RQ job's result."""

    sent: list[tuple[int, int]] = field(default_factory=list)  # (tenant_id, report_id)
    failed: list[tuple[int, int, str]] = field(default_factory=list)
    skipped: str | None = None


def bypasses_row_security(engine: sa.Engine) -> bool:
    """Whether the engine's role sweeps all tenants (BYPASSRLS), as delivery needs."""
    with engine.connect() as conn:
        return bool(conn.scalar(sa.text(
            "SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user")))  # fmt: skip


def _candidates(cron: sa.Engine, today: dt.date) -> list[tuple[int, Schedule]]:
    t = s.report_schedules
    query = sa.select(t.c.tenant_id, *COLUMNS).where(t.c.last_sent_on.is_distinct_from(today))
    with cron.connect() as conn:
        return [(row.tenant_id, from_row(row)) for row in conn.execute(query)]


def deliver_one(tenant_id: int, report_id: int, now: dt.datetime, sender: str) -> bool:
    """Sends the report's email if it is still due and not taken; True when sent."""
    t = s.report_schedules
    hub = engines.default()
    locked = (
        sa.select(t.c.tenant_id, *COLUMNS)
        .where(t.c.tenant_id == tenant_id, t.c.report_id == report_id)
        .with_for_update(skip_locked=True)
    )
    with hub.cron.begin() as conn:
        row = conn.execute(locked).one_or_none()
        if row is None or not is_due(schedule := from_row(row), now):
            return False
        report = get_report(hub.web, tenant_id=tenant_id, report_id=report_id)
        if report is None:  # deleted since the sweep began (its schedule went with it)
            return False
        result = run_cached(validate(report.definition), tenant_id=tenant_id,
                            mode=Mode.EXPORT, today=now.date())  # fmt: skip
        mailer.send(compose(report, schedule, result, sender=sender, day=now.date()))
        conn.execute(
            sa.update(t)
            .where(t.c.tenant_id == tenant_id, t.c.report_id == report_id)
            .values(last_sent_on=now.date())
        )
    return True


def deliver_due_schedules(now: dt.datetime | None = None) -> Delivery:
    """RQ entry point (cron `5 * * * *`): delivers every due schedule of every tenant."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    settings = config.load()
    outcome = Delivery()
    cron = engines.default().cron
    if not settings.mailer_from:
        outcome.skipped = "MAILER_FROM is not set, so no email is sent."
    elif not bypasses_row_security(cron):
        outcome.skipped = (
            "The cron connection does not bypass row-level security (use the hub_cron "
            "role), so it cannot see every tenant's schedules."
        )
    if outcome.skipped:
        log.warning(outcome.skipped)
        return outcome
    for tenant_id, schedule in _candidates(cron, now.date()):
        if not is_due(schedule, now):
            continue
        try:
            if deliver_one(tenant_id, schedule.report_id, now, settings.mailer_from):
                outcome.sent.append((tenant_id, schedule.report_id))
        except Exception as exc:  # one report's failure never aborts the batch
            log.exception("scheduled report %s of tenant %s failed", schedule.report_id,
                          tenant_id)  # fmt: skip
            outcome.failed.append((tenant_id, schedule.report_id, str(exc)[:500]))
    return outcome
