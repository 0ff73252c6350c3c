"""Insights → Goals: validation, the list against hand SQL, saving under RLS, and the page
in headless Chromium."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from db import schema as s
from db.goals import Goal, list_goals, parse_goal, save_goal
from errors import BadGoal, NotFound
from tests import browser
from tests.conftest import Hub
from tests.test_definitions import ANY_SCALAR, json_values

TODAY = dt.datetime.now(dt.UTC).date()
VALID = {"name": "  Demo   booked ", "event_name": "demo_booked", "value_rule": "fixed",
         "fixed_value": "30", "default_currency": "eur", "active": True}  # fmt: skip


def test_a_goal_is_parsed_and_cleaned() -> None:
    assert parse_goal(VALID) == Goal(None, "Demo booked", "demo_booked", True, "fixed",
                                     Decimal("30"), None, "EUR")  # fmt: skip
    by_property = parse_goal(VALID | {"value_rule": "property", "value_property": "amount"})
    assert (by_property.fixed_value, by_property.value_property) == (None, "amount")
    assert by_property.value_text() == "From property “amount” (else EUR)"
    assert parse_goal(VALID).value_text() == "30.00 EUR each"


@pytest.mark.parametrize(
    ("change", "paths"),
    [
        ({"name": " "}, ["name"]),
        ({"event_name": "Order Placed"}, ["event_name"]),
        ({"value_rule": "percent"}, ["value_rule"]),
        ({"fixed_value": "0"}, ["fixed_value"]),
        ({"fixed_value": "1.005"}, ["fixed_value"]),
        ({"fixed_value": "lots"}, ["fixed_value"]),
        ({"fixed_value": "1000000000000"}, ["fixed_value"]),
        ({"value_rule": "property", "value_property": "a b"}, ["value_property"]),
        ({"default_currency": "EURO"}, ["default_currency"]),
        ({"active": "yes"}, ["active"]),
    ],
)
def test_bad_goals_name_each_bad_field(change: dict[str, Any], paths: list[str]) -> None:
    with pytest.raises(BadGoal) as caught:
        parse_goal(VALID | change)
    assert [path for path, _ in caught.value.issues] == paths


@settings(max_examples=200, deadline=None)
@given(json_values(ANY_SCALAR))
def test_any_json_is_a_goal_or_a_bad_definition(raw: Any) -> None:
    try:
        goal = parse_goal(raw)
    except BadGoal as exc:
        assert exc.issues
    else:
        assert goal.name and goal.value_rule in ("none", "fixed", "property")


def test_the_list_counts_recent_completions_like_hand_sql(hub: Hub) -> None:
    acme = hub.tenant_id("acme")
    since = dt.datetime.combine(TODAY - dt.timedelta(days=29), dt.time(), dt.UTC)
    with hub.admin.connect() as conn:
        expected = conn.execute(sa.text("""
            SELECT g.name, count(c.goal_id), max(c.completed_at)
            FROM ins_goals g LEFT JOIN ins_goal_completions c
              ON c.tenant_id = g.tenant_id AND c.goal_id = g.id AND c.completed_at >= :since
            WHERE g.tenant_id = :t GROUP BY g.id, g.name ORDER BY lower(g.name)
        """), {"t": acme, "since": since}).all()  # fmt: skip
    got = list_goals(hub.web, tenant_id=acme)
    assert [(g.name, g.completions, g.last_completed_at) for g in got] == [
        tuple(r) for r in expected
    ]
    assert any(g.completions for g in got) and any(not g.active for g in got)


@pytest.fixture
def new_goal(hub: Hub) -> Iterator[list[int]]:
    created: list[int] = []
    yield created
    with hub.cron.begin() as conn:
        named = s.goals.c.name.in_(["Demo booked"])
        conn.execute(sa.delete(s.goals).where(sa.or_(s.goals.c.id.in_(created), named)))


def test_saving_is_unique_by_name_and_tenant_bound(hub: Hub, new_goal: list[int]) -> None:
    acme, globex = hub.tenant_id("acme"), hub.tenant_id("globex")
    goal_id = save_goal(hub.web, tenant_id=acme, goal=parse_goal(VALID))
    new_goal.append(goal_id)
    with pytest.raises(BadGoal, match="already exists"):
        save_goal(hub.web, tenant_id=acme, goal=parse_goal(VALID | {"name": "demo BOOKED"}))
    paused = parse_goal(VALID | {"active": False, "fixed_value": 12.5}, goal_id=goal_id)
    assert save_goal(hub.web, tenant_id=acme, goal=paused) == goal_id
    (saved,) = [g for g in list_goals(hub.web, tenant_id=acme) if g.id == goal_id]
    assert (saved.active, saved.fixed_value) == (False, Decimal("12.50"))
    with pytest.raises(NotFound):
        save_goal(hub.web, tenant_id=globex, goal=paused)  # Acme's goal is not Globex's


def _fill(driver: webdriver.Chrome, element_id: str, text: str) -> None:
    field = browser.wait_for(driver, f"#{element_id}")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE, text)


def _until(driver: webdriver.Chrome, check: Any) -> None:
    """Waits for `check(driver)`, re-reading elements the page re-rendered meanwhile."""
    WebDriverWait(driver, 20, ignored_exceptions=(StaleElementReferenceException,)).until(check)


def _row(driver: webdriver.Chrome, name: str) -> str:
    return next((r.text for r in driver.find_elements(By.CSS_SELECTOR, "#goals-table tbody tr")
                 if r.text.startswith(name)), "")  # fmt: skip


@pytest.mark.browser
def test_admin_creates_and_pauses_a_goal_others_only_look(
    hub: Hub, base_url: str, driver: webdriver.Chrome, new_goal: list[int], artifacts: Path
) -> None:
    browser.sign_in(driver, base_url, "admin@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/insights/goals")
    browser.wait_for(driver, "#goal-new").click()
    _fill(driver, "goal-name", "Demo booked")
    _fill(driver, "goal-event-name", "Demo Booked")
    driver.find_element(By.XPATH, "//label[text()='A fixed amount']").click()
    _fill(driver, "goal-fixed-value", "30")
    _fill(driver, "goal-default-currency", "eur")
    driver.find_element(By.ID, "goal-save").click()
    _until(driver, lambda d: "lower-case" in d.find_element(By.ID, "goal-error-event-name").text)
    _fill(driver, "goal-event-name", "demo_booked")
    driver.find_element(By.ID, "goal-save").click()
    _until(driver, lambda d: "Demo booked" in _row(d, "Demo booked"))
    assert _row(driver, "Demo booked").startswith("Demo booked demo_booked 30.00 EUR each Active")
    driver.save_screenshot(str(artifacts / "goals.png"))

    edit = driver.find_element(By.XPATH, "//tr[td[text()='Demo booked']]//button[text()='Edit']")
    edit.click()
    switch = browser.wait_for(driver, "#goal-active")
    WebDriverWait(driver, 10).until(lambda d: switch.is_selected())
    switch.click()
    driver.find_element(By.ID, "goal-save").click()
    _until(driver, lambda d: "Paused" in _row(d, "Demo booked"))

    driver.find_element(By.ID, "hub-sign-out").click()  # POSTs /logout with the token
    browser.wait_for(driver, "#email")
    browser.sign_in(driver, base_url, "analyst@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/insights/goals")
    browser.wait_for(driver, "#goals-table")
    assert not driver.find_elements(By.ID, "goal-new")
    assert not driver.find_elements(By.XPATH, "//button[text()='Edit']")
    driver.find_element(By.ID, "hub-sign-out").click()  # POSTs /logout with the token
    browser.wait_for(driver, "#email")
    browser.sign_in(driver, base_url, "viewer@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/insights/goals")
    browser.wait_for(driver, "#hub-forbidden")
