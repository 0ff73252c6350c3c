"""The hub on a phone (390x844) in headless Chromium: the navbar collapses behind a
toggler, the saved reports, goals and events are cards, and no page scrolls sideways or
has an element wider than the screen. A full-page screenshot of each goes to test-artifacts/."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from db import schema as s
from db.seed import DEMO_PASSWORD
from tests import browser
from tests.conftest import Hub

pytestmark = pytest.mark.browser
PHONE = (390, 844)
# Dash's renderer has no callback waiting for an answer (the page has settled).
SETTLED = """const pending = window.store && window.store.getState().callbacks;
return Boolean(pending) && ["requested", "prioritized", "blocked", "executing", "watched"]
    .every((stage) => (pending[stage] || []).length === 0);"""
# Every drawn element that reaches past the viewport's left or right edge, unless an
# ancestor clips or scrolls it (that ancestor is then checked itself) or it lies wholly
# left of the page, where nothing can scroll to it (Plotly's off-screen text measurer).
OVERFLOWING = """const width = window.innerWidth;
const clipped = (el) => {
  for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
    if (getComputedStyle(a).overflowX !== "visible") return true;
  }
  return false;
};
return [...document.body.querySelectorAll("*")].flatMap((el) => {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0 || r.right <= 0
      || (r.left >= -0.5 && r.right <= width + 0.5) || clipped(el)) return [];
  const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].map((c) => "." + c).join("");
  return [`${name} ${Math.round(r.left)}..${Math.round(r.right)}`];
});"""
# Each main page: its path, what shows it has loaded, and its charts and grids (or the
# boxes its tables scroll in), which must lie within the screen.
PAGES = {
    "landing": ("/admin/analytics", "#hub-saved-reports tbody tr", None),
    "report": ("/admin/analytics/reports/{report}", "#report-body .ag-row",
               "#report-body .js-plotly-plot, #report-body .ag-root-wrapper"),
    "builder": ("/admin/analytics/reports/new", "#builder-preview .ag-row",
                "#builder-preview .js-plotly-plot, #builder-preview .ag-root-wrapper"),
    "dashboard": ("/admin/analytics/dashboard", "#dashboard-pulse .main-svg",
                  "#dashboard-pulse .js-plotly-plot, .hub-pin-card .js-plotly-plot, "
                  ".hub-pin-card .ag-root-wrapper"),
    "outbox": ("/admin/analytics/outbox", "#hub-outbox", None),
    "events": ("/admin/insights/events", "#events-table tbody tr", ".table-responsive"),
    "goals": ("/admin/insights/goals", "#goals-table", ".table-responsive"),
}  # fmt: skip


@pytest.fixture
def phone(driver: webdriver.Chrome) -> Iterator[webdriver.Chrome]:
    """The test's browser at phone size, given back at its own size afterwards."""
    size = driver.get_window_size()
    driver.set_window_size(*PHONE)
    yield driver
    driver.set_window_size(size["width"], size["height"])


def _report_id(hub: Hub, name: str) -> int:
    with hub.cron.connect() as conn:
        return conn.scalar(sa.select(s.reports.c.id).where(
            s.reports.c.tenant_id == hub.tenant_id("acme"), s.reports.c.name == name))  # fmt: skip


def _settle(driver: webdriver.Chrome) -> None:
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(SETTLED))


def _full_page_screenshot(driver: webdriver.Chrome, path: Path) -> None:
    width, height = driver.execute_script(
        "return [window.innerWidth, document.documentElement.scrollHeight];"
    )
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
    })  # fmt: skip
    path.write_bytes(base64.b64decode(shot["data"]))


@pytest.mark.parametrize("page", list(PAGES))
def test_no_page_scrolls_sideways_on_a_phone(
    hub: Hub, base_url: str, phone: webdriver.Chrome, artifacts: Path, page: str
) -> None:
    path, ready, fits = PAGES[page]
    browser.sign_in(phone, base_url, "admin@acme.example", DEMO_PASSWORD)
    phone.get(base_url + path.format(report=_report_id(hub, "Conversions overview")))
    browser.wait_for(phone, ready, timeout=30)
    _settle(phone)
    _full_page_screenshot(phone, artifacts / f"phone-{page}.png")
    assert phone.execute_script("return window.innerWidth;") == PHONE[0]
    assert phone.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth;"
    ), phone.execute_script("return document.documentElement.scrollWidth;")
    assert phone.execute_script(OVERFLOWING) == []
    if fits:
        boxes = [e.rect for e in phone.find_elements(By.CSS_SELECTOR, fits)]
        assert boxes
        assert all(b["x"] >= 0 and b["x"] + b["width"] <= PHONE[0] for b in boxes), boxes


MENU = "#hub-sections a, #hub-user, #hub-sign-out"
USER_MENU = ["Ada Admin · Acme", "Sign out"]


def _visible(driver: webdriver.Chrome, css: str) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]


def test_the_navbar_collapses_behind_a_toggler_on_a_phone(
    base_url: str, phone: webdriver.Chrome
) -> None:
    """The sections and the user menu are hidden until the toggler is pressed, by key or
    tap; following a link closes the menu again. At desktop width there is no toggler."""
    sections = ["Reports", "Dashboard", "Goals", "Events", "Outbox"]
    browser.sign_in(phone, base_url, "admin@acme.example", DEMO_PASSWORD)
    browser.wait_for(phone, "#hub-saved-reports tbody tr")
    toggler = browser.wait_for(phone, "#hub-nav-toggler")
    assert toggler.tag_name == "button"
    assert toggler.accessible_name == "Menu"
    assert toggler.get_attribute("aria-controls") == "hub-nav-collapse"
    assert toggler.get_attribute("aria-expanded") == "false"
    assert _visible(phone, MENU) == []

    toggler.send_keys(Keys.ENTER)  # focuses it, then presses Enter
    WebDriverWait(phone, 10).until(lambda d: _visible(d, MENU) == [*sections, *USER_MENU])
    assert toggler.get_attribute("aria-expanded") == "true"

    phone.find_element(By.LINK_TEXT, "Goals").click()
    browser.wait_for(phone, "#goals-table")
    assert phone.current_url == f"{base_url}/admin/insights/goals"
    WebDriverWait(phone, 10).until(lambda d: _visible(d, "#hub-sections a") == [])
    assert toggler.get_attribute("aria-expanded") == "false"

    toggler.click()
    WebDriverWait(phone, 10).until(lambda d: _visible(d, "#hub-sections a") == sections)
    toggler.click()
    WebDriverWait(phone, 10).until(lambda d: _visible(d, "#hub-sections a") == [])
    assert toggler.get_attribute("aria-expanded") == "false"

    phone.set_window_size(1400, 1000)
    WebDriverWait(phone, 10).until(lambda d: _visible(d, MENU) == [*sections, *USER_MENU])
    assert not toggler.is_displayed()


# Each row of the table arguments[0] names: how it is laid out and its cells' labels.
CARDS = """return [...document.querySelectorAll(arguments[0] + " tbody tr")].map((tr) => {
  const style = getComputedStyle(tr);
  const r = tr.getBoundingClientRect();
  return {display: style.display, radius: style.borderTopLeftRadius,
          border: style.borderTopWidth, left: r.left, right: r.right, top: r.top,
          bottom: r.bottom,
          labels: [...tr.querySelectorAll("td")].map(
            (td) => getComputedStyle(td, "::before").content)};
});"""


def _acme_report_names(hub: Hub) -> list[str]:
    """The landing's order: the most recently updated first."""
    r = s.reports
    with hub.cron.connect() as conn:
        return list(conn.scalars(sa.select(r.c.name).where(r.c.tenant_id == hub.tenant_id("acme"))
                                 .order_by(r.c.updated_at.desc(), r.c.id.desc())))  # fmt: skip


def test_the_landing_shows_saved_reports_as_cards_on_a_phone(
    hub: Hub, base_url: str, phone: webdriver.Chrome
) -> None:
    """One card per saved report of the tenant, stacked, each as wide as the list, its
    header row hidden and every detail labelled; at desktop width they are table rows."""
    names = _acme_report_names(hub)
    assert names
    browser.sign_in(phone, base_url, "admin@acme.example", DEMO_PASSWORD)
    browser.wait_for(phone, "#hub-saved-reports tbody tr")
    links = phone.find_elements(By.CSS_SELECTOR, "#hub-saved-reports tbody tr td:first-child a")
    assert [a.text for a in links] == names
    labels = ["Dataset", "Viz", "Owner", "Updated"]
    assert len(_cards(phone, "#hub-saved-reports", labels, actions=True)) == len(names)


def _cards(phone: webdriver.Chrome, table: str, labels: list[str],
           actions: bool) -> list[dict]:  # fmt: skip
    """The table's rows as stacked cards, each as wide as the list, its header row hidden
    and every detail after the title labelled (`labels`; an actions cell is not); at
    desktop width, table rows again."""
    cards = phone.execute_script(CARDS, table)
    assert cards
    shown = ["none", *(f'"{label}: "' for label in labels), *(["none"] if actions else [])]
    for card in cards:
        assert card["display"] == "block"
        assert card["radius"] != "0px" and card["border"] == "1px"
        assert (card["left"], card["right"]) == (cards[0]["left"], cards[0]["right"])
        assert card["left"] >= 0 and card["right"] <= PHONE[0]
        assert card["labels"] == shown
    assert all(a["bottom"] < b["top"] for a, b in itertools.pairwise(cards))
    assert phone.find_element(By.CSS_SELECTOR, f"{table} thead").size["height"] <= 1
    size = phone.get_window_size()
    phone.set_window_size(1400, 1000)
    WebDriverWait(phone, 10).until(
        lambda d: {c["display"] for c in d.execute_script(CARDS, table)} == {"table-row"}
    )
    phone.set_window_size(size["width"], size["height"])
    return cards


@pytest.mark.parametrize(
    ("path", "table", "labels", "actions"),
    [
        ("/admin/insights/goals", "#goals-table",
         ["Completed by event", "Value", "Status", "Last 30 days", "Last completion"], True),
        ("/admin/insights/events", "#events-table",
         ["Event", "Conversation", "Channel", "Customer", "Properties"], False),
    ],
    ids=["goals", "events"],
)  # fmt: skip
def test_goals_and_events_are_cards_on_a_phone(
    base_url: str, phone: webdriver.Chrome, path: str, table: str, labels: list[str],
    actions: bool,
) -> None:  # fmt: skip
    browser.sign_in(phone, base_url, "admin@acme.example", DEMO_PASSWORD)
    phone.get(base_url + path)
    browser.wait_for(phone, f"{table} tbody tr")
    _cards(phone, table, labels, actions)
