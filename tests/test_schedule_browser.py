"""The Schedule dialog and the Outbox in headless Chromium, and their server-side checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dash
import flask
import pytest
import sqlalchemy as sa
from rq import Queue, SimpleWorker
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from components import deliveries_panel, schedule_form
from db import schema as s
from db.deliveries import State, history
from db.schedules import Schedule, next_runs
from jobs import queues
from jobs.schedules import deliver_due_schedules
from tests import browser
from tests.conftest import Hub
from tests.web import sign_in

pytestmark = pytest.mark.browser
NAME = "Chat engagement by mail"
DEFINITION = {"dataset": "chat", "measures": ["conversations", "engaged"],
              "dimensions": [{"id": "time", "grain": "week"}],
              "date_range": {"preset": "30d"}, "viz": "line"}  # fmt: skip


@pytest.fixture(scope="module")
def base_url(hub: Hub, hub_logs: Path) -> Iterator[str]:
    """The hub with a sender configured, as `make run` configures the demo (the report
    page's tests cover an unconfigured one)."""
    with browser.running_hub({**hub.env, "MAILER_FROM": "reports@hub.example"}, hub_logs) as base:
        yield base


@pytest.fixture
def report(hub: Hub) -> Iterator[int]:
    acme = hub.tenant_id("acme")
    with hub.cron.begin() as conn:
        report_id = conn.scalar(
            sa.insert(s.reports)
            .values(tenant_id=acme, name=NAME, definition=DEFINITION)
            .returning(s.reports.c.id)
        )
    try:
        yield report_id
    finally:
        with hub.cron.begin() as conn:
            conn.execute(sa.delete(s.reports).where(s.reports.c.id == report_id))


def _schedule_row(hub: Hub, report_id: int) -> tuple[object, ...] | None:
    t = s.report_schedules
    with hub.cron.connect() as conn:
        row = conn.execute(
            sa.select(t.c.frequency, t.c.hour, t.c.weekday, t.c.recipients).where(
                t.c.report_id == report_id
            )
        ).one_or_none()
    return None if row is None else tuple(row)


def _text_is(driver: webdriver.Chrome, element_id: str, text: str) -> None:
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, element_id).text == text)


def test_analyst_schedules_a_report_and_reads_it_in_the_outbox(
    hub: Hub,
    base_url: str,
    driver: webdriver.Chrome,
    report: int,
    artifacts: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """From the landing's Schedule link: a bad address is named inline, the fixed weekly
    schedule is stored, the email lands in the outbox, and Stop emails ends it."""
    browser.sign_in(driver, base_url, "analyst@acme.example", "demo-password")
    browser.wait_for(driver, "#hub-report-list")
    driver.find_element(By.CSS_SELECTOR, f"a[href='/admin/analytics/reports/{report}?schedule=1']"
                        ).click()  # fmt: skip
    browser.wait_for(driver, "#report-schedule-modal #schedule-recipients")
    driver.find_element(By.XPATH, "//label[text()='Weekly']").click()
    browser.wait_for(driver, "#schedule-weekday")
    today = dt.datetime.now(dt.UTC)
    Select(driver.find_element(By.ID, "schedule-weekday")).select_by_value(str(today.isoweekday()))
    Select(driver.find_element(By.ID, "schedule-hour")).select_by_value("0")
    recipients = driver.find_element(By.ID, "schedule-recipients")
    recipients.send_keys("ann@acme.example\nnot an address")
    driver.find_element(By.ID, "schedule-save").click()
    _text_is(driver, "schedule-error-recipients", "“not an address” is not a valid email address")
    assert _schedule_row(hub, report) is None
    recipients.send_keys(Keys.CONTROL, "a")  # clear() would not tell React
    recipients.send_keys(Keys.DELETE, "ann@acme.example, Bo@Acme.example")
    driver.find_element(By.ID, "schedule-save").click()
    weekday = today.strftime("%A")
    _text_is(driver, "report-schedule-status",
             f"Emailed weekly on {weekday} at 00:00 UTC to 2 recipients.")  # fmt: skip
    assert _schedule_row(hub, report) == (
        "weekly",
        0,
        today.isoweekday(),
        ["ann@acme.example", "Bo@acme.example"],
    )
    driver.refresh()
    _text_is(driver, "report-schedule-status",
             f"Emailed weekly on {weekday} at 00:00 UTC to 2 recipients.")  # fmt: skip

    monkeypatch.delenv("SMTP_URL", raising=False)
    monkeypatch.setenv("MAILER_FROM", "reports@hub.example")
    acme = hub.tenant_id("acme")
    assert (acme, report, today.date()) in deliver_due_schedules().queued
    # The hub's own worker (or this SimpleWorker, whichever claims it first) sends it.
    SimpleWorker([Queue(queues.EMAIL, connection=hub.redis)], connection=hub.redis).work(burst=True)
    WebDriverWait(driver, 30).until(
        lambda _: history(hub.web, tenant_id=acme, report_id=report)[0].state is State.SENT
    )
    driver.get(f"{base_url}/admin/analytics/outbox")
    browser.wait_for(driver, "#hub-outbox-list")
    subject = f"{NAME} — weekly report, {today.date().isoformat()}"
    assert any(b.text.startswith(subject)
               for b in driver.find_elements(By.CSS_SELECTOR, ".accordion-button"))  # fmt: skip
    driver.find_element(By.XPATH, f"//button[starts-with(normalize-space(), '{subject}')]").click()
    browser.wait_for(driver, ".hub-mail-preview")
    driver.save_screenshot(str(artifacts / "outbox.png"))

    driver.get(f"{base_url}/admin/analytics/reports/{report}")
    browser.wait_for(driver, "#report-schedule").click()
    browser.wait_for(driver, "#schedule-remove").click()
    _text_is(driver, "report-schedule-status", "Not emailed. Use Schedule to send it on a cadence.")
    assert _schedule_row(hub, report) is None


def test_viewer_cannot_schedule_or_read_the_outbox(
    hub: Hub, base_url: str, driver: webdriver.Chrome, report: int, flask_app: flask.Flask
) -> None:
    """No Schedule button, no Outbox link or page, and the save callback is refused."""
    browser.sign_in(driver, base_url, "viewer@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/analytics/reports/{report}?schedule=1")
    browser.wait_for(driver, "#report-name")
    assert not driver.find_elements(By.ID, "report-schedule")
    assert not driver.find_elements(By.ID, "report-schedule-modal")
    assert not driver.find_elements(By.LINK_TEXT, "Outbox")
    driver.get(f"{base_url}/admin/analytics/outbox")
    browser.wait_for(driver, "#hub-forbidden")

    client = flask_app.test_client()
    sign_in(client, "viewer@acme.example")
    output = next(k for k in dash.get_app().callback_map if "schedule-feedback.children" in k)
    outputs = [dict(zip(("id", "property"), part.split(".", 1), strict=True))
               for part in output.strip(".").split("...")]  # fmt: skip
    state = {"schedule-frequency": "daily", "schedule-hour": "0", "schedule-weekday": "1",
             "schedule-recipients": "spy@evil.example", "schedule-time-zone": "UTC",
             "schedule-attachment": "csv", "schedule-paused": False,
             "schedule-skip-empty": False, "report-id": report}  # fmt: skip
    response = client.post("/_dash-update-component", json={
        "output": output,
        "outputs": outputs,
        "inputs": [{"id": "schedule-save", "property": "n_clicks", "value": 1}],
        "state": [{"id": k, "property": "data" if k == "report-id" else "value", "value": v}
                  for k, v in state.items()],
        "changedPropIds": ["schedule-save.n_clicks"],
    })  # fmt: skip
    assert "Your role does not include managing reports." in response.get_data(as_text=True)
    assert _schedule_row(hub, report) is None


def test_admin_sets_a_zone_sees_the_next_runs_and_sends_a_test(
    hub: Hub, base_url: str, driver: webdriver.Chrome, report: int, artifacts: Path
) -> None:
    """The dialog's next three send times follow the zone typed in; the schedule keeps
    its zone, XLSX attachment and skip-when-empty; Send me a test is delivered to the
    signed-in admin alone, Send now to the schedule's recipients, and the history shows
    both sent."""
    browser.sign_in(driver, base_url, "admin@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/analytics/reports/{report}?schedule=1")
    browser.wait_for(driver, "#report-schedule-modal #schedule-recipients")
    assert driver.find_element(By.ID, "delivery-send-test").get_attribute("disabled")
    zone = driver.find_element(By.ID, "schedule-time-zone")
    zone.send_keys(Keys.CONTROL, "a")
    zone.send_keys(Keys.DELETE, "Europe/Berlin")
    now = dt.datetime.now(dt.UTC)
    schedule = Schedule(report, "daily", 7, None, ("a@x.org",), time_zone="Europe/Berlin")
    expected = [schedule_form.send_time(at, "Europe/Berlin") for at in next_runs(schedule, now)]
    WebDriverWait(driver, 20).until(lambda d: [li.text for li in d.find_elements(
        By.CSS_SELECTOR, "#schedule-next-runs li")] == expected)  # fmt: skip
    driver.find_element(By.XPATH, "//label[text()='Excel (XLSX)']").click()
    driver.find_element(By.XPATH, "//label[text()='Skip the email when the report has no rows']"
                        ).click()  # fmt: skip
    driver.find_element(By.ID, "schedule-recipients").send_keys("team@acme.example")
    driver.save_screenshot(str(artifacts / "schedule-dialog.png"))
    driver.find_element(By.ID, "schedule-save").click()
    _text_is(driver, "report-schedule-status",
             "Emailed daily at 07:00 Europe/Berlin to 1 recipient.")  # fmt: skip
    t = s.report_schedules
    with hub.cron.connect() as conn:
        stored = conn.execute(sa.select(t.c.time_zone, t.c.attachment, t.c.skip_empty, t.c.paused)
                              .where(t.c.report_id == report)).one()  # fmt: skip
    assert tuple(stored) == ("Europe/Berlin", "xlsx", True, False)

    assert driver.find_element(By.ID, "delivery-note").text == ""  # live once it is saved
    WebDriverWait(driver, 10).until(lambda d: not d.find_elements(
        By.CSS_SELECTOR, ".modal-backdrop, body.modal-open"))  # fmt: skip
    send_test = browser.wait_for(driver, "#delivery-send-test:not([disabled])")
    # Bootstrap scrolls smoothly: a click during the scroll lands elsewhere.
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})",
                          send_test)  # fmt: skip
    send_test.click()
    _text_is(driver, "delivery-feedback", "Sending a test to admin@acme.example.")
    browser.wait_for(driver, "#delivery-history tr[data-state='sent']", timeout=60)
    (sent,) = history(hub.web, tenant_id=hub.tenant_id("acme"), report_id=report)
    assert (sent.state, sent.recipients) == (State.SENT, ("admin@acme.example",))
    cells = driver.find_elements(By.CSS_SELECTOR, "#delivery-history tbody tr td")
    assert [c.text for c in cells] == [
        "Sent", f"{sent.created_at:%Y-%m-%d %H:%M} UTC", "Test", "admin@acme.example — sent",
        f"{sent.row_count:,}", deliveries_panel.size_text(sent.attachment_bytes), "", "",
    ]  # fmt: skip

    send_now = driver.find_element(By.ID, "delivery-send-now")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})",
                          send_now)  # fmt: skip
    send_now.click()
    _text_is(driver, "delivery-feedback", "Sending to 1 recipient.")
    WebDriverWait(driver, 60).until(lambda d: len(d.find_elements(
        By.CSS_SELECTOR, "#delivery-history tr[data-state='sent']")) == 2)  # fmt: skip
    by_hand, _test = history(hub.web, tenant_id=hub.tenant_id("acme"), report_id=report)
    assert (by_hand.state, by_hand.recipients) == (State.SENT, ("team@acme.example",))
    newest = driver.find_elements(By.CSS_SELECTOR, "#delivery-history tbody tr")[0]
    assert [c.text for c in newest.find_elements(By.TAG_NAME, "td")][2:4] == [
        "Sent by hand", "team@acme.example — sent"]  # fmt: skip
    driver.save_screenshot(str(artifacts / "report-deliveries.png"))
