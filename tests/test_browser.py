"""The hub in headless Chromium: sign in, see the analytics landing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from db.seed import DEMO_PASSWORD
from tests import browser
from tests.conftest import Hub

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("web") / "web.log"
    with browser.running_hub(hub.env, log) as base:
        yield base


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    with browser.chromium(tmp_path) as driver:
        yield driver


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
