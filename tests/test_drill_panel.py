"""Drill-down from the screen: charts and grids name each point's bucket, and a click
opens the side panel with the rows behind the number (count equal to the clicked value,
by hand SQL), for whoever may read the report, and nobody else."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import flask
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from components import chart_rows, charts, drill_panel, ids
from components import grid as grids
from datasets.model import Mode
from datasets.run import Result, run_report
from datasets.validate import validate
from db import schema as s
from tests import callbacks
from tests.conftest import Hub
from tests.web import sign_in

TODAY = dt.datetime.now(dt.UTC).date()
WINDOW = {"start": (TODAY - dt.timedelta(days=6)).isoformat(), "end": TODAY.isoformat()}
NO_TELEMETRY = "Your role does not include viewing raw telemetry."
NO_MANAGE = "Your role does not include managing reports."
DAILY = {"dataset": "conversions", "measures": ["conversions"],
         "dimensions": [{"id": "time", "grain": "day"}], "date_range": WINDOW,
         "viz": "line"}  # fmt: skip
BY_CHANNEL = {**DAILY, "dimensions": [{"id": "channel"}], "viz": "bar"}
EVENTS = {"dataset": "telemetry", "measures": ["events"], "dimensions": [{"id": "event_name"}],
          "date_range": WINDOW, "viz": "bar"}  # fmt: skip


def _run(hub: Hub, raw: dict[str, Any]) -> Result:
    return run_report(validate(raw), tenant_id=hub.tenant_id("acme"), mode=Mode.SAVED,
                      engine=hub.web, today=TODAY)  # fmt: skip


def _hand_day(hub: Hub, day: dt.date) -> int:
    lo = dt.datetime.combine(day, dt.time(), dt.UTC)
    with hub.admin.connect() as conn:
        return conn.scalar(sa.text(
            "SELECT count(*) FROM ins_goal_completions WHERE tenant_id = :t "
            "AND completed_at >= :lo AND completed_at < :hi"),
            {"t": hub.tenant_id("acme"), "lo": lo, "hi": lo + dt.timedelta(days=1)})  # fmt: skip


@pytest.fixture
def reports(hub: Hub) -> Iterator[dict[str, int]]:
    acme = hub.tenant_id("acme")
    made = {}
    with hub.cron.begin() as conn:
        for name, definition in (("daily", DAILY), ("channels", BY_CHANNEL), ("events", EVENTS)):
            made[name] = conn.scalar(sa.insert(s.reports).values(
                tenant_id=acme, name=f"Drill {name}", definition=definition,
            ).returning(s.reports.c.id))  # fmt: skip
    yield made
    with hub.cron.begin() as conn:
        conn.execute(sa.delete(s.reports).where(s.reports.c.id.in_(made.values())))


def test_each_point_and_grid_row_names_its_bucket(hub: Hub) -> None:
    """A line's points and a grid's rows carry the row's breakdown values as stored (the
    day as "YYYY-MM-DD", the channel unescaped), and the measure for a point."""
    daily = _run(hub, DAILY)
    done, today = charts.figure(daily).data  # today, not over, is a dotted segment of its own
    days = [d.isoformat() for d in daily.frame["time"]]
    assert [*done.customdata, today.customdata[-1]] == [
        {"measure": "conversions", "values": {"time": d}} for d in days]  # fmt: skip
    grid = grids.table(_run(hub, BY_CHANNEL), grid_id="g")
    channels = list(_run(hub, BY_CHANNEL).frame["channel"])
    assert [json.loads(r[chart_rows.DRILL_ID]) for r in grid.rowData] == [
        {"channel": c} for c in channels]  # fmt: skip
    assert grid.getRowId == f"params.data.{chart_rows.DRILL_ID}"
    pie = _run(hub, {**BY_CHANNEL, "viz": "pie"})
    (slices,) = charts.figure(pie).data
    largest = pie.frame.sort_values("conversions", ascending=False)["channel"]
    assert [p["values"] for p in slices.customdata] == [{"channel": c} for c in largest]


def _client(flask_app: flask.Flask, email: str) -> FlaskClient:
    client = flask_app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def _click(client: FlaskClient, report: int, *, point: Any = None, row: Any = None) -> str:
    """Posts the panel's callback as a click on the report's chart point or grid row."""
    key, _ = callbacks.find(drill_panel.CHART, "clickData")
    chart, grid = drill_panel.drill_chart(report), drill_panel.drill_grid(report)
    changed = f"{callbacks.id_text(chart)}.clickData" if point is not None else (
        f"{callbacks.id_text(grid)}.cellClicked")  # fmt: skip
    answer = callbacks.post(client, key, inputs=[
        [callbacks.value(chart, "clickData", point)],
        [callbacks.value(grid, "cellClicked", row)],
    ], changed=[changed])  # fmt: skip
    return f"{answer.status_code} {answer.get_data(as_text=True)}"


def _summary(answer: str) -> str:
    status, _, body = answer.partition(" ")
    assert status == "200", answer
    tree = json.loads(body)["response"]
    (found,) = [c for c in callbacks.components(tree) if c["props"].get("id") == "drill-summary"]
    return found["props"]["children"]


def test_a_point_and_a_row_open_the_rows_behind_them(
    hub: Hub, flask_app: flask.Flask, reports: dict[str, int]
) -> None:
    """A Viewer clicks yesterday's point and then the grid's row of the same day: both
    count the day's goal completions by hand SQL; a bar of a channel counts its own."""
    viewer = _client(flask_app, "viewer@acme.example")
    day = TODAY - dt.timedelta(days=1)
    bucket = {"measure": "conversions", "values": {"time": day.isoformat()}}
    expected = f"{_hand_day(hub, day):,} goal completions"
    assert _summary(_click(viewer, reports["daily"], point={"points": [
        {"customdata": bucket}]})) == expected  # fmt: skip
    row = {"rowId": json.dumps({"time": day.isoformat()}), "colId": "time", "rowIndex": 3}
    assert _summary(_click(viewer, reports["daily"], row=row)) == expected


def test_a_click_outside_a_bucket_or_the_report_shows_why_and_runs_nothing(
    hub: Hub, flask_app: flask.Flask, reports: dict[str, int]
) -> None:
    """ "Other" (no customdata) opens nothing; a forged bucket is named, never queried;
    another tenant's admin gets "no such report"; without telemetry, no event rows."""
    viewer = _client(flask_app, "viewer@acme.example")
    assert _click(viewer, reports["daily"], point={"points": [{}]}) == (
        '200 {"multi":true,"response":{}}')  # fmt: skip
    forged = {"measure": "conversions", "values": {"channel": "web"}}
    answer = _click(viewer, reports["daily"], point={"points": [{"customdata": forged}]})
    assert "These rows cannot be shown" in answer
    foreign = _client(flask_app, "admin@globex.example")
    bucket = {"measure": "conversions", "values": {"time": TODAY.isoformat()}}
    answer = _click(foreign, reports["daily"], point={"points": [{"customdata": bucket}]})
    assert "There is no such report." in answer and "goal completions" not in answer
    analyst = _client(flask_app, "analyst@acme.example")
    events = {"measure": "events", "values": {"event_name": "conversation_started"}}
    answer = _click(analyst, reports["events"], point={"points": [{"customdata": events}]})
    assert NO_TELEMETRY in answer and "drill-summary" not in answer


def test_the_filtered_report_link_opens_the_builder_on_the_point(
    hub: Hub, flask_app: flask.Flask, reports: dict[str, int]
) -> None:
    """An admin's panel links to the builder on the report narrowed to the point; the
    builder page opens on that definition; a Viewer gets no such link."""
    admin = _client(flask_app, "admin@acme.example")
    bucket = {"measure": "conversions", "values": {"channel": _run(hub, BY_CHANNEL).frame[
        "channel"].iloc[0]}}  # fmt: skip
    answer = _click(admin, reports["channels"], point={"points": [{"customdata": bucket}]})
    tree = json.loads(answer.partition(" ")[2])["response"]
    (link,) = [c for c in callbacks.components(tree) if c["props"].get("id") == "drill-report"]
    href = link["props"]["href"]
    assert href.startswith("/admin/analytics/reports/new?definition=")
    path, _, query = href.partition("?")
    page = callbacks.page(admin, path, f"?{query}")
    assert page.status_code == 200 and "New report from a drill-down" in page.get_data(as_text=True)
    for junk in ('{"dataset": "nope"}', "[1]", "not json"):  # the builder opens blank
        page = callbacks.page(admin, path, f"?{urlencode({'definition': junk})}")
        text = page.get_data(as_text=True)
        assert page.status_code == 200 and "hub-builder" in text and "hub-error-toast" not in text
        assert "New report from a drill-down" not in text
    viewer = _client(flask_app, "viewer@acme.example")
    answer = _click(viewer, reports["channels"], point={"points": [{"customdata": bucket}]})
    assert "drill-summary" in answer and "drill-report" not in answer


def _click_draft(client: FlaskClient, definition: dict[str, Any], point: Any) -> str:
    key, _ = callbacks.find("builder-chart", "clickData")
    answer = callbacks.post(client, key, inputs=[
        [callbacks.value(ids.B_CHART, "clickData", point)], [],
    ], state=[callbacks.value("builder-definition", "data", definition)],
       changed=[f"{callbacks.id_text(ids.B_CHART)}.clickData"])  # fmt: skip
    return f"{answer.status_code} {answer.get_data(as_text=True)}"


def test_the_builder_preview_drills_under_the_definition_being_built(
    hub: Hub, flask_app: flask.Flask
) -> None:
    """An Analyst's click on an unsaved report's point counts the day by hand SQL; a
    Viewer cannot build, so cannot drill there; the Analyst gets no event rows."""
    day = TODAY - dt.timedelta(days=2)
    point = {"points": [{"customdata": {"measure": "conversions",
                                        "values": {"time": day.isoformat()}}}]}  # fmt: skip
    analyst = _client(flask_app, "analyst@acme.example")
    assert _summary(_click_draft(analyst, DAILY, point)) == (
        f"{_hand_day(hub, day):,} goal completions")  # fmt: skip
    viewer = _client(flask_app, "viewer@acme.example")
    refused = _click_draft(viewer, DAILY, point)
    assert NO_MANAGE in refused and "drill-summary" not in refused
    events = {"points": [{"customdata": {"measure": "events",
                                         "values": {"event_name": "x"}}}]}  # fmt: skip
    refused = _click_draft(analyst, EVENTS, events)
    assert NO_TELEMETRY in refused and "drill-summary" not in refused
