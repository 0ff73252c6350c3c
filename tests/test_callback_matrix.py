"""Every registered server-side Dash callback, by every way of triggering it, as four users.

Like datasette's permission matrix, but over the app's own callback map, so a callback
added tomorrow is in it without anyone adding it here. Each callback is posted with
plausible values aimed at Acme's objects — a telemetry report that is pinned, scheduled
with a failed delivery, alerted on and versioned, a goal, a telemetry export job — as:

- nobody: every request is a 401;
- Acme's Viewer (analytics only) and Acme's Analyst (no telemetry, no goals.manage):
  whatever they post, the telemetry report, its pin, schedule, failed delivery, alert
  and versions, and the goal stay as they were, nothing is emailed, and nothing named by
  the attacker is created;
- Globex's admin (every leaf, another tenant): the same, and no response carries any of
  Acme's objects' names or the export's file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dash
import flask
import pytest
import sqlalchemy as sa

from db import schema as s
from tests import callbacks
from tests.conftest import Hub
from tests.web import sign_in

TELEMETRY = {"dataset": "telemetry", "measures": ["events"], "dimensions": [{"id": "event_name"}],
             "date_range": {"preset": "30d"}, "viz": "bar"}  # fmt: skip
REPORT_NAME = "Acme matrix events"
GOAL_NAME = "Acme matrix goal"
ATTACKER = "Matrix hijack"
SPY = "spy@evil.example"
USERS = ("viewer@acme.example", "analyst@acme.example", "admin@globex.example")


@pytest.fixture(scope="module")
def acme(hub: Hub, flask_app: flask.Flask) -> Iterator[dict[str, Any]]:
    """Acme's telemetry report (pinned, scheduled), a goal, and a telemetry export job
    started by Acme's admin."""
    tenant = hub.tenant_id("acme")
    with hub.cron.begin() as conn:
        report = conn.scalar(
            sa.insert(s.reports)
            .values(tenant_id=tenant, name=REPORT_NAME, definition=TELEMETRY)
            .returning(s.reports.c.id)
        )
        conn.execute(
            sa.insert(s.dashboard_pins).values(
                tenant_id=tenant, report_id=report, position=50, span=6
            )
        )
        conn.execute(
            sa.insert(s.report_schedules).values(
                tenant_id=tenant,
                report_id=report,
                frequency="weekly",
                hour=5,
                weekday=2,
                recipients=["ops@acme.example"],
            )
        )
        delivery = conn.scalar(
            sa.insert(s.report_deliveries)
            .values(tenant_id=tenant, report_id=report, kind="manual", due_at=sa.func.now(),
                    state="failed", attempts=1, recipients=["ops@acme.example"], outcomes={},
                    error="550 No such mailbox")
            .returning(s.report_deliveries.c.id)
        )  # fmt: skip
        alert = conn.scalar(
            sa.insert(s.report_alerts)
            .values(tenant_id=tenant, report_id=report, measure="events", condition="above",
                    threshold=1, cooldown_hours=24, recipients=["ops@acme.example"],
                    active=True)
            .returning(s.report_alerts.c.id)
        )  # fmt: skip
        goal = conn.scalar(
            sa.insert(s.goals)
            .values(
                tenant_id=tenant,
                name=GOAL_NAME,
                event_name="matrix_goal",
                active=True,
                value_rule="none",
                default_currency="EUR",
            )
            .returning(s.goals.c.id)
        )
    admin = flask_app.test_client()
    sign_in(admin, "admin@acme.example")
    job = admin.post(f"/admin/analytics/reports/{report}/export/csv/jobs", json={}).get_json()
    yield {
        "report": report,
        "goal": goal,
        "job": job["job_id"],
        "delivery": delivery,
        "alert": alert,
    }
    with hub.cron.begin() as conn:
        conn.execute(sa.delete(s.reports).where(s.reports.c.id == report))
        conn.execute(sa.delete(s.goals).where(s.goals.c.id == goal))


def _fill(acme: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Plausible values for each input and state, aimed at Acme's objects."""
    named = {
        "report-id": acme["report"], "builder-report-id": acme["report"],
        "landing-delete-target": acme["report"],
        "builder-definition": TELEMETRY, "builder-debounced": TELEMETRY,
        "goal-editing": acme["goal"], "builder-dataset": "telemetry",
        "builder-name": ATTACKER, "goal-name": ATTACKER, "goal-event-name": "matrix_hijack",
        "goal-value-rule": "none", "goal-default-currency": "EUR", "goal-active": True,
        "schedule-frequency": "daily", "schedule-hour": "7", "schedule-weekday": "1",
        "schedule-recipients": SPY, "builder-description": "", "hub-report-search": "",
        "schedule-time-zone": "Europe/Berlin", "schedule-attachment": "xlsx",
        "schedule-paused": False, "schedule-skip-empty": True, "alert-measure": "events",
        "alert-condition": "above", "alert-threshold": "1", "alert-cooldown": 1,
        "alert-recipients": SPY,
    }  # fmt: skip
    by_type = {"pin-toggle": "pinned", "pin-card-span": "12", "export-job": acme["job"]}

    def fill(component: str | dict[str, Any], prop: str) -> Any:
        if prop in ("n_clicks", "n_intervals"):
            return 1
        if prop == "pathname":
            return "/admin/analytics"
        if isinstance(component, dict):
            return component if prop == "id" else by_type.get(component["type"])
        return named.get(component)

    return fill


def _acme_state(hub: Hub, acme: dict[str, Any]) -> tuple[Any, ...]:
    with hub.cron.connect() as conn:

        def rows(query: Any) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in conn.execute(query)]

        return (
            rows(sa.select(s.reports.c.name, s.reports.c.definition)
                 .where(s.reports.c.id == acme["report"])),
            rows(sa.select(s.dashboard_pins.c.report_id)
                 .where(s.dashboard_pins.c.report_id == acme["report"])),
            rows(sa.select(s.report_schedules.c.frequency, s.report_schedules.c.hour,
                           s.report_schedules.c.recipients)
                 .where(s.report_schedules.c.report_id == acme["report"])),
            rows(sa.select(s.goals.c.name, s.goals.c.event_name, s.goals.c.active)
                 .where(s.goals.c.id == acme["goal"])),
            rows(sa.select(s.reports.c.id).where(s.reports.c.name.startswith(ATTACKER))),
            rows(sa.select(s.goals.c.id).where(s.goals.c.name == ATTACKER)),
            rows(sa.select(s.report_schedules.c.id)
                 .where(sa.literal(SPY) == sa.any_(s.report_schedules.c.recipients))),
            rows(sa.select(s.report_deliveries.c.id, s.report_deliveries.c.state)
                 .where(s.report_deliveries.c.report_id == acme["report"])),
            rows(sa.select(s.report_alerts.c.id, s.report_alerts.c.recipients,
                           s.report_alerts.c.threshold)
                 .where(s.report_alerts.c.report_id == acme["report"])),
            rows(sa.select(s.report_versions.c.version, s.report_versions.c.name)
                 .where(s.report_versions.c.report_id == acme["report"])),
        )  # fmt: skip


def _requests(acme: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every server-side callback, once per input as the trigger."""
    match = {"report": acme["report"], "goal": acme["goal"], "index": 0, "fmt": "csv",
             "delivery": acme["delivery"], "alert": acme["alert"], "version": 1}  # fmt: skip
    for key in callbacks.server_side(dash.get_app()):
        spec = dash.get_app().callback_map[key]
        for trigger in range(max(1, len(spec["inputs"]))):
            yield key, callbacks.build(key, _fill(acme), match=match, trigger=trigger)


def test_the_matrix_covers_every_callback(flask_app: flask.Flask) -> None:
    """The walk finds every page's callbacks (a guard against an empty matrix)."""
    keys = callbacks.server_side(dash.get_app())
    assert len(keys) >= 20
    for part in (
        "builder-saved-url.data",
        "hub-url.href",
        "pin-toggle",
        "export-download",
        "goal-modal.is_open",
        "dashboard-grid.children",
        "report-schedule-modal",
        "delivery-history.children",
        "schedule-next-runs.children",
        "alert-list.children",
        "landing-notice.children",
    ):
        assert any(part in key for key in keys), part  # fmt: skip


def test_signed_out_every_callback_is_401(flask_app: flask.Flask, acme: dict[str, Any]) -> None:
    client = flask_app.test_client()
    for key, body in _requests(acme):
        response = client.post("/_dash-update-component", json=body)
        assert (response.status_code, response.get_json()) == (
            401, {"error": "Please sign in to continue.", "status": 401}), key  # fmt: skip


@pytest.mark.parametrize("email", USERS)
def test_no_callback_lets_a_user_past_the_policy(
    hub: Hub, flask_app: flask.Flask, acme: dict[str, Any], email: str
) -> None:
    """Each user posts every callback aimed at Acme's objects: nothing they may not touch
    changes, nothing is created in their name, no request fails on the server, and
    Globex's admin gets none of Acme's names or the export's file back."""
    client = flask_app.test_client()
    assert sign_in(client, email).status_code == 302
    before = _acme_state(hub, acme)
    assert before[1:4] != ([], [], []) and before[4:7] == ([], [], [])
    assert len(before[7]) == len(before[8]) == 1
    foreign = email.endswith("@globex.example")
    for key, body in _requests(acme):
        response = client.post("/_dash-update-component", json=body)
        assert response.status_code in (200, 204, 400, 403, 404), (key, response.status_code)
        if foreign:
            text = response.get_data(as_text=True)
            for secret in (REPORT_NAME, GOAL_NAME, "matrix_goal", "base64", "export-acme"):
                assert secret not in text, (key, secret)
    assert _acme_state(hub, acme) == before
