"""A compared report on screen, in the email and in the builder: every viz shows the
previous values the runner joined (tests/test_compare.py checks those against hand SQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from access import HubUser, Leaf
from components import builder, charts, drill_panel, ids
from components import builder_form as form
from components import grid as grids
from components.report_view import run_summary
from datasets.bucket import Bucket
from datasets.compare import tone
from datasets.formatting import format_change, format_value
from datasets.model import Better, Mode
from datasets.run import Result, run_report
from datasets.validate import validate
from db.reports import SavedReport
from db.schedules import Schedule
from report_email import html_summary
from tests.conftest import Hub

TODAY = dt.datetime.now(dt.UTC).date()
DAY = dt.timedelta(days=1)
WINDOW = {"start": (TODAY - 13 * DAY).isoformat(), "end": (TODAY - DAY).isoformat()}


def _run(hub: Hub, **definition: Any) -> Result:
    raw = {"dataset": "flow_runs", "measures": ["total_runs"], "date_range": WINDOW,
           "compare": "previous_period", **definition}  # fmt: skip
    return run_report(validate(raw), tenant_id=hub.tenant_id("acme"), mode=Mode.SAVED,
                      engine=hub.web, today=TODAY)  # fmt: skip


def _text(result: Result, row: dict[str, Any], column_id: str) -> str:
    column = next(c for c in result.columns if c.id == column_id)
    return format_value(row[column_id], column)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def test_a_line_draws_the_previous_period_dashed_on_the_current_axis(hub: Hub) -> None:
    result = _run(hub, viz="line", dimensions=[{"id": "time", "grain": "day"}])
    previous, *current = charts.figure(result).data
    rows = result.frame.to_dict("records")
    assert previous.name == "Runs (previous)" and previous.line.dash == "dash"
    assert list(previous.x) == [r["time"] for r in rows]
    assert list(previous.y) == [_number(r["total_runs__previous"]) for r in rows]
    shown = [text for trace in current for text in trace.hovertext]
    last = rows[-1]
    assert shown[-1] == (
        f"{_text(result, last, 'time')}<br>Runs: {_text(result, last, 'total_runs')}"
        f"<br>previous: {_text(result, last, 'total_runs__previous')}"
        f" ({format_change(last['total_runs__change'])})"
    )


def test_a_bar_shows_a_pale_previous_bar_beside_each(hub: Hub) -> None:
    result = _run(hub, viz="bar", dimensions=[{"id": "status"}])
    previous, current = charts.figure(result).data
    rows = result.frame.to_dict("records")
    assert (previous.name, previous.marker.opacity) == ("Runs (previous)", 0.4)
    assert list(previous.x) == list(current.x) == [r["status"] for r in rows]
    assert list(previous.y) == [_number(r["total_runs__previous"]) for r in rows]


def test_a_pie_slice_says_its_previous_value(hub: Hub) -> None:
    result = _run(hub, viz="pie", dimensions=[{"id": "status"}])
    (pie,) = charts.figure(result).data
    largest = max(result.frame.to_dict("records"), key=lambda r: r["total_runs"])
    assert pie.hovertemplate == "%{label} (%{percent:.1%}): %{text}<extra></extra>"
    assert pie.text[0] == (
        f"{_text(result, largest, 'total_runs')}<br>previous: "
        f"{_text(result, largest, 'total_runs__previous')}"
        f" ({format_change(largest['total_runs__change'])})"
    )


@pytest.mark.parametrize(("measure", "good"), [("total_runs", "#198754"), ("failed", "#dc3545")])
def test_a_kpi_shows_the_previous_value_and_its_change_by_the_measures_sense(
    hub: Hub, measure: str, good: str
) -> None:
    """A rise is green for runs and red for failed runs (more failures are bad news)."""
    result = _run(hub, viz="kpi", measures=[measure])
    (indicator,) = charts.figure(result).data
    row = result.frame.iloc[0].to_dict()
    now, then = float(row[measure]), float(row[f"{measure}__previous"])
    assert indicator.value == now and indicator.delta.reference == then
    assert indicator.delta.increasing.color == good
    difference = now - then
    sign = "+" if difference > 0 else "\u2212" if difference < 0 else ""
    assert indicator.title.text.endswith(
        f"the previous period: {_text(result, row, measure + '__previous')}"
        f" · Δ {sign}{abs(difference):,.0f}</span>"
    )


def test_a_funnel_step_says_its_conversion_then(hub: Hub) -> None:
    with hub.cron.connect() as conn:
        flow = conn.scalar(
            sa.text("SELECT id FROM fs_flows WHERE tenant_id = :t AND name = 'Order status'"),
            {"t": hub.tenant_id("acme")},
        )
    result = _run(hub, dataset="funnel", measures=[], viz="funnel", flow_id=flow)
    (funnel,) = charts.figure(result).data
    rows = result.frame.to_dict("records")
    assert [t.split(" · ")[1] for t in funnel.text] == [
        f"{_text(result, r, 'conversion')} of first "
        f"(then {_text(result, r, 'conversion__previous')})"
        for r in rows
    ]


def test_the_table_colours_each_change_by_the_measures_sense_beside_its_arrows(
    hub: Hub,
) -> None:
    result = _run(hub, measures=["total_runs", "failed"], dimensions=[{"id": "status"}])
    grid = grids.table(result, grid_id=ids.B_GRID)
    rules = {d["field"]: d.get("cellClassRules") for d in grid.columnDefs}
    assert rules["failed__change"] == {
        "hub-good": "params.data['failed__change__tone'] === 'good'",
        "hub-bad": "params.data['failed__change__tone'] === 'bad'",
    }
    assert rules["failed__previous"] is None and rules["status"] is None
    for record, row in zip(grid.rowData, result.frame.to_dict("records"), strict=True):
        assert record["failed__change__tone"] == tone(row["failed__change"], Better.DOWN)
        assert record["total_runs__change__text"] == format_value(
            row["total_runs__change"], result.columns[3]
        )
    assert tone(0.5, Better.DOWN) == "bad" and tone(0.5, Better.UP) == "good"
    assert tone(-0.5, Better.NEITHER) is None and tone(None, Better.UP) is None


def test_the_email_colours_the_change_and_the_summary_says_what_it_is_compared_with(
    hub: Hub,
) -> None:
    result = _run(hub, measures=["failed"], dimensions=[{"id": "status"}])
    report = SavedReport(1, hub.tenant_id("acme"), "Failures", "", {}, dt.datetime.now(dt.UTC))
    html = html_summary(report, Schedule(1, "daily", 7, None, ("a@x.org",)), result)
    worse = [r for r in result.frame.to_dict("records") if tone(r["failed__change"], "down")]
    assert worse, "some status changed"
    for row in worse:
        colour = "#146c43" if tone(row["failed__change"], "down") == "good" else "#b02a37"
        assert f"color:{colour};'>{format_change(row['failed__change'])}</td>" in html
    earlier_end = TODAY - 14 * DAY
    start = earlier_end - 12 * DAY
    assert f"the previous period, {start} to {earlier_end} (UTC)" in html
    assert f"compared with the previous period, {start} to {earlier_end} (UTC)" in str(
        run_summary(result)
    )


def test_the_builder_offers_a_comparison_beside_the_date_range(hub: Hub) -> None:
    definition, _dims, _note = form.assemble(
        dataset_id="flow_runs", measures=["total_runs"], dimensions=[], grain=None,
        range_choice="30d", start=None, end=None, viz="table", flow_id=None, filter_rows=[],
        compare="previous_year",
    )  # fmt: skip
    assert definition["compare"] == "previous_year"
    assert form.controls_from(definition)["compare"] == "previous_year"
    assert form.controls_from({"dataset": "flow_runs"})["compare"] == form.NO_COMPARISON
    user = HubUser(id=1, tenant_id=hub.tenant_id("acme"), tenant_slug="acme",
                   tenant_name="Acme", email="a@acme.example", name="A",
                   leaves=frozenset(Leaf))  # fmt: skip
    page = builder.layout(user, definition=definition)
    picker = next(c for c in page._traverse() if getattr(c, "id", None) == ids.B_COMPARE)
    assert picker.value == "previous_year"
    assert [o["label"] for o in picker.options] == [
        "No comparison", "Previous period", "Previous year"]  # fmt: skip


def test_a_click_on_a_previous_or_change_cell_drills_into_its_measure() -> None:
    definition = validate({"dataset": "flow_runs", "measures": ["total_runs", "failed"],
                           "dimensions": [{"id": "status"}],
                           "compare": "previous_period"})  # fmt: skip
    for column in ("failed__previous", "failed__change", "failed"):
        clicked = {"rowId": '{"status": "failed"}', "colId": column}
        assert drill_panel._bucket(False, clicked, definition) == Bucket(
            "failed", {"status": "failed"}
        )
