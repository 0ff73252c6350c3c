"""Scheduled email reports: validation, the due rule, and delivery through a real SMTP
server (aiosmtpd), real RQ workers and the Maildir outbox. The ledger's guarantees are
tests/test_deliveries.py's; time zones are tests/test_schedule_zones.py's."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from typing import Any

import flask
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from rq import Queue, SimpleWorker

import config
from datasets.freshness import freshness
from datasets.registry import DATASETS
from db import schema as s
from db.schedules import Schedule, Slot, due_slot, get_schedule, parse_schedule, save_schedule
from errors import BadSchedule
from jobs import queues
from jobs.schedules import bypasses_row_security, deliver_due_schedules
from mailer import outbox_message, outbox_messages
from tests import callbacks
from tests.conftest import Hub
from tests.smtp import SENDER, Inbox
from tests.test_definitions import ANY_SCALAR, json_values
from tests.web import sign_in

NOW = dt.datetime.now(dt.UTC)
TODAY = NOW.date()

# Conversions by channel over the last 30 days: checked against hand SQL below.
BY_CHANNEL = {"dataset": "conversions", "measures": ["conversions"],
              "dimensions": [{"id": "channel"}], "date_range": {"preset": "30d"},
              "viz": "bar"}  # fmt: skip
HAND_SQL = """
SELECT channel, count(*) FROM ins_goal_completions
WHERE tenant_id = :t AND completed_at >= :lo AND completed_at < :hi
GROUP BY channel ORDER BY count(*) DESC, channel
"""


# ---- validation and the due rule (no database) ------------------------------------------


def test_a_schedule_is_parsed_and_its_recipients_deduplicated() -> None:
    typed = "Ann@Example.com, ann@example.com;\nbo@x.org"
    schedule = parse_schedule(
        7, {"frequency": "weekly", "hour": "7", "weekday": 1, "recipients": typed}
    )
    assert schedule == Schedule(7, "weekly", 7, 1, ("Ann@example.com", "bo@x.org"))
    assert schedule.describe() == "Weekly on Monday at 07:00 UTC to 2 recipients"
    daily = parse_schedule(7, {"frequency": "daily", "hour": 0, "weekday": 3,
                               "recipients": ["a@x.org"]})  # fmt: skip
    assert (daily.weekday, daily.describe()) == (None, "Daily at 00:00 UTC to 1 recipient")


@pytest.mark.parametrize(
    ("raw", "paths"),
    [
        ({"frequency": "hourly", "hour": 1, "recipients": ["a@x.org"]}, ["frequency"]),
        ({"frequency": "daily", "hour": 24, "recipients": ["a@x.org"]}, ["hour"]),
        ({"frequency": "daily", "hour": True, "recipients": ["a@x.org"]}, ["hour"]),
        ({"frequency": "weekly", "hour": 3, "recipients": ["a@x.org"]}, ["weekday"]),
        ({"frequency": "weekly", "hour": 3, "weekday": 8, "recipients": ["a@x.org"]},
         ["weekday"]),
        ({"frequency": "daily", "hour": 3, "recipients": ["not-an-address"]}, ["recipients"]),
        ({"frequency": "daily", "hour": 3, "recipients": " , "}, ["recipients"]),
        ({"frequency": "daily", "hour": 3, "recipients": [f"u{i}@x.org" for i in range(21)]},
         ["recipients"]),
        ({"frequency": "daily", "hour": 3, "recipients": 5}, ["recipients"]),
        ({}, ["frequency", "hour", "recipients"]),
    ],
)  # fmt: skip
def test_bad_schedules_name_each_bad_field(raw: dict[str, Any], paths: list[str]) -> None:
    with pytest.raises(BadSchedule) as caught:
        parse_schedule(1, raw)
    assert [path for path, _ in caught.value.issues] == paths


SCHEDULE_FIELDS = st.sampled_from(["frequency", "hour", "weekday", "recipients", "x"])
SCHEDULE_VALUES = st.sampled_from(["daily", "weekly", "7", "a@x.org", "a@x.org, b@y.org", 0, 7,
                                   23, 24, -1, True, None, ["a@x.org"], []])  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(json_values(ANY_SCALAR)
       | st.dictionaries(SCHEDULE_FIELDS, SCHEDULE_VALUES | json_values(ANY_SCALAR)))  # fmt: skip
def test_any_json_is_a_schedule_or_a_bad_definition(raw: Any) -> None:
    """Whatever arrives, parse_schedule answers with a valid schedule or names the bad fields."""
    try:
        schedule = parse_schedule(1, raw)
    except BadSchedule as exc:
        assert exc.issues and all(path and message for path, message in exc.issues)
    else:
        assert schedule.frequency in ("daily", "weekly") and 0 <= schedule.hour <= 23
        assert (schedule.weekday is not None) == (schedule.frequency == "weekly")
        assert 1 <= len(schedule.recipients) <= 20


def test_twenty_recipients_after_deduplication_are_allowed() -> None:
    many = [f"u{i}@x.org" for i in range(20)] + ["U0@x.org"]
    assert len(parse_schedule(1, {"frequency": "daily", "hour": 1, "recipients": many})
               .recipients) == 20  # fmt: skip


MONDAY_9 = dt.datetime(2026, 11, 23, 9, 5, tzinfo=dt.UTC)
MONDAY = MONDAY_9.date()


def _at(hour: int) -> Slot:
    return Slot(MONDAY, dt.datetime.combine(MONDAY, dt.time(hour), dt.UTC))


@pytest.mark.parametrize(
    ("schedule", "now", "slot"),
    [
        (Schedule(1, "daily", 9, None, ("a@x.org",)), MONDAY_9, _at(9)),
        (Schedule(1, "daily", 10, None, ("a@x.org",)), MONDAY_9, None),  # not yet
        (Schedule(1, "daily", 3, None, ("a@x.org",)), MONDAY_9, _at(3)),  # missed at 3: catch up
        (Schedule(1, "weekly", 9, 1, ("a@x.org",)), MONDAY_9, _at(9)),
        (Schedule(1, "weekly", 9, 2, ("a@x.org",)), MONDAY_9, None),  # Tuesdays only
        (Schedule(1, "weekly", 0, 1, ("a@x.org",)),
         dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=3))), None),
    ],
)  # fmt: skip
def test_the_due_rule(schedule: Schedule, now: dt.datetime, slot: Slot | None) -> None:
    """Its day, from its hour on (UTC by default); once per day is the ledger's part."""
    assert due_slot(schedule, now) == slot


# ---- delivery -----------------------------------------------------------------------------


@pytest.fixture
def scheduled(hub: Hub) -> Iterator[dict[str, int]]:
    """Acme's by-channel report scheduled daily at 00:00 UTC (due now), and a Globex
    report whose stored definition no longer validates, also due: removed afterwards."""
    acme, globex = hub.tenant_id("acme"), hub.tenant_id("globex")
    with hub.cron.begin() as conn:
        good = conn.scalar(
            sa.insert(s.reports)
            .values(
                tenant_id=acme,
                name="Mail: conversions by channel",
                description="Daily mail.",
                definition=BY_CHANNEL,
            )
            .returning(s.reports.c.id)
        )
        broken = conn.scalar(
            sa.insert(s.reports)
            .values(tenant_id=globex, name="Mail: broken", definition={"dataset": "gone"})
            .returning(s.reports.c.id)
        )
        conn.execute(sa.insert(s.report_schedules), [
            {"tenant_id": acme, "report_id": good, "frequency": "daily", "hour": 0,
             "recipients": ["ann@acme.example", "bo@acme.example"]},
            {"tenant_id": globex, "report_id": broken, "frequency": "daily", "hour": 0,
             "recipients": ["cy@globex.example"]},
        ])  # fmt: skip
    try:
        yield {"acme": acme, "globex": globex, "good": good, "broken": broken}
    finally:
        with hub.cron.begin() as conn:
            conn.execute(sa.delete(s.reports).where(s.reports.c.id.in_([good, broken])))


def _drain(hub: Hub) -> None:
    """Runs the email queue's jobs in this process until it is empty."""
    SimpleWorker([Queue(queues.EMAIL, connection=hub.redis)], connection=hub.redis).work(burst=True)


def _states(hub: Hub, *report_ids: int) -> list[tuple[int, str]]:
    t = s.report_deliveries
    with hub.cron.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(t.c.report_id, t.c.state).where(
            t.c.report_id.in_(report_ids)).order_by(t.c.report_id))]  # fmt: skip


def _queued(sweep: Any, *report_ids: int) -> list[tuple[int, int, dt.date]]:
    return sorted(q for q in sweep.queued if q[1] in report_ids)


def _last_sent(hub: Hub, report_id: int) -> dt.date | None:
    with hub.cron.connect() as conn:
        t = s.report_schedules
        return conn.scalar(sa.select(t.c.last_sent_on).where(t.c.report_id == report_id))


def _expected_rows(hub: Hub, tenant_id: int) -> list[list[str]]:
    lo = dt.datetime.combine(TODAY - dt.timedelta(days=29), dt.time(), dt.UTC)
    hi = dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(), dt.UTC)
    with hub.admin.connect() as conn:
        rows = conn.execute(sa.text(HAND_SQL), {"t": tenant_id, "lo": lo, "hi": hi}).all()
    return [[channel, f"{n:,}"] for channel, n in rows]


def test_due_schedules_are_emailed_once_and_a_broken_report_does_not_stop_the_batch(
    hub: Hub, inbox: Inbox, scheduled: dict[str, int]
) -> None:
    """The sweep queues both; the email has the summary and the CSV of the report (equal
    to hand SQL), goes to each recipient in a message of its own, says when its data was
    computed, stamps last_sent_on; the broken report fails alone; a second sweep the same
    day sends nothing."""
    good, broken = scheduled["good"], scheduled["broken"]
    outcome = deliver_due_schedules(NOW)
    assert _queued(outcome, good, broken) == sorted(
        [(scheduled["acme"], good, TODAY), (scheduled["globex"], broken, TODAY)]
    )
    _drain(hub)
    assert _states(hub, good, broken) == sorted([(good, "sent"), (broken, "failed")])
    assert sorted(r for r, _ in inbox.messages) == [["ann@acme.example"], ["bo@acme.example"]]
    _, message = next(m for m in inbox.messages if m[0] == ["ann@acme.example"])
    assert message["From"] == SENDER and message["To"] == "ann@acme.example"
    assert message["Subject"] == (
        f"Mail: conversions by channel — daily report, {TODAY.isoformat()}"
    )
    expected = _expected_rows(hub, scheduled["acme"])
    html = message.get_body(preferencelist=("html",)).get_content()
    for channel, count in expected:
        assert f">{channel}</td>" in html and f">{count}</td>" in html
    assert "Daily at 00:00 UTC to 2 recipients" in html
    (as_of,) = re.findall(r"Data as of (\d\d:\d\d) UTC\.", html)
    plain = message.get_body(preferencelist=("plain",)).get_content()
    assert f"Data as of {as_of} UTC." in plain.splitlines()
    assert f"{NOW:%H:%M}" <= as_of <= f"{dt.datetime.now(dt.UTC):%H:%M}"
    with hub.admin.connect() as conn:
        refreshed = conn.scalar(sa.select(s.rollups_through.c.refreshed_at))
    line = freshness(DATASETS["conversions"], refreshed, now=dt.datetime.now(dt.UTC))
    assert line.startswith("Conversions: real time for today;")
    assert f"<p style='color:#4b5563;font-size:13px'>{line}</p>" in html
    assert line in plain.splitlines()
    (attachment,) = message.iter_attachments()
    assert attachment.get_filename() == f"mail-conversions-by-channel-{TODAY.isoformat()}.csv"
    rows = list(csv.reader(io.StringIO(attachment.get_content())))
    assert rows == [["Channel", "Conversions"], *expected]
    assert _last_sent(hub, scheduled["good"]) == TODAY
    assert _last_sent(hub, scheduled["broken"]) is None

    again = deliver_due_schedules(NOW)
    _drain(hub)
    assert _queued(again, good, broken) == [] and len(inbox.messages) == 2


def test_the_cron_job_runs_on_a_real_worker(
    hub: Hub, inbox: Inbox, scheduled: dict[str, int]
) -> None:
    """ReportScheduleCronJob's function, queued on the email queue, enqueues the deliveries
    that the same real worker then sends through SMTP."""
    Queue(queues.EMAIL, connection=hub.redis).enqueue(deliver_due_schedules)
    hub.work(queues.EMAIL, env={"SMTP_URL": config.load().smtp_url or "", "MAILER_FROM": SENDER})
    assert sorted(m["To"] for _, m in inbox.messages) == ["ann@acme.example", "bo@acme.example"]
    assert _last_sent(hub, scheduled["good"]) == TODAY


def test_without_mailer_from_nothing_is_sent(
    hub: Hub, scheduled: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAILER_FROM", raising=False)
    outcome = deliver_due_schedules(NOW)
    assert outcome.skipped and outcome.queued == []
    assert _last_sent(hub, scheduled["good"]) is None and _states(hub, scheduled["good"]) == []


def test_delivery_needs_the_bypassrls_cron_role(hub: Hub) -> None:
    """The cron role sweeps every tenant's schedules; the web role could see none."""
    assert bypasses_row_security(hub.cron) and not bypasses_row_security(hub.web)


def test_without_smtp_url_mail_lands_in_the_tenants_outbox(
    hub: Hub, scheduled: dict[str, int], monkeypatch: pytest.MonkeyPatch, flask_app: flask.Flask
) -> None:
    """The Maildir outbox under HUB_HOME holds the message, naming its report; only Acme
    sees it there, and only Acme's Outbox draws its email when opened."""
    monkeypatch.delenv("SMTP_URL", raising=False)
    monkeypatch.setenv("MAILER_FROM", SENDER)
    outbox = config.load().outbox
    before = {m.key for m in outbox_messages(outbox, tenant_id=scheduled["acme"])}
    assert _queued(deliver_due_schedules(NOW), scheduled["good"]) == [
        (scheduled["acme"], scheduled["good"], TODAY)
    ]
    _drain(hub)
    new = [m for m in outbox_messages(outbox, tenant_id=scheduled["acme"])
           if m.key not in before]  # fmt: skip
    subject = f"Mail: conversions by channel — daily report, {TODAY.isoformat()}"
    assert sorted((m.subject, m.recipients) for m in new) == [
        (subject, "ann@acme.example"), (subject, "bo@acme.example")
    ]  # fmt: skip
    assert {m.attachments for m in new} == {
        (f"mail-conversions-by-channel-{TODAY.isoformat()}.csv",)
    }
    assert all(m.key not in {n.key for n in new}
               for m in outbox_messages(outbox, tenant_id=scheduled["globex"]))  # fmt: skip
    assert {m.report_id for m in new} == {scheduled["good"]}  # the Outbox links the report
    key = new[0].key
    assert outbox_message(outbox, key, tenant_id=scheduled["acme"]) == new[0]
    assert outbox_message(outbox, key, tenant_id=scheduled["globex"]) is None

    slot = {"type": "outbox-preview", "key": key}

    def opened(email: str) -> str:
        """The Outbox's preview callback, as `email` opening that message."""
        client = flask_app.test_client()
        assert sign_in(client, email).status_code == 302
        answer = callbacks.post(client, callbacks.find("hub-outbox-list", "active_item")[0],
                                inputs=[callbacks.value("hub-outbox-list", "active_item", [key])],
                                state=[[callbacks.value(slot, "id", slot)]],
                                changed=["hub-outbox-list.active_item"],
                                match={"key": key})  # fmt: skip
        return f"{answer.status_code} {answer.get_data(as_text=True)}"

    assert '"type":"Iframe"' in opened("admin@acme.example").replace(" ", "")
    assert "Iframe" not in opened("admin@globex.example")


def test_saving_a_new_hour_after_todays_email_never_sends_twice(
    hub: Hub, inbox: Inbox, scheduled: dict[str, int]
) -> None:
    """Today's slot is in the ledger, so a schedule saved with a later hour waits for
    tomorrow; last_sent_on is kept."""
    acme, report = scheduled["acme"], scheduled["good"]
    assert _queued(deliver_due_schedules(NOW), report) == [(acme, report, TODAY)]
    _drain(hub)
    later = Schedule(report, "daily", NOW.hour, None, ("new@acme.example",))
    with hub.cron.connect() as conn:
        admin = conn.scalar(sa.select(s.users.c.id).where(s.users.c.email == "admin@acme.example"))
    saved = save_schedule(hub.web, tenant_id=acme, user_id=admin, schedule=later)
    assert saved.last_sent_on == TODAY
    assert get_schedule(hub.web, tenant_id=acme, report_id=report) == saved
    assert _queued(deliver_due_schedules(NOW), report) == []
    _drain(hub)
    assert len(inbox.messages) == 2
