"""The report page's History panel over the Flask test client: the versions in words,
comparing two, Restore for managers only, and the notice after a restore."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import flask
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

import permissions
from access import HubUser, Leaf, effective_leaves
from components import history_panel
from db import schema as s
from db.reports import save_report
from errors import Forbidden
from tests import callbacks
from tests.conftest import Hub
from tests.web import sign_in

FIRST = {"dataset": "conversions", "measures": ["conversions"], "dimensions": [{"id": "channel"}],
         "filters": [{"field": "channel", "op": "in", "value": ["web"]}],
         "date_range": {"preset": "30d"}, "viz": "bar"}  # fmt: skip
SECOND = {**FIRST, "filters": [], "date_range": {"preset": "90d"}}


@pytest.fixture
def report(hub: Hub) -> Iterator[int]:
    acme = hub.tenant_id("acme")
    with hub.cron.connect() as conn:
        analyst = conn.scalar(sa.select(s.users.c.id)
                              .where(s.users.c.email == "analyst@acme.example"))  # fmt: skip
    report_id = save_report(hub.web, tenant_id=acme, owner_id=analyst, name="History panel",
                            description="", definition=FIRST)  # fmt: skip
    save_report(hub.web, tenant_id=acme, owner_id=analyst, name="History panel",
                description="By channel", definition=SECOND, report_id=report_id)  # fmt: skip
    yield report_id
    with hub.cron.begin() as conn:
        conn.execute(sa.delete(s.reports).where(s.reports.c.id == report_id))


def _client(flask_app: flask.Flask, email: str) -> FlaskClient:
    client = flask_app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def _page(client: FlaskClient, report_id: int, search: str = "") -> list[dict[str, Any]]:
    answer = callbacks.page(client, f"/admin/analytics/reports/{report_id}", search)
    assert answer.status_code == 200
    return callbacks.components(json.loads(answer.get_data(as_text=True))["response"])


def _entries(found: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """Each listed version: its change text, and whether it offers Restore."""
    listed = [c for c in found if "data-version" in c["props"]]
    rows = []
    for entry in listed:
        inner = callbacks.components(entry["props"]["children"])
        (text,) = [c["props"]["children"] for c in inner
                   if c["props"].get("className") == "small text-body-secondary"]  # fmt: skip
        ids = [c["props"].get("id") for c in inner]
        offers = any(isinstance(i, dict) and i.get("type") == "history-restore" for i in ids)
        rows.append((text, offers))
    return rows


def _denied() -> str:
    """What the toast says to someone refused `reports.manage` (permissions.py's words)."""
    viewer = HubUser(id=0, tenant_id=0, tenant_slug="acme", tenant_name="Acme", email="v@x",
                     name="V", leaves=effective_leaves([Leaf.ANALYTICS]))  # fmt: skip
    with pytest.raises(Forbidden) as denied:
        permissions.require_save(viewer, FIRST, None)
    return denied.value.public_message


def _versions(hub: Hub, report_id: int) -> list[tuple[int, int | None]]:
    v = s.report_versions
    with hub.cron.connect() as conn:
        rows = conn.execute(sa.select(v.c.version, v.c.restored_from)
                            .where(v.c.report_id == report_id).order_by(v.c.version))  # fmt: skip
        return [tuple(r) for r in rows]


def _restore(client: FlaskClient, report_id: int, version: int) -> Any:
    key, _ = callbacks.find("history-restore", "n_clicks")
    button = history_panel.restore_id(version)
    return callbacks.post(
        client, key,
        inputs=[[callbacks.value(button, "n_clicks", 1)]],
        state=[callbacks.value("report-id", "data", report_id)],
        changed=[f"{callbacks.id_text(button)}.n_clicks"],
    )  # fmt: skip


def test_the_panel_lists_each_version_in_words_and_compares_two(
    flask_app: flask.Flask, report: int
) -> None:
    admin = _client(flask_app, "admin@acme.example")
    assert _entries(_page(admin, report)) == [
        ("Description changed; filter Channel is any of (web) removed; range 30 d → 90 d.", False),
        ("Created.", True),
    ]
    key, _ = callbacks.find(history_panel.FROM, "value")
    answer = callbacks.post(admin, key, inputs=[
        callbacks.value(history_panel.FROM, "value", "2"),
        callbacks.value(history_panel.TO, "value", "1"),
    ], state=[callbacks.value("report-id", "data", report)],
        changed=[f"{history_panel.FROM}.value"])  # fmt: skip
    assert answer.get_json()["response"][history_panel.DIFF]["children"] == (
        "From version 2 to version 1: description changed; filter Channel is any of (web) added; "
        "range 90 d → 30 d."
    )


def test_a_viewer_reads_the_history_but_cannot_restore(
    hub: Hub, flask_app: flask.Flask, report: int
) -> None:
    viewer = _client(flask_app, "viewer@acme.example")
    assert [offers for _text, offers in _entries(_page(viewer, report))] == [False, False]
    toast = {"hub-error-toast": {"is_open": True, "children": _denied()}}
    refused = _restore(viewer, report, 1).get_json()
    assert refused == {"multi": True, "response": {}, "sideUpdate": toast}
    assert _versions(hub, report) == [(1, None), (2, None)]


def test_restore_makes_a_new_version_and_the_page_says_so(
    hub: Hub, flask_app: flask.Flask, report: int
) -> None:
    analyst = _client(flask_app, "analyst@acme.example")
    answer = _restore(analyst, report, 1)
    assert answer.status_code == 200
    assert answer.get_json()["response"]["hub-url"]["href"] == (
        f"/admin/analytics/reports/{report}?restored=1"
    )
    assert _versions(hub, report) == [(1, None), (2, None), (3, 1)]
    found = _page(analyst, report, "?restored=1")
    (notice,) = [c for c in found if c["props"].get("id") == history_panel.RESTORED]
    assert notice["props"]["children"] == "Version 1 was restored as version 3."
    assert _entries(found)[0] == (
        "Description changed; filter Channel is any of (web) added; range 90 d → 30 d.",
        False,
    )
    # A stale or made-up notice link says nothing.
    assert not [c for c in _page(analyst, report, "?restored=2")
                if c["props"].get("id") == history_panel.RESTORED]  # fmt: skip
