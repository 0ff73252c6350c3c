"""The Event Explorer on the server: each callback and the CSV route refuse a role
without the telemetry leaf, a conversation of another tenant has no timeline, and the
CSV export holds the filtered events, neutralised."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import flask
import pytest
import sqlalchemy as sa

from db import schema as s
from db.events import EXPORT_ROWS
from tests import callbacks
from tests.conftest import Hub
from tests.web import sign_in

EXPLORER_INPUTS = (
    ("events-poll", "n_intervals"),
    ("events-start", "start_date"),
    ("events-event", "search_value"),
    ("events-conversation", "n_clicks"),
)


def _post(client: flask.testing.FlaskClient, input_id: str, prop: str,
          fill: dict[str, Any]) -> Any:  # fmt: skip
    key, _ = callbacks.find(input_id, prop)
    body = callbacks.build(key, lambda c, p: fill.get(p), match=fill.get("match", {}))
    return client.post("/_dash-update-component", json=body)


@pytest.mark.parametrize("email", ["viewer@acme.example", "analyst@acme.example"])
@pytest.mark.parametrize(("input_id", "prop"), EXPLORER_INPUTS)
def test_callbacks_refuse_roles_without_telemetry(
    flask_app: flask.Flask, email: str, input_id: str, prop: str
) -> None:
    """Without comerix.insights.telemetry every explorer callback is refused."""
    client = flask_app.test_client()
    assert sign_in(client, email).status_code == 302
    fill = {
        "n_intervals": 1,
        "n_clicks": 1,
        "start_date": "2026-01-05",
        "search_value": "o",
        "data": {"query": {}, "since": None, "is_newest": True},
        "match": {"conversation": 1},
    }
    response = _post(client, input_id, prop, fill)
    assert response.status_code == 200  # a refusal is the error toast (app.on_error)
    text = response.get_data(as_text=True)
    assert "Your role does not include viewing raw telemetry." in text and "events-rows" not in text


def test_a_globex_conversation_has_no_timeline_for_acme(hub: Hub, flask_app: flask.Flask) -> None:
    """Acme's admin clicking a Globex conversation id gets 'There is no such conversation'."""
    with hub.admin.connect() as conn:
        globex = conn.scalar(
            sa.text("SELECT conversation_id FROM ins_telemetry_events WHERE tenant_id = :t"
                    " AND conversation_id IS NOT NULL LIMIT 1"),
            {"t": hub.tenant_id("globex")},
        )  # fmt: skip
    client = flask_app.test_client()
    assert sign_in(client, "admin@acme.example").status_code == 302
    response = _post(client, "events-conversation", "n_clicks",
                     {"n_clicks": 1, "match": {"conversation": globex}})  # fmt: skip
    assert response.status_code == 200
    assert "There is no such conversation." in response.get_data(as_text=True)


def test_csv_export_holds_the_filtered_events_neutralised(hub: Hub, flask_app: flask.Flask) -> None:
    """The CSV of an event filter has the hand-SQL newest rows (at most 5000), and an event
    name that a spreadsheet would run as a formula starts with a quote."""
    acme = hub.tenant_id("acme")
    with hub.cron.begin() as conn:
        formula_id = conn.scalar(sa.insert(s.telemetry_events).values(
            tenant_id=acme, event_name="=HYPERLINK(1)", properties={},
            occurred_at=dt.datetime.now(dt.UTC)).returning(s.telemetry_events.c.id))  # fmt: skip
    try:
        _check_csv(hub, flask_app, acme)
    finally:
        with hub.cron.begin() as conn:
            conn.execute(sa.delete(s.telemetry_events).where(s.telemetry_events.c.id == formula_id))


def _check_csv(hub: Hub, flask_app: flask.Flask, acme: int) -> None:
    with hub.admin.connect() as conn:
        name, count = conn.execute(sa.text(
            "SELECT event_name, count(*) FROM ins_telemetry_events WHERE tenant_id = :t"
            " GROUP BY 1 ORDER BY 2 DESC LIMIT 1"), {"t": acme}).one()  # fmt: skip
        newest = conn.scalar(sa.text(
            "SELECT occurred_at FROM ins_telemetry_events WHERE tenant_id = :t AND"
            " event_name = :n ORDER BY occurred_at DESC, id DESC LIMIT 1"),
            {"t": acme, "n": name})  # fmt: skip
    client = flask_app.test_client()
    assert sign_in(client, "admin@acme.example").status_code == 302
    text = client.get(f"/admin/insights/events.csv?event={name}").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["Time (UTC)", "Event"] and len(rows) == 1 + min(count, EXPORT_ROWS)
    assert rows[1][0] == newest.astimezone(dt.UTC).isoformat() and rows[1][1] == name
    formula = client.get("/admin/insights/events.csv?event=%3DHYPERLINK(1)").get_data(as_text=True)
    assert list(csv.reader(io.StringIO(formula)))[1][1] == "'=HYPERLINK(1)"
    assert client.get("/admin/insights/events.csv?channel=fax").status_code == 400
    viewer = flask_app.test_client()
    assert sign_in(viewer, "viewer@acme.example").status_code == 302
    assert viewer.get("/admin/insights/events.csv").status_code == 403
