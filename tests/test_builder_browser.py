"""The report builder in headless Chromium: template → edit → save → edit → duplicate →
delete, as an analyst; and a viewer who cannot build."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import dash
import flask
import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from components import ids
from db import schema as s
from tests import browser
from tests.conftest import Hub
from tests.web import sign_in

pytestmark = pytest.mark.browser
NAME = "Weekly WhatsApp conversions"


def _filter_id(part: str) -> str:
    return json.dumps({"index": 0, "type": f"builder-filter-{part}"}, separators=(",", ":"))


# Counts the builder's server callbacks: requests to /_dash-update-component whose output
# is the preview, or the definition (each edit), and when the last of each was seen.
COUNT_CALLS = """
const calls = window.hubCalls = {preview: 0, definition: 0, pending: 0, previewAt: 0,
                                 definitionAt: 0};
const fetch = window.fetch;
window.fetch = function (url, options) {
  const isDash = String(url).includes("/_dash-update-component") && options && options.body;
  const output = isDash ? JSON.parse(options.body).output : "";
  const isPreview = output.includes("PREVIEW.children");
  const isDefinition = output.includes("DEFINITION.data");
  calls.pending += 1;
  if (isPreview) { calls.preview += 1; calls.previewAt = performance.now(); }
  if (isDefinition) { calls.definition += 1; }
  return fetch.apply(this, arguments).finally(function () {
    calls.pending -= 1;
    if (isDefinition) { calls.definitionAt = performance.now(); }
  });
};
""".replace("PREVIEW", ids.B_PREVIEW).replace("DEFINITION", ids.B_DEFINITION)
GRAIN_BURST = """
const done = arguments[arguments.length - 1];
const labels = Array.from(document.querySelectorAll("#GRAIN label"));
const choose = (text) => labels.find((label) => label.textContent === text).click();
choose("Day");
setTimeout(() => { choose("Month"); setTimeout(() => { choose("Week"); done(); }, 100); }, 100);
""".replace("GRAIN", ids.B_GRAIN)
# Settled: nothing in flight, and a preview was sent after the last definition arrived.
BURST_SETTLED = """
const calls = window.hubCalls;
return calls.pending === 0 && calls.definition >= 3 && calls.previewAt > calls.definitionAt;
"""


def _weeks(days: int) -> list[dt.date]:
    today = dt.datetime.now(dt.UTC).date()
    start = today - dt.timedelta(days=days - 1)
    first = start - dt.timedelta(days=start.weekday())
    last = today - dt.timedelta(days=today.weekday())
    return [first + dt.timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


def test_analyst_builds_saves_edits_duplicates_and_deletes(
    hub: Hub, base_url: str, driver: webdriver.Chrome, artifacts: Path
) -> None:
    """The whole life of a report, through the UI only; a burst of edits previews once."""
    browser.sign_in(driver, base_url, "analyst@acme.example", "demo-password")
    browser.wait_for(driver, "#hub-templates a")
    driver.find_element(By.LINK_TEXT, "Conversions overview").click()
    browser.wait_for(driver, "#hub-builder")
    browser.wait_for(driver, "#builder-preview .ag-row")

    driver.find_element(By.XPATH, "//label[text()='Week']").click()
    driver.find_element(By.ID, "builder-filter-add").click()
    browser.pick(driver, _filter_id("field"), "Channel")
    WebDriverWait(driver, 20).until(  # the field chose the operators and the value input
        lambda d: d.find_element(By.CSS_SELECTOR, f"[id='{_filter_id('op')}']").text == "is"
    )
    browser.pick(driver, _filter_id("value"), "whats")
    weeks = _weeks(30)
    acme = hub.tenant_id("acme")
    start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=29)
    with hub.admin.connect() as conn:
        expected = conn.execute(
            sa.text("SELECT count(*) FROM ins_goal_completions WHERE tenant_id = :t "
                    "AND channel = 'whatsapp' AND completed_at >= :a"),
            {"t": acme, "a": dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC)},
        ).scalar_one()  # fmt: skip

    def preview_counts(d: webdriver.Chrome) -> list[int]:
        cells = d.find_elements(By.CSS_SELECTOR, "#builder-preview .ag-row [col-id=conversions]")
        texts = [c.text for c in cells]
        if "" in texts:  # a row still being drawn
            return []
        return [int(t.replace(",", "")) for t in texts]

    def shows_the_weeks(d: webdriver.Chrome) -> bool:
        return len(counts := preview_counts(d)) == len(weeks) and sum(counts) == expected

    wait = WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,))
    wait.until(shows_the_weeks)

    # Three grain changes 100 ms apart, inside the 150 ms debounce: one preview request.
    driver.execute_script(COUNT_CALLS)
    driver.execute_async_script(GRAIN_BURST)
    wait.until(lambda d: d.execute_script(BURST_SETTLED))
    calls = driver.execute_script("return window.hubCalls")
    assert calls["definition"] >= 3 and calls["preview"] == 1, calls
    wait.until(shows_the_weeks)
    driver.save_screenshot(str(artifacts / "builder.png"))

    name = driver.find_element(By.ID, "builder-name")
    name.clear()
    name.send_keys(NAME)
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("s").key_up(Keys.CONTROL).perform()
    WebDriverWait(driver, 20).until(lambda d: re.search(r"/reports/\d+$", d.current_url))
    report_id = int(driver.current_url.rsplit("/", 1)[1])
    assert browser.wait_for(driver, "#report-name").text == NAME
    browser.wait_for(driver, "#hub-report .ag-row")
    driver.save_screenshot(str(artifacts / "saved-report.png"))
    with hub.cron.connect() as conn:
        saved = conn.scalar(sa.select(s.reports.c.definition).where(s.reports.c.id == report_id))
    assert saved["dimensions"] == [{"id": "time", "grain": "week"}]
    assert saved["filters"] == [{"field": "channel", "op": "eq", "value": "whatsapp"}]

    driver.get(f"{base_url}/admin/analytics")
    browser.wait_for(driver, "#hub-saved-reports")
    assert driver.find_elements(By.LINK_TEXT, NAME)

    driver.get(f"{base_url}/admin/analytics/reports/{report_id}")
    browser.wait_for(driver, "#report-edit").click()
    name = browser.wait_for(driver, "#builder-name")
    name.send_keys(" v2")
    browser.wait_for(driver, "#builder-preview .ag-row")
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("s").key_up(Keys.CONTROL).perform()
    WebDriverWait(driver, 20).until(lambda d: d.current_url.endswith(f"/reports/{report_id}"))
    assert browser.wait_for(driver, "#report-name").text == f"{NAME} v2"

    browser.wait_for(driver, "#report-duplicate").click()
    WebDriverWait(driver, 20).until(lambda d: d.current_url.endswith("/edit"))
    assert browser.wait_for(driver, "#hub-builder h1").text == f"Edit “{NAME} v2 (copy)”"

    with hub.cron.begin() as conn:
        conn.execute(sa.insert(s.dashboard_pins).values(tenant_id=acme, report_id=report_id,
                                                        position=0, span=6))  # fmt: skip
    driver.get(f"{base_url}/admin/analytics/reports/{report_id}")
    browser.wait_for(driver, "#report-delete").click()
    browser.wait_for(driver, "#report-delete-confirm").click()
    WebDriverWait(driver, 20).until(lambda d: d.current_url.endswith("/admin/analytics"))
    assert browser.wait_for(driver, "#landing-notice .alert").text.startswith(
        f"“{NAME} v2” was deleted")  # fmt: skip
    browser.wait_for(driver, "#hub-saved-reports")
    assert not driver.find_elements(By.LINK_TEXT, f"{NAME} v2")
    with hub.cron.connect() as conn:
        left = conn.scalar(sa.select(sa.func.count()).select_from(s.dashboard_pins)
                           .where(s.dashboard_pins.c.report_id == report_id))  # fmt: skip
    assert left == 0


def test_viewer_sees_no_build_controls(base_url: str, driver: webdriver.Chrome) -> None:
    """No New report button, no template links, and the builder URL says access denied."""
    browser.sign_in(driver, base_url, "viewer@acme.example", "demo-password")
    browser.wait_for(driver, "#hub-templates")
    assert not driver.find_elements(By.ID, "hub-new-report")
    assert not driver.find_elements(By.CSS_SELECTOR, "#hub-templates a")
    driver.get(f"{base_url}/admin/analytics/reports/new")
    assert browser.wait_for(driver, "#hub-forbidden-reason").text == (
        "Building reports needs the permission “Managing reports”, which your role does not "
        "include. An administrator can add it to your role.")  # fmt: skip


def test_viewer_cannot_save_by_posting_the_callback(hub: Hub, flask_app: flask.Flask) -> None:
    """A hand-made save callback from a viewer is refused and saves nothing."""
    client = flask_app.test_client()
    sign_in(client, "viewer@acme.example")
    definition = {"dataset": "chat", "measures": ["conversations"], "viz": "table"}
    output = next(key for key in dash.get_app().callback_map if "builder-saved-url.data" in key)
    outputs = [dict(zip(("id", "property"), part.split(".", 1), strict=True))
               for part in output.strip(".").split("...")]  # fmt: skip
    response = client.post("/_dash-update-component", json={
        "output": output,
        "outputs": outputs,
        "inputs": [{"id": "builder-save", "property": "n_clicks", "value": 1}],
        "state": [{"id": "builder-definition", "property": "data", "value": definition},
                  {"id": "builder-name", "property": "value", "value": "Viewer sneaks in"},
                  {"id": "builder-description", "property": "value", "value": ""},
                  {"id": "builder-report-id", "property": "data", "value": None}],
        "changedPropIds": ["builder-save.n_clicks"],
    })  # fmt: skip
    assert "Your role does not include managing reports." in response.get_data(as_text=True)
    with hub.cron.connect() as conn:
        assert not conn.scalar(sa.select(sa.func.count()).select_from(s.reports)
                               .where(s.reports.c.name == "Viewer sneaks in"))  # fmt: skip
