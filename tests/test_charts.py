"""Figures per viz match their result frame, with the shared formatter's text; the six
templates are valid and render on the demo data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from components import charts
from datasets.compile import compile_definition
from datasets.model import Mode
from datasets.run import Result, run_report
from datasets.templates import TEMPLATES
from datasets.validate import validate
from tests.conftest import Hub

TODAY = dt.date(2026, 11, 25)


def result_of(definition: dict[str, Any], rows: list[tuple[Any, ...]]) -> Result:
    """A Result built by hand: the definition's typed columns over the given rows."""
    valid = validate(definition)
    compiled = compile_definition(valid, today=TODAY)
    frame = pd.DataFrame(rows, columns=[c.id for c in compiled.columns], dtype=object)
    return Result(valid, Mode.PREVIEW, frame, compiled.columns, False, 1.0, compiled.start,
                  compiled.end)  # fmt: skip


DAYS = [TODAY - dt.timedelta(days=n) for n in (2, 1, 0)]


def test_line_has_one_trace_per_measure_over_time() -> None:
    """x is the days, y the values, hover the formatted text."""
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
    assert figure.layout.yaxis.tickformat == ",~f"


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
    grid = charts.table(result, grid_id="grid")
    assert grid.rowData == [
        {"flow": "Order status", "flow__text": "Order status", "avg_duration": 12400.0,
         "avg_duration__text": "12.4 s"},
        {"flow": "FAQ", "flow__text": "FAQ", "avg_duration": 850.0,
         "avg_duration__text": "850 ms"},
    ]  # fmt: skip
    assert [c["headerName"] for c in grid.columnDefs] == ["Flow", "Avg duration"]


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
