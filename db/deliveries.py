"""The delivery ledger (ins_report_deliveries): every email a schedule sends, as a row.

A scheduled delivery is unique per (report, local due day), inserted with ON CONFLICT DO
NOTHING, so however many cron runs race, one row exists per slot. A worker claims a row
(queued -> sending, attempts + 1) in its own committed transaction before it sends
anything; finding no claim, it sends nothing. Each recipient's outcome is written before
and after its message goes out (sending with its Message-ID, then sent or failed), so a
crash leaves `sending` behind, never a silent gap: the cron turns a `sending` row older
than its timeout into `unknown`, which is never sent again automatically.

Workers write on the cron role (BYPASSRLS); the web role reads its tenant's rows and
inserts manual and test deliveries (row-level security, `tenant_transaction`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, distinct_on, insert
from sqlalchemy.engine import Connection, Engine

from db import schema as s
from db.schedules import Schedule, Slot
from db.tenancy import tenant_transaction

HISTORY_LIMIT = 50


class Kind(StrEnum):
    SCHEDULED = "scheduled"  # the schedule's email of one local day
    MANUAL = "manual"  # Send now, or a re-send of a failed or unknown delivery
    TEST = "test"  # to the signed-in user only; not the day's delivery
    ALERT = "alert"  # an alert on a measure fired (db/alerts.py)


class State(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"  # stopped while sending: it may or may not have gone out
    SKIPPED = "skipped"  # nothing to send (no rows and skip_empty, or no schedule left)


FINAL = (State.SENT, State.FAILED, State.UNKNOWN, State.SKIPPED)
RESENDABLE = (State.FAILED, State.UNKNOWN)
LOST = (
    "The email stopped while it was being sent, so it may or may not have reached its "
    "recipients. It is not sent again automatically: re-send it if needed."
)


@dataclass(frozen=True)
class Delivery:
    tenant_id: int
    id: int
    report_id: int
    kind: Kind
    slot_day: dt.date | None
    due_at: dt.datetime
    state: State
    attempts: int
    recipients: tuple[str, ...]
    outcomes: dict[str, dict[str, Any]]  # address -> {state, message_id, error, at}
    row_count: int | None
    attachment_bytes: int | None
    error: str | None
    requested_by: int | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    alert_id: int | None = None  # the alert an ALERT delivery emails

    @property
    def job_id(self) -> str:
        """The RQ job's id: one per slot, so enqueueing a slot twice is one job."""
        if self.kind is Kind.SCHEDULED:
            return f"delivery-{self.tenant_id}-{self.report_id}-{self.slot_day}"
        return f"delivery-{self.tenant_id}-{self.report_id}-{self.kind.value}-{self.id}"

    def unsent(self) -> tuple[str, ...]:
        """The recipients not recorded as sent, in order."""
        return tuple(a for a in self.recipients
                     if self.outcomes.get(a, {}).get("state") != State.SENT.value)  # fmt: skip


t = s.report_deliveries
COLUMNS = [c for c in t.c if c.name != "notified_at"]


def _delivery(row: sa.Row[Any]) -> Delivery:
    m = dict(row._mapping)
    m.update(kind=Kind(m["kind"]), state=State(m["state"]), recipients=tuple(m["recipients"]))
    return Delivery(**m)


def _one(conn: Connection, statement: sa.Executable) -> Delivery | None:
    row = conn.execute(statement).one_or_none()
    return None if row is None else _delivery(row)


# ---- the cron's side (BYPASSRLS connection) -----------------------------------------------


def queue_slots(conn: Connection, slots: Iterable[tuple[int, Schedule, Slot]]) -> list[Delivery]:
    """Inserts a queued delivery per (tenant, schedule, slot) unless the slot has one;
    returns the rows this call inserted (a concurrent run's are not among them)."""
    values = [{"tenant_id": tenant_id, "report_id": schedule.report_id,
               "kind": Kind.SCHEDULED.value,
               "slot_day": slot.day, "due_at": slot.due_at,
               "recipients": list(schedule.recipients)}
              for tenant_id, schedule, slot in slots]  # fmt: skip
    if not values:
        return []
    statement = (
        insert(t)
        .values(values)
        .on_conflict_do_nothing(
            index_elements=[t.c.tenant_id, t.c.report_id, t.c.slot_day],
            index_where=t.c.kind == Kind.SCHEDULED.value,
        )
        .returning(*COLUMNS)
    )
    return [_delivery(row) for row in conn.execute(statement)]


def taken_slots(conn: Connection, *, since: dt.date) -> set[tuple[int, int, dt.date]]:
    """(tenant, report, day) of every scheduled delivery for a day from `since` on."""
    query = sa.select(t.c.tenant_id, t.c.report_id, t.c.slot_day).where(
        t.c.kind == Kind.SCHEDULED.value, t.c.slot_day >= since
    )
    return {(r.tenant_id, r.report_id, r.slot_day) for r in conn.execute(query)}


def queued(conn: Connection) -> list[Delivery]:
    """Every tenant's queued deliveries, oldest first."""
    query = sa.select(*COLUMNS).where(t.c.state == State.QUEUED.value).order_by(t.c.id)
    return [_delivery(row) for row in conn.execute(query)]


def time_out_sending(conn: Connection, *, now: dt.datetime, after: dt.timedelta) -> list[int]:
    """Turns deliveries `sending` since before `now - after` into `unknown` (their worker
    died mid-delivery); returns their ids."""
    lost = conn.execute(
        sa.update(t)
        .where(t.c.state == State.SENDING.value, t.c.started_at < now - after)
        .values(state=State.UNKNOWN.value, finished_at=now, error=LOST)
        .returning(t.c.id)
    )
    return list(lost.scalars())


def claim(cron: Engine, delivery_id: int) -> Delivery | None:
    """queued -> sending, committed; None when another run holds or finished it."""
    with cron.begin() as conn:
        return _one(conn, sa.update(t)
                    .where(t.c.id == delivery_id, t.c.state == State.QUEUED.value)
                    .values(state=State.SENDING.value, attempts=t.c.attempts + 1,
                            started_at=sa.func.now(), finished_at=None)
                    .returning(*COLUMNS))  # fmt: skip


def record_recipient(cron: Engine, delivery_id: int, address: str, state: State, *,
                     message_id: str, error: str | None = None) -> None:  # fmt: skip
    """One recipient's outcome, committed at once."""
    outcome = {address: {"state": state.value, "message_id": message_id, "error": error,
                         "at": dt.datetime.now(dt.UTC).isoformat()}}  # fmt: skip
    with cron.begin() as conn:
        conn.execute(sa.update(t).where(t.c.id == delivery_id)
                     .values(outcomes=t.c.outcomes.op("||")(sa.cast(outcome, JSONB))))  # fmt: skip


def record_result(cron: Engine, delivery_id: int, *, row_count: int, attachment_bytes: int) -> None:
    with cron.begin() as conn:
        conn.execute(sa.update(t).where(t.c.id == delivery_id)
                     .values(row_count=row_count, attachment_bytes=attachment_bytes))  # fmt: skip


def finish(cron: Engine, delivery: Delivery, state: State, error: str | None = None) -> None:
    """Ends the claimed delivery in `state` (or, with QUEUED, leaves it for a retry); a sent
    scheduled delivery stamps its schedule's last_sent_on with its day."""
    final = state in FINAL
    with cron.begin() as conn:
        conn.execute(sa.update(t).where(t.c.id == delivery.id, t.c.state == State.SENDING.value)
                     .values(state=state.value, error=error,
                             finished_at=sa.func.now() if final else None))  # fmt: skip
        if state is State.SENT and delivery.kind is Kind.SCHEDULED:
            schedules = s.report_schedules
            conn.execute(
                sa.update(schedules)
                .where(schedules.c.tenant_id == delivery.tenant_id,
                       schedules.c.report_id == delivery.report_id)
                .values(last_sent_on=delivery.slot_day)
            )  # fmt: skip


def claim_notice(cron: Engine, delivery_id: int) -> str | None:
    """The report owner's address for the failure notice of this delivery, the first time
    it is asked (so a notice goes out once); None afterwards or without an owner."""
    r, u = s.reports, s.users
    with cron.begin() as conn:
        claimed = conn.execute(
            sa.update(t).where(t.c.id == delivery_id, t.c.notified_at.is_(None))
            .values(notified_at=sa.func.now()).returning(t.c.tenant_id, t.c.report_id)
        ).one_or_none()  # fmt: skip
        if claimed is None:
            return None
        return conn.scalar(
            sa.select(u.c.email)
            .join(r, sa.and_(r.c.tenant_id == u.c.tenant_id, r.c.owner_id == u.c.id))
            .where(r.c.tenant_id == claimed.tenant_id, r.c.id == claimed.report_id,
                   u.c.is_active)
        )  # fmt: skip


# ---- the web's side (tenant row-level security) -------------------------------------------


def queue_delivery(conn: Connection, *, tenant_id: int, report_id: int, kind: Kind,
                   recipients: tuple[str, ...], requested_by: int | None,
                   alert_id: int | None = None) -> Delivery:  # fmt: skip
    """A queued manual, test or alert delivery, inserted in the caller's transaction."""
    assert kind is not Kind.SCHEDULED  # those come from the cron's slots only
    assert (kind is Kind.ALERT) == (alert_id is not None)
    statement = insert(t).values(
        tenant_id=tenant_id, report_id=report_id, kind=kind.value,
        recipients=list(recipients), requested_by=requested_by, alert_id=alert_id,
    ).returning(*COLUMNS)  # fmt: skip
    delivery = _one(conn, statement)
    assert delivery is not None
    return delivery


def get_delivery(web: Engine, *, tenant_id: int, delivery_id: int) -> Delivery | None:
    """The tenant's delivery, or None (also another tenant's: RLS hides it)."""
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        return _one(conn, sa.select(*COLUMNS).where(t.c.id == delivery_id))


def history(web: Engine, *, tenant_id: int, report_id: int,
            limit: int = HISTORY_LIMIT) -> list[Delivery]:  # fmt: skip
    """The report's latest deliveries, newest first."""
    query = (
        sa.select(*COLUMNS)
        .where(t.c.report_id == report_id)
        .order_by(t.c.created_at.desc(), t.c.id.desc())
        .limit(limit)
    )
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        return [_delivery(row) for row in conn.execute(query)]


def failing(web: Engine, *, tenant_id: int) -> set[int]:
    """The reports whose latest finished scheduled or manual delivery failed or is unknown:
    marked as failing until a delivery succeeds (test sends and alerts do not count)."""
    latest = (
        sa.select(t.c.report_id, t.c.state)
        .where(
            t.c.kind.in_([Kind.SCHEDULED.value, Kind.MANUAL.value]),
            t.c.state.in_([f.value for f in FINAL]),
        )
        .order_by(t.c.report_id, t.c.created_at.desc(), t.c.id.desc())
        .ext(distinct_on(t.c.report_id))
        .subquery()
    )
    query = sa.select(latest.c.report_id).where(latest.c.state.in_([f.value for f in RESENDABLE]))
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        return set(conn.scalars(query))
