"""The saved report page in headless Chromium: what a viewer sees, freshness and caveats,
and what the page says when scheduled emails cannot go out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from db import schema as s
from tests import browser
from tests.conftest import Hub

pytestmark = pytest.mark.browser
DEFINITION = {"dataset": "token_usage", "measures": ["total_tokens"],
              "dimensions": [{"id": "time", "grain": "day"}],
              "date_range": {"preset": "30d"}, "viz": "line"}  # fmt: skip
# Dash's renderer has no callback waiting for an answer (the page has settled).
SETTLED = """const pending = window.store && window.store.getState().callbacks;
return Boolean(pending) && ["requested", "prioritized", "blocked", "executing", "watched"]
    .every((stage) => (pending[stage] || []).length === 0);"""


@pytest.fixture
def report(hub: Hub) -> Iterator[int]:
    with hub.saved_report("Tokens for the viewer", DEFINITION) as report_id:
        yield report_id


def test_the_viewer_sees_the_report_freshness_and_caveats_without_an_error_toast(
    base_url: str, driver: webdriver.Chrome, report: int
) -> None:
    """A viewer reads the report with its freshness line and the dataset's notes; no
    callback is refused, so no error toast appears, and no manager action is offered."""
    browser.sign_in(driver, base_url, "viewer@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/analytics/reports/{report}")
    browser.wait_for(driver, "#report-body .js-plotly-plot")
    WebDriverWait(driver, 20).until(lambda d: d.execute_script(SETTLED))
    note = driver.find_element(By.ID, "report-freshness")
    assert note.find_element(By.CSS_SELECTOR, ".hub-freshness").text.startswith(
        "Token usage: up to an hour behind; last refresh "
    )
    assert "The rollup keeps the last 90 UTC days" in note.text  # fmt: skip
    # dbc.Toast leaves the page while closed, and is shown when a callback is refused.
    assert not [t for t in driver.find_elements(By.ID, "hub-error-toast") if t.is_displayed()]
    for absent in (
        "report-delete-confirm",
        "report-duplicate",
        "report-schedule",
        "report-delivery-problem",
    ):
        assert not driver.find_elements(By.ID, absent), absent


PROBLEM = ("Scheduled emails are not being sent: no sender address is configured. Set "
           "MAILER_FROM (for example reports@your-company.example) and restart the hub; "
           "without SMTP_URL, emails go to the Outbox page.")  # fmt: skip


def test_without_a_sender_the_page_and_dialog_say_mail_is_not_configured(
    hub: Hub, base_url: str, driver: webdriver.Chrome, report: int
) -> None:
    """With no MAILER_FROM the report page, the Schedule dialog and the Outbox name what to
    set, and a saved schedule never claims to be emailed."""
    browser.sign_in(driver, base_url, "analyst@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/analytics/reports/{report}?schedule=1")
    browser.wait_for(driver, "#report-schedule-modal #schedule-recipients")
    assert driver.find_element(By.ID, "schedule-delivery-problem").text == PROBLEM
    assert driver.find_element(By.ID, "report-delivery-problem").get_attribute(
        "textContent") == PROBLEM  # fmt: skip
    driver.find_element(By.ID, "schedule-recipients").send_keys("ann@acme.example")
    driver.find_element(By.ID, "schedule-save").click()
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "report-schedule-status").text
        == "Set to email daily at 07:00 UTC to 1 recipient, but nothing is sent until mail is "
        "configured.")  # fmt: skip
    assert driver.find_element(By.ID, "report-delivery-problem").text == PROBLEM
    driver.get(f"{base_url}/admin/analytics/outbox")
    assert browser.wait_for(driver, "#outbox-delivery-problem").text == PROBLEM
    with hub.cron.connect() as conn:
        t = s.report_schedules
        assert conn.scalar(sa.select(t.c.recipients).where(t.c.report_id == report)) == [
            "ann@acme.example"]  # fmt: skip
