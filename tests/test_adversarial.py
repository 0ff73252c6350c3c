"""Adversarial inputs to every route and every server-side Dash callback: whatever is sent,
the answer is a 2xx or a 4xx, never a 5xx or a logged failure, and no sent value longer
than errors.ECHO_CHARS comes back whole.

Callbacks are taken from the app's own callback map, so a new callback is fuzzed without
anyone adding it here. Everything runs as the users of a tenant of its own ("fuzz"),
whose objects are removed afterwards, so nothing it saves touches the other tests.

HUB_FUZZ_EXAMPLES sets the examples per property (default 40); `python -m bench.fuzz`
runs the same properties with over 10,000 cases in all.
"""

from __future__ import annotations

import json
import logging
import os
import string
from collections.abc import Iterator
from typing import Any

import dash
import flask
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access import Leaf
from db import accounts
from db import schema as s
from db.seed import DEMO_PASSWORD
from errors import ECHO_CHARS
from tests import callbacks
from tests.conftest import Hub
from tests.test_definitions import json_values, near_valid, scalars
from tests.web import sign_in

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])  # fmt: skip
# Long texts from an alphabet JSON writes as is, so an echo would show verbatim.
LONG = st.text(string.ascii_letters, min_size=ECHO_CHARS + 1, max_size=400)
LEAVES = scalars(st.integers() | st.sampled_from([0, -1, 2**63, 2**64]),
                 st.floats(), st.text(max_size=10) | LONG)  # fmt: skip
VALUES = json_values(LEAVES)
USERS = ("admin@fuzz.example", "viewer@fuzz.example", None)


class _Failures(logging.Handler):
    """Collects the hub's logged failures (those carry a traceback)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


@pytest.fixture(scope="module")
def fuzz_tenant(hub: Hub, flask_app: flask.Flask) -> Iterator[dict[str | None, FlaskClient]]:
    """The fuzz tenant's admin and viewer signed in (and a signed-out client); every row
    the fuzzing made in that tenant is deleted at the end."""
    with hub.cron.begin() as conn:
        tenant = accounts.create_tenant(conn, slug="fuzz", name="Fuzz")
        admin_role = accounts.ensure_role(conn, tenant_id=tenant, name="Administrator",
                                          leaves=list(Leaf))  # fmt: skip
        viewer_role = accounts.ensure_role(conn, tenant_id=tenant, name="Viewer",
                                           leaves=[Leaf.ANALYTICS])  # fmt: skip
        for email, role in zip(USERS, (admin_role, viewer_role), strict=False):
            accounts.create_user(conn, tenant_id=tenant, email=email, name=email,
                                 password=DEMO_PASSWORD, role_ids=[role])  # fmt: skip
    clients: dict[str | None, FlaskClient] = {}
    for email in USERS:
        clients[email] = flask_app.test_client()
        if email:
            assert sign_in(clients[email], email).status_code == 302
    failures = _Failures()
    logging.getLogger().addHandler(failures)
    clients[None].failures = failures  # type: ignore[attr-defined]
    yield clients
    logging.getLogger().removeHandler(failures)
    with hub.cron.begin() as conn:
        for table in (s.report_schedules, s.dashboard_pins, s.reports, s.goals):
            conn.execute(sa.delete(table).where(table.c.tenant_id == tenant))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _check(clients: dict[str | None, FlaskClient], response: Any, sent: Any) -> None:
    failures: _Failures = clients[None].failures  # type: ignore[attr-defined]
    body = response.get_data(as_text=True)
    assert response.status_code < 500, (sent, body[:500])
    assert not failures.records, (sent, failures.records[0].getMessage())
    if not response.is_json:  # a page: Dash writes its own URL into the page's meta tags
        return
    for text in _strings(sent):
        if len(text) > ECHO_CHARS:
            assert text not in body, (sent, body[:500])


# ---- HTTP routes ---------------------------------------------------------------------

ROUTES = st.sampled_from([
    ("POST", "/admin/analytics/reports/run"),
    ("PUT", "/admin/analytics/dashboard/layout"),
    ("GET", "/admin/analytics/reports/suggest"),
    ("GET", "/admin/analytics/reports/{id}/export/{fmt}"),
    ("POST", "/admin/analytics/reports/{id}/export/{fmt}/jobs"),
    ("GET", "/admin/analytics/exports/{id}"),
    ("GET", "/admin/analytics/exports/{id}/download"),
])  # fmt: skip
PATH_PARTS = st.integers(-2, 2**70) | st.text(string.ascii_letters + string.digits + "-_.",
                                             min_size=1, max_size=100)  # fmt: skip
CARDS = st.fixed_dictionaries({"report_id": st.integers(-1, 2**64) | LEAVES,
                               "span": st.sampled_from([4, 6, 8, 12]) | LEAVES})  # fmt: skip
LAYOUTS = st.fixed_dictionaries({"cards": st.lists(CARDS, max_size=4)}) | VALUES


@FUZZ
@given(route=ROUTES, user=st.sampled_from(USERS), report=PATH_PARTS,
       fmt=st.sampled_from(["csv", "xlsx"]) | PATH_PARTS,
       body=near_valid(LEAVES, st.dates()) | LAYOUTS | VALUES,
       query=st.dictionaries(st.sampled_from(["dataset", "field", "q", "mode"]),
                             st.text(max_size=10) | LONG | st.sampled_from(
                                 ["conversions", "telemetry", "channel", "event_name", "goal",
                                  "saved", "export"]), max_size=4))  # fmt: skip
def test_routes_answer_2xx_or_4xx(
    fuzz_tenant: dict[str | None, FlaskClient], route: tuple[str, str], user: str | None,
    report: Any, fmt: Any, body: Any, query: dict[str, str],
) -> None:  # fmt: skip
    """Any body, query and path part, as any user of the fuzz tenant or nobody."""
    method, template = route
    path = template.format(id=report, fmt=fmt)
    client = fuzz_tenant[user]
    data = json.dumps(body) if method != "GET" else None
    response = client.open(path, method=method, data=data, query_string=query,
                           content_type="application/json")  # fmt: skip
    _check(fuzz_tenant, response, [body, query, path])


# ---- Dash callbacks ------------------------------------------------------------------


@st.composite
def callback_requests(draw: st.DrawFn, keys: list[str]) -> tuple[str, dict[str, Any]]:
    """A callback request as the renderer would send it, with any values: a callback of
    the app, its inputs and state with values (wildcard ids filled with any id), and one
    of its inputs as the trigger."""
    key = draw(st.sampled_from(keys))
    spec = dash.get_app().callback_map[key]
    id_values = st.integers(-1, 2**64) | st.text(max_size=8) | LONG
    match = {name: draw(id_values) for name in ("report", "index", "goal", "fmt")}

    def item(declared: dict[str, str]) -> Any:
        raw, prop = declared["id"], declared["property"]
        if not raw.startswith("{"):
            return callbacks.value(raw, prop, draw(VALUES | near_valid(LEAVES, st.dates())))
        pattern = json.loads(raw)

        def concrete() -> dict[str, Any]:
            return {k: (match.get(k, 0) if v == ["MATCH"] else draw(id_values))
                    if isinstance(v, list) else v for k, v in pattern.items()}  # fmt: skip

        if ["ALL"] in pattern.values() or ["ALLSMALLER"] in pattern.values():
            return [callbacks.value(concrete(), prop, draw(VALUES))
                    for _ in range(draw(st.integers(0, 2)))]  # fmt: skip
        return callbacks.value(concrete(), prop, draw(VALUES))

    inputs = [item(i) for i in spec["inputs"]]
    state = [item(i) for i in spec.get("state", [])]
    flat = [i for group in inputs for i in (group if isinstance(group, list) else [group])]
    trigger = draw(st.sampled_from(flat)) if flat else None
    changed = [f"{callbacks.id_text(trigger['id'])}.{trigger['property']}"] if trigger else []
    body = {"output": key, "outputs": callbacks.outputs_of(key, match), "inputs": inputs,
            "state": state, "changedPropIds": changed}  # fmt: skip
    return key, body


@pytest.fixture(scope="module")
def server_callbacks(flask_app: flask.Flask) -> list[str]:
    keys = callbacks.server_side(dash.get_app())
    assert len(keys) >= 20  # every page's callbacks are registered
    return keys


@FUZZ
@given(data=st.data(), user=st.sampled_from(USERS))
def test_callbacks_answer_2xx_or_4xx(
    fuzz_tenant: dict[str | None, FlaskClient], server_callbacks: list[str],
    data: st.DataObject, user: str | None,
) -> None:  # fmt: skip
    """Any values for any callback's inputs and state, as any user or nobody."""
    _key, body = data.draw(callback_requests(server_callbacks))
    response = fuzz_tenant[user].post("/_dash-update-component", json=body)
    _check(fuzz_tenant, response, body["inputs"] + body["state"])


def test_every_callback_is_fuzzed_by_name(
    fuzz_tenant: dict[str | None, FlaskClient], server_callbacks: list[str]
) -> None:
    """Each server-side callback, with every input empty and the admin signed in, answers
    without a server error: the sweep above draws at random, this one misses none."""
    for key in server_callbacks:
        body = callbacks.build(key, lambda _id, _prop: None, match={"report": 1, "index": 1})
        response = fuzz_tenant["admin@fuzz.example"].post("/_dash-update-component", json=body)
        _check(fuzz_tenant, response, body)
