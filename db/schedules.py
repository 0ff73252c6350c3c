"""Email schedules of saved reports (ins_report_schedules): validate, read, save, remove.

A schedule is daily or weekly (with an ISO weekday, 1 = Monday), at an hour 0-23 UTC,
to 1-20 recipients (valid addresses, deduplicated case-insensitively). One report has
at most one schedule. `is_due` is the delivery rule the cron job applies.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from db import schema as s
from db.tenancy import tenant_transaction
from errors import BadSchedule, NotFound, echo

MAX_RECIPIENTS = 20
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
Frequency = Literal["daily", "weekly"]


@dataclass(frozen=True)
class Schedule:
    report_id: int
    frequency: Frequency
    hour: int
    weekday: int | None  # ISO 1-7, weekly only
    recipients: tuple[str, ...]
    last_sent_on: dt.date | None = None

    def cadence(self) -> str:
        """e.g. "weekly on Monday at 07:00 UTC"."""
        assert self.frequency == "daily" or self.weekday is not None
        day = "daily" if self.frequency == "daily" else f"weekly on {WEEKDAYS[self.weekday - 1]}"
        return f"{day} at {self.hour:02d}:00 UTC"

    def sent_to(self) -> str:
        """e.g. "weekly on Monday at 07:00 UTC to 2 recipients"."""
        count = len(self.recipients)
        return f"{self.cadence()} to {count} recipient{'s' * (count != 1)}"

    def describe(self) -> str:
        """e.g. "Weekly on Monday at 07:00 UTC to 2 recipients"."""
        text = self.sent_to()
        return text[0].upper() + text[1:]


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,4}", value.strip()):
        return int(value)  # ASCII digits only: "²" is a digit to str.isdigit, not to int()
    return None


def _recipients(value: Any, issues: list[tuple[str, str]]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.replace(";", ",").replace("\n", ",").split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        issues.append(("recipients", "a list of email addresses"))
        return ()
    given = list(dict.fromkeys(v.strip().lower() for v in value if v.strip()))
    if len(given) > MAX_RECIPIENTS:  # before validating any: each costs CPU
        issues.append(("recipients", f"at most {MAX_RECIPIENTS} recipients ({len(given)} given)"))
        return ()
    seen: dict[str, str] = {}
    for raw in (v.strip() for v in value):
        if not raw:
            continue
        try:
            address = validate_email(raw, check_deliverability=False).normalized
        except EmailNotValidError:
            issues.append(("recipients", f"“{echo(raw)}” is not a valid email address"))
            continue
        seen.setdefault(address.lower(), address)
    if not seen and not issues:
        issues.append(("recipients", "add at least one email address"))
    if len(seen) > MAX_RECIPIENTS:
        issues.append(("recipients", f"at most {MAX_RECIPIENTS} recipients ({len(seen)} given)"))
    return tuple(seen.values())


def parse_schedule(report_id: int, raw: dict[str, Any]) -> Schedule:
    """The schedule in `raw` (form or JSON fields), or BadSchedule naming each bad field."""
    if not isinstance(raw, dict):
        raise BadSchedule([("(schedule)", "an object with frequency, hour and recipients")])
    issues: list[tuple[str, str]] = []
    frequency = raw.get("frequency")
    if frequency not in ("daily", "weekly"):
        issues.append(("frequency", "daily or weekly"))
    hour = _integer(raw.get("hour"))
    if hour is None or not 0 <= hour <= 23:
        issues.append(("hour", "an hour from 0 to 23 (UTC)"))
    weekday = _integer(raw.get("weekday")) if raw.get("weekday") not in (None, "") else None
    if frequency == "weekly" and (weekday is None or not 1 <= weekday <= 7):
        issues.append(("weekday", "a weekday from 1 (Monday) to 7 (Sunday) for weekly emails"))
    recipients = _recipients(raw.get("recipients"), issues)
    if issues:
        raise BadSchedule(issues)
    assert frequency is not None and hour is not None
    return Schedule(report_id, frequency, hour, weekday if frequency == "weekly" else None,
                    recipients)  # fmt: skip


def is_due(schedule: Schedule, now: dt.datetime) -> bool:
    """Due on its day (every day, or its weekday) from its hour on, once per UTC day: a
    delivery missed at its hour (the cron was down) still goes out later that day."""
    now = now.astimezone(dt.UTC)
    today = now.date()
    on_its_day = schedule.frequency == "daily" or schedule.weekday == today.isoweekday()
    return on_its_day and now.hour >= schedule.hour and schedule.last_sent_on != today


def from_row(row: sa.Row[Any]) -> Schedule:
    m = row._mapping
    return Schedule(m["report_id"], m["frequency"], m["hour"], m["weekday"],
                    tuple(m["recipients"]), m["last_sent_on"])  # fmt: skip


COLUMNS = [s.report_schedules.c[c] for c in
           ("report_id", "frequency", "hour", "weekday", "recipients", "last_sent_on")]  # fmt: skip


def get_schedule(web: Engine, *, tenant_id: int, report_id: int) -> Schedule | None:
    query = sa.select(*COLUMNS).where(s.report_schedules.c.report_id == report_id)
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        row = conn.execute(query).one_or_none()
    return None if row is None else from_row(row)


def save_schedule(web: Engine, *, tenant_id: int, user_id: int, schedule: Schedule) -> Schedule:
    """Creates or replaces the report's schedule; keeps `last_sent_on`, so changing the
    hour after today's email never sends a second one today."""
    t = s.report_schedules
    values = {"frequency": schedule.frequency, "hour": schedule.hour,
              "weekday": schedule.weekday, "recipients": list(schedule.recipients)}  # fmt: skip
    upsert = (
        insert(t)
        .values(tenant_id=tenant_id, report_id=schedule.report_id, created_by=user_id, **values)
        .on_conflict_do_update(
            index_elements=[t.c.tenant_id, t.c.report_id],
            set_={**values, "updated_at": sa.func.now()},
        )
        .returning(*COLUMNS)
    )
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        exists = conn.scalar(sa.select(sa.exists().where(s.reports.c.id == schedule.report_id)))
        if not exists:
            raise NotFound("There is no such report.")
        return from_row(conn.execute(upsert).one())


def remove_schedule(web: Engine, *, tenant_id: int, report_id: int) -> bool:
    """Stops the report's emails; False when it had no schedule."""
    t = s.report_schedules
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        return conn.execute(sa.delete(t).where(t.c.report_id == report_id)).rowcount > 0
