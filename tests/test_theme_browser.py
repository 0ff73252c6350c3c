"""Dark mode in Chromium: the system's setting by default, a toggle remembered per user,
charts, tables and the date picker in the theme's colours, and WCAG AA contrast for the
badges and notes that failed it (the white-on-cyan "Pinned" badge, the cyan note)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from components import ids
from tests import browser
from tests.conftest import Hub

pytestmark = pytest.mark.browser
DARK_BG, DARK_TEXT = "rgb(33, 37, 41)", "rgb(222, 226, 230)"  # Bootstrap 5.3's dark theme
THEME = "return document.documentElement.getAttribute('data-bs-theme')"
# An element's text colour and the first opaque background behind it.
COLOURS = """
const el = arguments[0];
let back = el;
let bg = getComputedStyle(back).backgroundColor;
while (back && (bg === "rgba(0, 0, 0, 0)" || bg === "transparent")) {
  back = back.parentElement;
  bg = back ? getComputedStyle(back).backgroundColor : "rgb(255, 255, 255)";
}
return [getComputedStyle(el).color, bg];
"""


def _rgb(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in re.findall(r"[\d.]+", text)[:3])


def contrast(foreground: str, background: str) -> float:
    """WCAG 2's contrast ratio of two sRGB colours."""

    def luminance(colour: str) -> float:
        def channel(v: float) -> float:
            c = v / 255
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(v) for v in _rgb(colour))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _system_dark(driver: webdriver.Chrome) -> None:
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": "dark"}]})  # fmt: skip


def _theme_is(driver: webdriver.Chrome, theme: str) -> None:
    WebDriverWait(driver, 10).until(lambda d: d.execute_script(THEME) == theme)


def _overview(hub: Hub) -> int:
    """The provisioned "Conversions overview": a line chart above its grid."""
    with hub.cron.connect() as conn:
        return conn.scalar(sa.text("SELECT id FROM ins_reports WHERE tenant_id = :t "
                                   "AND name = 'Conversions overview'"),
                           {"t": hub.tenant_id("acme")})  # fmt: skip


def test_the_system_theme_applies_until_a_user_picks_one_and_is_kept_per_user(
    hub: Hub, base_url: str, driver: webdriver.Chrome, artifacts: Path
) -> None:
    _system_dark(driver)
    browser.sign_in(driver, base_url, "admin@acme.example", "demo-password")
    report = _overview(hub)
    driver.get(f"{base_url}/admin/analytics/reports/{report}")
    browser.wait_for(driver, f"#{ids.CHART} .main-svg .xtick text")
    browser.wait_for(driver, ".ag-row .ag-cell")
    _theme_is(driver, "dark")
    toggle = browser.wait_for(driver, "#hub-theme-toggle")
    assert toggle.text == "Theme: system"
    body = driver.find_element(By.TAG_NAME, "body")
    assert _rgb(body.value_of_css_property("background-color")) == _rgb(DARK_BG)
    assert _rgb(body.value_of_css_property("color")) == _rgb(DARK_TEXT)
    tick = driver.find_element(By.CSS_SELECTOR, f"#{ids.CHART} .xtick text")
    assert _rgb(tick.value_of_css_property("fill")) == _rgb(DARK_TEXT)
    svg = driver.find_element(By.CSS_SELECTOR, f"#{ids.CHART} .main-svg")
    assert svg.value_of_css_property("background-color") == "rgba(0, 0, 0, 0)"
    cell = driver.find_element(By.CSS_SELECTOR, ".ag-row .ag-cell")
    foreground, background = driver.execute_script(COLOURS, cell)
    assert _rgb(foreground) == _rgb(DARK_TEXT) and contrast(foreground, background) >= 4.5
    driver.save_screenshot(str(artifacts / "report-dark.png"))

    toggle.click()  # system -> light, though the system is dark
    _theme_is(driver, "light")
    assert toggle.text == "Theme: light"
    driver.refresh()
    browser.wait_for(driver, "#hub-theme-toggle")
    _theme_is(driver, "light")
    assert driver.find_element(By.ID, "hub-theme-toggle").text == "Theme: light"

    driver.find_element(By.ID, "hub-sign-out").click()
    browser.sign_in(driver, base_url, "analyst@acme.example", "demo-password")
    browser.wait_for(driver, "#hub-theme-toggle")
    _theme_is(driver, "dark")  # the analyst chose nothing: the system's
    driver.find_element(By.ID, "hub-theme-toggle").click()  # system -> light
    driver.find_element(By.ID, "hub-theme-toggle").click()  # light -> dark
    _theme_is(driver, "dark")
    assert driver.find_element(By.ID, "hub-theme-toggle").text == "Theme: dark"


def test_the_date_picker_follows_the_theme(base_url: str, driver: webdriver.Chrome) -> None:
    _system_dark(driver)
    browser.sign_in(driver, base_url, "admin@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/insights/events")
    browser.wait_for(driver, "#events-start").click()
    calendar = browser.wait_for(driver, ".dash-datepicker-calendar")
    _theme_is(driver, "dark")
    day = calendar.find_element(By.CSS_SELECTOR, "td.dash-datepicker-calendar-date-inside")
    foreground, background = driver.execute_script(COLOURS, day)
    assert _rgb(background) == _rgb(DARK_BG) and contrast(foreground, background) >= 4.5


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_badges_and_notes_meet_wcag_aa_in_both_themes(
    hub: Hub, base_url: str, driver: webdriver.Chrome, theme: str
) -> None:
    """The "Pinned" badge (dark text on cyan) and the builder's note (cyan's emphasis
    colour) read at 4.5:1 or more on what is behind them."""
    if theme == "dark":
        _system_dark(driver)
    browser.sign_in(driver, base_url, "admin@acme.example", "demo-password")
    badge = browser.wait_for(driver, "#hub-saved-reports .badge.bg-info")
    _theme_is(driver, theme)
    assert badge.text == "Pinned"
    assert contrast(*driver.execute_script(COLOURS, badge)) >= 4.5
    definition = ('{"dataset":"conversions","measures":["revenue"],'
                  '"date_range":{"preset":"30d"},"viz":"table"}')  # fmt: skip
    driver.get(f"{base_url}/admin/analytics/reports/new?definition={definition}")
    note = browser.wait_for(driver, f"#{ids.B_NOTE}")
    WebDriverWait(driver, 20).until(lambda d: note.text)  # money added the currency breakdown
    assert contrast(*driver.execute_script(COLOURS, note)) >= 4.5
