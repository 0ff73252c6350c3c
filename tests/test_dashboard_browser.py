"""The dashboard in headless Chromium: pin from the landing, the Pulse tiles, live cards,
resizing, moving, dragging and un-pinning; a viewer sees it without the controls."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from db import schema as s
from tests import browser
from tests.conftest import Hub

pytestmark = pytest.mark.browser
DEFINITIONS = {
    "Dash: conversations KPI": {"dataset": "chat", "measures": ["conversations"],
                                "date_range": {"preset": "30d"}, "viz": "kpi"},
    "Dash: runs by status": {"dataset": "flow_runs", "measures": ["total_runs"],
                             "dimensions": [{"id": "status"}], "date_range": {"preset": "30d"},
                             "viz": "table"},
    "Dash: conversions by channel": {"dataset": "conversions", "measures": ["conversions"],
                             "dimensions": [{"id": "channel"}], "date_range": {"preset": "30d"},
                             "viz": "bar"},
}  # fmt: skip
# Fire HTML5 drag events the way a browser does for a mouse drag (Selenium cannot).
DRAG = """
const [from, onto, x, y] = arguments;
const transfer = new DataTransfer();
const fire = (element, type) => element.dispatchEvent(new DragEvent(type,
    {bubbles: true, cancelable: true, dataTransfer: transfer, clientX: x, clientY: y}));
fire(from, "dragstart");
if (onto) { fire(onto, "dragover"); fire(onto, "drop"); }
fire(from, "dragend");
"""


@pytest.fixture
def reports(hub: Hub) -> Iterator[dict[str, int]]:
    acme = hub.tenant_id("acme")
    with hub.cron.begin() as conn:
        conn.execute(sa.delete(s.dashboard_pins).where(s.dashboard_pins.c.tenant_id == acme))
        ids = {
            name: conn.scalar(sa.insert(s.reports).values(tenant_id=acme, name=name,
                              definition=definition).returning(s.reports.c.id))
            for name, definition in DEFINITIONS.items()
        }  # fmt: skip
    try:
        yield ids
    finally:
        with hub.cron.begin() as conn:
            conn.execute(sa.delete(s.reports).where(s.reports.c.id.in_(ids.values())))


def _grid(hub: Hub) -> list[tuple[int, int]]:
    p = s.dashboard_pins
    with hub.cron.connect() as conn:
        rows = conn.execute(sa.select(p.c.report_id, p.c.span).where(
            p.c.tenant_id == hub.tenant_id("acme")).order_by(p.c.position)).all()  # fmt: skip
    return [tuple(r) for r in rows]


def _until(driver: webdriver.Chrome, check, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    # The grid re-renders after each save, so an element found a moment ago may be gone.
    WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda _d: check()
    )


def _clicked(element) -> bool:  # type: ignore[no-untyped-def]
    """Clicks once nothing covers the element (a card re-rendering after a save does)."""
    try:
        element.click()
    except ElementClickInterceptedException:
        return False
    return True


def _card(driver: webdriver.Chrome, report_id: int):  # type: ignore[no-untyped-def]
    return driver.find_element(By.CSS_SELECTOR, f".hub-pin-card[data-report='{report_id}']")


def _runs_last_30_days(hub: Hub) -> int:
    lo = dt.datetime.combine(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=29), dt.time(),
                             dt.UTC)  # fmt: skip
    with hub.admin.connect() as conn:
        return conn.scalar(sa.text("SELECT count(*) FROM fs_executions WHERE tenant_id = :t "
                                   "AND started_at >= :lo"),
                           {"t": hub.tenant_id("acme"), "lo": lo})  # fmt: skip


def test_analyst_pins_arranges_and_unpins(
    hub: Hub, base_url: str, driver: webdriver.Chrome, reports: dict[str, int], artifacts: Path
) -> None:
    kpi, table, bars = reports.values()
    browser.sign_in(driver, base_url, "analyst@acme.example", "demo-password")
    browser.wait_for(driver, "#hub-report-list")
    for report in (kpi, table, bars):
        pin_id = json.dumps({"report": report, "type": "pin-toggle"}, separators=(",", ":"))
        button = driver.find_element(By.CSS_SELECTOR, f"[id='{pin_id}']")
        button.click()
        _until(driver, lambda b=button: b.text == "Unpin")
    assert _grid(hub) == [(kpi, 6), (table, 6), (bars, 6)]

    driver.find_element(By.LINK_TEXT, "Dashboard").click()
    browser.wait_for(driver, "#pulse-runs")
    assert driver.find_element(By.ID, "pulse-runs").text == f"{_runs_last_30_days(hub):,}"
    browser.wait_for(driver, f".hub-pin-card[data-report='{kpi}'] .js-plotly-plot")
    browser.wait_for(driver, f".hub-pin-card[data-report='{table}'] .ag-row")
    browser.wait_for(driver, f".hub-pin-card[data-report='{bars}'] .js-plotly-plot")
    driver.save_screenshot(str(artifacts / "dashboard.png"))

    Select(_card(driver, kpi).find_element(By.CSS_SELECTOR, "select")).select_by_value("12")
    _until(driver, lambda: _grid(hub)[0] == (kpi, 12))
    _until(driver, lambda: _card(driver, kpi).get_attribute("data-span") == "12")
    _card(driver, kpi).find_element(By.XPATH, ".//button[@title='Move later']").click()
    _until(driver, lambda: _grid(hub) == [(table, 6), (kpi, 12), (bars, 6)])
    # The saved order is in the database before the grid re-renders; drag on the new cards.
    _until(driver, lambda: _order(driver) == [(table, 6), (kpi, 12), (bars, 6)])
    driver.execute_script(DRAG, _card(driver, bars), _card(driver, table), 200, 200)
    _until(driver, lambda: _grid(hub) == [(bars, 6), (table, 6), (kpi, 12)])
    _until(driver, lambda: _order(driver) == [(bars, 6), (table, 6), (kpi, 12)])
    driver.execute_script(DRAG, _card(driver, table), None, -50, -50)  # dropped off the grid
    _until(driver, lambda: _grid(hub) == [(bars, 6), (kpi, 12)])
    _until(driver, lambda: _status(driver).endswith("un-pinned from everyone's dashboard.\nUndo"))

    for report in (bars, kpi):
        browser.wait_for(driver, f".hub-pin-card[data-report='{report}']")
        _until(
            driver,
            lambda r=report: _clicked(
                _card(driver, r).find_element(By.XPATH, ".//button[text()='Unpin']")
            ),
        )
        _until(driver, lambda r=report: r not in dict(_grid(hub)))
    browser.wait_for(driver, "#dashboard-empty")


def test_viewer_sees_the_dashboard_without_controls(
    hub: Hub, base_url: str, driver: webdriver.Chrome, reports: dict[str, int]
) -> None:
    acme = hub.tenant_id("acme")
    with hub.cron.begin() as conn:
        conn.execute(sa.insert(s.dashboard_pins),
                     [{"tenant_id": acme, "report_id": r, "position": i, "span": 6}
                      for i, r in enumerate(reports.values())])  # fmt: skip
    browser.sign_in(driver, base_url, "viewer@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/analytics/dashboard")
    browser.wait_for(driver, "#pulse-runs")
    browser.wait_for(driver, f".hub-pin-card[data-report='{reports['Dash: runs by status']}'] "
                             ".ag-row")  # fmt: skip
    assert len(driver.find_elements(By.CSS_SELECTOR, ".hub-pin-card")) == 3
    assert not driver.find_elements(By.CSS_SELECTOR, ".hub-span-select")
    assert not driver.find_elements(By.CSS_SELECTOR, ".hub-pin-card[draggable='true']")
    assert not driver.find_elements(By.XPATH, "//button[text()='Pin' or text()='Unpin']")


def _pin_all(hub: Hub, reports: dict[str, int], spans: tuple[int, ...]) -> None:
    acme = hub.tenant_id("acme")
    with hub.cron.begin() as conn:
        placed = enumerate(zip(reports.values(), spans, strict=True))
        conn.execute(sa.insert(s.dashboard_pins),
                     [{"tenant_id": acme, "report_id": r, "position": i, "span": span}
                      for i, (r, span) in placed])  # fmt: skip


def _status(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.ID, "dashboard-arrange-status").text


def _order(driver: webdriver.Chrome) -> list[tuple[int, int]]:
    return [(int(c.get_attribute("data-report")), int(c.get_attribute("data-span")))
            for c in driver.find_elements(By.CSS_SELECTOR, ".hub-pin-card")]  # fmt: skip


def test_a_card_dragged_off_the_grid_comes_back_with_undo_in_its_place_and_width(
    hub: Hub, base_url: str, driver: webdriver.Chrome, reports: dict[str, int]
) -> None:
    """Dropping a card off the grid un-pins it and says so with Undo; Undo pins it again
    where it was, as wide as it was."""
    kpi, table, bars = reports.values()
    _pin_all(hub, reports, (6, 8, 4))
    browser.sign_in(driver, base_url, "analyst@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/analytics/dashboard")
    freshness = browser.wait_for(driver, f".hub-pin-card[data-report='{kpi}'] .hub-freshness")
    assert freshness.text.startswith("Chat engagement: up to an hour behind; last refresh ")
    assert "count on the UTC day the conversation started" in _card(driver, kpi).text
    driver.execute_script(DRAG, _card(driver, table), None, -50, -50)
    _until(driver, lambda: _grid(hub) == [(kpi, 6), (bars, 4)])
    _until(driver, lambda: _status(driver) == "“Dash: runs by status” was un-pinned from "
           "everyone's dashboard.\nUndo")  # fmt: skip
    _until(driver, lambda: _order(driver) == [(kpi, 6), (bars, 4)])
    driver.find_element(By.ID, "dashboard-arrange-status-action").click()
    _until(driver, lambda: _grid(hub) == [(kpi, 6), (table, 8), (bars, 4)])
    _until(driver, lambda: _status(driver) == "“Dash: runs by status” is back on the dashboard.")
    _until(driver, lambda: _order(driver) == [(kpi, 6), (table, 8), (bars, 4)])


FAILED = "Could not save {}: the hub did not answer. Nothing changed.\nRetry"


def _open_with_the_layout_route_blocked(driver: webdriver.Chrome, base_url: str,
                                        last: int) -> None:  # fmt: skip
    """The analyst's dashboard, drawn down to its card `last`, with the layout route blocked
    in the browser (its saves get no answer)."""
    browser.sign_in(driver, base_url, "analyst@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/analytics/dashboard")
    browser.wait_for(driver, f".hub-pin-card[data-report='{last}'] .js-plotly-plot")
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/dashboard/layout*"]})


def test_failed_drag_and_resize_saves_say_so_keep_the_grid_and_retry(
    hub: Hub, base_url: str, driver: webdriver.Chrome, reports: dict[str, int]
) -> None:
    """With the layout route blocked in the browser, a drag or a width change shows an
    inline error, leaves every card in its place and width, and Retry saves it once the
    route answers again."""
    kpi, table, bars = reports.values()
    _pin_all(hub, reports, (6, 6, 6))
    _open_with_the_layout_route_blocked(driver, base_url, bars)

    driver.execute_script(DRAG, _card(driver, bars), _card(driver, kpi), 200, 200)
    _until(driver, lambda: _status(driver) == FAILED.format("the new order"))
    assert _order(driver) == [(kpi, 6), (table, 6), (bars, 6)]
    assert _grid(hub) == [(kpi, 6), (table, 6), (bars, 6)]

    span = Select(_card(driver, table).find_element(By.CSS_SELECTOR, "select"))
    span.select_by_value("12")
    _until(driver, lambda: _status(driver) == FAILED.format("the new width"))
    _until(driver, lambda: span.first_selected_option.get_attribute("value") == "6")
    assert _grid(hub) == [(kpi, 6), (table, 6), (bars, 6)]

    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    driver.find_element(By.ID, "dashboard-arrange-status-action").click()
    _until(driver, lambda: _grid(hub) == [(kpi, 6), (table, 12), (bars, 6)])
    _until(driver, lambda: _order(driver) == [(kpi, 6), (table, 12), (bars, 6)])
    assert _status(driver) == ""


def test_the_card_buttons_save_like_a_drag_failing_inline_and_unpinning_with_undo(
    hub: Hub, base_url: str, driver: webdriver.Chrome, reports: dict[str, int]
) -> None:
    """A card's arrows and Unpin go through the layout route as a drag does: with the
    route blocked, a move shows an inline error and moves nothing, and Retry saves it;
    Unpin says so with Undo, which pins the card again in its place and width."""
    kpi, table, bars = reports.values()
    _pin_all(hub, reports, (6, 8, 4))
    _open_with_the_layout_route_blocked(driver, base_url, bars)
    _card(driver, kpi).find_element(By.XPATH, ".//button[@title='Move later']").click()
    _until(driver, lambda: _status(driver) == FAILED.format("the new order"))
    assert _order(driver) == [(kpi, 6), (table, 8), (bars, 4)]
    assert _grid(hub) == [(kpi, 6), (table, 8), (bars, 4)]

    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    driver.find_element(By.ID, "dashboard-arrange-status-action").click()
    _until(driver, lambda: _grid(hub) == [(table, 8), (kpi, 6), (bars, 4)])
    _until(driver, lambda: _order(driver) == [(table, 8), (kpi, 6), (bars, 4)])
    _until(driver, lambda: _clicked(_card(driver, table).find_element(
        By.XPATH, ".//button[text()='Unpin']")))  # fmt: skip
    _until(driver, lambda: _grid(hub) == [(kpi, 6), (bars, 4)])
    _until(driver, lambda: _status(driver) == "“Dash: runs by status” was un-pinned from "
           "everyone's dashboard.\nUndo")  # fmt: skip
    driver.find_element(By.ID, "dashboard-arrange-status-action").click()
    _until(driver, lambda: _grid(hub) == [(table, 8), (kpi, 6), (bars, 4)])
    _until(driver, lambda: _order(driver) == [(table, 8), (kpi, 6), (bars, 4)])
