"""Tenant text reaches Plotly escaped: a goal, flow, step, event or channel named with
markup shows as that literal text, never as a link or bold; "a & b" still reads "a & b".
Built figures are checked string by string, then the real app renders them in Chromium."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go
import pytest
import sqlalchemy as sa
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from components import chart_rows, charts
from db import schema as s
from db.seed import DEMO_PASSWORD
from tests import browser
from tests.conftest import Hub
from tests.test_charts import DAYS, result_of

LINK = '<a href="https://evil.example">x</a>'
BOLD = "<b>bold</b>"
AMP = "a & b"
# What Plotly must receive, written out by hand: it decodes these entities back to text.
ESCAPED = {
    LINK: '&lt;a href="https://evil.example"&gt;x&lt;/a&gt;',
    BOLD: "&lt;b&gt;bold&lt;/b&gt;",
    AMP: "a &amp; b",
}
LINK_E, BOLD_E, AMP_E = ESCAPED.values()
# The only markup a figure may carry is the chart module's own.
OWN_MARKUP = re.compile(r"<br>|<extra></extra>")
ENTITY = re.compile(r"&(amp|lt|gt);")


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a figure's JSON with its path, the theme template left out."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            if path == "layout" and key == "template":
                continue
            # A point's drill-down bucket: the values as stored, sent back on a click and
            # never drawn (no template of ours names %{customdata}; checked below).
            if key == "customdata":
                continue
            yield from _strings(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _strings(value, f"{path}[{i}]")


def assert_no_tenant_markup(figure: go.Figure) -> list[str]:
    """No string in the figure has a tag or a bare & other than the module's own markup;
    returns every string, for the caller's exact checks."""
    found = list(_strings(json.loads(figure.to_json())))
    assert not any("customdata" in text for _, text in found)
    for path, text in found:
        bare = OWN_MARKUP.sub("", text)
        assert "<" not in bare and ">" not in bare, (path, text)
        assert ENTITY.sub("", bare).count("&") == 0, (path, text)
    return [text for _, text in found]


@pytest.mark.parametrize(
    ("raw", "shown_to_plotly"),
    [(LINK, LINK_E), (BOLD, BOLD_E), (AMP, AMP_E), ("Order placed", "Order placed"),
     ("&lt;", "&amp;lt;"), ('say "hi"', 'say "hi"')],
)  # fmt: skip
def test_plotly_text_escapes_what_plotly_reads_as_markup(raw: str, shown_to_plotly: str) -> None:
    """&, < and > become entities; quotes and ordinary names are left as they are."""
    assert chart_rows.plotly_text(raw) == shown_to_plotly


def test_bar_categories_series_and_hover_are_escaped() -> None:
    """Goals on x, channels as trace names (legend) and both in the hover text."""
    result = result_of(
        {"dataset": "conversions", "measures": ["conversions"],
         "dimensions": [{"id": "goal"}, {"id": "channel"}], "date_range": {"preset": "30d"},
         "viz": "bar"},
        [(LINK, AMP, 3), (BOLD, AMP, 2), (AMP, LINK, 1)],
    )  # fmt: skip
    figure = charts.figure(result)
    assert_no_tenant_markup(figure)
    amp, link = figure.data
    assert (amp.name, list(amp.x)) == (AMP_E, [LINK_E, BOLD_E])
    assert (link.name, list(link.x)) == (LINK_E, [AMP_E])
    assert list(amp.hovertext) == [f"{LINK_E}<br>{AMP_E}: 3", f"{BOLD_E}<br>{AMP_E}: 2"]
    assert list(link.hovertext) == [f"{AMP_E}<br>{LINK_E}: 1"]


def test_line_series_names_and_hover_are_escaped() -> None:
    """Events over time by event name: one trace per name, named and hovered literally."""
    result = result_of(
        {"dataset": "telemetry", "measures": ["events"],
         "dimensions": [{"id": "time"}, {"id": "event_name"}], "date_range": {"preset": "7d"},
         "viz": "line"},
        [(DAYS[0], LINK, 5), (DAYS[0], BOLD, 1200), (DAYS[1], LINK, 0)],
    )  # fmt: skip
    figure = charts.figure(result)
    assert_no_tenant_markup(figure)
    link, bold = figure.data
    assert (link.name, list(link.x)) == (LINK_E, DAYS[:2])
    assert list(link.hovertext) == [f"{DAYS[0].isoformat()}<br>{LINK_E}: 5",
                                    f"{DAYS[1].isoformat()}<br>{LINK_E}: 0"]  # fmt: skip
    assert (bold.name, list(bold.hovertext)) == (BOLD_E, [f"{DAYS[0].isoformat()}<br>{BOLD_E}: "
                                                          "1,200"])  # fmt: skip


def test_pie_labels_are_escaped_and_the_template_is_ours() -> None:
    """Slice labels (shown in the slice, legend and %{label} of the hover) are escaped."""
    result = result_of(
        {"dataset": "telemetry", "measures": ["events"], "dimensions": [{"id": "event_name"}],
         "date_range": {"preset": "30d"}, "viz": "pie"},
        [(LINK, 30), (BOLD, 20), (AMP, 10)],
    )  # fmt: skip
    figure = charts.figure(result)
    assert_no_tenant_markup(figure)
    pie = figure.data[0]
    assert list(pie.labels) == [LINK_E, BOLD_E, AMP_E]
    assert list(pie.text) == ["30", "20", "10"]
    assert pie.hovertemplate == "%{label}: %{text} (%{percent:.1%})<extra></extra>"


def test_funnel_step_names_are_escaped() -> None:
    """Step names are the funnel's categories (its y axis)."""
    result = result_of(
        {"dataset": "funnel", "flow_id": 1, "date_range": {"preset": "30d"}, "viz": "funnel"},
        [(f"1. {LINK}", 200, None, Decimal("1")), (f"2. {AMP}", 150, Decimal("0.25"),
                                                   Decimal("0.75"))],
    )  # fmt: skip
    figure = charts.figure(result)
    assert_no_tenant_markup(figure)
    assert list(figure.data[0].y) == [f"1. {LINK_E}", f"2. {AMP_E}"]
    assert list(figure.data[0].text) == ["200 · 100.0% of first",
                                         "150 · 75.0% of first · 25.0% lost"]  # fmt: skip


def test_a_currency_from_a_filter_is_escaped_in_the_axis_hover_and_kpi() -> None:
    """A currency filter value is tenant text too: axis title, hover money, KPI suffix."""
    bar = {"dataset": "conversions", "measures": ["revenue"], "dimensions": [{"id": "goal"}],
           "filters": [{"field": "currency", "op": "eq", "value": "<i>"}],
           "date_range": {"preset": "30d"}, "viz": "bar"}  # fmt: skip
    figure = charts.figure(result_of(bar, [(AMP, Decimal("1234.5"))]))
    assert_no_tenant_markup(figure)
    assert figure.layout.yaxis.title.text == "Revenue (&lt;i&gt;)"
    assert list(figure.data[0].hovertext) == [f"{AMP_E}<br>Revenue: 1,234.50 &lt;i&gt;"]
    kpi = {**bar, "dimensions": [], "viz": "kpi"}
    indicator = charts.figure(result_of(kpi, [(Decimal("150"),)])).data[0]
    assert (indicator.number.suffix, indicator.title.text) == (" &lt;i&gt;", "Revenue")


def test_a_row_currency_is_escaped_in_the_hover() -> None:
    """Money in each row's own currency (a currency breakdown) shows that currency literally."""
    result = result_of(
        {"dataset": "conversions", "measures": ["revenue"],
         "dimensions": [{"id": "goal"}, {"id": "currency"}], "date_range": {"preset": "30d"},
         "viz": "bar"},
        [(BOLD, "<u>", Decimal("20"))],
    )  # fmt: skip
    figure = charts.figure(result)
    assert_no_tenant_markup(figure)
    assert figure.data[0].name == "&lt;u&gt;"
    assert list(figure.data[0].hovertext) == [f"{BOLD_E}<br>&lt;u&gt;: 20.00 &lt;u&gt;"]


def test_ordinary_names_reach_plotly_unchanged() -> None:
    """Names without &, < or > are exactly the text they were."""
    result = result_of(
        {"dataset": "conversions", "measures": ["conversions"], "dimensions": [{"id": "goal"}],
         "date_range": {"preset": "30d"}, "viz": "bar"},
        [("Order placed", 3), ("Lead qualified · EU", 1)],
    )  # fmt: skip
    trace = charts.figure(result).data[0]
    assert list(trace.x) == ["Order placed", "Lead qualified · EU"]
    assert trace.hovertext[0] == "Order placed<br>Conversions: 3"


# ---- in the browser ---------------------------------------------------------------------

NAMES = (LINK, BOLD, AMP)


@pytest.fixture
def marked_up_reports(hub: Hub) -> Iterator[dict[str, int]]:
    """Acme telemetry events and a flow whose names are markup, and four pinned reports
    (bar, pie, line by event name; the flow's funnel); all removed afterwards."""
    acme = hub.tenant_id("acme")
    now = dt.datetime.now(dt.UTC)
    only_ours = [{"field": "event_name", "op": "in", "value": list(NAMES)}]
    with hub.cron.begin() as conn:
        conn.execute(sa.insert(s.telemetry_events), [
            {"tenant_id": acme, "event_name": name, "properties": {}, "occurred_at": now}
            for n, name in enumerate(NAMES) for _ in range(3 - n)
        ])  # fmt: skip
        flow = conn.scalar(sa.insert(s.flows).values(tenant_id=acme, name=f"Flow {BOLD}")
                           .returning(s.flows.c.id))  # fmt: skip
        steps = [conn.scalar(sa.insert(s.flow_steps).values(
            tenant_id=acme, flow_id=flow, position=i + 1, name=name
        ).returning(s.flow_steps.c.id)) for i, name in enumerate((LINK, AMP))]  # fmt: skip
        runs = [conn.scalar(sa.insert(s.executions).values(
            tenant_id=acme, flow_id=flow, status="completed", trigger_type="message",
            started_at=now, finished_at=now, duration_ms=10,
        ).returning(s.executions.c.id)) for _ in range(2)]  # fmt: skip
        conn.execute(sa.insert(s.execution_steps), [
            {"tenant_id": acme, "execution_id": run, "step_id": step, "reached_at": now}
            for run, reached in zip(runs, (steps, steps[:1]), strict=True) for step in reached
        ])  # fmt: skip
        definitions = {
            "Markup bar": {"dataset": "telemetry", "measures": ["events"], "viz": "bar",
                           "dimensions": [{"id": "event_name"}], "filters": only_ours,
                           "date_range": {"preset": "7d"}},
            "Markup pie": {"dataset": "telemetry", "measures": ["events"], "viz": "pie",
                           "dimensions": [{"id": "event_name"}], "filters": only_ours,
                           "date_range": {"preset": "7d"}},
            "Markup line": {"dataset": "telemetry", "measures": ["events"], "viz": "line",
                            "dimensions": [{"id": "time"}, {"id": "event_name"}],
                            "filters": only_ours, "date_range": {"preset": "7d"}},
            "Markup funnel": {"dataset": "funnel", "flow_id": flow, "viz": "funnel",
                              "date_range": {"preset": "7d"}},
        }  # fmt: skip
        conn.execute(sa.delete(s.dashboard_pins).where(s.dashboard_pins.c.tenant_id == acme))
        ids = {
            name: conn.scalar(sa.insert(s.reports).values(
                tenant_id=acme, name=name, definition=definition).returning(s.reports.c.id))
            for name, definition in definitions.items()
        }  # fmt: skip
        conn.execute(sa.insert(s.dashboard_pins), [
            {"tenant_id": acme, "report_id": r, "position": i, "span": 6}
            for i, r in enumerate(ids.values())
        ])  # fmt: skip
    try:
        yield ids
    finally:
        with hub.cron.begin() as conn:
            conn.execute(sa.delete(s.dashboard_pins).where(s.dashboard_pins.c.tenant_id == acme))
            conn.execute(sa.delete(s.reports).where(s.reports.c.id.in_(ids.values())))
            conn.execute(sa.delete(s.execution_steps).where(
                s.execution_steps.c.execution_id.in_(runs)))  # fmt: skip
            conn.execute(sa.delete(s.executions).where(s.executions.c.id.in_(runs)))
            conn.execute(sa.delete(s.flow_steps).where(s.flow_steps.c.flow_id == flow))
            conn.execute(sa.delete(s.flows).where(s.flows.c.id == flow))
            conn.execute(sa.delete(s.telemetry_events).where(
                s.telemetry_events.c.tenant_id == acme,
                s.telemetry_events.c.event_name.in_(NAMES)))  # fmt: skip


BOLD_TSPAN = ".js-plotly-plot tspan[style*='font-weight:bold']"  # how Plotly draws <b>
PLOT_TEXT = (
    "return Array.from(arguments[0].querySelectorAll('.js-plotly-plot'), p => p.textContent)"
)


def _plots_show(driver: webdriver.Chrome, scope: Any, expected: list[str]) -> bool:
    texts = driver.execute_script(PLOT_TEXT, scope)
    return len(texts) == len(expected) and all(e in t for e, t in zip(expected, texts, strict=True))


@pytest.mark.browser
def test_markup_in_names_shows_as_text_on_the_dashboard_and_report(
    base_url: str, driver: webdriver.Chrome, marked_up_reports: dict[str, int]
) -> None:
    """Four pinned charts of marked-up names: no link inside any plot, the names' literal
    text on screen (& as &); the saved bar report's page likewise."""
    browser.sign_in(driver, base_url, "admin@acme.example", DEMO_PASSWORD)
    browser.wait_for(driver, "#hub-landing")
    driver.get(f"{base_url}/admin/analytics/dashboard")
    grid = browser.wait_for(driver, "#dashboard-cards")
    # Bar ticks, pie slices and legend, line legend: every name; funnel ticks: its steps.
    expected = [LINK, LINK, LINK, f"1. {LINK}"]
    WebDriverWait(driver, 30).until(lambda d: _plots_show(d, grid, expected))
    texts = driver.execute_script(PLOT_TEXT, grid)
    for text in texts[:3]:
        assert all(name in text for name in NAMES), text
    assert f"2. {AMP}" in texts[3]
    assert not any("&amp;" in t or "&lt;" in t for t in texts)
    assert driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot a") == []
    assert driver.find_elements(By.CSS_SELECTOR, BOLD_TSPAN) == []

    driver.get(f"{base_url}/admin/analytics/reports/{marked_up_reports['Markup bar']}")
    chart = browser.wait_for(driver, ".js-plotly-plot")
    page = driver.find_element(By.CSS_SELECTOR, ".hub-page")
    WebDriverWait(driver, 30).until(lambda d: _plots_show(d, page, [LINK]))
    text = driver.execute_script("return arguments[0].textContent", chart)
    assert all(name in text for name in NAMES), text
    assert driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot a") == []
