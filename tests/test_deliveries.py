"""The delivery ledger: exactly once under concurrent cron runs and workers, a worker
killed mid-delivery, a recipient the server refuses, attachments equal to the export
route's bytes, manual and test sends, and tenant isolation. Real PostgreSQL, Redis, RQ
workers (in this process and as subprocesses) and an aiosmtpd server."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import flask
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from rq import Queue, SimpleWorker
from sqlalchemy.exc import DBAPIError

from components import deliveries_panel
from db import schema as s
from db.deliveries import LOST, Kind, State, failing, get_delivery, history, queue_delivery
from db.retention import DELIVERY_DAYS, expire_rows
from db.tenancy import tenant_transaction
from errors import BadRequest, NotFound
from jobs import queues
from jobs.schedules import (
    MAX_ATTEMPTS,
    SENDING_TIMEOUT,
    deliver,
    deliver_due_schedules,
    resend,
    send_now,
    send_test,
)
from report_email import (
    BAD_LINK,
    UNSUBSCRIBE_DAYS,
    Unsubscribe,
    read_unsubscribe,
    unsubscribe_token,
)
from tests import callbacks
from tests.conftest import Hub
from tests.smtp import Inbox
from tests.web import sign_in

ROOT = Path(__file__).resolve().parent.parent
BY_CHANNEL = {"dataset": "conversions", "measures": ["conversions"],
              "dimensions": [{"id": "channel"}], "date_range": {"preset": "30d"},
              "viz": "bar"}  # fmt: skip
NOTHING = {**BY_CHANNEL, "filters": [{"field": "channel", "op": "in", "value": ["no-such"]}]}
LEDGER_SQL = """
SELECT report_id, kind, state, attempts, recipients, outcomes, row_count, attachment_bytes,
       error
FROM ins_report_deliveries WHERE report_id = ANY(:ids) ORDER BY id
"""


Scheduler = Callable[..., int]


@pytest.fixture
def schedule(hub: Hub) -> Iterator[Scheduler]:
    """Makes a saved report with a schedule (daily at 00:00 UTC unless told): removed,
    with its deliveries, after the test."""
    made: list[int] = []

    def make(tenant: str, recipients: list[str], definition: dict[str, Any] = BY_CHANNEL,
             owner: str | None = None, **columns: Any) -> int:  # fmt: skip
        tenant_id = hub.tenant_id(tenant)
        with hub.cron.begin() as conn:
            owner_id = owner and conn.scalar(sa.select(s.users.c.id).where(
                s.users.c.email == owner))  # fmt: skip
            report_id = conn.scalar(sa.insert(s.reports).values(
                tenant_id=tenant_id, name=f"Delivery check {len(made)} {time.time_ns()}",
                definition=definition, owner_id=owner_id).returning(s.reports.c.id))  # fmt: skip
            conn.execute(sa.insert(s.report_schedules).values(
                tenant_id=tenant_id, report_id=report_id, recipients=recipients,
                **{"frequency": "daily", "hour": 0, **columns}))  # fmt: skip
        made.append(report_id)
        return report_id

    yield make
    with hub.cron.begin() as conn:
        conn.execute(sa.delete(s.reports).where(s.reports.c.id.in_(made)))


def _ledger(hub: Hub, *report_ids: int) -> list[Any]:
    with hub.admin.connect() as conn:
        return conn.execute(sa.text(LEDGER_SQL), {"ids": list(report_ids)}).all()


def _drain(hub: Hub) -> None:
    """Runs the email queue's jobs in this process (RQ's SimpleWorker, burst) until empty."""
    queue = Queue(queues.EMAIL, connection=hub.redis)
    SimpleWorker([queue], connection=hub.redis).work(burst=True)


def _worker(hub: Hub, log: Path) -> subprocess.Popen[bytes]:
    """A real `rq worker` process in burst mode on the email queue, without forking (so a
    SIGKILL to it stops the delivery it is running); its output goes to `log`."""
    env = {**os.environ, **hub.env}
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "rq"), "worker", "--burst", "--url",
             hub.env["REDIS_URL"], "--worker-class", "rq.worker.SimpleWorker", queues.EMAIL],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _wait_for(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _reports_of(hub: Hub, delivery_ids: list[int]) -> set[int]:
    t = s.report_deliveries
    with hub.cron.connect() as conn:
        return set(conn.scalars(sa.select(t.c.report_id).where(t.c.id.in_(delivery_ids))))


def _mine(sweep_queued: list[tuple[int, int, dt.date]], report_ids: set[int]) -> list[int]:
    return sorted(report for _, report, _ in sweep_queued if report in report_ids)


# ---- exactly once -------------------------------------------------------------------------


def test_100_schedules_two_cron_runs_two_workers_each_delivered_once(
    hub: Hub, inbox: Inbox, schedule: Scheduler, tmp_path: Path
) -> None:
    """Two cron runs at once insert each of 100 due slots once between them; two worker
    processes deliver each once: 100 messages at the SMTP server, one per address, and
    the ledger says sent, attempt 1, with the Message-ID the server received."""
    addresses = {f"r{i}@{tenant}.example": tenant
                 for i, tenant in enumerate(["acme", "globex"] * 50)}  # fmt: skip
    reports = {schedule(tenant, [address]): address for address, tenant in addresses.items()}
    now = dt.datetime.now(dt.UTC)
    start = threading.Barrier(2)
    sweeps: list[Any] = []

    def run() -> None:
        start.wait()
        sweeps.append(deliver_due_schedules(now))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first, second = (_mine(sweep.queued, set(reports)) for sweep in sweeps)
    assert sorted(first + second) == sorted(reports) and not set(first) & set(second)

    log = tmp_path / "workers.log"
    workers = [_worker(hub, log), _worker(hub, log)]
    for worker in workers:
        assert worker.wait(timeout=300) == 0, log.read_text()
    assert inbox.to(set(addresses)) == Counter({address: 1 for address in addresses})
    received = {rcpts[0]: str(message["Message-ID"]) for rcpts, message in inbox.messages}
    rows = _ledger(hub, *reports)
    assert len(rows) == 100
    for row in rows:
        address = reports[row.report_id]
        assert (row.kind, row.state, row.attempts, row.recipients) == (
            "scheduled", "sent", 1, [address]
        )  # fmt: skip
        assert row.outcomes[address]["state"] == "sent"
        assert row.outcomes[address]["message_id"] == received[address]

    again = deliver_due_schedules(now)
    assert _mine(again.queued, set(reports)) == [] and not _reports_of(hub, again.requeued)
    _drain(hub)
    assert sum(inbox.to(set(addresses)).values()) == 100


def test_a_replayed_job_sends_nothing(hub: Hub, inbox: Inbox, schedule: Scheduler) -> None:
    """The job of a delivered slot, run again, finds no claim and sends nothing."""
    report = schedule("acme", ["once@acme.example"])
    deliver_due_schedules(dt.datetime.now(dt.UTC))
    _drain(hub)
    with hub.cron.connect() as conn:
        delivery_id = conn.scalar(sa.select(s.report_deliveries.c.id).where(
            s.report_deliveries.c.report_id == report))  # fmt: skip
    assert deliver(delivery_id) == "not claimed"
    assert inbox.to({"once@acme.example"}) == Counter({"once@acme.example": 1})


# ---- a worker killed mid-delivery, a refused recipient ------------------------------------


def test_a_worker_killed_while_sending_ends_unknown_and_is_resent_only_by_hand(
    hub: Hub, inbox: Inbox, schedule: Scheduler, tmp_path: Path
) -> None:
    """SIGKILL after the server took the message: the slot stays `sending`, becomes
    `unknown` once SENDING_TIMEOUT has passed, is never sent again by the cron, shows the
    report as failing, and a re-send delivers it once more (by hand)."""
    address = "killed@acme.example"
    report = schedule("acme", [address])
    acme = hub.tenant_id("acme")
    inbox.hold = threading.Event()
    deliver_due_schedules(dt.datetime.now(dt.UTC))
    worker = _worker(hub, tmp_path / "worker.log")
    assert inbox.holding.wait(timeout=120), (tmp_path / "worker.log").read_text()
    _wait_for(lambda: _ledger(hub, report)[0].outcomes.get(address, {}).get("state") == "sending")
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(timeout=30) == -signal.SIGKILL
    inbox.hold.set()
    inbox.hold = None

    (row,) = _ledger(hub, report)
    assert (row.state, row.attempts, row.outcomes[address]["state"]) == ("sending", 1, "sending")
    soon = deliver_due_schedules(dt.datetime.now(dt.UTC))
    assert soon.lost == [] and _ledger(hub, report)[0].state == "sending"
    later = deliver_due_schedules(dt.datetime.now(dt.UTC) + SENDING_TIMEOUT
                                  + dt.timedelta(minutes=1))  # fmt: skip
    (row,) = _ledger(hub, report)
    assert later.lost == [row_id(hub, report)] and (row.state, row.error) == ("unknown", LOST)
    _drain(hub)
    assert inbox.to({address}) == Counter({address: 1})
    assert report in failing(hub.web, tenant_id=acme)

    again = resend(
        hub.web,
        acme,
        row_id(hub, report),
        user_id=_user(hub, "admin@acme.example"),
        report_id=report,
    )
    assert (again.kind, again.recipients) == (Kind.MANUAL, (address,))
    _drain(hub)
    assert inbox.to({address}) == Counter({address: 2})
    assert [r.state for r in _ledger(hub, report)] == ["unknown", "sent"]
    assert report not in failing(hub.web, tenant_id=acme)


def row_id(hub: Hub, report_id: int) -> int:
    with hub.cron.connect() as conn:
        return conn.scalar(sa.select(sa.func.min(s.report_deliveries.c.id)).where(
            s.report_deliveries.c.report_id == report_id))  # fmt: skip


def _user(hub: Hub, email: str) -> int:
    with hub.cron.connect() as conn:
        return conn.scalar(sa.select(s.users.c.id).where(s.users.c.email == email))


def test_a_refused_recipient_alone_is_retried_then_failed_with_one_notice(
    hub: Hub, inbox: Inbox, schedule: Scheduler
) -> None:
    """550 for one address: the other gets the email once; each hourly run retries only
    the refused one, MAX_ATTEMPTS in all; then the delivery fails, the owner is told once,
    and a re-send goes to the refused address only."""
    good, bad = "good@acme.example", "bad@acme.example"
    inbox.refuse = {bad}
    report = schedule("acme", [good, bad], owner="admin@acme.example")
    acme = hub.tenant_id("acme")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        sweep = deliver_due_schedules(dt.datetime.now(dt.UTC))
        assert (_mine(sweep.queued, {report}), _reports_of(hub, sweep.requeued) & {report}) == (
            ([report], set()) if attempt == 1 else ([], {report})
        )
        _drain(hub)
        (row,) = _ledger(hub, report)
        assert (row.attempts, inbox.refused.count(bad)) == (attempt, attempt)
        assert inbox.to({good, bad}) == Counter({good: 1})
        assert row.outcomes[good]["state"] == "sent" and row.outcomes[bad]["state"] == "failed"
        assert row.outcomes[bad]["error"] == (
            "The mail server refused the address: 550 5.1.1 No such mailbox here"
        )
        refusal = f"Not delivered to {bad}: {row.outcomes[bad]['error']}."
        if attempt < MAX_ATTEMPTS:
            retry = f"Attempt {attempt} of {MAX_ATTEMPTS}; retried at the next hour."
            assert (row.state, row.error) == ("queued", f"{refusal} {retry}")
    assert (row.state, row.error) == (
        "failed", f"{refusal} Gave up after {MAX_ATTEMPTS} attempts."
    )  # fmt: skip
    assert row.row_count is not None and row.attachment_bytes is not None
    assert report in failing(hub.web, tenant_id=acme)
    notices = [m for rcpts, m in inbox.messages if rcpts == ["admin@acme.example"]
               and m["Subject"].startswith("Not delivered: ")]  # fmt: skip
    assert len(notices) == 1 and refusal in notices[0].get_content()
    assert report not in _reports_of(hub, deliver_due_schedules(dt.datetime.now(dt.UTC)).requeued)

    inbox.refuse = set()
    again = resend(
        hub.web,
        acme,
        row_id(hub, report),
        user_id=_user(hub, "admin@acme.example"),
        report_id=report,
    )
    assert again.recipients == (bad,)
    _drain(hub)
    assert inbox.to({good, bad}) == Counter({good: 1, bad: 1})
    assert report not in failing(hub.web, tenant_id=acme)
    with pytest.raises(BadRequest):  # only failed or unknown deliveries are re-sent
        resend(hub.web, acme, again.id, user_id=_user(hub, "admin@acme.example"), report_id=report)


# ---- attachments, manual and test sends ---------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_attachment_is_the_export_routes_bytes(
    hub: Hub, inbox: Inbox, schedule: Scheduler, flask_app: flask.Flask, fmt: str
) -> None:
    """A test send's attachment equals, byte for byte, the export route's file of the same
    report at the same moment; the ledger records its size and row count."""
    report = schedule("acme", ["team@acme.example"], attachment=fmt)
    acme, admin = hub.tenant_id("acme"), _user(hub, "admin@acme.example")
    delivery = send_test(hub.web, acme, report, admin, "admin@acme.example")
    assert (delivery.kind, delivery.recipients) == (Kind.TEST, ("admin@acme.example",))
    _drain(hub)
    client = flask_app.test_client()
    sign_in(client, "admin@acme.example")
    exported = client.get(f"/admin/analytics/reports/{report}/export/{fmt}")
    assert exported.status_code == 200
    (message,) = [m for rcpts, m in inbox.messages if rcpts == ["admin@acme.example"]]
    assert message["Subject"].startswith("[Test] ")
    (attached,) = message.iter_attachments()
    content = attached.get_payload(decode=True)
    assert content == exported.data
    assert attached.get_filename() == exported.headers["Content-Disposition"].split('"')[1]
    (row,) = _ledger(hub, report)
    rows = (len(load_workbook(io.BytesIO(content)).worksheets[0]["A"]) if fmt == "xlsx"
            else content.decode().count("\r\n")) - 1  # fmt: skip
    assert (row.kind, row.state, row.attachment_bytes, row.row_count) == (
        "test", "sent", len(content), rows
    )  # fmt: skip
    assert inbox.to({"team@acme.example"}) == Counter()


def test_send_now_and_a_test_send_are_not_the_days_delivery(
    hub: Hub, inbox: Inbox, schedule: Scheduler
) -> None:
    """Send now reaches every recipient; the day's scheduled email still goes out after it."""
    ann, bo = "ann@acme.example", "bo@acme.example"
    report = schedule("acme", [ann, bo])
    acme, admin = hub.tenant_id("acme"), _user(hub, "admin@acme.example")
    send_now(hub.web, acme, report, admin)
    send_test(hub.web, acme, report, admin, "admin@acme.example")
    _drain(hub)
    assert inbox.to({ann, bo}) == Counter({ann: 1, bo: 1})
    sweep = deliver_due_schedules(dt.datetime.now(dt.UTC))
    assert _mine(sweep.queued, {report}) == [report]
    _drain(hub)
    assert inbox.to({ann, bo}) == Counter({ann: 2, bo: 2})
    got = history(hub.web, tenant_id=acme, report_id=report)
    assert [(d.kind, d.state, d.requested_by) for d in got] == [
        (Kind.SCHEDULED, State.SENT, None), (Kind.TEST, State.SENT, admin),
        (Kind.MANUAL, State.SENT, admin),
    ]  # fmt: skip


def test_a_report_with_no_rows_is_skipped_when_its_schedule_says_so(
    hub: Hub, inbox: Inbox, schedule: Scheduler
) -> None:
    quiet = schedule("acme", ["quiet@acme.example"], NOTHING, skip_empty=True)
    sent = schedule("acme", ["empty@acme.example"], NOTHING)
    deliver_due_schedules(dt.datetime.now(dt.UTC))
    _drain(hub)
    assert [(r.report_id, r.state, r.error) for r in _ledger(hub, quiet, sent)] == [
        (quiet, "skipped", "The report had no rows."), (sent, "sent", None)
    ]  # fmt: skip
    assert inbox.to({"quiet@acme.example", "empty@acme.example"}) == Counter(
        {"empty@acme.example": 1}
    )


def test_a_paused_schedule_is_not_sent(hub: Hub, inbox: Inbox, schedule: Scheduler) -> None:
    report = schedule("acme", ["paused@acme.example"], paused=True)
    assert _mine(deliver_due_schedules(dt.datetime.now(dt.UTC)).queued, {report}) == []
    assert _ledger(hub, report) == []


def test_sending_by_hand_needs_mail_configured(
    hub: Hub, schedule: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAILER_FROM", raising=False)
    report = schedule("acme", ["x@acme.example"])
    with pytest.raises(BadRequest, match="MAILER_FROM"):
        send_now(hub.web, hub.tenant_id("acme"), report, _user(hub, "admin@acme.example"))


# ---- tenants and retention ----------------------------------------------------------------


def test_a_tenant_never_sees_another_tenants_deliveries(
    hub: Hub, inbox: Inbox, schedule: Scheduler
) -> None:
    """History, a delivery by id, failing reports and re-send all stop at the tenant; the
    web role cannot insert a delivery for another tenant."""
    acme, globex = hub.tenant_id("acme"), hub.tenant_id("globex")
    mine = schedule("acme", ["a@acme.example"])
    theirs = schedule("globex", ["g@globex.example"], {"dataset": "gone"})
    deliver_due_schedules(dt.datetime.now(dt.UTC))
    _drain(hub)
    theirs_id = row_id(hub, theirs)
    assert [d.report_id for d in history(hub.web, tenant_id=acme, report_id=mine)] == [mine]
    assert history(hub.web, tenant_id=acme, report_id=theirs) == []
    assert get_delivery(hub.web, tenant_id=acme, delivery_id=theirs_id) is None
    assert theirs in failing(hub.web, tenant_id=globex)
    assert theirs not in failing(hub.web, tenant_id=acme)
    with pytest.raises(NotFound):
        resend(hub.web, acme, theirs_id, user_id=_user(hub, "admin@acme.example"), report_id=theirs)
    with pytest.raises(DBAPIError), tenant_transaction(hub.web, tenant_id=acme) as conn:
        queue_delivery(conn, tenant_id=globex, report_id=theirs, kind=Kind.MANUAL,
                       recipients=("spy@evil.example",), requested_by=1)  # fmt: skip
    with hub.admin.connect() as conn:
        counts = dict(conn.execute(sa.text(
            "SELECT tenant_id, count(*) FROM ins_report_deliveries WHERE report_id IN (:a, :b) "
            "GROUP BY tenant_id"), {"a": mine, "b": theirs}).all())  # fmt: skip
    assert counts == {acme: 1, globex: 1}


def test_deliveries_are_kept_for_400_days(hub: Hub, schedule: Scheduler) -> None:
    report = schedule("acme", ["old@acme.example"])
    acme = hub.tenant_id("acme")
    now = dt.datetime.now(dt.UTC)
    with hub.cron.begin() as conn:
        conn.execute(sa.insert(s.report_deliveries), [
            {"tenant_id": acme, "report_id": report, "kind": "manual", "state": "sent",
             "recipients": ["old@acme.example"], "created_at": now - dt.timedelta(days=days)}
            for days in (DELIVERY_DAYS + 2, DELIVERY_DAYS - 1)
        ])  # fmt: skip
    assert expire_rows(hub.cron, now=now)[acme]["ins_report_deliveries"] == 1
    assert len(_ledger(hub, report)) == 1


# ---- unsubscribe --------------------------------------------------------------------------


def _schedule_row(hub: Hub, report_id: int) -> tuple[int, list[str]] | None:
    t = s.report_schedules
    with hub.cron.connect() as conn:
        row = conn.execute(sa.select(t.c.id, t.c.recipients).where(t.c.report_id == report_id)
                           ).one_or_none()  # fmt: skip
    return None if row is None else (row.id, row.recipients)


def _link(message: EmailMessage) -> str:
    header = str(message["List-Unsubscribe"])
    assert header.startswith("<http://") and message["List-Unsubscribe-Post"] == (
        "List-Unsubscribe=One-Click"
    )
    url = urlsplit(header[1:-1])
    return f"{url.path}?{url.query}"  # for the test client


def _name(hub: Hub, report_id: int) -> str:
    with hub.cron.connect() as conn:
        return conn.scalar(sa.select(s.reports.c.name).where(s.reports.c.id == report_id))


def test_each_recipient_can_unsubscribe_itself_from_that_schedule_only(
    hub: Hub, inbox: Inbox, schedule: Scheduler, flask_app: flask.Flask
) -> None:
    """Ann's own link, followed signed out: GET asks and changes nothing, POST removes her
    from that schedule alone (Bo stays; her other schedule keeps her) and is recorded."""
    ann, bo = "ann@acme.example", "bo@acme.example"
    first = schedule("acme", [ann, bo])
    other = schedule("acme", [ann])
    deliver_due_schedules(dt.datetime.now(dt.UTC))
    _drain(hub)
    names = {_name(hub, first): first, _name(hub, other): other}
    links = {(rcpts[0], names[report]): _link(m) for rcpts, m in inbox.messages
             if (report := m["Subject"].split(" — ")[0]) in names}  # fmt: skip
    assert set(links) == {(ann, first), (bo, first), (ann, other)}
    assert len(set(links.values())) == 3  # each recipient's own
    first_schedule, _ = _schedule_row(hub, first) or (0, [])
    ann_first = links[(ann, first)]
    client = flask_app.test_client()
    page = client.get(ann_first)
    assert page.status_code == 200 and ann in page.get_data(as_text=True)
    assert _schedule_row(hub, first) == (first_schedule, [ann, bo])
    token = ann_first.split("token=", 1)[1]
    done = client.post("/unsubscribe", data={"token": token})
    assert done.status_code == 200 and "no longer receives" in done.get_data(as_text=True)
    assert _schedule_row(hub, first) == (first_schedule, [bo])
    assert _schedule_row(hub, other) is not None and _schedule_row(hub, other)[1] == [ann]
    with hub.admin.connect() as conn:
        recorded = conn.execute(sa.text(
            "SELECT tenant_id, report_id, schedule_id, address FROM ins_report_unsubscribes "
            "WHERE report_id IN (:a, :b)"), {"a": first, "b": other}).all()  # fmt: skip
    assert [tuple(r) for r in recorded] == [(hub.tenant_id("acme"), first, first_schedule, ann)]
    again = client.post("/unsubscribe", data={"token": token})
    assert "is not on this email schedule any more" in again.get_data(as_text=True)


def test_an_unsubscribe_token_works_for_its_schedule_only_and_not_after_expiry(
    hub: Hub, schedule: Scheduler, flask_app: flask.Flask
) -> None:
    """Altered, signed with another key, for a schedule since replaced, or expired: the
    link removes nothing. Bo is the last recipient here, so his link ends the schedule."""
    acme = hub.tenant_id("acme")
    report = schedule("acme", ["bo@acme.example"])
    other = schedule("acme", ["bo@acme.example"])
    schedule_id, _ = _schedule_row(hub, report) or (0, [])
    other_id, _ = _schedule_row(hub, other) or (0, [])
    secret, now = "test-secret-key", dt.datetime.now(dt.UTC)
    bo = Unsubscribe(acme, report, schedule_id, "bo@acme.example")
    token = unsubscribe_token(bo, secret=secret, now=now)
    assert read_unsubscribe(token, secret=secret, now=now + dt.timedelta(days=89)) == bo
    with pytest.raises(BadRequest):
        read_unsubscribe(token, secret=secret, now=now + dt.timedelta(days=UNSUBSCRIBE_DAYS + 1))
    with pytest.raises(BadRequest):
        read_unsubscribe(token, secret="another-key", now=now)
    forged = unsubscribe_token(Unsubscribe(acme, other, other_id, "bo@acme.example"),
                               secret="another-key", now=now)  # fmt: skip
    client = flask_app.test_client()
    for bad in (
        forged,
        token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1],  # a changed signature
        unsubscribe_token(bo, secret=secret, now=now - dt.timedelta(days=91)),
    ):
        refused = client.post("/unsubscribe", data={"token": bad})
        assert refused.status_code == 400 and escape(BAD_LINK) in refused.get_data(as_text=True)
    assert _schedule_row(hub, report) == (schedule_id, ["bo@acme.example"])
    assert _schedule_row(hub, other) == (other_id, ["bo@acme.example"])

    assert client.post("/unsubscribe", data={"token": token}).status_code == 200
    assert _schedule_row(hub, report) is None  # its last recipient left
    assert _schedule_row(hub, other) == (other_id, ["bo@acme.example"])
    with hub.cron.begin() as conn:  # a new schedule for the same report: the old link is spent
        conn.execute(sa.insert(s.report_schedules).values(
            tenant_id=acme, report_id=report, frequency="daily", hour=0,
            recipients=["bo@acme.example"]))  # fmt: skip
    client.post("/unsubscribe", data={"token": token})
    assert _schedule_row(hub, report) is not None


# ---- the report page: Email deliveries panel and the landing's mark -------------------------


def _panel(client: flask.testing.FlaskClient, report: int, trigger: Any) -> str:
    """Posts the panel's callback as if `trigger` (a button id or a Re-send id) was clicked."""
    key, _ = callbacks.find(deliveries_panel.SEND_NOW, "n_clicks")
    resends = [callbacks.value(trigger, "n_clicks", 1)] if isinstance(trigger, dict) else []
    inputs = [
        callbacks.value(deliveries_panel.SEND_NOW, "n_clicks",
                        1 if trigger == deliveries_panel.SEND_NOW else None),
        callbacks.value(deliveries_panel.SEND_TEST, "n_clicks",
                        1 if trigger == deliveries_panel.SEND_TEST else None),
        resends,
        callbacks.value(deliveries_panel.TICK, "n_intervals", 1),
    ]  # fmt: skip
    prop = "n_intervals" if trigger == deliveries_panel.TICK else "n_clicks"
    response = callbacks.post(client, key, inputs=inputs,
                              state=[callbacks.value("report-id", "data", report)],
                              changed=[f"{callbacks.id_text(trigger)}.{prop}"])  # fmt: skip
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _history_states(shown: str) -> list[str]:
    """The states of the history's rows in a panel answer, newest first."""
    tree = json.loads(shown)["response"]
    return [c["props"]["data-state"] for c in callbacks.components(tree)
            if "data-state" in c["props"]]  # fmt: skip


def _signed_in(flask_app: flask.Flask, email: str) -> flask.testing.FlaskClient:
    client = flask_app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def test_the_panel_sends_a_test_now_and_re_sends_for_a_manager_only(
    hub: Hub, inbox: Inbox, schedule: Scheduler, flask_app: flask.Flask
) -> None:
    """Send me a test reaches the signed-in admin alone; Send now every recipient; the
    history shows each as sent with its rows; Re-send takes only a failed delivery of this
    report; a Viewer's clicks are refused and send nothing."""
    ann, bo, me = "ann@acme.example", "bo@acme.example", "admin@acme.example"
    report = schedule("acme", [ann, bo])
    other = schedule("acme", ["other@acme.example"])
    viewer = _signed_in(flask_app, "viewer@acme.example")
    for button in (deliveries_panel.SEND_NOW, deliveries_panel.SEND_TEST):
        assert "Your role does not include managing reports." in _panel(viewer, report, button)
    assert _ledger(hub, report) == []

    admin = _signed_in(flask_app, me)
    assert f"Sending a test to {me}." in _panel(admin, report, deliveries_panel.SEND_TEST)
    assert "Sending to 2 recipients." in _panel(admin, report, deliveries_panel.SEND_NOW)
    _drain(hub)
    assert inbox.to({ann, bo, me}) == Counter({ann: 1, bo: 1, me: 1})
    rows = _ledger(hub, report)
    assert [(r.kind, r.state, r.recipients) for r in rows] == [
        ("test", "sent", [me]), ("manual", "sent", [ann, bo])]  # fmt: skip
    shown = _panel(admin, report, deliveries_panel.TICK)
    assert _history_states(shown) == ["sent", "sent"]
    assert f'"{rows[0].row_count:,}"' in shown and "Re-send" not in shown

    send_now(hub.web, hub.tenant_id("acme"), other, _user(hub, me))
    with hub.cron.begin() as conn:  # it failed before a worker took it
        conn.execute(sa.update(s.report_deliveries)
                     .where(s.report_deliveries.c.report_id == other)
                     .values(state="failed", error="550 No such mailbox"))  # fmt: skip
    _drain(hub)
    stolen = _panel(admin, report, deliveries_panel.resend_id(row_id(hub, other)))
    assert "There is no such delivery." in stolen
    assert "There is no such delivery." in _panel(admin, report, deliveries_panel.resend_id("x"))
    assert len(_ledger(hub, other)) == 1
    shown = _panel(admin, other, deliveries_panel.TICK)
    assert _history_states(shown) == ["failed"] and "Re-send" in shown


def test_the_landing_marks_a_failing_schedule_until_an_email_succeeds(
    hub: Hub, inbox: Inbox, schedule: Scheduler, flask_app: flask.Flask
) -> None:
    report = schedule("acme", ["fails@acme.example"], {"dataset": "gone"})
    fine = schedule("acme", ["fine@acme.example"])
    deliver_due_schedules(dt.datetime.now(dt.UTC))
    _drain(hub)
    viewer = _signed_in(flask_app, "viewer@acme.example")

    def marked() -> set[int]:
        drawn = callbacks.components(callbacks.page(viewer, "/admin/analytics").get_json())
        return {c["props"]["id"]["report"] for c in drawn
                if isinstance(c["props"].get("id"), dict)
                and c["props"]["id"]["type"] == "report-failing"}  # fmt: skip

    assert report in marked() and fine not in marked()
    with hub.cron.begin() as conn:  # the report is mended and its next email goes out
        conn.execute(sa.update(s.reports).where(s.reports.c.id == report)
                     .values(definition=BY_CHANNEL))  # fmt: skip
    send_now(hub.web, hub.tenant_id("acme"), report, _user(hub, "admin@acme.example"))
    _drain(hub)
    assert report not in marked()
