"""The report page's Alerts panel in headless Chromium: add, see, and remove an alert."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.common.exceptions import ElementClickInterceptedException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from db import schema as s
from tests import browser
from tests.conftest import Hub

pytestmark = pytest.mark.browser
SUCCESS = {"dataset": "flow_runs", "measures": ["success_rate"], "date_range": {"preset": "30d"},
           "viz": "kpi"}  # fmt: skip
BY_CHANNEL = {"dataset": "conversions", "measures": ["conversions"],
              "dimensions": [{"id": "channel"}], "date_range": {"preset": "30d"},
              "viz": "bar"}  # fmt: skip


@pytest.fixture
def reports(hub: Hub) -> Iterator[dict[str, int]]:
    with contextlib.ExitStack() as stack:
        made = (("success", SUCCESS), ("channels", BY_CHANNEL))
        yield {name: stack.enter_context(hub.saved_report(f"Alert page {name}", definition))
               for name, definition in made}  # fmt: skip


def _stored(hub: Hub, report: int) -> list[tuple[Any, ...]]:
    a = s.report_alerts
    with hub.cron.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(a.c.measure, a.c.condition, a.c.threshold, a.c.cooldown_hours,
                      a.c.recipients).where(a.c.report_id == report))]  # fmt: skip


def _click(driver: webdriver.Chrome, element: WebElement) -> None:
    """Clicks a button near the window's edge: brought to the middle first, and clicked
    again while the page's last redraw still covers it."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})",
                          element)  # fmt: skip

    def clicked(_d: webdriver.Chrome) -> bool:
        element.click()
        return True

    WebDriverWait(driver, 10, ignored_exceptions=(ElementClickInterceptedException,)).until(clicked)


def _type(driver: webdriver.Chrome, element_id: str, text: str) -> None:
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)


def test_admin_adds_a_rate_alert_in_percent_sees_it_and_removes_it(
    hub: Hub, base_url: str, driver: webdriver.Chrome, reports: dict[str, int], artifacts: Path
) -> None:
    """A bad threshold is named inline; "below 90 %" on the success rate is stored as the
    fraction 0.9 and listed as the formatter shows rates; Remove deletes it."""
    report = reports["success"]
    browser.sign_in(driver, base_url, "admin@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/analytics/reports/{report}")
    browser.wait_for(driver, "#report-alerts #alert-add")
    assert Select(driver.find_element(By.ID, "alert-measure")).first_selected_option.text == (
        "Success rate")  # fmt: skip
    Select(driver.find_element(By.ID, "alert-condition")).select_by_value("below")
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "alert-threshold-unit").text
                                    == "%")  # fmt: skip
    _type(driver, "alert-threshold", "ninety")
    _click(driver, driver.find_element(By.ID, "alert-add"))
    WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.ID, "alert-error-threshold").text == "A number"
    )
    assert _stored(hub, report) == []
    _type(driver, "alert-threshold", "90")
    _type(driver, "alert-cooldown", "6")
    _click(driver, driver.find_element(By.ID, "alert-add"))
    item = browser.wait_for(driver, "#alert-list [data-alert]")
    assert item.text.startswith(
        "Success rate falls below 90.0%\nTo 1 recipient "
        "(admin@acme.example), at most once every 6 h\nNot fired yet."
    )
    assert _stored(hub, report) == [
        ("success_rate", "below", Decimal("0.9"), 6, ["admin@acme.example"])]  # fmt: skip
    driver.save_screenshot(str(artifacts / "report-alerts.png"))
    _click(driver, item.find_element(By.XPATH, ".//button[text()='Remove']"))
    WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.ID, "alert-list").text == "No alerts yet."
    )
    assert _stored(hub, report) == []


def test_a_report_broken_down_by_category_says_it_cannot_carry_alerts(
    base_url: str, driver: webdriver.Chrome, reports: dict[str, int]
) -> None:
    browser.sign_in(driver, base_url, "admin@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/analytics/reports/{reports['channels']}")
    panel = browser.wait_for(driver, "#report-alerts")
    assert "Alerts need a report that is a single number (no breakdown) or a time series" in (
        panel.text)  # fmt: skip
    assert not driver.find_elements(By.ID, "alert-add")
