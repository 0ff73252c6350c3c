"""Alerts on a measure: validation, the value read against hand SQL, firing once per
cooldown (also when two checks run at once), the email through the ledger at a real SMTP
server, the cron's check, and tenant isolation. Real PostgreSQL, Redis, RQ and aiosmtpd."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import flask
import pytest
import sqlalchemy as sa
from rq import Queue, SimpleWorker

from components import deliveries_panel
from datasets.validate import validate
from db import alerts
from db import schema as s
from db.alerts import Alert, Condition, Reading, parse_alert, record_firing
from db.deliveries import history
from db.retention import DELIVERY_DAYS, expire_rows
from errors import BadAlert
from jobs import queues
from jobs.alerts import check_alert, check_due_alerts, read_alert
from tests import callbacks
from tests.conftest import Hub
from tests.smtp import Inbox
from tests.web import sign_in

TODAY = dt.datetime.now(dt.UTC).date()
WINDOW = {"start": (TODAY - dt.timedelta(days=13)).isoformat(), "end": TODAY.isoformat()}
KPI = {"dataset": "conversions", "measures": ["conversions"], "date_range": WINDOW, "viz": "kpi"}
DAILY = {**KPI, "dimensions": [{"id": "time", "grain": "day"}], "viz": "line"}
ADDRESS = "alerts@acme.example"


def _hand_count(hub: Hub, start: dt.date, end: dt.date) -> int:
    """Acme's goal completions on the UTC days start..end."""
    lo = dt.datetime.combine(start, dt.time(), dt.UTC)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    with hub.admin.connect() as conn:
        return conn.scalar(sa.text(
            "SELECT count(*) FROM ins_goal_completions WHERE tenant_id = :t "
            "AND completed_at >= :lo AND completed_at < :hi"),
            {"t": hub.tenant_id("acme"), "lo": lo, "hi": hi})  # fmt: skip


Maker = Callable[..., tuple[int, int]]


@pytest.fixture
def alert_on(hub: Hub) -> Iterator[Maker]:
    """Makes an Acme report of `definition` with one alert; (report id, alert id). The
    reports go afterwards, with their alerts, firings and deliveries."""
    made: list[int] = []

    def make(definition: dict[str, Any], condition: str, threshold: Any, **extra: Any
             ) -> tuple[int, int]:  # fmt: skip
        acme = hub.tenant_id("acme")
        with hub.cron.begin() as conn:
            report = conn.scalar(sa.insert(s.reports).values(
                tenant_id=acme, name=f"Alerted {len(made)}", definition=definition,
            ).returning(s.reports.c.id))  # fmt: skip
        made.append(report)
        alert = parse_alert(report, validate(definition), {
            "measure": "conversions", "condition": condition, "threshold": threshold,
            "recipients": ADDRESS, **extra})  # fmt: skip
        saved = alerts.save_alert(hub.web, tenant_id=acme, user_id=_admin(hub), alert=alert)
        assert saved.id is not None
        return report, saved.id

    yield make
    with hub.cron.begin() as conn:
        conn.execute(sa.delete(s.reports).where(s.reports.c.id.in_(made)))


def _admin(hub: Hub) -> int:
    with hub.cron.connect() as conn:
        return conn.scalar(sa.select(s.users.c.id).where(s.users.c.email == "admin@acme.example"))


def _drain(hub: Hub) -> None:
    SimpleWorker([Queue(queues.EMAIL, connection=hub.redis)], connection=hub.redis).work(burst=True)


def _fired(hub: Hub, alert_id: int) -> list[alerts.Firing]:
    return alerts.firings(hub.web, tenant_id=hub.tenant_id("acme"), alert_id=alert_id)


# ---- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(("definition", "raw", "paths"), [
    (KPI, {"measure": "revenue", "condition": "above", "threshold": 1, "recipients": ADDRESS},
     ["measure"]),
    (KPI, {"measure": "conversions", "condition": "over", "threshold": "x", "recipients": ""},
     ["condition", "threshold", "recipients"]),
    (KPI, {"measure": "conversions", "condition": "change", "threshold": 0,
           "recipients": ADDRESS}, ["threshold"]),
    (KPI, {"measure": "conversions", "condition": "below", "threshold": 1,
           "recipients": ADDRESS, "cooldown_hours": 0.5}, ["cooldown_hours"]),
    ({**DAILY, "dimensions": [{"id": "time", "grain": "day"}, {"id": "channel"}]},
     {"measure": "conversions", "condition": "above", "threshold": 1, "recipients": ADDRESS},
     ["(alert)"]),
])  # fmt: skip
def test_bad_alerts_are_refused_naming_each_field(
    definition: dict[str, Any], raw: dict[str, Any], paths: list[str]
) -> None:
    with pytest.raises(BadAlert) as refused:
        parse_alert(1, validate(definition), raw)
    assert [issue.path for issue in refused.value.issues] == paths


def test_conditions_and_the_change_without_a_previous_value() -> None:
    def alert(condition: Condition, threshold: str) -> Alert:
        return Alert(1, "m", condition, Decimal(threshold), ("a@x.org",))

    assert alert(Condition.ABOVE, "10").fires(Reading(Decimal("10.5")))
    assert not alert(Condition.ABOVE, "10").fires(Reading(Decimal("10")))
    assert alert(Condition.BELOW, "0.9").fires(Reading(Decimal("0.89")))
    assert alert(Condition.CHANGE, "20").fires(Reading(Decimal("75"), Decimal("100")))
    assert not alert(Condition.CHANGE, "25").fires(Reading(Decimal("75"), Decimal("100")))
    assert not alert(Condition.CHANGE, "1").fires(Reading(Decimal("5"), Decimal("0")))
    assert not alert(Condition.CHANGE, "1").fires(Reading(Decimal("5")))


# ---- what an alert reads ------------------------------------------------------------------


def test_a_kpi_reads_its_number_and_the_previous_period(hub: Hub) -> None:
    start, end = dt.date.fromisoformat(WINDOW["start"]), TODAY
    got = read_alert(validate(KPI), "conversions", tenant_id=hub.tenant_id("acme"))
    assert got == Reading(Decimal(_hand_count(hub, start, end)),
                          Decimal(_hand_count(hub, start - dt.timedelta(days=14),
                                              start - dt.timedelta(days=1))))  # fmt: skip


def test_a_series_reads_its_latest_point_and_the_one_before(hub: Hub) -> None:
    got = read_alert(validate(DAILY), "conversions", tenant_id=hub.tenant_id("acme"))
    yesterday = TODAY - dt.timedelta(days=1)
    assert got == Reading(Decimal(_hand_count(hub, TODAY, TODAY)),
                          Decimal(_hand_count(hub, yesterday, yesterday)))  # fmt: skip


# ---- firing -------------------------------------------------------------------------------


def test_an_alert_fires_once_emails_its_value_and_keeps_its_cooldown(
    hub: Hub, inbox: Inbox, alert_on: Maker
) -> None:
    """Above its threshold it fires and emails the value and threshold, formatted, with
    a link; checked again within 24 h it stays quiet; after the cooldown it fires again."""
    count = _hand_count(hub, dt.date.fromisoformat(WINDOW["start"]), TODAY)
    report, alert_id = alert_on(KPI, "above", count - 1)
    acme = hub.tenant_id("acme")
    now = dt.datetime.now(dt.UTC)
    assert check_alert(acme, alert_id, now) == "fired"
    _drain(hub)
    ((_, message),) = [(r, m) for r, m in inbox.messages if ADDRESS in r]
    assert message["Subject"] == f"Alert: Alerted 0 — Conversions is {count:,}"
    text = message.get_body(("plain",)).get_content()
    assert f"Conversions: {count:,}; it is above the threshold of {count - 1:,}." in text
    assert f"/admin/analytics/reports/{report}" in text
    assert check_alert(acme, alert_id, now + dt.timedelta(hours=23)) == "cooling"
    assert [f.value for f in _fired(hub, alert_id)] == [count]
    assert check_alert(acme, alert_id, now + dt.timedelta(hours=25)) == "fired"
    fired = _fired(hub, alert_id)
    assert [(f.value, f.threshold, f.condition) for f in fired] == [
        (count, count - 1, Condition.ABOVE)] * 2  # fmt: skip
    with hub.cron.connect() as conn:
        kinds = conn.execute(sa.select(s.report_deliveries.c.kind, s.report_deliveries.c.alert_id)
                             .where(s.report_deliveries.c.report_id == report)).all()  # fmt: skip
    assert kinds == [("alert", alert_id)] * 2
    shown = repr(deliveries_panel.history_view(history(hub.web, tenant_id=acme, report_id=report)))
    assert shown.count("'Alert'") == 2  # the report page's history names them


def test_an_alert_within_its_threshold_does_not_fire(
    hub: Hub, inbox: Inbox, alert_on: Maker
) -> None:
    count = _hand_count(hub, dt.date.fromisoformat(WINDOW["start"]), TODAY)
    _, above = alert_on(KPI, "above", count)
    _, below = alert_on(KPI, "below", count)
    acme = hub.tenant_id("acme")
    assert (check_alert(acme, above), check_alert(acme, below)) == ("quiet", "quiet")
    assert _fired(hub, above) == _fired(hub, below) == []


def test_two_checks_at_once_fire_the_alert_once(hub: Hub, alert_on: Maker) -> None:
    _, alert_id = alert_on(KPI, "above", 0)
    acme, now = hub.tenant_id("acme"), dt.datetime.now(dt.UTC)
    start = threading.Barrier(2)
    outcomes: list[Any] = []

    def fire() -> None:
        start.wait()
        outcomes.append(record_firing(hub.cron, tenant_id=acme, alert_id=alert_id,
                                      reading=Reading(Decimal(5)), now=now))  # fmt: skip

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(o is None for o in outcomes) == [False, True]
    assert len(_fired(hub, alert_id)) == 1


def test_the_cron_checks_active_alerts_outside_their_cooldown(hub: Hub, alert_on: Maker) -> None:
    _, fresh = alert_on(KPI, "above", 0)
    _, off = alert_on(KPI, "above", 0, active=False)
    _, cooling = alert_on(KPI, "above", 0)
    _, cooled = alert_on(KPI, "above", 0)  # fired 25 h ago, its cooldown 24 h
    now = dt.datetime.now(dt.UTC)
    record_firing(hub.cron, tenant_id=hub.tenant_id("acme"), alert_id=cooling,
                  reading=Reading(Decimal(1)), now=now)  # fmt: skip
    record_firing(hub.cron, tenant_id=hub.tenant_id("acme"), alert_id=cooled,
                  reading=Reading(Decimal(1)), now=now - dt.timedelta(hours=25))  # fmt: skip
    checked = set(check_due_alerts(now))
    assert fresh in checked and off not in checked and cooling not in checked
    assert cooled in checked


def test_another_tenant_never_sees_or_changes_the_alerts(hub: Hub, alert_on: Maker) -> None:
    report, alert_id = alert_on(KPI, "above", 0)
    acme, globex = hub.tenant_id("acme"), hub.tenant_id("globex")
    record_firing(hub.cron, tenant_id=acme, alert_id=alert_id, reading=Reading(Decimal(1)),
                  now=dt.datetime.now(dt.UTC))  # fmt: skip
    assert [a.id for a in alerts.list_alerts(hub.web, tenant_id=acme, report_id=report)] == [
        alert_id]  # fmt: skip
    assert alerts.list_alerts(hub.web, tenant_id=globex, report_id=report) == []
    assert alerts.firings(hub.web, tenant_id=globex, alert_id=alert_id) == []
    assert not alerts.remove_alert(hub.web, tenant_id=globex, report_id=report, alert_id=alert_id)
    assert len(_fired(hub, alert_id)) == 1


def test_the_report_page_draws_the_panel_for_a_manager_only(
    hub: Hub, alert_on: Maker, flask_app: flask.Flask
) -> None:
    """The admin's page lists the alert with its rule formatted; a Viewer's has no panel."""
    report, alert_id = alert_on(KPI, "above", 1234)

    def drawn(email: str) -> dict[str, Any]:
        client = flask_app.test_client()
        assert sign_in(client, email).status_code == 302
        answer = callbacks.page(client, f"/admin/analytics/reports/{report}")
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return {json.dumps(c["props"]["id"]): c for c in callbacks.components(answer.get_json())
                if "id" in c["props"]}  # fmt: skip

    admin = drawn("admin@acme.example")
    assert '"report-alerts"' in admin and '"alert-add"' in admin
    item = json.dumps(callbacks.components(admin['"alert-list"']))
    assert "Conversions rises above 1,234" in item and f'"data-alert": "{alert_id}"' in item
    assert '"report-alerts"' not in drawn("viewer@acme.example")


def test_firings_are_kept_for_400_days(hub: Hub, alert_on: Maker) -> None:
    _, alert_id = alert_on(KPI, "above", 0)
    acme, now = hub.tenant_id("acme"), dt.datetime.now(dt.UTC)
    with hub.cron.begin() as conn:
        conn.execute(sa.insert(s.alert_firings), [
            {"tenant_id": acme, "alert_id": alert_id, "value": 1, "threshold": 0,
             "condition": "above", "fired_at": now - dt.timedelta(days=days)}
            for days in (DELIVERY_DAYS + 2, DELIVERY_DAYS - 1)
        ])  # fmt: skip
    assert expire_rows(hub.cron, now=now)[acme]["ins_alert_firings"] == 1
    assert len(_fired(hub, alert_id)) == 1
