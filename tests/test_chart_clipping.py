"""No chart text is clipped: each chart type, drawn by Plotly in headless Chromium at a
1440 px window as a full-width report chart and as a half-width dashboard card, keeps
every text of its SVG (tick labels, axis titles, legend, notes) inside the figure.
Screenshots of each go to test-artifacts/."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs
from selenium import webdriver
from selenium.webdriver.common.by import By

from components import charts
from tests.test_charts import WEEKS, result_of

WINDOW = (1440, 1000)
WIDTHS = {"report": 1360, "card": 660}  # the report page's chart and a span-6 card
HEIGHT = 380  # as components/report_view.py draws them
SLACK_PX = 0.5  # sub-pixel rounding of text boxes
LONG_GOALS = ["Order placed from the holiday campaign landing page", "Lead qualified",
              "Newsletter sign-up (footer form)", "Appointment booked",
              "Support ticket resolved without an agent", "Trial started"]  # fmt: skip
WEEKS_20 = [dt.date(2026, 7, 13) + dt.timedelta(weeks=n) for n in range(20)]


def _figures() -> dict[str, go.Figure]:
    """A figure of every chart type, with the widest labels the demo data can produce."""
    money = [{"field": "currency", "op": "eq", "value": "EUR"}]
    return {
        "line-two-units": charts.figure(result_of(
            {"dataset": "flow_runs", "measures": ["total_runs", "success_rate"],
             "dimensions": [{"id": "time", "grain": "week"}],
             "date_range": {"start": "2026-07-13", "end": "2026-11-25"}, "viz": "line"},
            [(w, 190000 + 1000 * n, Decimal("0.9")) for n, w in enumerate(WEEKS_20)],
        )),
        "line-series-and-other": charts.figure(result_of(
            {"dataset": "conversions", "measures": ["revenue"],
             "dimensions": [{"id": "time", "grain": "week"}, {"id": "channel"}, {"id": "goal"}],
             "filters": money, "date_range": {"preset": "30d"}, "viz": "line"},
            [(w, f"channel {n // 6}", goal, Decimal(2000 + 100 * n))
             for w in WEEKS for n, goal in enumerate(LONG_GOALS * 2)],
        )),
        "bar-long-categories": charts.figure(result_of(
            {"dataset": "conversions", "measures": ["revenue"],
             "dimensions": [{"id": "goal"}, {"id": "currency"}],
             "date_range": {"preset": "30d"}, "viz": "bar"},
            [(goal, currency, Decimal("2000") * (n + 1))
             for n, goal in enumerate(LONG_GOALS) for currency in ("EUR", "USD")],
        )),
        "bar-months": charts.figure(result_of(
            {"dataset": "flow_runs", "measures": ["avg_duration"],
             "dimensions": [{"id": "time", "grain": "month"}],
             "date_range": {"start": "2026-01-01", "end": "2026-11-25"}, "viz": "bar"},
            [(dt.date(2026, m, 1), Decimal(900 + 350 * m)) for m in range(1, 12)],
        )),
        "pie": charts.figure(result_of(
            {"dataset": "conversions", "measures": ["conversions"],
             "dimensions": [{"id": "goal"}], "date_range": {"preset": "30d"}, "viz": "pie"},
            [(f"{goal} {n}", 500 - 40 * n) for n, goal in enumerate(LONG_GOALS * 2)],
        )),
        "kpi": charts.figure(*(result_of(
            {"dataset": "conversions", "measures": ["revenue"], "filters": money,
             "date_range": {"preset": "30d"}, "viz": "kpi"}, [(Decimal(v),)]) for v in
            ("123456.78", "100000"))),
        "funnel": charts.figure(result_of(
            {"dataset": "funnel", "flow_id": 1, "date_range": {"preset": "30d"},
             "viz": "funnel"},
            [("1. Greeting and language choice", 200000, None, Decimal("1")),
             ("2. Pick a slot", 150000, Decimal("0.25"), Decimal("0.75")),
             ("3. Confirm the appointment by email", 90000, Decimal("0.4"), Decimal("0.45"))],
        )),
        "refused": charts.figure(result_of(
            {"dataset": "conversions", "measures": ["avg_value"],
             "dimensions": [{"id": "time", "grain": "week"}, {"id": "channel"}, {"id": "goal"}],
             "filters": money, "date_range": {"preset": "30d"}, "viz": "line"},
            [(WEEKS[0], f"channel {n}", goal, Decimal(10))
             for n, goal in enumerate(LONG_GOALS * 2)],
        )),
    }  # fmt: skip


PAGE = """<!doctype html><html><head><meta charset="utf-8"><script src="plotly.js"></script>
</head><body style="margin:0">{divs}<script>
const figures = {figures};
window.drawn = Promise.all(Object.entries(figures).map(([id, f]) =>
  Plotly.newPlot(id, f.data, f.layout, {config}))).then(() => true);
</script></body></html>"""

# Every text element of each chart, with its box and the chart's: the figure is the
# chart's own div, which the SVG fills.
BOXES = """
const out = {};
for (const plot of document.querySelectorAll('.js-plotly-plot')) {
  const frame = plot.querySelector('svg.main-svg').getBoundingClientRect();
  out[plot.id] = {frame: [frame.left, frame.top, frame.right, frame.bottom], texts: []};
  for (const text of plot.querySelectorAll('svg text')) {
    const box = text.getBoundingClientRect();
    if (!text.textContent.trim() || box.width === 0) continue;
    const group = text.parentNode.getAttribute('class') || '';
    out[plot.id].texts.push({text: text.textContent, group: group,
                             box: [box.left, box.top, box.right, box.bottom]});
  }
}
return out;
"""


def _page(directory: Path, width: int, figures: dict[str, go.Figure]) -> Path:
    (directory / "plotly.js").write_text(get_plotlyjs())
    divs = "".join(f'<div id="{name}" style="width:{width}px;height:{HEIGHT}px"></div>'
                   for name in figures)  # fmt: skip
    page = directory / f"charts-{width}.html"
    page.write_text(PAGE.format(
        divs=divs, config=json.dumps(charts.GRAPH_CONFIG),
        figures=json.dumps({n: json.loads(f.to_json()) for n, f in figures.items()}),
    ))  # fmt: skip
    return page


def _outside(frame: list[float], box: list[float]) -> bool:
    left, top, right, bottom = frame
    return (box[0] < left - SLACK_PX or box[1] < top - SLACK_PX or box[2] > right + SLACK_PX
            or box[3] > bottom + SLACK_PX)  # fmt: skip


@pytest.mark.browser
@pytest.mark.parametrize("where", WIDTHS)
def test_no_chart_text_is_clipped(
    where: str, driver: webdriver.Chrome, tmp_path: Path, artifacts: Path
) -> None:
    """Tick labels, axis titles, legends, slice labels and notes lie inside the figure
    (no ",000.00", no cut "2026" or rotated category), every tick label in full."""
    figures = _figures()
    driver.set_window_size(*WINDOW)
    driver.get(_page(tmp_path, WIDTHS[where], figures).as_uri())
    driver.set_script_timeout(30)
    driver.execute_async_script("window.drawn.then(arguments[arguments.length - 1])")
    found: dict[str, Any] = driver.execute_script(BOXES)
    assert sorted(found) == sorted(figures)
    clipped = [(name, t["text"]) for name, chart in found.items() for t in chart["texts"]
               if _outside(chart["frame"], t["box"])]  # fmt: skip
    for name in figures:
        element = driver.find_element(By.ID, name)
        element.screenshot(str(artifacts / f"chart-{name}-{where}.png"))
    assert clipped == []
    # Every time tick the chart was given is drawn whole (Plotly hides what overflows).
    ticks = {name: {t["text"] for t in chart["texts"] if "tick" in t["group"]}
             for name, chart in found.items()}  # fmt: skip
    for name, figure in figures.items():
        given = {t.replace("<br>", "") for t in figure.layout.xaxis.ticktext or ()}
        assert given <= ticks[name], (name, given - ticks[name])
    assert any(re.fullmatch(r"\d{3},000", t) for t in ticks["line-two-units"]), ticks
    assert "2026-11-23this week so far" in ticks["line-two-units"]
    assert set(LONG_GOALS) <= ticks["bar-long-categories"]
    assert any(re.fullmatch(r"\d+,000\.00", t) for t in ticks["bar-long-categories"]), ticks
    assert {"2026-05", "2026-11this month so far"} <= ticks["bar-months"]  # every other
    texts = {t["text"] for t in found["kpi"]["texts"]}
    assert any(t.endswith(" vs the previous 30 days") for t in texts), texts
    assert any(t["text"] == "Other" for t in found["line-series-and-other"]["texts"])
