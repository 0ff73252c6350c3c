"""The hub in headless Chromium: sign in, see the analytics landing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from db import schema as s
from db.seed import DEMO_PASSWORD
from tests import browser
from tests.conftest import Hub

pytestmark = pytest.mark.browser


def test_admin_signs_in_and_sees_the_hub(
    base_url: str, driver: webdriver.Chrome, artifacts: Path
) -> None:
    """Acme's admin lands on /admin/analytics with their name, tenant and the hub panels."""
    driver.get(f"{base_url}/admin/analytics")
    assert "/login" in driver.current_url
    browser.sign_in(driver, base_url, "admin@acme.example", DEMO_PASSWORD)
    landing = browser.wait_for(driver, "#hub-landing")
    assert driver.current_url == f"{base_url}/admin/analytics"
    assert landing.find_element(By.TAG_NAME, "h1").text == "Analytics"
    assert browser.wait_for(driver, "#hub-user").text == "Ada Admin · Acme"
    assert browser.wait_for(driver, "#hub-saved-reports").is_displayed()
    driver.save_screenshot(str(artifacts / "landing.png"))


def test_wrong_password_shows_the_error(base_url: str, driver: webdriver.Chrome) -> None:
    """A bad password keeps the visitor on the sign-in page with one clear message."""
    browser.sign_in(driver, base_url, "admin@acme.example", "not-the-password")
    assert browser.wait_for(driver, "#login-error").text == "Incorrect email or password."


def test_export_from_the_landing_downloads_the_file(
    hub: Hub, base_url: str, tmp_path: Path, artifacts: Path
) -> None:
    """Clicking CSV on a saved report queues a job, shows progress, then downloads it."""
    with hub.cron.begin() as conn:
        conn.execute(
            sa.insert(s.reports).values(
                tenant_id=hub.tenant_id("acme"),
                name="Weekly engagement",
                definition={"dataset": "chat", "measures": ["conversations", "engaged"],
                            "dimensions": [{"id": "time", "grain": "week"}],
                            "date_range": {"preset": "90d"}, "viz": "line"},
            )
        )  # fmt: skip
    with browser.chromium(tmp_path) as driver:
        browser.sign_in(driver, base_url, "analyst@acme.example", DEMO_PASSWORD)
        browser.wait_for(driver, "#hub-saved-reports table")
        row = driver.find_element(By.XPATH, "//tr[.//a[text()='Weekly engagement']]")
        row.find_element(By.XPATH, ".//button[text()='CSV']").click()
        WebDriverWait(driver, 60).until(
            lambda d: "Downloaded" in row.find_element(By.CSS_SELECTOR, "[role=status]").text
        )
        driver.save_screenshot(str(artifacts / "landing-export.png"))
        target = tmp_path / f"weekly-engagement-{dt.datetime.now(dt.UTC).date()}.csv"
        WebDriverWait(driver, 30).until(lambda _: target.exists())
    lines = target.read_text().splitlines()
    assert lines[0] == "Time,Conversations,Engaged conversations"
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=89)
    first_monday = start - dt.timedelta(days=start.weekday())
    last_monday = today - dt.timedelta(days=today.weekday())
    assert len(lines) == 1 + (last_monday - first_monday).days // 7 + 1
    assert lines[1].startswith(first_monday.isoformat() + ",")


def test_search_filters_saved_reports_by_name(hub: Hub, base_url: str, tmp_path: Path) -> None:
    """Typing in the search box keeps only the reports whose name contains the text."""
    with hub.cron.begin() as conn:
        for name in ("Refunds by flow", "Revenue by goal (EUR)"):
            conn.execute(sa.insert(s.reports).values(
                tenant_id=hub.tenant_id("acme"), name=name,
                definition={"dataset": "chat", "measures": ["conversations"], "viz": "table"},
            ))  # fmt: skip
    with browser.chromium(tmp_path) as driver:
        browser.sign_in(driver, base_url, "viewer@acme.example", DEMO_PASSWORD)
        search = browser.wait_for(driver, "#hub-report-search")

        def names(d: webdriver.Chrome) -> set[str]:
            return {
                a.text
                for a in d.find_elements(By.CSS_SELECTOR, "#hub-report-list td a.fw-semibold")
            }

        search.send_keys("REFUND")
        WebDriverWait(driver, 20).until(lambda d: names(d) == {"Refunds by flow"})
        search.clear()
        search.send_keys("no such report")
        empty = browser.wait_for(driver, "#hub-report-list .hub-empty-state")
        assert empty.text == "No saved report has “no such report” in its name."


def test_unknown_and_other_tenants_reports_are_a_not_found_page(
    hub: Hub, base_url: str, driver: webdriver.Chrome
) -> None:
    """A Globex report id, an unknown id and a non-number all show the not-found page."""
    with hub.cron.begin() as conn:
        globex_report = conn.scalar(
            sa.insert(s.reports)
            .values(tenant_id=hub.tenant_id("globex"), name="Globex only",
                    definition={"dataset": "chat", "measures": ["conversations"]})
            .returning(s.reports.c.id)
        )  # fmt: skip
    browser.sign_in(driver, base_url, "analyst@acme.example", DEMO_PASSWORD)
    browser.wait_for(driver, "#hub-landing")
    for path in (f"{globex_report}", f"{globex_report}/edit", "999999999", "abc"):
        driver.get(f"{base_url}/admin/analytics/reports/{path}")
        assert browser.wait_for(driver, "#hub-not-found h1").text == "Report not found"
    driver.get(f"{base_url}/admin/analytics/nowhere")
    assert browser.wait_for(driver, "#hub-not-found h1").text == "Page not found"
