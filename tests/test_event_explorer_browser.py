"""The Event Explorer in headless Chromium: filters in the URL, keyset paging, a
conversation's timeline, Live, and what a viewer or another tenant's id sees."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from db import schema as s
from db.seed import DEMO_PASSWORD
from tests import browser
from tests.conftest import Hub

pytestmark = pytest.mark.browser

EXPLORER = "/admin/insights/events"
TIMELINE = """SELECT (SELECT count(*) FROM ins_telemetry_events WHERE conversation_id = :c)
  + (SELECT count(*) FROM chat_messages WHERE conversation_id = :c)
  + (SELECT count(*) FROM fs_executions WHERE conversation_id = :c)
  + (SELECT count(*) FROM ins_goal_completions WHERE conversation_id = :c)"""


def hand(hub: Hub, sql: str, **params: Any) -> list[Any]:
    with hub.admin.connect() as conn:
        return list(conn.scalars(sa.text(sql), params))


def shown_ids(driver: webdriver.Chrome) -> list[int]:
    """The table's event ids, read in one go (the table may be re-rendering)."""
    found = driver.execute_script("return [...document.querySelectorAll('#events-rows tr')]"
                                  ".map(r => r.dataset.eventId)")  # fmt: skip
    return [int(i) for i in found]


def wait_for_ids(driver: webdriver.Chrome, expected: list[int]) -> None:
    WebDriverWait(driver, 20).until(lambda d: shown_ids(d) == expected)


def click(driver: webdriver.Chrome, css: str) -> None:
    """Clicks what may sit below the fold, once it is shown."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()",
                          browser.wait_for(driver, css))  # fmt: skip


def test_admin_filters_pages_opens_a_timeline_and_goes_live(
    hub: Hub, base_url: str, driver: webdriver.Chrome
) -> None:
    """Filtering by an event name shows its newest rows by hand SQL; Older and Newer walk
    the keyset pages; a conversation's timeline has every item; Live prepends new rows."""
    acme = hub.tenant_id("acme")
    name = hand(hub, "SELECT event_name FROM ins_telemetry_events WHERE tenant_id = :t "
                "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1", t=acme)[0]  # fmt: skip
    newest = hand(hub, "SELECT id FROM ins_telemetry_events WHERE tenant_id = :t AND "
                  "event_name = :n ORDER BY occurred_at DESC, id DESC LIMIT 100",
                  t=acme, n=name)  # fmt: skip
    browser.sign_in(driver, base_url, "admin@acme.example", DEMO_PASSWORD)
    driver.get(f"{base_url}/admin/analytics")
    browser.wait_for(driver, "#hub-sections a[href='/admin/insights/events']").click()
    browser.wait_for(driver, "#events-table")
    browser.wait_for(driver, "#events-event").click()
    ActionChains(driver).send_keys(name).perform()
    WebDriverWait(driver, 20).until(
        lambda d: [o.text for o in d.find_elements(By.CSS_SELECTOR, "[role=option]")][:1] == [name]
    )
    ActionChains(driver).send_keys(Keys.ENTER).perform()
    WebDriverWait(driver, 20).until(lambda d: f"event={name}" in d.current_url)
    wait_for_ids(driver, newest[:50])
    assert driver.find_element(By.ID, "events-newer").get_attribute("disabled") is not None

    click(driver, "#events-older")
    WebDriverWait(driver, 20).until(lambda d: "older=" in d.current_url)
    wait_for_ids(driver, newest[50:100])
    click(driver, "#events-newer")
    WebDriverWait(driver, 20).until(lambda d: "newer=" in d.current_url)
    wait_for_ids(driver, newest[:50])

    button = driver.find_element(By.CSS_SELECTOR, "#events-rows .events-conversation")
    conversation = int(button.text)
    click(driver, "#events-rows .events-conversation")
    card = browser.wait_for(driver, "#events-timeline-card")
    assert card.find_element(By.CLASS_NAME, "card-header").text == f"Conversation {conversation}"
    items = card.find_elements(By.CLASS_NAME, "events-timeline-item")
    assert len(items) == hand(hub, TIMELINE, c=conversation)[0] > 0

    driver.get(f"{base_url}{EXPLORER}?event={name}")
    wait_for_ids(driver, newest[:50])
    click(driver, "#events-live")
    WebDriverWait(driver, 10).until(lambda d: "live=1" in d.current_url)  # kept on reload
    with hub.cron.begin() as conn:
        new_id = conn.scalar(sa.insert(s.telemetry_events).values(
            tenant_id=acme, event_name=name, properties={"note": "<b>live</b>"},
            occurred_at=dt.datetime.now(dt.UTC)).returning(s.telemetry_events.c.id))  # fmt: skip
    try:
        wait_for_ids(driver, [new_id, *newest[:50]])
        first = driver.find_element(By.CSS_SELECTOR, "#events-rows tr")
        assert "<b>live</b>" in first.find_element(By.TAG_NAME, "summary").text
    finally:
        with hub.cron.begin() as conn:
            conn.execute(sa.delete(s.telemetry_events).where(s.telemetry_events.c.id == new_id))


def test_live_further_down_counts_newer_events(
    hub: Hub, base_url: str, driver: webdriver.Chrome
) -> None:
    """On an older page Live keeps the rows and says how many newer events arrived."""
    acme = hub.tenant_id("acme")
    browser.sign_in(driver, base_url, "admin@acme.example", DEMO_PASSWORD)
    driver.get(f"{base_url}{EXPLORER}?live=1")
    WebDriverWait(driver, 20).until(lambda d: len(shown_ids(d)) == 50)
    first_page = shown_ids(driver)
    click(driver, "#events-older")
    WebDriverWait(driver, 20).until(lambda d: len(ids := shown_ids(d)) == 50 and ids != first_page)
    rows = shown_ids(driver)
    with hub.cron.begin() as conn:
        new_id = conn.scalar(sa.insert(s.telemetry_events).values(
            tenant_id=acme, event_name="live_probe", properties={},
            occurred_at=dt.datetime.now(dt.UTC)).returning(s.telemetry_events.c.id))  # fmt: skip
    try:
        note = browser.wait_for(driver, "#events-newer-note span")
        assert note.text == "1 newer event" and shown_ids(driver) == rows
    finally:
        with hub.cron.begin() as conn:
            conn.execute(sa.delete(s.telemetry_events).where(s.telemetry_events.c.id == new_id))


def test_bad_url_values_are_named_next_to_their_fields(
    base_url: str, driver: webdriver.Chrome
) -> None:
    """A bad date and channel in the URL show their messages, not an error page."""
    browser.sign_in(driver, base_url, "admin@acme.example", DEMO_PASSWORD)
    driver.get(f"{base_url}{EXPLORER}?start=2026-13-01&channel=fax")
    assert "is not a date" in browser.wait_for(driver, "#events-error-start").text
    assert browser.wait_for(driver, "#events-error-channel").text.startswith("One of web")
    assert shown_ids(driver) == []


def test_viewer_is_refused(base_url: str, driver: webdriver.Chrome) -> None:
    """The Viewer has no telemetry leaf: access denied, and no Events link."""
    browser.sign_in(driver, base_url, "viewer@acme.example", DEMO_PASSWORD)
    driver.get(f"{base_url}{EXPLORER}")
    assert "Access denied" in browser.wait_for(driver, "#hub-forbidden").text
    assert not driver.find_elements(By.CSS_SELECTOR, "a[href='/admin/insights/events']")


def test_a_globex_conversation_shows_nothing_to_acme(
    hub: Hub, base_url: str, driver: webdriver.Chrome
) -> None:
    """A Globex conversation id in Acme's explorer URL matches no rows."""
    globex = hand(hub, "SELECT conversation_id FROM ins_telemetry_events WHERE tenant_id = :t"
                  " AND conversation_id IS NOT NULL LIMIT 1",
                  t=hub.tenant_id("globex"))[0]  # fmt: skip
    browser.sign_in(driver, base_url, "admin@acme.example", DEMO_PASSWORD)
    driver.get(f"{base_url}{EXPLORER}?conversation={globex}")
    note = browser.wait_for(driver, "#events-empty")
    assert note.text == "No events match these filters." and shown_ids(driver) == []
