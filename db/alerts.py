"""Alerts on a saved report's measure (ins_report_alerts) and when they fired
(ins_alert_firings, migration 0012).

An alert watches one measure of its report: `above` or `below` a threshold, or `change`,
the value moved by more than `threshold` % against the previous one. The report must be a
single number (no breakdown: a KPI) or a time series (the time breakdown alone); its value
is that number or the latest point, and the previous one the same measure over the
previous period or the point before (jobs/alerts.py reads them). An alert emails its 1-20
recipients through the delivery ledger at most once per `cooldown_hours` (default 24):
`record_firing` locks the alert's row and checks the cooldown in the same transaction as
it records the firing and queues the delivery, so checks running at once fire it once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from datasets.model import Definition
from db import deliveries
from db import schema as s
from db.deliveries import Delivery, Kind
from db.schedules import parse_recipients
from db.tenancy import tenant_transaction
from errors import BadAlert, NotFound

DEFAULT_COOLDOWN_HOURS = 24
MAX_COOLDOWN_HOURS = 720
HISTORY_LIMIT = 50
MAX_ALERTS = 10  # per report
NOT_WATCHABLE = (
    "alerts need a report that is a single number (no breakdown) or a time series (the "
    "time breakdown alone)"
)


class Condition(StrEnum):
    ABOVE = "above"
    BELOW = "below"
    CHANGE = "change"  # by more than threshold %, up or down, against the previous value


@dataclass(frozen=True)
class Reading:
    """What an alert read: the value, and the previous one (None when there is none)."""

    value: Decimal
    previous: Decimal | None = None

    def change_percent(self) -> Decimal | None:
        """Δ % against the previous value; None when that is missing or 0."""
        if self.previous is None or self.previous == 0:
            return None
        return (self.value - self.previous) / abs(self.previous) * 100


@dataclass(frozen=True)
class Alert:
    report_id: int
    measure: str
    condition: Condition
    threshold: Decimal
    recipients: tuple[str, ...]
    cooldown_hours: int = DEFAULT_COOLDOWN_HOURS
    active: bool = True
    id: int | None = None

    def fires(self, reading: Reading) -> bool:
        match self.condition:
            case Condition.ABOVE:
                return reading.value > self.threshold
            case Condition.BELOW:
                return reading.value < self.threshold
            case Condition.CHANGE:
                change = reading.change_percent()
                return change is not None and abs(change) > self.threshold


@dataclass(frozen=True)
class Firing:
    id: int
    alert_id: int
    fired_at: dt.datetime
    value: Decimal
    previous: Decimal | None
    threshold: Decimal
    condition: Condition
    delivery_id: int | None


def watchable(definition: Definition) -> bool:
    """Whether the report gives one value to watch: a KPI, or a series of time alone."""
    return not definition.dimensions or [d.id for d in definition.dimensions] == ["time"]


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() and abs(number) < Decimal("1e15") else None


def parse_alert(report_id: int, definition: Definition, raw: Any) -> Alert:
    """The alert in `raw` (form or JSON fields) on the report of `definition`, or BadAlert
    naming each bad field."""
    if not isinstance(raw, dict):
        raise BadAlert([("(alert)", "an object with measure, condition, threshold and "
                                    "recipients")])  # fmt: skip
    issues: list[tuple[str, str]] = []
    if not watchable(definition):
        issues.append(("(alert)", NOT_WATCHABLE))
    measure = raw.get("measure")
    if measure not in definition.measures:
        issues.append(("measure", "one of the report's measures"))
    condition = raw.get("condition")
    if condition not in tuple(Condition):
        issues.append(("condition", "above, below or change"))
    threshold = _number(raw.get("threshold"))
    if threshold is None:
        issues.append(("threshold", "a number"))
    elif condition == Condition.CHANGE and threshold <= 0:
        issues.append(("threshold", "a percentage above 0"))
    cooldown = raw.get("cooldown_hours", DEFAULT_COOLDOWN_HOURS)
    cooldown = _number(cooldown if cooldown not in (None, "") else DEFAULT_COOLDOWN_HOURS)
    if cooldown is None or cooldown != cooldown.to_integral() or not 1 <= cooldown <= 720:
        issues.append(("cooldown_hours", f"whole hours from 1 to {MAX_COOLDOWN_HOURS}"))
    recipients = parse_recipients(raw.get("recipients"), issues)
    active = raw.get("active", True)
    if not isinstance(active, bool):
        issues.append(("active", "true or false"))
    if issues:
        raise BadAlert(issues)
    assert threshold is not None and cooldown is not None
    return Alert(report_id, str(measure), Condition(condition), threshold, recipients,
                 int(cooldown), active)  # fmt: skip


a, f = s.report_alerts, s.alert_firings
ALERT_COLUMNS = (a.c.id, a.c.report_id, a.c.measure, a.c.condition, a.c.threshold,
                 a.c.cooldown_hours, a.c.recipients, a.c.active)  # fmt: skip


def _alert(row: sa.Row[Any]) -> Alert:
    m = row._mapping
    return Alert(m["report_id"], m["measure"], Condition(m["condition"]), m["threshold"],
                 tuple(m["recipients"]), m["cooldown_hours"], m["active"], id=m["id"])  # fmt: skip


def list_alerts(web: Engine, *, tenant_id: int, report_id: int) -> list[Alert]:
    query = sa.select(*ALERT_COLUMNS).where(a.c.report_id == report_id).order_by(a.c.id)
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        return [_alert(row) for row in conn.execute(query)]


def save_alert(web: Engine, *, tenant_id: int, user_id: int, alert: Alert) -> Alert:
    """Adds the alert to its report (at most MAX_ALERTS each), or replaces alert.id's."""
    values = {"measure": alert.measure, "condition": alert.condition.value,
              "threshold": alert.threshold, "cooldown_hours": alert.cooldown_hours,
              "recipients": list(alert.recipients), "active": alert.active}  # fmt: skip
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        if not conn.scalar(sa.select(sa.exists().where(s.reports.c.id == alert.report_id))):
            raise NotFound("There is no such report.")
        if alert.id is None:
            count = conn.scalar(sa.select(sa.func.count()).where(a.c.report_id == alert.report_id))
            if count >= MAX_ALERTS:
                raise BadAlert([("(alert)", f"a report has at most {MAX_ALERTS} alerts")])
            statement: Any = sa.insert(a).values(tenant_id=tenant_id, report_id=alert.report_id,
                                                 created_by=user_id, **values)  # fmt: skip
        else:
            statement = (sa.update(a).where(a.c.id == alert.id, a.c.report_id == alert.report_id)
                         .values(**values, updated_at=sa.func.now()))  # fmt: skip
        row = conn.execute(statement.returning(*ALERT_COLUMNS)).one_or_none()
    if row is None:
        raise NotFound("There is no such alert.")
    return _alert(row)


def remove_alert(web: Engine, *, tenant_id: int, report_id: int, alert_id: int) -> bool:
    """Deletes the report's alert and its history; False when there was none."""
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        deleted = conn.execute(sa.delete(a).where(a.c.id == alert_id, a.c.report_id == report_id))
        return deleted.rowcount > 0


def firings(web: Engine, *, tenant_id: int, alert_id: int,
            limit: int = HISTORY_LIMIT) -> list[Firing]:  # fmt: skip
    """When the alert fired, newest first."""
    query = (sa.select(f.c.id, f.c.alert_id, f.c.fired_at, f.c.value, f.c.previous,
                       f.c.threshold, f.c.condition, f.c.delivery_id)
             .where(f.c.alert_id == alert_id).order_by(f.c.fired_at.desc(), f.c.id.desc())
             .limit(limit))  # fmt: skip
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        return [Firing(**{**row._mapping, "condition": Condition(row.condition)})
                for row in conn.execute(query)]  # fmt: skip


# ---- what the alert jobs call (cron role, every tenant) -----------------------------------


def _fired_within_cooldown(tenant_id: Any, alert_id: Any, cooldown_hours: Any,
                           now: dt.datetime) -> sa.Exists:  # fmt: skip
    """Whether the alert fired in the `cooldown_hours` before `now` (values, or an alert
    row's columns)."""
    since = (sa.literal(now, sa.DateTime(timezone=True))
             - sa.literal_column("interval '1 hour'") * cooldown_hours)  # fmt: skip
    return sa.exists().where(f.c.tenant_id == tenant_id, f.c.alert_id == alert_id,
                             f.c.fired_at > since)  # fmt: skip


def due_alerts(cron: Engine, *, now: dt.datetime) -> list[tuple[int, Alert]]:
    """Every tenant's active alerts that did not fire within their cooldown before `now`,
    as (tenant id, alert), in one query (the cron checks them without a run)."""
    fired = _fired_within_cooldown(a.c.tenant_id, a.c.id, a.c.cooldown_hours, now)
    query = (sa.select(a.c.tenant_id, *ALERT_COLUMNS).where(a.c.active, ~fired)
             .order_by(a.c.id))  # fmt: skip
    with cron.connect() as conn:
        return [(row.tenant_id, _alert(row)) for row in conn.execute(query)]


def get_alert(conn: Connection, *, tenant_id: int, alert_id: int,
              lock: bool = False) -> Alert | None:  # fmt: skip
    query = sa.select(*ALERT_COLUMNS).where(a.c.tenant_id == tenant_id, a.c.id == alert_id)
    row = conn.execute(query.with_for_update() if lock else query).one_or_none()
    return None if row is None else _alert(row)


def _cooling(conn: Connection, tenant_id: int, alert: Alert, now: dt.datetime) -> bool:
    fired = _fired_within_cooldown(tenant_id, alert.id, alert.cooldown_hours, now)
    return bool(conn.scalar(sa.select(fired)))


def record_firing(cron: Engine, *, tenant_id: int, alert_id: int, reading: Reading,
                  now: dt.datetime) -> Delivery | None:  # fmt: skip
    """Records that the alert fired and queues its email, unless it fired within its
    cooldown, was switched off or deleted meanwhile (then None). The alert's row lock
    serialises concurrent checks of one alert."""
    with cron.begin() as conn:
        alert = get_alert(conn, tenant_id=tenant_id, alert_id=alert_id, lock=True)
        if alert is None or not alert.active or not alert.fires(reading):
            return None
        if _cooling(conn, tenant_id, alert, now):
            return None
        delivery = deliveries.queue_delivery(conn, tenant_id=tenant_id, report_id=alert.report_id,
                                             kind=Kind.ALERT, recipients=alert.recipients,
                                             requested_by=None, alert_id=alert_id)  # fmt: skip
        conn.execute(sa.insert(f).values(
            tenant_id=tenant_id, alert_id=alert_id, fired_at=now, value=reading.value,
            previous=reading.previous, threshold=alert.threshold,
            condition=alert.condition.value, delivery_id=delivery.id))  # fmt: skip
    return delivery


def firing_of(conn: Connection, *, tenant_id: int, delivery_id: int) -> Firing | None:
    """The firing a delivery emails."""
    query = sa.select(*f.c).where(f.c.tenant_id == tenant_id, f.c.delivery_id == delivery_id)
    row = conn.execute(query).one_or_none()
    if row is None:
        return None
    m = {k: v for k, v in row._mapping.items() if k != "tenant_id"}
    return Firing(**{**m, "condition": Condition(m["condition"])})
