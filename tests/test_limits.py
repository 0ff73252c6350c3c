"""Input limits: bodies are capped (413), deep or malformed JSON and callbacks are 400s,
echoed values are cut short, and inputs that used to raise inside the app are clear 4xx.
"""

from __future__ import annotations

import json
import logging

import flask
import pytest
from flask.testing import FlaskClient

from db.goals import parse_goal
from db.schedules import parse_schedule
from errors import BadGoal, BadSchedule
from tests import callbacks
from tests.callbacks import value
from tests.web import sign_in

RUN = "/admin/analytics/reports/run"


@pytest.fixture
def admin(flask_app: flask.Flask) -> FlaskClient:
    client = flask_app.test_client()
    assert sign_in(client, "admin@acme.example").status_code == 302
    return client


def test_a_body_over_one_megabyte_is_413(admin: FlaskClient) -> None:
    """The report route and the callback endpoint refuse a 2 MB body with a clear 413."""
    big = json.dumps({"dataset": "chat", "padding": "x" * (2 * 1024 * 1024)})
    for path in (RUN, "/_dash-update-component"):
        response = admin.post(path, data=big, content_type="application/json")
        expected = {"error": "The request is too large: send at most 1 MB.", "status": 413}
        assert (response.status_code, response.get_json()) == (413, expected)


def test_echoed_values_are_cut_to_80_characters(admin: FlaskClient) -> None:
    """A 500 kB dataset id or key comes back as its first 79 characters and an ellipsis."""
    response = admin.post(RUN, json={"dataset": "d" * 500_000, "measures": ["m"]})
    assert response.status_code == 400
    assert response.get_json()["errors"][0] == {
        "path": "dataset",
        "message": "Unknown dataset '" + "d" * 79 + "…'; one of: chat, conversions, flow_runs, "
        "funnel, telemetry, token_usage",
    }
    response = admin.post(RUN, json={"dataset": "chat", "measures": ["conversations"],
                                     "k" * 500_000: 1})  # fmt: skip
    assert response.status_code == 400
    assert len(response.data) < 2000
    assert {"path": "k" * 79 + "…", "message": "Extra inputs are not permitted"} in (
        response.get_json()["errors"])  # fmt: skip


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deep_json_is_400(admin: FlaskClient, depth: int) -> None:
    """JSON nested past 32 levels is refused before any parser or validator recurses."""
    body = "[" * depth + "]" * depth
    for path in (RUN, "/admin/analytics/dashboard/layout", "/_dash-update-component"):
        send = admin.put if path.endswith("layout") else admin.post
        response = send(path, data=body, content_type="application/json")
        assert (response.status_code, response.get_json()) == (
            400, {"error": "the JSON body nests deeper than 32 levels", "status": 400})  # fmt: skip


MALFORMED_CALLBACKS = [
    "{}",
    "[]",
    '"output"',
    "not json at all",
    '{"output": 1, "outputs": [], "inputs": []}',
    '{"output": "hub-url.href", "outputs": {}, "inputs": "x"}',
    '{"output": "no-such-component.children", "outputs": {}, "inputs": []}',
    '{"output": "hub-report-list.children", "outputs": {}, "inputs": [], "changedPropIds": [1]}',
]


@pytest.mark.parametrize("body", MALFORMED_CALLBACKS)
def test_malformed_callback_bodies_are_400(
    admin: FlaskClient, body: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A callback body that is not what Dash's renderer sends is a 400, logged without a
    traceback."""
    with caplog.at_level(logging.INFO):
        response = admin.post("/_dash-update-component", data=body,
                              content_type="application/json")  # fmt: skip
    assert response.status_code == 400
    assert response.get_json()["error"] in {"malformed callback request", "unknown callback"}
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize("path", ["/_dash-component-suites/os/path.py",
                                  "/_dash-component-suites/dash/no-such-file.js",
                                  "/_dash-component-suites/../app.py"])  # fmt: skip
def test_unknown_dash_assets_are_404_without_a_traceback(
    flask_app: flask.Flask, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Signed out, a request for a file Dash does not serve is a 404, logged without a
    traceback."""
    with caplog.at_level(logging.INFO):
        response = flask_app.test_client().get(path)
    assert response.status_code == 404
    assert not [r for r in caplog.records if r.exc_info]


def test_schedule_hour_must_be_ascii_digits() -> None:
    """Superscript two is a digit to str.isdigit but not to int(): a 400 naming the hour."""
    for hour in ("\u00b2", "\u0661", "1e3", "99999999999999999999"):
        with pytest.raises(BadSchedule) as bad:
            parse_schedule(1, {"frequency": "daily", "hour": hour, "recipients": "a@b.example"})
        assert bad.value.issues == [("hour", "An hour from 0 to 23 (in its time zone)")]


def test_recipients_are_counted_before_they_are_validated() -> None:
    """100,000 recipients are refused by their count alone: one issue, and none of them is
    checked as an address (each would have been named as invalid)."""
    raw = {"frequency": "daily", "hour": 6, "recipients": [f"x{i}" for i in range(100_000)]}
    with pytest.raises(BadSchedule) as bad:
        parse_schedule(1, raw)
    assert bad.value.issues == [("recipients", "At most 20 recipients (100000 given)")]


def test_goal_value_rule_must_be_a_word() -> None:
    """A list (or any non-text) value rule is a 400 naming the field, not a TypeError."""
    for rule in (["fixed"], {"a": 1}, 3, None):
        with pytest.raises(BadGoal) as bad:
            parse_goal({"name": "Sale", "event_name": "sale", "value_rule": rule,
                        "default_currency": "EUR"})  # fmt: skip
        assert bad.value.issues == [("value_rule", "None, fixed or property")]


def _save_goal(admin: FlaskClient, editing: object):  # type: ignore[no-untyped-def]
    key, spec = callbacks.find("goal-save", "n_clicks")
    state = [value("goal-editing", "data", editing),
             *(value(s["id"], s["property"], None) for s in spec["state"][1:])]  # fmt: skip
    return callbacks.post(admin, key, inputs=[value("goal-save", "n_clicks", 1)],
                          state=state, changed=["goal-save.n_clicks"])  # fmt: skip


@pytest.mark.parametrize("editing", ["7", [7], {"id": 7}, 1.5])
def test_callback_values_must_fit_the_callbacks_types(admin: FlaskClient, editing: object) -> None:
    """A value that does not fit a callback parameter's type hint (the goal being edited is
    an id or None) is a 400 naming the parameter, before the callback runs."""
    response = _save_goal(admin, editing)
    expected = {"error": "malformed callback request: editing", "status": 400}
    assert (response.status_code, response.get_json()) == (400, expected)


@pytest.mark.parametrize("editing", [2**63, -1, 0])
def test_goal_save_with_an_id_out_of_range_is_not_found(
    admin: FlaskClient, editing: object
) -> None:
    """An integer that cannot be a goal's id answers "no such goal", and nothing is saved."""
    response = _save_goal(admin, editing)
    assert response.status_code == 200
    assert "There is no such goal." in response.get_data(as_text=True)
