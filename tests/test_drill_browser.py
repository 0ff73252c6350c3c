"""Drill-down in headless Chromium: a line's point, a bar, a table row and a dashboard
card open the side panel, whose count equals the number clicked (hand SQL)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from datasets.formatting import format_time
from datasets.model import Grain
from db import pins
from tests import browser
from tests.conftest import Hub

pytestmark = pytest.mark.browser
TODAY = dt.datetime.now(dt.UTC).date()
DAY = dt.timedelta(days=1)
WINDOW = {"start": (TODAY - dt.timedelta(days=6)).isoformat(), "end": TODAY.isoformat()}
DAILY = {"dataset": "conversions", "measures": ["conversions"],
         "dimensions": [{"id": "time", "grain": "day"}], "date_range": WINDOW,
         "viz": "line"}  # fmt: skip
BY_CHANNEL = {**DAILY, "dimensions": [{"id": "channel"}], "viz": "bar"}


def _hand(hub: Hub, first: dt.date, last: dt.date, channel: str | None = None) -> int:
    """Acme's goal completions on the UTC days first..last (of one channel)."""
    lo = dt.datetime.combine(first, dt.time(), dt.UTC)
    hi = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC)
    with hub.admin.connect() as conn:
        return conn.scalar(sa.text(
            "SELECT count(*) FROM ins_goal_completions WHERE tenant_id = :t "
            "AND completed_at >= :lo AND completed_at < :hi "
            "AND (CAST(:ch AS text) IS NULL OR channel = :ch)"),
            {"t": hub.tenant_id("acme"), "lo": lo, "hi": hi, "ch": channel})  # fmt: skip


@pytest.fixture
def reports(hub: Hub) -> Iterator[dict[str, int]]:
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(hub.saved_report(f"Drill page {name}", definition))
               for name, definition in (("daily", DAILY), ("channels", BY_CHANNEL))}  # fmt: skip


def _summary(driver: webdriver.Chrome) -> str:
    """The open panel's count and days, once it shows them."""

    def shown(d: webdriver.Chrome) -> str | None:
        if not d.find_elements(By.CSS_SELECTOR, "#drill-panel.show #drill-summary"):
            return None
        # Selenium reads only visible text: empty while the panel is still sliding in.
        summary = d.find_element(By.ID, "drill-summary").text
        days = d.find_element(By.ID, "drill-range").text
        return f"{summary} · {days}" if summary and days else None

    return WebDriverWait(driver, 20, ignored_exceptions=(StaleElementReferenceException,)
                         ).until(shown)  # fmt: skip


def _days(first: dt.date, last: dt.date | None = None) -> str:
    return f"{first.isoformat()} to {(last or first).isoformat()} (UTC)"


def _close(driver: webdriver.Chrome) -> None:
    """Closes the panel once it has slid in (its close button takes clicks only then)."""
    WebDriverWait(driver, 10).until(ec.element_to_be_clickable(
        (By.CSS_SELECTOR, "#drill-panel.show .btn-close"))).click()  # fmt: skip
    WebDriverWait(driver, 10).until(lambda d: not d.find_elements(
        By.CSS_SELECTOR, "#drill-panel.show, .offcanvas-backdrop"))  # fmt: skip


def _click_point(driver: webdriver.Chrome, selector: str, index: int) -> None:
    """Clicks a chart's point once the page has settled (no callback in flight, the chart
    drawn at its final size), as a user's mouse does: Plotly's drag layer takes it."""
    WebDriverWait(driver, 30).until(lambda d: not d.find_elements(
        By.CSS_SELECTOR, "[data-dash-is-loading='true'], .dash-spinner"))  # fmt: skip
    points = browser.wait_for(driver, selector).find_elements(By.CSS_SELECTOR, ".point")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})",
                          points[index])  # fmt: skip
    time.sleep(0.5)  # a responsive chart resizes once after it is mounted
    points = browser.wait_for(driver, selector).find_elements(By.CSS_SELECTOR, ".point")
    ActionChains(driver).move_to_element(points[index]).pause(0.3).click().perform()


def test_a_point_a_row_a_bar_and_a_card_open_the_rows_behind_them(
    hub: Hub, base_url: str, driver: webdriver.Chrome, reports: dict[str, int], artifacts: Path
) -> None:
    browser.sign_in(driver, base_url, "viewer@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/analytics/reports/{reports['daily']}")
    # The line's second-to-last point is yesterday.
    yesterday = TODAY - dt.timedelta(days=1)
    day_count = _hand(hub, yesterday, yesterday)
    _click_point(driver, "#hub-report .js-plotly-plot .scatterlayer", -2)
    assert _summary(driver) == f"{day_count:,} goal completions · {_days(yesterday)}"
    rows = driver.find_elements(By.CSS_SELECTOR, "#drill-rows tbody tr")
    assert len(rows) == min(day_count, 200)
    driver.save_screenshot(str(artifacts / "drill-point.png"))
    _close(driver)

    # The grid's row of the day before.
    before = yesterday - dt.timedelta(days=1)
    label = format_time(before, Grain.DAY)
    cell = WebDriverWait(driver, 20).until(lambda d: next(
        (c for c in d.find_elements(By.CSS_SELECTOR, ".ag-cell[col-id='time']")
         if c.text == label), None))  # fmt: skip
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})",
                          cell)  # fmt: skip
    cell.click()
    assert _summary(driver) == (
        f"{_hand(hub, before, before):,} goal completions · {_days(before)}")  # fmt: skip
    _close(driver)

    # A bar of the channel report: its first bar is its result's first channel.
    driver.get(f"{base_url}/admin/analytics/reports/{reports['channels']}")
    first = browser.wait_for(driver, ".ag-row[row-index='0'] .ag-cell[col-id='channel']").text
    bars = browser.wait_for(driver, "#hub-report .js-plotly-plot .barlayer")
    bar = bars.find_elements(By.CSS_SELECTOR, ".point path")[0]
    ActionChains(driver).move_to_element(bar).pause(0.3).click().perform()
    week = _hand(hub, TODAY - dt.timedelta(days=6), TODAY, channel=first)
    assert _summary(driver) == f"{week:,} goal completions · {_days(TODAY - 6 * DAY, TODAY)}"
    _close(driver)

    # A dashboard card of the daily report.
    pins.pin(hub.web, tenant_id=hub.tenant_id("acme"), report_id=reports["daily"])
    driver.get(f"{base_url}/admin/analytics/dashboard")
    card = f".hub-pin-card[data-report='{reports['daily']}']"
    _click_point(driver, f"{card} .js-plotly-plot .scatterlayer", -2)
    assert _summary(driver) == f"{day_count:,} goal completions · {_days(yesterday)}"
    driver.save_screenshot(str(artifacts / "drill-card.png"))


def test_a_point_of_the_builder_preview_opens_its_rows(
    hub: Hub, base_url: str, driver: webdriver.Chrome, reports: dict[str, int]
) -> None:
    """The builder on the daily report: its preview's point of yesterday drills too."""
    browser.sign_in(driver, base_url, "analyst@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/analytics/reports/{reports['daily']}/edit")
    yesterday = TODAY - dt.timedelta(days=1)
    _click_point(driver, "#builder-preview .scatterlayer", -2)
    count = _hand(hub, yesterday, yesterday)
    assert _summary(driver) == f"{count:,} goal completions · {_days(yesterday)}"


def test_table_and_kpi_previews_log_no_console_error(
    base_url: str, driver: webdriver.Chrome
) -> None:
    """The preview's drillable chart and grid are optional inputs: a table (no chart) and
    a KPI (no grid) leave the browser console free of errors."""
    kpi = json.dumps({"dataset": "flow_runs", "measures": ["total_runs"], "viz": "kpi",
                      "date_range": {"preset": "30d"}})  # fmt: skip
    browser.sign_in(driver, base_url, "analyst@acme.example", "demo-password")
    driver.get_log("browser")  # what sign-in logged
    pages = {
        "?template=flow_success": "#builder-preview .ag-row",
        f"?{urlencode({'definition': kpi})}": "#builder-preview .js-plotly-plot",
    }
    for query, drawn in pages.items():
        driver.get(f"{base_url}/admin/analytics/reports/new{query}")
        browser.wait_for(driver, drawn)
        time.sleep(0.5)  # callbacks started by the preview have answered
        errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], query
