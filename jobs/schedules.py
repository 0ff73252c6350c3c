"""Scheduled emails as RQ jobs: ReportScheduleCronJob finds due slots, workers deliver them.

`deliver_due_schedules` (cron `5 * * * *`) reads every tenant's schedules on the cron
(BYPASSRLS) connection and only enqueues: it turns `sending` deliveries older than
SENDING_TIMEOUT into `unknown`, inserts a queued ledger row per due slot (ON CONFLICT DO
NOTHING, db/deliveries.py) and enqueues one `deliver` job per new row on the email queue,
with a deterministic job id; a queued row whose job is gone (its worker died before
claiming it, or it waits for a retry) is enqueued again. Workers deliver in parallel.

`deliver(delivery_id)` claims the row (committed) before anything is sent, so a second
worker or a replayed job sends nothing. The report runs in export mode under its tenant's
row-level security on the web role (through the result cache); a scheduled delivery of a
report with no rows is skipped when its schedule says so. Then one message goes to each
recipient not yet recorded as sent, with its own unsubscribe link, each outcome written
before and after it is sent. A
recipient the server refused is retried at the next hourly run, alone, up to
MAX_ATTEMPTS; then the delivery is `failed` and the report's owner gets one notice. One
report's failure never touches another's: each is its own job.

`send_now`, `send_test` and `resend` are what the report page calls (web role; the caller
checks `reports.manage`): each inserts a manual or test delivery and enqueues the same job.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

import config
import mailer
import redis_client
from datasets.cache import run_cached
from datasets.model import Mode
from datasets.validate import validate
from db import alerts, deliveries, engines
from db import schema as s
from db.deliveries import Delivery, Kind, State
from db.reports import SavedReport, get_report
from db.schedules import COLUMNS, Schedule, Slot, due_slot, from_row, get_schedule
from db.tenancy import tenant_transaction
from errors import BadRequest, NotFound, UserError
from jobs import queues
from report_email import (
    Unsubscribe,
    alert_message,
    attachment,
    compose,
    failure_notice,
    unsubscribe_url,
)

log = logging.getLogger(__name__)

# RQ settings, chosen deliberately:
JOB_TIMEOUT_SECONDS = 600  # a report (15 s at most) and 20 recipients at 30 s SMTP timeouts
RESULT_TTL_SECONDS = 86_400  # a finished job is kept a day (its outcome is in the ledger)
FAILURE_TTL_SECONDS = 7 * 86_400
# A delivery still `sending` this long after its claim lost its worker (longer than the
# job timeout, so a live job is never taken for a dead one); it becomes `unknown`.
SENDING_TIMEOUT = dt.timedelta(minutes=15)
# Attempts per delivery (the first and two hourly retries of the refused recipients).
MAX_ATTEMPTS = 3
ALIVE = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED)
REPORT_FAILED = "The report could not be run, so nothing was sent."
NOT_CONFIGURED = "MAILER_FROM is not set, so no email is sent."


@dataclass
class Sweep:
    """What one cron run did; the RQ job's result."""

    queued: list[tuple[int, int, dt.date]] = field(default_factory=list)  # tenant, report, day
    requeued: list[int] = field(default_factory=list)  # delivery ids enqueued again
    lost: list[int] = field(default_factory=list)  # delivery ids turned unknown
    skipped: str | None = None


def bypasses_row_security(engine: sa.Engine) -> bool:
    """Whether the engine's role sweeps all tenants (BYPASSRLS), as delivery needs."""
    with engine.connect() as conn:
        return bool(conn.scalar(sa.text(
            "SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user")))  # fmt: skip


def _due(conn: sa.Connection, now: dt.datetime) -> list[tuple[int, Schedule, Slot]]:
    """Every tenant's slot due at `now` that has no delivery yet. A local day is within a
    day of the UTC one, so the taken slots from yesterday (UTC) on are all that matter."""
    t = s.report_schedules
    taken = deliveries.taken_slots(conn, since=now.date() - dt.timedelta(days=1))
    # In key order, so two overlapping runs insert their rows in the same order and the
    # later one waits for the earlier instead of deadlocking with it.
    query = (
        sa.select(t.c.tenant_id, *COLUMNS).where(~t.c.paused).order_by(t.c.tenant_id, t.c.report_id)
    )
    due = []
    for row in conn.execute(query):
        slot = due_slot(schedule := from_row(row), now)
        if slot is not None and (row.tenant_id, schedule.report_id, slot.day) not in taken:
            due.append((row.tenant_id, schedule, slot))
    return due


def enqueue(delivery: Delivery) -> Job:
    return Queue(queues.EMAIL, connection=redis_client.default()).enqueue(
        deliver,
        delivery.id,
        job_id=delivery.job_id,
        job_timeout=JOB_TIMEOUT_SECONDS,
        result_ttl=RESULT_TTL_SECONDS,
        failure_ttl=FAILURE_TTL_SECONDS,
    )


def _has_live_job(delivery: Delivery) -> bool:
    redis = redis_client.default()
    if not Job.exists(delivery.job_id, connection=redis):
        return False
    return Job.fetch(delivery.job_id, connection=redis).get_status(refresh=True) in ALIVE


def deliver_due_schedules(now: dt.datetime | None = None) -> Sweep:
    """RQ entry point (cron `5 * * * *`): enqueues every due slot of every tenant."""
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    outcome = Sweep()
    cron = engines.default().cron
    if not config.load().mailer_from:
        outcome.skipped = NOT_CONFIGURED
    elif not bypasses_row_security(cron):
        outcome.skipped = (
            "The cron connection does not bypass row-level security (use the hub_cron "
            "role), so it cannot see every tenant's schedules."
        )
    if outcome.skipped:
        log.warning(outcome.skipped)
        return outcome
    with cron.begin() as conn:
        outcome.lost = deliveries.time_out_sending(conn, now=now, after=SENDING_TIMEOUT)
        new = deliveries.queue_slots(conn, _due(conn, now))
    for delivery in new:
        enqueue(delivery)
        outcome.queued.append((delivery.tenant_id, delivery.report_id, delivery.slot_day))
    # A dead worker's started job is failed here, so its unclaimed row is enqueued again.
    StartedJobRegistry(queues.EMAIL, connection=redis_client.default()).cleanup()
    with cron.connect() as conn:
        waiting = deliveries.queued(conn)
    fresh = {d.id for d in new}
    for delivery in waiting:
        if delivery.id not in fresh and not _has_live_job(delivery):
            enqueue(delivery)
            outcome.requeued.append(delivery.id)
    return outcome


def deliver(delivery_id: int) -> str:
    """RQ entry point: sends one delivery of the ledger; returns its state afterwards."""
    sender = config.load().mailer_from
    if not sender:  # left queued: the next cron run enqueues it again once mail is set up
        log.warning(NOT_CONFIGURED)
        return State.QUEUED.value
    cron = engines.default().cron
    delivery = deliveries.claim(cron, delivery_id)
    if delivery is None:  # another worker, or a replay of a finished job
        return "not claimed"
    try:
        return _send(delivery, sender)
    except Exception:
        # Nothing went out for the recipients not yet marked: the report failed to run
        # or render. Tried again at the next hourly run while attempts remain.
        log.exception("delivery %s of report %s failed", delivery.id, delivery.report_id)
        return _retry_or_fail(delivery, sender, REPORT_FAILED)


def _send(delivery: Delivery, sender: str) -> str:
    web, cron = engines.default().web, engines.default().cron
    report = get_report(web, tenant_id=delivery.tenant_id, report_id=delivery.report_id)
    if delivery.kind is Kind.ALERT:
        return _send_alert(delivery, sender, report)
    schedule = get_schedule(web, tenant_id=delivery.tenant_id, report_id=delivery.report_id)
    if report is None or schedule is None:
        deliveries.finish(cron, delivery, State.SKIPPED, "The report's schedule was removed.")
        return State.SKIPPED.value
    try:
        result = run_cached(validate(report.definition), tenant_id=delivery.tenant_id,
                            mode=Mode.EXPORT)  # fmt: skip
    except UserError as error:  # an invalid definition: retrying cannot help
        _end_failed(delivery, sender, f"The report could not be run: {error.public_message}")
        return State.FAILED.value
    if delivery.kind is Kind.SCHEDULED and schedule.skip_empty and result.frame.empty:
        deliveries.finish(cron, delivery, State.SKIPPED, "The report had no rows.")
        return State.SKIPPED.value
    file = attachment(report, schedule, result)
    deliveries.record_result(cron, delivery.id, row_count=len(result.frame),
                             attachment_bytes=len(file.content))  # fmt: skip
    day = delivery.slot_day or dt.datetime.now(ZoneInfo(schedule.time_zone)).date()

    def message_to(address: str) -> EmailMessage:
        return compose(report, schedule, result, file, sender=sender, recipient=address, day=day,
                       is_test=delivery.kind is Kind.TEST,
                       unsubscribe_url=_unsubscribe_link(delivery, schedule, address))  # fmt: skip

    return _send_each(delivery, sender, message_to)


def _send_alert(delivery: Delivery, sender: str, report: SavedReport | None) -> str:
    """An alert's email: the firing it records, to the alert's recipients."""
    cron = engines.default().cron
    with cron.connect() as conn:
        firing = alerts.firing_of(conn, tenant_id=delivery.tenant_id, delivery_id=delivery.id)
        alert = alerts.get_alert(conn, tenant_id=delivery.tenant_id,
                                 alert_id=delivery.alert_id or 0)  # fmt: skip
    if report is None or firing is None or alert is None:
        deliveries.finish(cron, delivery, State.SKIPPED, "The alert or its report was removed.")
        return State.SKIPPED.value
    try:
        result = run_cached(validate(report.definition), tenant_id=delivery.tenant_id,
                            mode=Mode.SAVED)  # fmt: skip
        column = next(c for c in result.columns if c.id == alert.measure)
    except (UserError, StopIteration):
        _end_failed(delivery, sender, "The report no longer has the alert's measure.")
        return State.FAILED.value
    url = f"{config.load().public_url}/admin/analytics/reports/{report.id}"

    def message_to(address: str) -> EmailMessage:
        return alert_message(report, alert, firing, column, sender=sender, recipient=address,
                             report_url=url)  # fmt: skip

    return _send_each(delivery, sender, message_to)


def _send_each(delivery: Delivery, sender: str, message_to: Callable[[str], EmailMessage]) -> str:
    """Sends each recipient not yet recorded as sent their message; the delivery's state."""
    refused: dict[str, str] = {}
    with mailer.Postman() as postman:
        for address in delivery.unsent():
            if (refusal := _send_one(postman, delivery, address, message_to(address))) is not None:
                refused[address] = refusal
    if not refused:
        deliveries.finish(engines.default().cron, delivery, State.SENT)
        return State.SENT.value
    reasons = "; ".join(f"{address}: {text}" for address, text in refused.items())
    return _retry_or_fail(delivery, sender, f"Not delivered to {reasons}.")


def _unsubscribe_link(delivery: Delivery, schedule: Schedule, address: str) -> str | None:
    """The recipient's own unsubscribe link (none in a test send: its address is the
    sender's own, not a recipient)."""
    if delivery.kind is Kind.TEST or schedule.id is None:
        return None
    settings = config.load()
    who = Unsubscribe(delivery.tenant_id, delivery.report_id, schedule.id, address)
    return unsubscribe_url(settings.public_url, who, secret=settings.secret_key(),
                           now=dt.datetime.now(dt.UTC))  # fmt: skip


def _send_one(postman: mailer.Postman, delivery: Delivery, address: str,
              message: EmailMessage) -> str | None:  # fmt: skip
    """Sends one recipient's message, its outcome recorded before and after; returns why
    the server refused it, or None once sent."""
    cron, message_id = engines.default().cron, str(message["Message-ID"])
    deliveries.record_recipient(cron, delivery.id, address, State.SENDING, message_id=message_id)
    try:
        postman.send(message)
    except mailer.REFUSALS as error:
        refusal = mailer.refusal_text(error)
        deliveries.record_recipient(cron, delivery.id, address, State.FAILED,
                                    message_id=message_id, error=refusal)  # fmt: skip
        return refusal
    deliveries.record_recipient(cron, delivery.id, address, State.SENT, message_id=message_id)
    return None


def _retry_or_fail(delivery: Delivery, sender: str, error: str) -> str:
    if delivery.attempts < MAX_ATTEMPTS:
        note = f"{error} Attempt {delivery.attempts} of {MAX_ATTEMPTS}; retried at the next hour."
        deliveries.finish(engines.default().cron, delivery, State.QUEUED, note)
        return State.QUEUED.value
    _end_failed(delivery, sender, f"{error} Gave up after {MAX_ATTEMPTS} attempts.")
    return State.FAILED.value


def _end_failed(delivery: Delivery, sender: str, error: str) -> None:
    """Fails the delivery and tells the report's owner, once (not for a test send)."""
    cron = engines.default().cron
    deliveries.finish(cron, delivery, State.FAILED, error)
    if delivery.kind is Kind.TEST:
        return
    owner = deliveries.claim_notice(cron, delivery.id)
    report = get_report(engines.default().web, tenant_id=delivery.tenant_id,
                        report_id=delivery.report_id)  # fmt: skip
    if owner is None or report is None:
        return
    day = delivery.slot_day or delivery.created_at.date()
    notice = failure_notice(report, sender=sender, owner=owner, kind=delivery.kind.value,
                            day=day, error=error)  # fmt: skip
    try:
        mailer.send(notice)
    except mailer.REFUSALS:
        log.exception("the failure notice of delivery %s could not be sent", delivery.id)


# ---- what the report page calls (web role; the caller checks reports.manage) -------------


def _start(web: sa.Engine, *, tenant_id: int, report_id: int, kind: Kind,
           recipients: tuple[str, ...], user_id: int) -> Delivery:  # fmt: skip
    problem = mailer.delivery_problem()
    if problem:
        raise BadRequest(problem)
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        delivery = deliveries.queue_delivery(conn, tenant_id=tenant_id, report_id=report_id,
                                             kind=kind, recipients=recipients,
                                             requested_by=user_id)  # fmt: skip
    enqueue(delivery)
    return delivery


def _schedule(web: sa.Engine, tenant_id: int, report_id: int) -> Schedule:
    schedule = get_schedule(web, tenant_id=tenant_id, report_id=report_id)
    if schedule is None:
        raise NotFound("This report has no email schedule.")
    return schedule


def send_now(web: sa.Engine, tenant_id: int, report_id: int, user_id: int) -> Delivery:
    """Emails the report to all its schedule's recipients now (not the day's delivery)."""
    schedule = _schedule(web, tenant_id, report_id)
    return _start(web, tenant_id=tenant_id, report_id=report_id, kind=Kind.MANUAL,
                  recipients=schedule.recipients, user_id=user_id)  # fmt: skip


def send_test(web: sa.Engine, tenant_id: int, report_id: int, user_id: int,
              address: str) -> Delivery:  # fmt: skip
    """Emails the report, as its schedule would, to `address` only (the signed-in user)."""
    _schedule(web, tenant_id, report_id)
    return _start(web, tenant_id=tenant_id, report_id=report_id, kind=Kind.TEST,
                  recipients=(address,), user_id=user_id)  # fmt: skip


def resend(web: sa.Engine, tenant_id: int, delivery_id: int, *, user_id: int,
           report_id: int) -> Delivery:  # fmt: skip
    """Sends a failed or unknown delivery of `report_id` (the report whose permission the
    caller checked) again to its recipients not recorded as sent."""
    delivery = deliveries.get_delivery(web, tenant_id=tenant_id, delivery_id=delivery_id)
    if delivery is None or delivery.report_id != report_id:
        raise NotFound("There is no such delivery.")
    if delivery.state not in deliveries.RESENDABLE:
        raise BadRequest(f"Only a failed or unknown delivery can be re-sent (this one is "
                         f"{delivery.state.value}).")  # fmt: skip
    _schedule(web, tenant_id, delivery.report_id)
    if not delivery.unsent():
        raise BadRequest("Every recipient of this delivery is recorded as sent.")
    return _start(web, tenant_id=tenant_id, report_id=delivery.report_id, kind=Kind.MANUAL,
                  recipients=delivery.unsent(), user_id=user_id)  # fmt: skip
