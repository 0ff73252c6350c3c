"""The one access policy (permissions.py): a report's dataset leaf guards every action on
it, export jobs carry their report's leaf, and another tenant's objects are 404 first.

The Analyst holds analytics, reports.manage and goals, but not telemetry: the user the
probe found could overwrite, duplicate, delete and un-pin telemetry reports, and read a
telemetry export's file given its job id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import flask
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from db import schema as s
from jobs import queues
from tests import callbacks
from tests.callbacks import value
from tests.conftest import Hub
from tests.web import sign_in

TELEMETRY = {"dataset": "telemetry", "measures": ["events"], "dimensions": [{"id": "event_name"}],
             "date_range": {"preset": "30d"}, "viz": "bar"}  # fmt: skip
CHAT = {"dataset": "chat", "measures": ["conversations"], "date_range": {"preset": "30d"},
        "viz": "kpi"}  # fmt: skip
NO_TELEMETRY = "Your role does not include viewing raw telemetry."
TELEMETRY_LEAF = "comerix.insights.telemetry"
NO_REPORT = "There is no such report."


def _client(flask_app: flask.Flask, email: str) -> FlaskClient:
    client = flask_app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


@pytest.fixture
def telemetry_report(hub: Hub) -> Iterator[int]:
    """An Acme telemetry report, pinned and scheduled; removed after the test."""
    acme = hub.tenant_id("acme")
    with hub.cron.begin() as conn:
        report = conn.scalar(
            sa.insert(s.reports)
            .values(tenant_id=acme, name=f"Events {dt.datetime.now().timestamp()}",
                    definition=TELEMETRY)
            .returning(s.reports.c.id)
        )  # fmt: skip
        conn.execute(sa.insert(s.dashboard_pins).values(tenant_id=acme, report_id=report,
                                                        position=99, span=6))  # fmt: skip
        conn.execute(sa.insert(s.report_schedules).values(
            tenant_id=acme, report_id=report, frequency="daily", hour=6,
            recipients=["ops@acme.example"]))  # fmt: skip
    yield report
    with hub.cron.begin() as conn:
        conn.execute(sa.delete(s.reports).where(s.reports.c.id == report))


def _state(hub: Hub, report: int) -> tuple[object, ...]:
    """The report's definition and name, and whether it is pinned and scheduled."""
    with hub.cron.connect() as conn:
        row = conn.execute(sa.select(s.reports.c.definition, s.reports.c.name)
                           .where(s.reports.c.id == report)).one_or_none()  # fmt: skip
        pinned = conn.scalar(sa.select(sa.func.count()).select_from(s.dashboard_pins)
                             .where(s.dashboard_pins.c.report_id == report))  # fmt: skip
        scheduled = conn.scalar(sa.select(sa.func.count()).select_from(s.report_schedules)
                                .where(s.report_schedules.c.report_id == report))  # fmt: skip
    return (tuple(row) if row else None, pinned, scheduled)


def _copies(hub: Hub, report: int) -> int:
    with hub.cron.connect() as conn:
        name = conn.scalar(sa.select(s.reports.c.name).where(s.reports.c.id == report))
        return conn.scalar(sa.select(sa.func.count()).select_from(s.reports)
                           .where(s.reports.c.name.startswith(f"{name} (copy")))  # fmt: skip


def _save(client: FlaskClient, definition: dict, report: int | None, name: str):  # type: ignore[no-untyped-def]
    key, _ = callbacks.find("builder-save", "n_clicks")
    return callbacks.post(client, key, inputs=[value("builder-save", "n_clicks", 1)], state=[
        value("builder-definition", "data", definition), value("builder-name", "value", name),
        value("builder-description", "value", ""), value("builder-report-id", "data", report),
    ], changed=["builder-save.n_clicks"])  # fmt: skip


def _report_action(client: FlaskClient, button: str, report: object):  # type: ignore[no-untyped-def]
    key, _ = callbacks.find(button, "n_clicks")
    return callbacks.post(client, key, inputs=[value(button, "n_clicks", 1)],
                          state=[value("report-id", "data", report)],
                          changed=[f"{button}.n_clicks"])  # fmt: skip


def test_analyst_cannot_change_a_telemetry_report_in_any_way(
    hub: Hub, flask_app: flask.Flask, telemetry_report: int
) -> None:
    """Save over, save as another dataset, duplicate, delete, un-pin by the layout route
    (which the card's Unpin button calls too): each is refused with the telemetry leaf's
    message, and the report, its pin and its schedule are exactly as they were."""
    analyst = _client(flask_app, "analyst@acme.example")
    before = _state(hub, telemetry_report)
    assert before[1:] == (1, 1)
    for response in (
        _save(analyst, TELEMETRY | {"viz": "table"}, telemetry_report, "Overwritten"),
        _save(analyst, CHAT, telemetry_report, "Overwritten as chat"),
        _report_action(analyst, "report-duplicate", telemetry_report),
        _report_action(analyst, "report-delete-confirm", telemetry_report),
    ):
        assert NO_TELEMETRY in response.get_data(as_text=True)
    layout = analyst.get("/admin/analytics/dashboard/layout").get_json()["cards"]
    kept = [{"report_id": c["report_id"], "span": c["span"]} for c in layout
            if c["report_id"] != telemetry_report]  # fmt: skip
    put = analyst.put("/admin/analytics/dashboard/layout", json={"cards": kept})
    assert (put.status_code, put.get_json()["error"]) == (403, NO_TELEMETRY)
    assert _state(hub, telemetry_report) == before
    assert _copies(hub, telemetry_report) == 0


def test_analyst_cannot_save_a_new_telemetry_report(hub: Hub, flask_app: flask.Flask) -> None:
    """Saving needs the leaf of the dataset being saved, too."""
    analyst = _client(flask_app, "analyst@acme.example")
    response = _save(analyst, TELEMETRY, None, "Analyst's events")
    assert NO_TELEMETRY in response.get_data(as_text=True)
    with hub.cron.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(s.reports)
                           .where(s.reports.c.name == "Analyst's events")) == 0  # fmt: skip


def test_admin_may_do_all_of_it(hub: Hub, flask_app: flask.Flask, telemetry_report: int) -> None:
    """The same actions by a user holding telemetry go through: the rule is the leaf."""
    admin = _client(flask_app, "admin@acme.example")
    duplicated = _report_action(admin, "report-duplicate", telemetry_report).get_json()
    assert duplicated["response"]["hub-url"]["href"].endswith("/edit")
    assert _copies(hub, telemetry_report) == 1
    layout = admin.get("/admin/analytics/dashboard/layout").get_json()["cards"]
    kept = [{"report_id": c["report_id"], "span": c["span"]} for c in layout
            if c["report_id"] != telemetry_report]  # fmt: skip
    assert admin.put("/admin/analytics/dashboard/layout", json={"cards": kept}).status_code == 200
    assert _state(hub, telemetry_report)[1:] == (0, 1)
    _report_action(admin, "report-delete-confirm", telemetry_report)
    assert _state(hub, telemetry_report) == (None, 0, 0)


def test_another_tenant_gets_not_found_before_forbidden(
    hub: Hub, flask_app: flask.Flask, telemetry_report: int
) -> None:
    """Globex's admin (who holds every leaf) and Acme's viewer (who holds few) both learn
    nothing of an Acme report they may not touch: Globex gets 404 for it, as for an id that
    does not exist; an id out of range is a 404 too, and a value that is no id a 400."""
    globex = _client(flask_app, "admin@globex.example")
    for response in (
        _report_action(globex, "report-duplicate", telemetry_report),
        _report_action(globex, "report-delete-confirm", telemetry_report),
        _save(globex, CHAT, telemetry_report, "Globex was here"),
        _report_action(globex, "report-duplicate", 2**64),
        _report_action(globex, "report-duplicate", 0),
    ):
        assert NO_REPORT in response.get_data(as_text=True)
    for not_an_id in ("12; DROP TABLE", [telemetry_report]):  # refused before the callback
        response = _report_action(globex, "report-duplicate", not_an_id)
        assert (response.status_code, response.get_json()["error"]) == (
            400, "malformed callback request: report_id")  # fmt: skip
    for url in (f"/admin/analytics/reports/{telemetry_report}/export/csv",
                f"/admin/analytics/reports/{2**63}/export/csv",
                f"/admin/analytics/reports/{2**70}/export/xlsx"):  # fmt: skip
        response = globex.get(url)
        assert (response.status_code, response.get_json()["error"]) == (404, NO_REPORT)
    viewer = _client(flask_app, "viewer@acme.example")
    response = viewer.get(f"/admin/analytics/reports/{telemetry_report}/export/csv")
    assert (response.status_code, response.get_json()["error"]) == (403, NO_TELEMETRY)
    assert _state(hub, telemetry_report)[0] is not None


def _poll(client: FlaskClient, report: int, job_id: str):  # type: ignore[no-untyped-def]
    key, _ = callbacks.find("export-poll", "n_intervals")
    poll_id = {"type": "export-poll", "report": report}
    return callbacks.post(
        client,
        key,
        match={"report": report},
        inputs=[value(poll_id, "n_intervals", 1)],
        state=[value({"type": "export-job", "report": report}, "data", job_id)],
        changed=[f"{callbacks.id_text(poll_id)}.n_intervals"],
    )


def test_a_telemetry_export_job_is_read_only_with_the_telemetry_leaf(
    hub: Hub, flask_app: flask.Flask, telemetry_report: int
) -> None:
    """The admin's finished telemetry export: its status, its file and the poll callback
    refuse the analyst (who has the job id) with 403 and return no part of the file; the
    admin gets it; Globex's admin gets 404."""
    admin = _client(flask_app, "admin@acme.example")
    job_id = admin.post(f"/admin/analytics/reports/{telemetry_report}/export/csv/jobs",
                        json={}).get_json()["job_id"]  # fmt: skip
    hub.work(queues.EXPORTS)
    done = admin.get(f"/admin/analytics/exports/{job_id}").get_json()
    assert done["status"] == "finished"
    file = admin.get(done["download_url"])
    assert file.status_code == 200 and file.data.startswith(b"Event,Events\r\n")
    analyst = _client(flask_app, "analyst@acme.example")
    for url in (f"/admin/analytics/exports/{job_id}", done["download_url"]):
        response = analyst.get(url)
        assert (response.status_code, response.get_json()) == (
            403, {"error": NO_TELEMETRY, "status": 403, "leaf": TELEMETRY_LEAF})  # fmt: skip
    polled = _poll(analyst, telemetry_report, job_id).get_data(as_text=True)
    assert NO_TELEMETRY in polled and "base64" not in polled and done["filename"] not in polled
    assert "base64" in _poll(admin, telemetry_report, job_id).get_data(as_text=True)
    globex = _client(flask_app, "admin@globex.example")
    for url in (f"/admin/analytics/exports/{job_id}", done["download_url"]):
        assert globex.get(url).status_code == 404
