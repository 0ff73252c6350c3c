"""The builder when its requests fail for real (blocked in Chromium, then let through):
the preview is marked as not up to date with an inline error and Retry; a failed save
says the report was not saved and keeps the edits."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from db import schema as s
from tests import browser
from tests.conftest import Hub

pytestmark = pytest.mark.browser
NAME = "Never reached the server"


def _block(driver: webdriver.Chrome, blocked: bool) -> None:
    driver.execute_cdp_cmd("Network.enable", {})
    urls = ["*/_dash-update-component*"] if blocked else []
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": urls})


def _click(driver: webdriver.Chrome, element_id: str) -> None:
    element = driver.find_element(By.ID, element_id)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    WebDriverWait(driver, 10).until(lambda _: element.is_displayed() and element.is_enabled())
    driver.execute_script("arguments[0].click()", element)  # a toast may cover it


def test_failed_preview_and_save_are_shown_and_retried(
    hub: Hub, base_url: str, driver: webdriver.Chrome
) -> None:
    browser.sign_in(driver, base_url, "analyst@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/analytics/reports/new?template=chat_engagement")
    browser.wait_for(driver, "#builder-preview .js-plotly-plot")
    wait = WebDriverWait(driver, 20)

    _block(driver, True)
    driver.find_element(By.XPATH, "//label[text()='Week']").click()
    browser.wait_for(driver, "#builder-preview-failure")
    assert driver.find_element(By.ID, "builder-preview-failure-text").text == (
        "The preview could not be updated: the server could not be reached. "
        "It still shows earlier settings."
    )
    assert browser.wait_for(driver, "#builder-stale-badge").text == "Not up to date"
    frame = driver.find_element(By.ID, "builder-preview-frame")
    assert frame.get_attribute("class") == "hub-preview-frame hub-preview-stale"

    name = driver.find_element(By.ID, "builder-name")
    name.clear()
    name.send_keys(NAME)
    _click(driver, "builder-save")
    browser.wait_for(driver, "#builder-save-failure")
    assert driver.find_element(By.ID, "builder-save-failure-text").text == (
        "Not saved: the server could not be reached. Your edits are still here; nothing was saved."
    )
    assert driver.current_url.endswith("/reports/new?template=chat_engagement")
    assert driver.find_element(By.ID, "builder-name").get_attribute("value") == NAME

    _block(driver, False)
    _click(driver, "builder-preview-failure-retry")
    wait.until(lambda d: not d.find_element(By.ID, "builder-preview-failure").is_displayed())
    assert not driver.find_element(By.ID, "builder-stale-badge").is_displayed()
    assert driver.find_element(By.ID, "builder-preview-frame").get_attribute("class") == (
        "hub-preview-frame"
    )
    _click(driver, "builder-save-failure-retry")
    wait.until(lambda d: "/reports/new" not in d.current_url)
    assert browser.wait_for(driver, "#report-name").text == NAME
    with hub.cron.connect() as conn:
        definition = conn.scalar(sa.select(s.reports.c.definition).where(s.reports.c.name == NAME))
    assert definition["dimensions"] == [{"id": "time", "grain": "week"}]
