"""The landing's report actions in headless Chromium: Run, Duplicate and Delete (with a
confirmation naming the report) for a manager; Run and Export only for a Viewer."""

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
DEFINITION = {"dataset": "conversions", "measures": ["conversions"],
              "date_range": {"preset": "30d"}, "viz": "kpi"}  # fmt: skip


@pytest.fixture
def report(hub: Hub) -> Iterator[int]:
    """An owner-less (provisioned) Acme report; it and its copies go afterwards."""
    with hub.cron.begin() as conn:
        report_id = conn.scalar(sa.insert(s.reports).values(
            tenant_id=hub.tenant_id("acme"), name="Landing actions", definition=DEFINITION,
        ).returning(s.reports.c.id))  # fmt: skip
    yield report_id
    with hub.cron.begin() as conn:
        conn.execute(sa.delete(s.reports).where(s.reports.c.name.startswith("Landing actions")))


def _names(hub: Hub) -> list[str]:
    with hub.cron.connect() as conn:
        named = s.reports.c.name.startswith("Landing actions")
        return sorted(conn.scalars(sa.select(s.reports.c.name).where(named)))


def _row(driver: webdriver.Chrome, report_id: int):  # type: ignore[no-untyped-def]
    link = browser.wait_for(
        driver, f"#hub-saved-reports a[href='/admin/analytics/reports/{report_id}']")  # fmt: skip
    return link.find_element(By.XPATH, "./ancestor::tr")


def test_a_manager_duplicates_and_deletes_from_the_landing(
    hub: Hub, base_url: str, driver: webdriver.Chrome, report: int
) -> None:
    browser.sign_in(driver, base_url, "admin@acme.example", "demo-password")
    row = _row(driver, report)
    assert "Provisioned" in row.text
    row.find_element(By.XPATH, ".//button[text()='Duplicate']").click()
    WebDriverWait(driver, 20).until(lambda d: d.current_url.endswith("/edit"))
    assert _names(hub) == ["Landing actions", "Landing actions (copy)"]

    driver.get(f"{base_url}/admin/analytics")
    _row(driver, report).find_element(By.XPATH, ".//button[text()='Delete']").click()
    text = browser.wait_for(driver, "#landing-delete-modal #landing-delete-text").text
    assert text.startswith("“Landing actions” will be deleted")
    browser.wait_for(driver, "#landing-delete-cancel").click()
    WebDriverWait(driver, 10).until(lambda d: not d.find_elements(By.CSS_SELECTOR, ".modal.show"))
    assert _names(hub) == ["Landing actions", "Landing actions (copy)"]

    _row(driver, report).find_element(By.XPATH, ".//button[text()='Delete']").click()
    browser.wait_for(driver, "#landing-delete-confirm").click()
    notice = browser.wait_for(driver, "#landing-notice .alert")
    assert notice.text.startswith("“Landing actions” was deleted")
    assert _names(hub) == ["Landing actions (copy)"]
    WebDriverWait(driver, 10).until(
        lambda d: (
            not d.find_elements(
                By.CSS_SELECTOR, f"#hub-saved-reports a[href='/admin/analytics/reports/{report}']"
            )
        )
    )


def test_a_viewer_gets_run_and_export_only(
    base_url: str, driver: webdriver.Chrome, report: int
) -> None:
    browser.sign_in(driver, base_url, "viewer@acme.example", "demo-password")
    row = _row(driver, report)
    assert row.find_element(By.LINK_TEXT, "Run").get_attribute("href").endswith(
        f"/admin/analytics/reports/{report}")  # fmt: skip
    assert not row.find_elements(By.XPATH, ".//button[text()='Delete' or text()='Duplicate']")
    assert not driver.find_elements(By.ID, "landing-delete-modal")
