"""CSV and XLSX exports: same rows and text as the screen, capped, safe, tenant-bound."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import flask
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from openpyxl import load_workbook

from datasets.model import Mode
from datasets.run import run_report
from datasets.validate import validate
from db import schema as s
from jobs import queues
from tests.conftest import Hub
from tests.web import sign_in

ROOT = Path(__file__).resolve().parent.parent
STARTED = dt.datetime.now(dt.UTC)
TODAY = STARTED.date()
WINDOW = {"start": (TODAY - dt.timedelta(days=59)).isoformat(), "end": TODAY.isoformat()}

REPORTS = {
    "conversions": {"dataset": "conversions", "measures": ["conversions", "revenue",
                    "avg_value"], "dimensions": [{"id": "goal"}, {"id": "currency"}],
                    "date_range": WINDOW, "viz": "table"},
    "chat": {"dataset": "chat", "measures": ["conversations", "engaged",
             "messages_per_conversation"], "dimensions": [{"id": "time", "grain": "week"}],
             "date_range": WINDOW, "viz": "line"},
    "token_usage": {"dataset": "token_usage", "measures": ["total_tokens", "cost",
                    "avg_tokens_per_message"], "dimensions": [{"id": "flow"}],
                    "date_range": WINDOW, "viz": "table"},
    "flow_runs": {"dataset": "flow_runs", "measures": ["total_runs", "success_rate",
                  "avg_duration", "p95_duration"], "dimensions": [{"id": "status"}],
                  "date_range": WINDOW, "viz": "table"},
    "telemetry": {"dataset": "telemetry", "measures": ["events", "distinct_conversations"],
                  "dimensions": [{"id": "event_name"}], "date_range": WINDOW, "viz": "bar"},
    "big": {"dataset": "conversions", "measures": ["conversions", "revenue"],
            "dimensions": [{"id": "time", "grain": "day"}, {"id": "channel"},
                           {"id": "currency"}],
            "date_range": {"preset": "365d"}, "viz": "table"},
}  # fmt: skip
INJECTIONS = ('=HYPERLINK("http://evil.example")', "+1+1", "-2", "@SUM(A1)")
INJECTIONS_START = ("=", "+", "-", "@")


@pytest.fixture(scope="module")
def reports(hub: Hub) -> dict[str, int]:
    """One saved report per dataset for Acme (plus a big one), and telemetry events whose
    names would be formulas in a spreadsheet."""
    acme = hub.tenant_id("acme")
    now = dt.datetime.now(dt.UTC)
    ids = {}
    with hub.cron.begin() as conn:
        conn.execute(
            sa.insert(s.telemetry_events),
            [{"tenant_id": acme, "event_name": name, "properties": {}, "occurred_at": now}
             for name in INJECTIONS],
        )  # fmt: skip
        for key, definition in REPORTS.items():
            ids[key] = conn.scalar(
                sa.insert(s.reports)
                .values(tenant_id=acme, name=f"Export {key} / check", definition=definition)
                .returning(s.reports.c.id)
            )
        flow = conn.scalar(sa.text("SELECT min(id) FROM fs_flows WHERE tenant_id = :t"),
                           {"t": acme})  # fmt: skip
        ids["funnel"] = conn.scalar(
            sa.insert(s.reports)
            .values(tenant_id=acme, name="Export funnel / check", definition={
                "dataset": "funnel", "flow_id": flow, "date_range": WINDOW, "viz": "funnel"})
            .returning(s.reports.c.id)
        )  # fmt: skip
    return ids


@pytest.fixture
def admin(flask_app: flask.Flask, hub: Hub) -> FlaskClient:
    client = flask_app.test_client()
    assert sign_in(client, "admin@acme.example").status_code == 302
    return client


def _screen(hub: Hub, key: str) -> tuple[list[str], list[list[str]], bool]:
    definition = validate(REPORTS[key])
    result = run_report(definition, tenant_id=hub.tenant_id("acme"), mode=Mode.EXPORT,
                        engine=hub.web, today=TODAY)  # fmt: skip
    return [c.label for c in result.columns], result.formatted(), result.truncated


@pytest.mark.parametrize("key", ["conversions", "chat", "token_usage", "flow_runs", "telemetry"])
def test_csv_has_exactly_the_screen_rows_and_text(
    hub: Hub, reports: dict[str, int], admin: FlaskClient, key: str
) -> None:
    """Header of labels, then every row as the formatter shows it; no totals row."""
    response = admin.get(f"/admin/analytics/reports/{reports[key]}/export/csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="export-{key.replace("_", "-")}-check-{TODAY.isoformat()}.csv"'
    )
    header, rows, _ = _screen(hub, key)
    parsed = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert parsed[0] == header
    neutralised = [[f"'{v}" if v.startswith(INJECTIONS_START) else v for v in row]
                   for row in rows]  # fmt: skip
    assert parsed[1:] == (neutralised if key == "telemetry" else rows)
    assert rows


def test_csv_neutralises_formula_injection(reports: dict[str, int], admin: FlaskClient) -> None:
    """Event names that start like formulas are prefixed with a quote."""
    body = admin.get(f"/admin/analytics/reports/{reports['telemetry']}/export/csv")
    names = {row[0] for row in csv.reader(io.StringIO(body.get_data(as_text=True)))}
    assert {f"'{name}" for name in INJECTIONS} <= names
    assert not any(name.startswith(INJECTIONS_START) for name in names)


def test_xlsx_keeps_numbers_numeric_with_screen_formats(
    hub: Hub, reports: dict[str, int], admin: FlaskClient
) -> None:
    """Numbers are numbers with formats that show the screen's text; header bold, frozen;
    an About sheet describes the report."""
    response = admin.get(f"/admin/analytics/reports/{reports['flow_runs']}/export/xlsx")
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    assert sheet.title == "Export flow_runs   check"
    assert sheet.freeze_panes == "A2" and all(c.font.bold for c in sheet[1])
    header, rows, _ = _screen(hub, "flow_runs")
    assert [c.value for c in sheet[1]] == header
    assert sheet.max_row == len(rows) + 1
    for cells in sheet.iter_rows(min_row=2):
        _status, runs, rate, avg, _p95 = cells
        assert isinstance(runs.value, int) and runs.number_format == "#,##0"
        assert rate.value is None or isinstance(rate.value, int | float)
        assert rate.number_format == "0.0%"
        assert avg.number_format == '[<1000]0" ms";#,##0.0," s"'
    about = dict(book["About"].iter_rows(values_only=True))
    assert about["Dataset"] == "Flow runs"
    assert about["Measures"] == "Runs, Success rate, Avg duration, p95 duration"
    assert about["Computed from"] == (
        "Runs, Success rate, Avg duration from daily totals, with today's rows live; "
        "p95 duration from daily duration histograms (within 1 %), with today's rows live"
    )
    assert about["Rows"] == str(len(rows)) and about["Truncated"] == "No"
    as_of = dt.datetime.strptime(about["Data as of"], "%Y-%m-%d %H:%M UTC").replace(tzinfo=dt.UTC)
    assert STARTED.replace(second=0, microsecond=0) <= as_of <= dt.datetime.now(dt.UTC)


def test_xlsx_currency_cells_carry_their_row_currency(
    reports: dict[str, int], admin: FlaskClient
) -> None:
    """Revenue is a number formatted with the currency of its row."""
    response = admin.get(f"/admin/analytics/reports/{reports['conversions']}/export/xlsx")
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    for _goal, currency, _count, revenue, _avg in sheet.iter_rows(min_row=2):
        assert revenue.number_format == f'#,##0.00" {currency.value}"'
        assert isinstance(revenue.value, int | float)


def test_exports_stop_at_5000_rows_and_say_so(reports: dict[str, int], admin: FlaskClient) -> None:
    """A report with more rows is cut at the export cap, and the About sheet says it."""
    csv_rows = admin.get(f"/admin/analytics/reports/{reports['big']}/export/csv")
    assert len(list(csv.reader(io.StringIO(csv_rows.get_data(as_text=True))))) == 5001
    book = load_workbook(io.BytesIO(
        admin.get(f"/admin/analytics/reports/{reports['big']}/export/xlsx").data))  # fmt: skip
    assert book.worksheets[0].max_row == 5001
    assert dict(book["About"].iter_rows(values_only=True))["Truncated"] == (
        "Yes, at 5000 rows (the latest periods)"
    )


def test_funnel_exports(reports: dict[str, int], admin: FlaskClient) -> None:
    """The funnel exports its steps with counts and percentages."""
    body = admin.get(f"/admin/analytics/reports/{reports['funnel']}/export/csv")
    rows = list(csv.reader(io.StringIO(body.get_data(as_text=True))))
    assert rows[0] == ["Step", "Reached", "Drop-off", "Conversion"]
    assert rows[1][0].startswith("1. ") and rows[1][2] == "—" and rows[1][3] == "100.0%"


def test_unknown_format_and_other_tenants_report_are_404(
    flask_app: flask.Flask, reports: dict[str, int], admin: FlaskClient
) -> None:
    """Only csv and xlsx exist; Globex cannot export Acme's report, even knowing its id."""
    assert admin.get(f"/admin/analytics/reports/{reports['chat']}/export/pdf").status_code == 404
    globex = flask_app.test_client()
    sign_in(globex, "admin@globex.example")
    response = globex.get(f"/admin/analytics/reports/{reports['chat']}/export/csv")
    assert response.status_code == 404


def test_viewer_can_export(flask_app: flask.Flask, reports: dict[str, int]) -> None:
    """Export needs only the analytics leaf."""
    viewer = flask_app.test_client()
    sign_in(viewer, "viewer@acme.example")
    response = viewer.get(f"/admin/analytics/reports/{reports['chat']}/export/xlsx")
    assert response.status_code == 200


def test_export_job_on_a_real_worker(
    hub: Hub, flask_app: flask.Flask, reports: dict[str, int], admin: FlaskClient
) -> None:
    """Enqueue, a worker writes the file, the status says done, the download has the same
    bytes as the direct route; another tenant gets 404 for the job and its file."""
    url = f"/admin/analytics/reports/{reports['chat']}/export/csv"
    queued = admin.post(f"{url}/jobs", json={})
    assert queued.status_code == 202
    job_id = queued.get_json()["job_id"]
    assert admin.get(f"/admin/analytics/exports/{job_id}").get_json()["status"] == "queued"
    hub.work(queues.EXPORTS)
    status = admin.get(f"/admin/analytics/exports/{job_id}").get_json()
    assert (status["status"], status["stage"]) == ("finished", "done")
    file = admin.get(status["download_url"])
    assert file.status_code == 200
    assert file.data == admin.get(url).data
    globex = flask_app.test_client()
    sign_in(globex, "admin@globex.example")
    assert globex.get(f"/admin/analytics/exports/{job_id}").status_code == 404
    assert globex.get(status["download_url"]).status_code == 404


def test_failed_export_job_reports_its_error(
    hub: Hub, reports: dict[str, int], admin: FlaskClient
) -> None:
    """A report that can no longer run fails its job, and the status shows why."""
    with hub.cron.begin() as conn:
        broken = conn.scalar(
            sa.insert(s.reports)
            .values(tenant_id=hub.tenant_id("acme"), name="Broken export",
                    definition={"dataset": "chat", "measures": ["gone"], "viz": "table"})
            .returning(s.reports.c.id)
        )  # fmt: skip
    job_id = admin.post(f"/admin/analytics/reports/{broken}/export/xlsx/jobs", json={}).get_json()[
        "job_id"
    ]
    hub.work(queues.EXPORTS)
    status = admin.get(f"/admin/analytics/exports/{job_id}").get_json()
    assert status["status"] == "failed"
    assert status["error"].startswith("measures[0]: Unknown measure 'gone' for chat")
