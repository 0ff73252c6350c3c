"""The Event Explorer's callbacks on the server: each one refuses a role without the
telemetry leaf, and a conversation of another tenant has no timeline."""

from __future__ import annotations

from typing import Any

import flask
import pytest
import sqlalchemy as sa

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
    assert "does not grant comerix.insights.telemetry" in text and "events-rows" not in text


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
