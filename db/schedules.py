"""Email schedules of saved reports (ins_report_schedules): validate, read, save, remove,
and when they are due.

A schedule is daily or weekly (with an ISO weekday, 1 = Monday, in its zone), at an hour
0-23 in its IANA time zone (default UTC), to 1-20 recipients (valid addresses,
deduplicated case-insensitively), with a CSV or XLSX attachment; it can be paused, and
can skip a scheduled email whose report has no rows. One report has at most one schedule.

Time is pure here. A schedule's slot on local day D is `slot_instant(D, hour, zone)`:
D at the hour with fold=0, so a repeated hour (autumn) is sent at its first occurrence
and a skipped one (spring) at the end of the gap, the next valid time. `due_slot` is the
rule the cron job applies: on its day (the local day now), from the slot on, unless
paused; the ledger (db/deliveries.py) makes each slot go out once. `next_runs` lists the
coming send instants.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, available_timezones

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine

from db import schema as s
from db.tenancy import tenant_transaction
from errors import BadSchedule, NotFound, echo, sentence

MAX_RECIPIENTS = 20
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
Frequency = Literal["daily", "weekly"]
Attachment = Literal["csv", "xlsx"]
ATTACHMENTS: tuple[Attachment, ...] = ("csv", "xlsx")
UTC = "UTC"
# Keys zoneinfo lists that are not zones a person picks (the host's own, a POSIX rule file).
NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
FLAGS = {True: True, False: False, "true": True, "false": False, "on": True, "off": False,
         "1": True, "0": False, "": False, None: False}  # fmt: skip


@cache
def time_zones() -> frozenset[str]:
    """The IANA zone names a schedule may name."""
    return frozenset(available_timezones() - NOT_ZONES)


@dataclass(frozen=True)
class Schedule:
    report_id: int
    frequency: Frequency
    hour: int  # 0-23 in time_zone
    weekday: int | None  # ISO 1-7 in time_zone, weekly only
    recipients: tuple[str, ...]
    last_sent_on: dt.date | None = None  # the local day of the last scheduled email sent
    time_zone: str = UTC
    attachment: Attachment = "csv"
    paused: bool = False
    skip_empty: bool = False
    id: int | None = None  # the stored row's id (an unsubscribe token names it)

    def cadence(self) -> str:
        """e.g. "weekly on Monday at 07:00 Europe/Berlin", "daily at 07:00 UTC"."""
        assert self.frequency == "daily" or self.weekday is not None
        day = "daily" if self.frequency == "daily" else f"weekly on {WEEKDAYS[self.weekday - 1]}"
        return f"{day} at {self.hour:02d}:00 {self.time_zone}"

    def sent_to(self) -> str:
        """e.g. "weekly on Monday at 07:00 UTC to 2 recipients"."""
        count = len(self.recipients)
        return f"{self.cadence()} to {count} recipient{'s' * (count != 1)}"

    def describe(self) -> str:
        """e.g. "Weekly on Monday at 07:00 UTC to 2 recipients"."""
        return sentence(self.sent_to())


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,4}", value.strip()):
        return int(value)  # ASCII digits only: "²" is a digit to str.isdigit, not to int()
    return None


def parse_recipients(value: Any, issues: list[tuple[str, str]]) -> tuple[str, ...]:
    """The addresses in `value` (a list, or text separated by commas, semicolons or lines),
    validated and deduplicated case-insensitively; problems are appended to `issues`."""
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
    if not seen and all(path != "recipients" for path, _ in issues):
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
        issues.append(("hour", "an hour from 0 to 23 (in its time zone)"))
    weekday = _integer(raw.get("weekday")) if raw.get("weekday") not in (None, "") else None
    if frequency == "weekly" and (weekday is None or not 1 <= weekday <= 7):
        issues.append(("weekday", "a weekday from 1 (Monday) to 7 (Sunday) for weekly emails"))
    recipients = parse_recipients(raw.get("recipients"), issues)
    time_zone = raw.get("time_zone") or UTC
    if not isinstance(time_zone, str) or time_zone not in time_zones():
        issues.append(("time_zone", "an IANA time zone such as Europe/Berlin or UTC"))
    attachment = raw.get("attachment") or "csv"
    if attachment not in ATTACHMENTS:
        issues.append(("attachment", "csv or xlsx"))
    flags = {name: _flag(raw.get(name), name, issues) for name in ("paused", "skip_empty")}
    if issues:
        raise BadSchedule(issues)
    assert frequency is not None and hour is not None
    return Schedule(report_id, frequency, hour, weekday if frequency == "weekly" else None,
                    recipients, time_zone=time_zone, attachment=attachment, **flags)  # fmt: skip


def _flag(value: Any, name: str, issues: list[tuple[str, str]]) -> bool:
    flag = FLAGS.get(value) if isinstance(value, bool | str | None) else None
    if flag is None:
        issues.append((name, "true or false"))
        return False
    return flag


@dataclass(frozen=True)
class Slot:
    """A schedule's delivery on one local day: the day and the instant it is due (UTC)."""

    day: dt.date
    due_at: dt.datetime


def slot_instant(day: dt.date, hour: int, zone: str) -> dt.datetime:
    """The UTC instant of `hour` o'clock on local `day` in `zone`. fold=0: a repeated hour
    is its first occurrence; an hour skipped by a spring change maps to the end of the gap
    (02:00 in Berlin on the last Sunday of March is 03:00 CEST, 01:00 UTC)."""
    local = dt.datetime.combine(day, dt.time(hour), tzinfo=ZoneInfo(zone))
    return local.astimezone(dt.UTC)


def _is_its_day(schedule: Schedule, day: dt.date) -> bool:
    return schedule.frequency == "daily" or schedule.weekday == day.isoweekday()


def due_slot(schedule: Schedule, now: dt.datetime) -> Slot | None:
    """The slot due at `now`: on the local day now in the schedule's zone, when that is one
    of its days and its slot has begun, unless paused. A slot missed at its hour (the cron
    was down) is still due later that local day; whether it was already delivered is the
    ledger's question (db/deliveries.py)."""
    if schedule.paused:
        return None
    day = now.astimezone(ZoneInfo(schedule.time_zone)).date()
    if not _is_its_day(schedule, day):
        return None
    due_at = slot_instant(day, schedule.hour, schedule.time_zone)
    return Slot(day, due_at) if now >= due_at else None


def next_runs(schedule: Schedule, now: dt.datetime, n: int = 3) -> list[dt.datetime]:
    """The next `n` send instants after `now` (UTC; none while paused)."""
    if schedule.paused:
        return []
    day = now.astimezone(ZoneInfo(schedule.time_zone)).date() - dt.timedelta(days=1)
    runs: list[dt.datetime] = []
    while len(runs) < n:
        at = slot_instant(day, schedule.hour, schedule.time_zone)
        if _is_its_day(schedule, day) and at > now:
            runs.append(at)
        day += dt.timedelta(days=1)
    return runs


def from_row(row: sa.Row[Any]) -> Schedule:
    m = row._mapping
    return Schedule(m["report_id"], m["frequency"], m["hour"], m["weekday"],
                    tuple(m["recipients"]), m["last_sent_on"], time_zone=m["time_zone"],
                    attachment=m["attachment"], paused=m["paused"], skip_empty=m["skip_empty"],
                    id=m["id"])  # fmt: skip


COLUMNS = [s.report_schedules.c[c] for c in
           ("id", "report_id", "frequency", "hour", "weekday", "recipients", "last_sent_on",
            "time_zone", "attachment", "paused", "skip_empty")]  # fmt: skip


def get_schedule(web: Engine, *, tenant_id: int, report_id: int) -> Schedule | None:
    query = sa.select(*COLUMNS).where(s.report_schedules.c.report_id == report_id)
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        row = conn.execute(query).one_or_none()
    return None if row is None else from_row(row)


def save_schedule(web: Engine, *, tenant_id: int, user_id: int, schedule: Schedule) -> Schedule:
    """Creates or replaces the report's schedule (pausing and resuming it too); the
    ledger keeps today's delivery, so changing the hour after today's email never sends a
    second one today."""
    t = s.report_schedules
    values = {"frequency": schedule.frequency, "hour": schedule.hour,
              "weekday": schedule.weekday, "recipients": list(schedule.recipients),
              "time_zone": schedule.time_zone, "attachment": schedule.attachment,
              "paused": schedule.paused, "skip_empty": schedule.skip_empty}  # fmt: skip
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


def unsubscribe(web: Engine, *, tenant_id: int, report_id: int, schedule_id: int,
                address: str) -> bool:  # fmt: skip
    """Removes `address` from that schedule (the schedule itself when it was the last
    recipient) and records it; False when that schedule no longer has the address (it was
    removed already, or the schedule is gone or was replaced)."""
    t = s.report_schedules
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        recipients = conn.scalar(
            sa.select(t.c.recipients)
            .where(t.c.id == schedule_id, t.c.report_id == report_id)
            .with_for_update()
        )
        kept = [r for r in recipients or () if r.lower() != address.lower()]
        if recipients is None or len(kept) == len(recipients):
            return False
        mine = sa.and_(t.c.id == schedule_id, t.c.report_id == report_id)
        if kept:
            conn.execute(sa.update(t).where(mine).values(recipients=kept,
                                                         updated_at=sa.func.now()))  # fmt: skip
        else:
            conn.execute(sa.delete(t).where(mine))
        removed = {"tenant_id": tenant_id, "report_id": report_id, "schedule_id": schedule_id,
                   "address": address}  # fmt: skip
        conn.execute(sa.insert(s.report_unsubscribes).values(**removed))
    return True
