"""Consistency in Chromium: date pickers start weeks on Monday and refuse future days, and
keyboard focus has one colour, Bootstrap's."""

from __future__ import annotations

import datetime as dt

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from components import ids
from tests import browser

WEEKDAYS = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
# The shown month ("December 2026"), its weekday headers, each day's number and whether it
# is refused (aria-disabled), and whether the next month can be opened.
CALENDAR = """
const table = document.querySelector(".dash-datepicker-calendar");
const next = document.querySelector(".dash-datepicker-month-nav[aria-label='Next month']");
return [table.querySelector(".dash-datepicker-calendar-month-header").textContent,
        [...table.querySelectorAll("thead tr:nth-child(2) th")].map((th) => th.textContent),
        [...table.querySelectorAll("td.dash-datepicker-calendar-date-inside")]
          .map((td) => [td.textContent, td.getAttribute("aria-disabled")]),
        next.disabled];
"""
BOOTSTRAP_RING = "rgba(13, 110, 253, 0.25) 0px 0px 0px 4px"  # .focus-ring: 0.25rem, 25 %
BOOTSTRAP_PRIMARY = ("rgb(13, 110, 253)", "rgba(13, 110, 253, 1)")  # as Chromium spells it
FOCUSED = """
const el = document.activeElement, style = getComputedStyle(el);
return [el.textContent, style.outlineStyle, style.boxShadow];
"""


def _open_builder_picker(driver: webdriver.Chrome) -> None:
    browser.wait_for(driver, f"#{ids.B_RANGE}")
    browser.wait_for(driver, f"#{ids.B_RANGE}").click()
    WebDriverWait(driver, 10).until(
        lambda d: [o for o in d.find_elements(By.CSS_SELECTOR, "[role=option]")
                   if o.text.startswith("Custom range")]
    )[0].click()  # fmt: skip
    browser.wait_for(driver, f"#{ids.B_DATES}").click()  # the start date's input


def _open_explorer_picker(driver: webdriver.Chrome) -> None:
    browser.wait_for(driver, "#events-start").click()


@pytest.mark.browser
@pytest.mark.parametrize(
    ("path", "open_picker"),
    [("/admin/analytics/reports/new", _open_builder_picker),
     ("/admin/insights/events", _open_explorer_picker)],
    ids=["builder", "event-explorer"],
)  # fmt: skip
def test_date_pickers_start_on_monday_and_refuse_future_days(
    base_url: str, driver: webdriver.Chrome, path: str, open_picker: object
) -> None:
    """The calendar's first column is Monday; days after today (UTC) are disabled, and
    the next month cannot be opened."""
    browser.sign_in(driver, base_url, "admin@acme.example", "demo-password")
    driver.get(f"{base_url}{path}")
    open_picker(driver)  # type: ignore[operator]
    browser.wait_for(driver, ".dash-datepicker-calendar")
    month, weekdays, days, next_disabled = driver.execute_script(CALENDAR)
    shown = dt.datetime.strptime(month, "%B %Y").date()
    today = dt.datetime.now(dt.UTC).date()
    assert shown.replace(day=1) <= today
    last = (shown.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    assert weekdays == WEEKDAYS
    assert days == [
        [str(day), "true" if shown.replace(day=day) > today else "false"]
        for day in range(1, last.day + 1)
    ]
    assert next_disabled is ((shown.month, shown.year) == (today.month, today.year))


@pytest.mark.browser
def test_keyboard_focus_is_bootstraps_focus_ring(base_url: str, driver: webdriver.Chrome) -> None:
    """Tabbing to a link shows Bootstrap's focus ring, not an outline of another colour;
    a focused date picker is framed in Bootstrap's primary, not Dash's purple."""
    browser.sign_in(driver, base_url, "admin@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/insights/events")
    picker = browser.wait_for(driver, "#events-start")
    ActionChains(driver).send_keys(Keys.TAB).perform()
    WebDriverWait(driver, 10).until(
        lambda d: d.execute_script("return document.activeElement.textContent") == "Analytics Hub"
    )
    assert driver.execute_script(FOCUSED) == ["Analytics Hub", "none", BOOTSTRAP_RING]
    picker.click()
    wrapper = driver.find_element(By.CSS_SELECTOR, ".dash-datepicker-input-wrapper")
    assert wrapper.value_of_css_property("border-top-color") in BOOTSTRAP_PRIMARY
