"""Figures per viz match their result frame, with the shared formatter's text: axes
titled with their unit, one series per combination of breakdowns, time ticks by grain
with the unfinished period marked, one theme and config; the six templates are valid
and render on the demo data."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pandas as pd
import plotly.io as pio
import pytest

from components import charts
from components import grid as grids
from datasets.compile import compile_definition
from datasets.model import Mode, Viz
from datasets.registry import DATASETS
from datasets.run import Result, run_report
from datasets.templates import TEMPLATES
from datasets.validate import validate, viz_reason
from tests.conftest import Hub

TODAY = dt.date(2026, 11, 25)  # a Wednesday
RAN_AT = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)  # TODAY is over; its week is not


def result_of(definition: dict[str, Any], rows: list[tuple[Any, ...]]) -> Result:
    """A Result built by hand: the definition's typed columns over the given rows."""
    valid = validate(definition)
    compiled = compile_definition(valid, today=TODAY)
    frame = pd.DataFrame(rows, columns=[c.id for c in compiled.columns], dtype=object)
    return Result(valid, Mode.PREVIEW, frame, compiled.columns, False, 1.0, compiled.start,
                  compiled.end, ran_at=RAN_AT)  # fmt: skip


DAYS = [TODAY - dt.timedelta(days=n) for n in (2, 1, 0)]


def test_line_has_one_trace_per_measure_over_time() -> None:
    """x is the days, y the values, hover the formatted text; a count and a percentage
    are on two axes, each titled with its unit."""
    result = result_of(
        {"dataset": "flow_runs", "measures": ["total_runs", "success_rate"],
         "dimensions": [{"id": "time"}], "date_range": {"preset": "7d"}, "viz": "line"},
        [(DAYS[0], 1200, Decimal("0.9")), (DAYS[1], 0, None), (DAYS[2], 7, Decimal("0.5"))],
    )  # fmt: skip
    figure = charts.figure(result)
    runs, rate = figure.data
    assert (runs.name, rate.name) == ("Runs", "Success rate")
    assert list(runs.x) == DAYS and list(runs.y) == [1200, 0, 7]
    assert list(rate.y) == [0.9, None, 0.5]
    assert runs.hovertext[0] == f"{DAYS[0].isoformat()}<br>Runs: 1,200"
    assert rate.hovertext[1] == f"{DAYS[1].isoformat()}<br>Success rate: —"
    assert (runs.yaxis, rate.yaxis) == ("y", "y2")
    y, y2 = figure.layout.yaxis, figure.layout.yaxis2
    assert (y.title.text, y.tickformat) == ("Runs", ",~f")
    assert (y2.title.text, y2.tickformat, y2.overlaying, y2.side) == (
        "Success rate (%)", ".0%", "y", "right")  # fmt: skip
    assert figure.layout.xaxis.title.text == "Day"
    assert list(figure.layout.xaxis.tickvals) == DAYS
    assert list(figure.layout.xaxis.ticktext) == [d.isoformat() for d in DAYS]


def test_line_with_a_second_dimension_has_one_trace_per_series() -> None:
    """Time by channel with one measure: one trace named after each channel."""
    result = result_of(
        {"dataset": "conversions", "measures": ["conversions"],
         "dimensions": [{"id": "time"}, {"id": "channel"}], "date_range": {"preset": "7d"},
         "viz": "line"},
        [(DAYS[0], "web", 3), (DAYS[0], "email", 1), (DAYS[1], "web", 0), (DAYS[1], "email", 2)],
    )  # fmt: skip
    traces = {t.name: list(t.y) for t in charts.figure(result).data}
    assert traces == {"web": [3, 0], "email": [1, 2]}


def test_bar_groups_by_the_second_dimension_with_row_currency() -> None:
    """Revenue by goal and currency: a trace per currency, money in its own currency."""
    result = result_of(
        {"dataset": "conversions", "measures": ["revenue"],
         "dimensions": [{"id": "goal"}, {"id": "currency"}], "date_range": {"preset": "30d"},
         "viz": "bar"},
        [("Order placed", "EUR", Decimal("1234.5")), ("Order placed", "USD", Decimal("20")),
         ("Lead qualified", "EUR", Decimal("10.005"))],
    )  # fmt: skip
    figure = charts.figure(result)
    assert figure.layout.barmode == "group"
    eur, usd = figure.data
    assert (eur.name, list(eur.x), list(eur.y)) == ("EUR", ["Order placed", "Lead qualified"],
                                                    [1234.5, 10.005])  # fmt: skip
    assert eur.hovertext[0] == "Order placed<br>EUR: 1,234.50 EUR"
    assert eur.hovertext[1] == "Lead qualified<br>EUR: 10.01 EUR"
    assert (usd.name, list(usd.y)) == ("USD", [20.0])


def test_pie_folds_small_slices_into_other() -> None:
    """Ten events: the seven largest and "Other" holding the sum of the rest."""
    rows = [(f"event_{n}", 100 - n) for n in range(10)]
    result = result_of(
        {"dataset": "telemetry", "measures": ["events"], "dimensions": [{"id": "event_name"}],
         "date_range": {"preset": "30d"}, "viz": "pie"},
        rows,
    )  # fmt: skip
    pie = charts.figure(result).data[0]
    assert list(pie.labels) == [f"event_{n}" for n in range(7)] + ["Other"]
    assert list(pie.values) == [100 - n for n in range(7)] + [93 + 92 + 91]
    assert pie.text[-1] == "276"
    assert (pie.texttemplate, pie.textposition) == ("%{percent:.1%}", "inside")


def test_pie_does_not_add_up_averages() -> None:
    """A non-additive measure keeps its slices as they are."""
    rows = [(f"Goal {n}", Decimal(n + 1)) for n in range(10)]
    result = result_of(
        {"dataset": "conversions", "measures": ["avg_value"], "dimensions": [{"id": "goal"}],
         "filters": [{"field": "currency", "op": "eq", "value": "GBP"}],
         "date_range": {"preset": "30d"}, "viz": "pie"},
        rows,
    )  # fmt: skip
    pie = charts.figure(result).data[0]
    assert len(pie.labels) == 10 and "Other" not in pie.labels
    assert pie.text[0] == "10.00 GBP"


def test_kpi_shows_the_number_and_the_change() -> None:
    """One number in its format, and the change against the previous period."""
    definition = {"dataset": "conversions", "measures": ["revenue"],
                  "filters": [{"field": "currency", "op": "eq", "value": "EUR"}],
                  "date_range": {"preset": "30d"}, "viz": "kpi"}  # fmt: skip
    now, before = result_of(definition, [(Decimal("150"),)]), result_of(definition, [(100,)])
    indicator = charts.figure(now, before).data[0]
    assert (indicator.value, indicator.title.text) == (150.0, "Revenue")
    assert indicator.number.suffix == " EUR" and indicator.number.valueformat == ",.2f"
    assert indicator.mode == "number+delta" and indicator.delta.reference == 100.0
    assert indicator.delta.suffix == " vs the previous 30 days"
    assert charts.figure(now).data[0].mode == "number"


def test_funnel_shows_counts_and_drop_off() -> None:
    """Steps top to bottom with reached counts, share of the first and the loss."""
    result = result_of(
        {"dataset": "funnel", "flow_id": 1, "date_range": {"preset": "30d"}, "viz": "funnel"},
        [("1. Greeting", 200, None, Decimal("1")),
         ("2. Pick a slot", 150, Decimal("0.25"), Decimal("0.75"))],
    )  # fmt: skip
    funnel = charts.figure(result).data[0]
    assert list(funnel.y) == ["1. Greeting", "2. Pick a slot"] and list(funnel.x) == [200, 150]
    assert list(funnel.text) == ["200 · 100.0% of first", "150 · 75.0% of first · 25.0% lost"]


def test_table_sorts_raw_values_and_shows_formatted_text() -> None:
    """Each cell carries its raw value (for sorting) and the formatter's text (shown)."""
    result = result_of(
        {"dataset": "flow_runs", "measures": ["avg_duration"], "dimensions": [{"id": "flow"}],
         "date_range": {"preset": "30d"}, "viz": "table"},
        [("Order status", Decimal("12400")), ("FAQ", Decimal("850"))],
    )  # fmt: skip
    grid = grids.table(result, grid_id="grid")
    assert grid.rowData == [
        {"drill_key": '{"flow": "Order status"}', "flow": "Order status",
         "flow__text": "Order status", "avg_duration": 12400.0, "avg_duration__text": "12.4 s"},
        {"drill_key": '{"flow": "FAQ"}', "flow": "FAQ", "flow__text": "FAQ",
         "avg_duration": 850.0, "avg_duration__text": "850 ms"},
    ]  # fmt: skip
    assert [c["headerName"] for c in grid.columnDefs] == ["Flow", "Avg duration"]
    assert grid.defaultColDef == {"flex": 1, "minWidth": 110, "wrapHeaderText": True,
                                  "autoHeaderHeight": True}  # fmt: skip


WEEKS = [dt.date(2026, 11, 2) + dt.timedelta(weeks=n) for n in range(4)]  # Mondays


def test_line_with_two_breakdowns_draws_one_series_per_combination() -> None:
    """Weekly revenue by channel and currency: a line per (channel, currency), one point a
    week each, named "web · EUR", money titled as each series' own currency."""
    result = result_of(
        {"dataset": "conversions", "measures": ["revenue"],
         "dimensions": [{"id": "time", "grain": "week"}, {"id": "channel"}, {"id": "currency"}],
         "date_range": {"preset": "30d"}, "viz": "line"},
        [(w, channel, currency, Decimal(n + i))
         for i, w in enumerate(WEEKS[:3])
         for n, (channel, currency) in enumerate([("web", "EUR"), ("email", "EUR"),
                                                  ("web", "USD")])],
    )  # fmt: skip
    figure = charts.figure(result)
    assert {t.name: (list(t.x), list(t.y)) for t in figure.data} == {
        "web · EUR": (WEEKS[:3], [0, 1, 2]),
        "email · EUR": (WEEKS[:3], [1, 2, 3]),
        "web · USD": (WEEKS[:3], [2, 3, 4]),
    }
    assert [t.line.color for t in figure.data] == charts.PALETTE[:3]
    assert figure.layout.yaxis.title.text == "Revenue (each series' currency)"
    assert figure.layout.xaxis.title.text == "Week (from Monday)"
    assert figure.data[1].hovertext[0] == "2026-11-02<br>email · EUR: 1.00 EUR"


def _channels_by_goal(viz: str, measure: str, combinations: int) -> Result:
    """One row per week and (channel, goal) combination, the nth combination worth n+1,
    in euros."""
    pairs = [(f"ch{n // 5}", f"Goal {n % 5}") for n in range(combinations)]
    return result_of(
        {"dataset": "conversions", "measures": [measure],
         "dimensions": [{"id": "time", "grain": "week"}, {"id": "channel"}, {"id": "goal"}],
         "filters": [{"field": "currency", "op": "eq", "value": "EUR"}],
         "date_range": {"preset": "30d"}, "viz": viz},
        [(w, ch, goal, Decimal(n + 1)) for w in WEEKS[:2] for n, (ch, goal) in enumerate(pairs)],
    )  # fmt: skip


def test_too_many_series_add_up_into_other() -> None:
    """Ten combinations of an additive count: the seven largest, then "Other" in grey
    holding the sum of the other three each week."""
    figure = charts.figure(_channels_by_goal("line", "conversions", 10))
    names = [t.name for t in figure.data]
    assert names == [f"ch{n // 5} · Goal {n % 5}" for n in range(9, 2, -1)] + ["Other"]
    other = figure.data[-1]
    assert (list(other.x), list(other.y), other.line.color) == (WEEKS[:2], [6, 6], "#8C8C8C")


def test_too_many_series_that_do_not_add_up_refuse_the_chart() -> None:
    """Ten combinations of an average: no traces, and the reason in the chart's place."""
    figure = charts.figure(_channels_by_goal("line", "avg_value", 10))
    assert figure.data == ()
    assert [a.text for a in figure.layout.annotations] == [
        "10 combinations of Channel and Goal are too many lines to read,<br>and Avg value "
        "cannot be added up into “Other”: filter to fewer, or show a table."
    ]


def test_week_ticks_are_the_weeks_and_the_unfinished_week_is_marked() -> None:
    """Twenty weeks: six labelled week starts counted back from the last, as the table
    labels them; the week still running is a dotted segment and says "this week so far"."""
    weeks = [dt.date(2026, 7, 13) + dt.timedelta(weeks=n) for n in range(20)]
    assert weeks[-1] == dt.date(2026, 11, 23)
    result = result_of(
        {"dataset": "conversions", "measures": ["conversions"],
         "dimensions": [{"id": "time", "grain": "week"}],
         "date_range": {"start": "2026-07-13", "end": "2026-11-25"}, "viz": "line"},
        [(w, 10 + n) for n, w in enumerate(weeks)],
    )  # fmt: skip
    figure = charts.figure(result)
    done, so_far = figure.data
    assert (list(done.x), so_far.line.dash, done.line.dash) == (weeks[:-1], "dot", None)
    assert (list(so_far.x), list(so_far.y), so_far.showlegend) == (weeks[-2:], [28, 29], False)
    assert so_far.hovertext[-1] == "2026-11-23<br>Conversions: 29 (this week so far)"
    ticks = weeks[-1::-4][::-1]
    assert list(figure.layout.xaxis.tickvals) == ticks
    assert list(figure.layout.xaxis.ticktext) == [
        *(w.isoformat() for w in ticks[:-1]), "2026-11-23<br>this week so far"]  # fmt: skip


def test_month_bars_show_the_tables_labels_and_hatch_the_partial_month() -> None:
    """Monthly bars: x is the table's "2026-09" labels on a category axis; the month the
    range ends inside is hatched and noted as partial."""
    months = [dt.date(2026, m, 1) for m in (9, 10, 11)]
    result = result_of(
        {"dataset": "flow_runs", "measures": ["avg_duration"],
         "dimensions": [{"id": "time", "grain": "month"}],
         "date_range": {"start": "2026-09-01", "end": "2026-11-25"}, "viz": "bar"},
        [(m, Decimal(v)) for m, v in zip(months, (900, 2500, 1200), strict=True)],
    )  # fmt: skip
    result = replace(result, ran_at=dt.datetime(2026, 12, 3, tzinfo=dt.UTC))
    figure = charts.figure(result)
    (bars,) = figure.data
    assert list(bars.x) == ["2026-09", "2026-10", "2026-11"]
    assert list(bars.y) == [0.9, 2.5, 1.2]  # in seconds, as the axis says
    assert list(bars.marker.pattern.shape) == ["", "", "/"]
    assert bars.hovertext[1] == "2026-10<br>Avg duration: 2.5 s"
    xaxis = figure.layout.xaxis
    assert (xaxis.type, xaxis.title.text) == ("category", "Month")
    assert list(xaxis.ticktext) == ["2026-09", "2026-10", "2026-11<br>partial month"]
    assert figure.layout.yaxis.title.text == "Avg duration (s)"


def test_durations_under_a_second_are_drawn_in_ms() -> None:
    """An axis of durations below 1,000 ms stays in ms."""
    result = result_of(
        {"dataset": "flow_runs", "measures": ["avg_duration"], "dimensions": [{"id": "flow"}],
         "date_range": {"preset": "30d"}, "viz": "bar"},
        [("FAQ", Decimal("850"))],
    )  # fmt: skip
    figure = charts.figure(result)
    assert list(figure.data[0].y) == [850.0]
    assert figure.layout.yaxis.title.text == "Avg duration (ms)"
    assert figure.layout.xaxis.title.text == "Flow"


def test_bars_of_two_units_keep_their_groups_on_two_axes() -> None:
    """Runs and success rate by flow: each bar its own offset group, the rate on y2."""
    result = result_of(
        {"dataset": "flow_runs", "measures": ["total_runs", "success_rate"],
         "dimensions": [{"id": "flow"}], "date_range": {"preset": "30d"}, "viz": "bar"},
        [("FAQ", 120000, Decimal("0.5"))],
    )  # fmt: skip
    runs, rate = charts.figure(result).data
    assert (runs.yaxis, runs.offsetgroup, rate.yaxis, rate.offsetgroup) == (
        "y", "Runs", "y2", "Success rate")  # fmt: skip


def test_more_than_two_units_are_refused_by_the_viz_picker() -> None:
    """Count, percent and duration on one line or bar chart: disabled with the reason."""
    flow_runs = DATASETS["flow_runs"]
    measures = ["total_runs", "success_rate", "avg_duration"]
    reason = ("a line chart has two value axes, and these measures are in 3 units (count, "
              "percent, duration): choose measures of at most two")  # fmt: skip
    assert viz_reason(flow_runs, Viz.LINE, measures, ["time"]) == reason
    assert viz_reason(flow_runs, Viz.BAR, measures, ["flow"]) == reason.replace("line", "bar")
    assert viz_reason(flow_runs, Viz.LINE, measures[:2], ["time"]) is None
    assert viz_reason(flow_runs, Viz.TABLE, measures, ["time"]) is None


def test_one_theme_and_config_for_every_chart() -> None:
    """Axes grow to fit their labels, the Okabe-Ito palette, and no Plotly toolbar."""
    layout = pio.templates["hub"].layout
    assert layout.xaxis.automargin is True and layout.yaxis.automargin is True
    assert list(layout.colorway) == ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7",
                                     "#56B4E9", "#000000", "#F0E442"]  # fmt: skip
    assert charts.GRAPH_CONFIG == {"displayModeBar": False, "displaylogo": False,
                                   "responsive": True}  # fmt: skip


def test_the_six_templates_of_the_spec() -> None:
    """Names, datasets and default viz exactly as the spec's table."""
    assert [(t.name, t.definition["dataset"], t.definition["viz"]) for t in TEMPLATES] == [
        ("Conversions overview", "conversions", "line"),
        ("Revenue by goal", "conversions", "bar"),
        ("Chat engagement", "chat", "line"),
        ("Flow success", "flow_runs", "table"),
        ("Event explorer", "telemetry", "bar"),
        ("Funnel", "funnel", "funnel"),
    ]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.id)
def test_template_is_valid_and_renders_on_demo_data(hub: Hub, template: Any) -> None:
    """Each template passes validation (the funnel once a flow is chosen) and gives rows."""
    acme = hub.tenant_id("acme")
    definition = dict(template.definition)
    if template.needs_flow:
        with hub.admin.connect() as conn:
            definition["flow_id"] = conn.exec_driver_sql(
                f"SELECT min(id) FROM fs_flows WHERE tenant_id = {acme}"
            ).scalar_one()
    result = run_report(validate(definition), tenant_id=acme, mode=Mode.PREVIEW,
                        engine=hub.web)  # fmt: skip
    assert len(result.frame) > 0
    numbers = result.frame[[c.id for c in result.columns if c.role == "measure"]]
    assert numbers.map(lambda v: v not in (None, 0)).any().any()
    if template.definition["viz"] != "table":
        assert charts.figure(result).data
