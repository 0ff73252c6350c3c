"""The builder's controls: labels without doubled brackets, half-filled filter rows, the
date picker's week and limit; in Chromium, suggestions with their counts before typing, a
half-filled row marked, and the Funnel asking for a flow without an error."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from access import HubUser, Leaf
from components import builder, ids
from components import builder_form as form
from datasets.registry import dataset_named
from tests import browser
from tests.conftest import Hub

NOT_APPLIED = "Not applied yet: choose a value (or remove this filter)."


def test_measure_labels_have_one_pair_of_brackets() -> None:
    labels = {o["value"]: o["label"] for o in form.measure_options(dataset_named("token_usage"))}
    assert labels["cost"] == "Cost (USD) · money"
    conversions = {o["value"]: o["label"]
                   for o in form.measure_options(dataset_named("conversions"))}  # fmt: skip
    assert conversions["conversions"] == "Conversions (count)"


def test_half_filled_filter_rows_are_marked_and_not_applied() -> None:
    rows = [{"field": None, "op": None, "value": None},
            {"field": "channel", "op": "eq", "value": None},
            {"field": "channel", "op": "eq", "value": "web"}]  # fmt: skip
    assert form.row_notes("conversions", rows) == [None, NOT_APPLIED, None]


def test_date_picker_starts_weeks_on_monday_and_ends_today(hub: Hub) -> None:
    user = HubUser(id=1, tenant_id=hub.tenant_id("acme"), tenant_slug="acme",
                   tenant_name="Acme", email="a@acme.example", name="A",
                   leaves=frozenset(Leaf))  # fmt: skip
    page = builder.layout(user, definition={"dataset": "conversions", "measures": ["conversions"]})
    picker = next(c for c in page._traverse() if getattr(c, "id", None) == ids.B_DATES)
    assert picker.first_day_of_week == 1
    assert picker.max_date_allowed == dt.datetime.now(dt.UTC).date().isoformat()


# Each chosen value of a multi-select: its text, what comes before it, its corner radius.
CHIPS = """
return [...document.querySelectorAll("#" + arguments[0] + " .dash-dropdown-value-item")]
  .map((c) => [c.textContent, getComputedStyle(c, "::before").content,
               getComputedStyle(c).borderTopLeftRadius]);
"""


def _row(part: str) -> str:
    return json.dumps({"index": 0, "type": f"builder-filter-{part}"}, separators=(",", ":"))


@pytest.mark.browser
def test_suggestions_before_typing_half_filled_row_and_funnel_prompt(
    hub: Hub, base_url: str, driver: webdriver.Chrome
) -> None:
    browser.sign_in(driver, base_url, "analyst@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/analytics/reports/new?template=conversions_overview")
    browser.wait_for(driver, "#builder-preview .ag-row")
    chips = driver.execute_script(CHIPS, ids.B_MEASURES)
    assert chips == [["Conversions (count)", "none", "16px"],
                     ["Customers (count)", "none", "16px"]]  # fmt: skip
    browser.wait_for(driver, "#builder-filter-add").click()
    browser.wait_for(driver, f"[id='{_row('field')}']").click()
    WebDriverWait(driver, 10).until(
        lambda d: [
            o for o in d.find_elements(By.CSS_SELECTOR, "[role=option]") if o.text == "Channel"
        ]
    )[0].click()
    note = f"[id='{_row('note')}']"
    WebDriverWait(driver, 20).until(
        lambda d: d.find_element(By.CSS_SELECTOR, note).text == NOT_APPLIED
    )
    since = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=89)
    with hub.admin.connect() as conn:
        expected = [
            f"{channel}{count:,}" for channel, count in conn.execute(
                sa.text("SELECT channel, count(*) FROM ins_goal_completions WHERE tenant_id = :t "
                        "AND completed_at >= :s AND channel IS NOT NULL "
                        "GROUP BY channel ORDER BY count(*) DESC, channel LIMIT 20"),
                {"t": hub.tenant_id("acme"), "s": dt.datetime(since.year, since.month,
                                                              since.day, tzinfo=dt.UTC)},
            )
        ]  # fmt: skip
    assert expected
    browser.wait_for(driver, f"[id='{_row('value')}']").click()  # opened, nothing typed

    def offered(d: webdriver.Chrome) -> list[str]:
        return [o.text for o in d.find_elements(By.CSS_SELECTOR, "[role=option]")]

    wait = WebDriverWait(driver, 20, ignored_exceptions=(StaleElementReferenceException,))
    wait.until(lambda d: offered(d) == expected)

    driver.get(f"{base_url}/admin/analytics/reports/new?template=funnel")
    prompt = browser.wait_for(driver, "#hub-preview-blocked")
    assert prompt.text == "Choose the flow to follow to see its funnel."
    assert driver.find_element(By.ID, ids.b_error("flow_id")).text == ""
    driver.find_element(By.ID, ids.B_RUN).click()
    wait.until(lambda d: d.find_element(By.ID, ids.b_error("flow_id")).text
               == "Choose a flow: the funnel runs for one flow")  # fmt: skip


def test_a_saved_filter_row_offers_its_suggestions_before_typing(hub: Hub) -> None:
    """Opening a saved report, its filter's value list holds the same suggestions as a new
    row's (the tenant's values, most frequent first), and the chosen value stays chosen."""
    acme = hub.tenant_id("acme")
    user = HubUser(id=1, tenant_id=acme, tenant_slug="acme", tenant_name="Acme",
                   email="a@acme.example", name="A", leaves=frozenset(Leaf))  # fmt: skip
    since = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=89)
    with hub.admin.connect() as conn:
        expected = list(conn.scalars(
            sa.text("SELECT channel FROM ins_goal_completions WHERE tenant_id = :t "
                    "AND completed_at >= :s AND channel IS NOT NULL "
                    "GROUP BY channel ORDER BY count(*) DESC, channel LIMIT 20"),
            {"t": acme, "s": dt.datetime(since.year, since.month, since.day, tzinfo=dt.UTC)},
        ))  # fmt: skip
    chosen = expected[-1]
    page = builder.layout(user, definition={
        "dataset": "conversions", "measures": ["conversions"],
        "filters": [{"field": "channel", "op": "in", "value": [chosen]}]})  # fmt: skip
    value = next(c for c in page._traverse() if getattr(c, "id", None) == json.loads(_row("value")))
    assert [o["value"] for o in value.options] == expected
    assert value.value == [chosen]
