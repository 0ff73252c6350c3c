"""Compare with in Chromium: the builder's control turns a preview into now, previous and
Δ % per measure, the previous numbers equal to hand SQL over the earlier window."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from components import ids
from datasets.formatting import format_change
from tests import browser
from tests.conftest import Hub

pytestmark = pytest.mark.browser
TODAY = dt.datetime.now(dt.UTC).date()
DAY = dt.timedelta(days=1)
START, END = TODAY - 13 * DAY, TODAY - DAY  # 13 days: the previous period ends START - 1
RUNS_BY_STATUS = """
SELECT status, count(*) FROM fs_executions
WHERE tenant_id = :t AND started_at >= :lo AND started_at < :hi GROUP BY status
"""


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _runs(hub: Hub, start: dt.date, end: dt.date) -> dict[str, int]:
    with hub.admin.connect() as conn:
        rows = conn.execute(sa.text(RUNS_BY_STATUS), {"t": hub.tenant_id("acme"),
                            "lo": _midnight(start), "hi": _midnight(end + DAY)})  # fmt: skip
        return {status: count for status, count in rows}


def _cells(driver: webdriver.Chrome, column: str) -> list[str]:
    cells = driver.find_elements(By.CSS_SELECTOR, f"#builder-preview .ag-row [col-id={column}]")
    return [c.text for c in cells]


def test_compare_with_the_previous_period_in_the_builder_preview(
    hub: Hub, base_url: str, driver: webdriver.Chrome, artifacts: Path
) -> None:
    definition = {"dataset": "flow_runs", "measures": ["total_runs"], "viz": "table",
                  "dimensions": [{"id": "status"}],
                  "date_range": {"start": START.isoformat(), "end": END.isoformat()}}  # fmt: skip
    browser.sign_in(driver, base_url, "analyst@acme.example", "demo-password")
    driver.get(f"{base_url}/admin/analytics/reports/new?definition={quote(json.dumps(definition))}")
    browser.wait_for(driver, "#builder-preview .ag-row")
    browser.wait_for(driver, f"#{ids.B_COMPARE}").click()
    WebDriverWait(driver, 10).until(
        lambda d: [o for o in d.find_elements(By.CSS_SELECTOR, "[role=option]")
                   if o.text == "Previous period"]
    )[0].click()  # fmt: skip

    now, then = _runs(hub, START, END), _runs(hub, START - 13 * DAY, START - DAY)
    statuses = sorted(now, key=lambda k: (-now[k], k))

    def shows_the_comparison(d: webdriver.Chrome) -> bool:
        texts = _cells(d, "status"), _cells(d, "total_runs__previous")
        return texts[0] == statuses and len(texts[1]) == len(statuses) and "" not in texts[1]

    wait = WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,))
    wait.until(shows_the_comparison)
    headers = [h.text for h in driver.find_elements(
        By.CSS_SELECTOR, "#builder-preview .ag-header-cell-text")]  # fmt: skip
    assert headers == ["Status", "Runs", "Runs (previous)", "Runs Δ %"]
    assert _cells(driver, "total_runs__previous") == [
        f"{then[k]:,}" if k in then else "—" for k in statuses
    ]
    assert _cells(driver, "total_runs__change") == [
        format_change((now[k] - then[k]) / then[k]) if then.get(k) else "—" for k in statuses
    ]
    summary = driver.find_element(By.CSS_SELECTOR, "#builder-preview .text-body-secondary").text
    earlier = f"{(START - 13 * DAY).isoformat()} to {(START - DAY).isoformat()}"
    assert f"compared with the previous period, {earlier} (UTC)" in summary
    driver.save_screenshot(str(artifacts / "builder-compare.png"))
