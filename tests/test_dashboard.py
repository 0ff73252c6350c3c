"""The dashboard's data: pins and the layout route, the Pulse overview against hand SQL,
and the activity feed, each under the tenant's row-level security."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import flask
import pytest
import sqlalchemy as sa
from dash import dcc, html
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from components import dashboard
from datasets import cache
from datasets.formatting import format_duration, format_money
from datasets.model import Mode
from datasets.pulse import ATTENTION_SUCCESS_RATE, pulse
from db import accounts, pins
from db import schema as s
from db.activity import recent_activity
from db.seed import DEMO_PASSWORD
from errors import BadLayout
from reporting import preview
from tests import callbacks
from tests.conftest import Hub
from tests.test_definitions import ANY_SCALAR, json_values
from tests.web import sign_in

NOW = dt.datetime.now(dt.UTC)
TODAY = NOW.date()
LAYOUT = "/admin/analytics/dashboard/layout"
ORIGIN = {"Origin": "http://localhost"}


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def _since(days: int) -> dict[str, dt.datetime]:
    """The last `days` UTC days including today, as [lo, hi)."""
    return {"lo": _midnight(TODAY - dt.timedelta(days=days - 1)),
            "hi": _midnight(TODAY + dt.timedelta(days=1))}  # fmt: skip


def _hand(hub: Hub, sql: str, **params: Any) -> list[sa.Row[Any]]:
    with hub.admin.connect() as conn:
        return list(conn.execute(sa.text(sql), params))


@pytest.fixture
def reports(hub: Hub) -> Iterator[list[int]]:
    """Three fresh Acme reports (none pinned), removed afterwards with their pins."""
    acme = hub.tenant_id("acme")
    definition = {"dataset": "chat", "measures": ["conversations"], "viz": "kpi"}
    with hub.cron.begin() as conn:
        ids = [
            conn.scalar(sa.insert(s.reports).values(tenant_id=acme, name=f"Pin test {i}",
                        definition=definition).returning(s.reports.c.id))
            for i in range(3)
        ]  # fmt: skip
        conn.execute(sa.delete(s.dashboard_pins).where(s.dashboard_pins.c.tenant_id == acme))
    yield ids
    with hub.cron.begin() as conn:
        conn.execute(sa.delete(s.reports).where(s.reports.c.id.in_(ids)))


def _client(flask_app: flask.Flask, email: str) -> FlaskClient:
    client = flask_app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def test_pinning_appends_once_and_unpinning_removes(hub: Hub, reports: list[int]) -> None:
    acme = hub.tenant_id("acme")
    for report in (reports[1], reports[0], reports[1]):
        pins.pin(hub.web, tenant_id=acme, report_id=report)
    cards = pins.list_cards(hub.web, tenant_id=acme)
    assert [(c.report_id, c.position, c.span) for c in cards] == [
        (reports[1], 0, 6), (reports[0], 1, 6)
    ]  # fmt: skip
    assert pins.unpin(hub.web, tenant_id=acme, report_id=reports[1])
    assert not pins.unpin(hub.web, tenant_id=acme, report_id=reports[1])
    assert [c.report_id for c in pins.list_cards(hub.web, tenant_id=acme)] == [reports[0]]


def test_another_tenant_cannot_pin_or_see_the_grid(hub: Hub, reports: list[int]) -> None:
    acme, globex = hub.tenant_id("acme"), hub.tenant_id("globex")
    pins.pin(hub.web, tenant_id=acme, report_id=reports[0])
    with pytest.raises(Exception, match="no such report"):
        pins.pin(hub.web, tenant_id=globex, report_id=reports[1])
    assert all(c.report_id not in reports for c in pins.list_cards(hub.web, tenant_id=globex))


def test_layout_route_orders_sizes_and_unpins(
    hub: Hub, flask_app: flask.Flask, reports: list[int]
) -> None:
    """PUT gives the new order and spans; a pinned card left out is un-pinned; GET and the
    database agree."""
    acme = hub.tenant_id("acme")
    for report in reports:
        pins.pin(hub.web, tenant_id=acme, report_id=report)
    analyst = _client(flask_app, "analyst@acme.example")
    body = {"cards": [{"report_id": reports[2], "span": 12}, {"report_id": reports[0], "span": 4}]}
    response = analyst.put(LAYOUT, json=body, headers=ORIGIN)
    assert response.status_code == 200, response.get_data(as_text=True)
    expected = [
        {"report_id": reports[2], "position": 0, "span": 12, "name": "Pin test 2"},
        {"report_id": reports[0], "position": 1, "span": 4, "name": "Pin test 0"},
    ]
    assert response.get_json() == {"cards": expected}
    assert analyst.get(LAYOUT).get_json() == {"cards": expected}
    with hub.cron.connect() as conn:
        p = s.dashboard_pins
        rows = conn.execute(sa.select(p.c.report_id, p.c.position, p.c.span)
                            .where(p.c.tenant_id == acme).order_by(p.c.position)).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [(reports[2], 0, 12), (reports[0], 1, 4)]


RESTORE = "/admin/analytics/dashboard/restore"


def test_restore_pins_an_unpinned_card_again_in_its_place_and_width(
    hub: Hub, flask_app: flask.Flask, reports: list[int]
) -> None:
    """The Undo of an un-pin: the dropped report comes back where it was, as wide as it was."""
    acme = hub.tenant_id("acme")
    for report in reports:
        pins.pin(hub.web, tenant_id=acme, report_id=report)
    analyst = _client(flask_app, "analyst@acme.example")
    before = [{"report_id": r, "span": span} for r, span in zip(reports, (6, 8, 4), strict=True)]
    assert analyst.put(LAYOUT, json={"cards": before}, headers=ORIGIN).status_code == 200
    dropped = [before[0], before[2]]
    assert analyst.put(LAYOUT, json={"cards": dropped}, headers=ORIGIN).status_code == 200
    response = analyst.post(RESTORE, json={"cards": before}, headers=ORIGIN)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [(c.report_id, c.position, c.span) for c in pins.list_cards(hub.web, tenant_id=acme)
            ] == [(reports[0], 0, 6), (reports[1], 1, 8), (reports[2], 2, 4)]  # fmt: skip


def test_restore_needs_managing_each_report(
    hub: Hub, flask_app: flask.Flask, reports: list[int]
) -> None:
    """A viewer is refused (403); another tenant's report is a 404; nothing changes."""
    acme = hub.tenant_id("acme")
    pins.pin(hub.web, tenant_id=acme, report_id=reports[0])
    body = {"cards": [{"report_id": reports[0], "span": 6}, {"report_id": reports[1], "span": 6}]}
    viewer = _client(flask_app, "viewer@acme.example")
    assert viewer.post(RESTORE, json=body, headers=ORIGIN).status_code == 403
    globex = _client(flask_app, "admin@globex.example")
    assert globex.post(RESTORE, json={"cards": [body["cards"][1]]}, headers=ORIGIN
                       ).status_code == 404  # fmt: skip
    assert flask_app.test_client().post(RESTORE, json=body, headers=ORIGIN).status_code == 401
    assert [c.report_id for c in pins.list_cards(hub.web, tenant_id=acme)] == [reports[0]]


PINNED = -1  # stands for the report the test pinned


@pytest.mark.parametrize(
    ("cards", "paths"),
    [
        ([{"report_id": "1", "span": 6}], ["cards[0].report_id"]),
        ([{"report_id": PINNED, "span": 5}], ["cards[0].span"]),
        ([{"report_id": PINNED, "span": True}], ["cards[0].span"]),
        ([{"report_id": PINNED, "span": 6, "x": 1}], ["cards[0]"]),
        ([{"report_id": PINNED}, {"report_id": PINNED}], ["cards"]),
        ("all", ["cards"]),
        ([{"report_id": 999_999_999, "span": 6}], ["cards[0].report_id"]),
    ],
)  # fmt: skip
def test_bad_layouts_are_400_naming_the_field(
    hub: Hub, flask_app: flask.Flask, reports: list[int], cards: Any, paths: list[str]
) -> None:
    """Nothing changes on a bad layout (unknown or other tenants' ids included)."""
    acme = hub.tenant_id("acme")
    pins.pin(hub.web, tenant_id=acme, report_id=reports[0])
    if isinstance(cards, list):
        cards = [c | {"report_id": reports[0]} if c.get("report_id") == PINNED else c
                 for c in cards]  # fmt: skip
    analyst = _client(flask_app, "analyst@acme.example")
    response = analyst.put(LAYOUT, json={"cards": cards}, headers=ORIGIN)
    assert response.status_code == 400
    assert [e["path"] for e in response.get_json()["errors"]] == paths
    assert [c.report_id for c in pins.list_cards(hub.web, tenant_id=acme)] == [reports[0]]
    assert analyst.put(LAYOUT, json=[], headers=ORIGIN).status_code == 400


CARD = st.fixed_dictionaries(
    {"report_id": st.integers(-2, 5) | st.text(max_size=3) | st.booleans()},
    optional={"span": st.sampled_from([4, 6, 8, 12, 5, 0, True, "6", None]),
              "x": st.integers()},
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(json_values(ANY_SCALAR) | st.fixed_dictionaries({"cards": st.lists(CARD, max_size=4)}))
def test_any_json_is_a_layout_or_a_bad_definition(raw: Any) -> None:
    """Whatever arrives, parse_layout answers with (report_id, span) cards or names the bad
    fields."""
    try:
        cards = pins.parse_layout(raw)
    except BadLayout as exc:
        assert exc.issues and all(path and message for path, message in exc.issues)
    else:
        assert all(type(r) is int and s in pins.SPANS for r, s in cards)
        assert len({r for r, _ in cards}) == len(cards)


def test_layout_route_access(hub: Hub, flask_app: flask.Flask, reports: list[int]) -> None:
    """Viewers read the grid but may not change it; signed out is 401; a form post is
    refused by the CSRF rule."""
    acme = hub.tenant_id("acme")
    pins.pin(hub.web, tenant_id=acme, report_id=reports[0])
    viewer = _client(flask_app, "viewer@acme.example")
    assert [c["report_id"] for c in viewer.get(LAYOUT).get_json()["cards"]] == [reports[0]]
    refused = viewer.put(LAYOUT, json={"cards": []}, headers=ORIGIN)
    assert refused.status_code == 403
    assert flask_app.test_client().get(LAYOUT).status_code == 401
    analyst = _client(flask_app, "analyst@acme.example")
    form = analyst.put(LAYOUT, data={"cards": "[]"}, headers=ORIGIN)
    assert form.status_code in (400, 403)
    assert [c.report_id for c in pins.list_cards(hub.web, tenant_id=acme)] == [reports[0]]


# ---- Pulse against hand SQL --------------------------------------------------------------


def test_pulse_equals_hand_sql(hub: Hub) -> None:
    acme = hub.tenant_id("acme")
    # Computed now: a Pulse another test cached holds the rows that test added (60 s TTL).
    for key in hub.redis.scan_iter(f"{cache.KEY_PREFIX}{acme}:*"):
        hub.redis.delete(key)
    got = pulse(acme, "30d")
    started = "SELECT count(*) FROM chat_conversations WHERE tenant_id = :t AND started_at >= :lo "
    (conversations,) = _hand(hub, started + "AND started_at < :hi", t=acme, **_since(14))[0]
    assert int(got.hero.frame["conversations"].sum()) == conversations
    assert len(got.hero.frame) == 14
    runs, completed, finished, failed, avg_ms = _hand(hub, """
        SELECT count(*), count(*) FILTER (WHERE status = 'completed'),
               count(finished_at), count(*) FILTER (WHERE status = 'failed'), avg(duration_ms)
        FROM fs_executions WHERE tenant_id = :t AND started_at >= :lo AND started_at < :hi
    """, t=acme, **_since(30))[0]  # fmt: skip
    row = got.strip.frame.iloc[0]
    assert (row["total_runs"], row["failed"]) == (runs, failed)
    assert float(row["success_rate"]) == pytest.approx(completed / finished, rel=1e-12)
    assert format_duration(float(row["avg_duration"])) == format_duration(float(avg_ms))
    cost, tokens = _hand(hub, """
        SELECT sum(cost_usd), sum(total_tokens) FROM chat_messages
        WHERE tenant_id = :t AND total_tokens IS NOT NULL AND created_at >= :lo AND created_at < :hi
    """, t=acme, **_since(30))[0]  # fmt: skip
    assert got.has_token_data()
    assert format_money(got.tokens.frame.iloc[0]["cost"], "USD") == format_money(cost, "USD")
    assert int(got.tokens.frame.iloc[0]["total_tokens"]) == tokens

    by_flow = _hand(hub, """
        SELECT f.name, count(*) AS runs, count(*) FILTER (WHERE e.status = 'failed') AS failed,
               count(*) FILTER (WHERE e.status = 'completed')::numeric
                   / nullif(count(e.finished_at), 0) AS rate
        FROM fs_executions e JOIN fs_flows f ON f.tenant_id = e.tenant_id AND f.id = e.flow_id
        WHERE e.tenant_id = :t AND e.started_at >= :lo AND e.started_at < :hi
        GROUP BY f.name
    """, t=acme, **_since(30))  # fmt: skip
    top = sorted(by_flow, key=lambda r: (-r.runs, r.name))[:5]
    assert list(got.top_flows().frame["flow"]) == [r.name for r in top]
    needing = sorted((r for r in by_flow if r.failed and r.rate < ATTENTION_SUCCESS_RATE),
                     key=lambda r: (-r.failed, r.name))[:5]  # fmt: skip
    assert list(got.attention().frame["flow"]) == [r.name for r in needing]


def test_token_spend_is_empty_without_token_data(hub: Hub) -> None:
    """A tenant with no LLM messages has no token spend (the tile shows "—")."""
    with hub.cron.begin() as conn:
        tenant = conn.scalar(sa.text("INSERT INTO tenants (slug, name) VALUES "
                                     "('quiet', 'Quiet') RETURNING id"))  # fmt: skip
    try:
        assert not pulse(tenant, "7d").has_token_data()
    finally:
        with hub.cron.begin() as conn:
            conn.execute(sa.text("DELETE FROM tenants WHERE id = :t"), {"t": tenant})


def _components(tree: Any) -> Iterator[Any]:
    """Every component of a Dash tree, depth first."""
    yield tree
    children = getattr(tree, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            yield from _components(child)


def _by_id(tree: Any, component_id: Any) -> Any:
    return next(c for c in _components(tree) if getattr(c, "id", None) == component_id)


def test_the_pulse_chart_makes_room_for_six_digit_tick_labels(hub: Hub) -> None:
    """The y-axis grows the left margin to its longest tick label (a fixed 40 px showed
    "0,000" for 190,000), and the Pulse says when its oldest figure was computed."""
    got = pulse(hub.tenant_id("acme"), "30d")
    view = dashboard.pulse_view(got)
    layout = _by_id(view, "pulse-hero-chart").figure.layout
    assert layout.yaxis.automargin is True
    assert layout.margin.l == 8
    oldest = min(got.hero.ran_at, got.strip.ran_at, got.tokens.ran_at, got.flows.ran_at)
    assert _by_id(view, "pulse-as-of").children == f"as of {oldest:%H:%M} UTC"


@pytest.mark.parametrize("manage", [False, True])
def test_each_card_loads_behind_its_own_spinner_and_offers_refresh(manage: bool) -> None:
    """The card's body sits in a dcc.Loading of its own; everyone gets Refresh, only
    managers the layout controls."""
    card = pins.Card(report_id=7, position=0, span=6, name="A card", definition={})
    view = dashboard.card_view(card, manage=manage, first=True, last=True)
    (loading,) = [c for c in _components(view) if isinstance(c, dcc.Loading)]
    assert loading.children.id == dashboard.card_id("body", 7)
    assert _by_id(view, dashboard.card_id("refresh", 7)).children == "Refresh"
    parts = {c.id["type"] for c in _components(view) if isinstance(getattr(c, "id", None), dict)}
    controls = {"pin-card-span", "pin-card-left", "pin-card-right", "pin-card-remove"}
    always = {"pin-card-body", "pin-card-load", "pin-card-refresh"}
    assert parts == always | (controls if manage else set())


def test_a_card_drawn_from_the_cache_never_loads_again_at_once() -> None:
    """A card given its content shows it and its LOAD never fires; one without content
    is empty and loads once, at once."""
    card = pins.Card(report_id=7, position=0, span=6, name="A card", definition={})
    for content, fires in ((None, 1), (html.P("ready"), 0)):
        view = dashboard.card_view(card, manage=False, first=True, last=True, content=content)
        assert _by_id(view, dashboard.card_id("body", 7)).children is content
        load = _by_id(view, dashboard.card_id("load", 7))
        assert (load.interval, load.max_intervals) == (1, fires)


def _drawn(client: FlaskClient) -> dict[Any, dict[str, Any]]:
    """The dashboard page's first response: its components by id."""
    answer = callbacks.page(client, "/admin/analytics/dashboard")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    tree = answer.get_json()["response"]
    return {json.dumps(c["props"]["id"], sort_keys=True): c["props"]
            for c in callbacks.components(tree) if "id" in c["props"]}  # fmt: skip


def test_the_page_draws_what_the_cache_holds_in_its_first_response(
    hub: Hub, flask_app: flask.Flask, reports: list[int]
) -> None:
    """Cold, the Pulse and the cards are empty and each loads once; once the cache holds
    them (as after any visit), the first response draws the Pulse's figures and every
    card, none loads again, and the activity feed is there either way."""
    acme = hub.tenant_id("acme")
    for key in hub.redis.scan_iter(f"{cache.KEY_PREFIX}{acme}:*"):
        hub.redis.delete(key)
    client = flask_app.test_client()
    assert sign_in(client, "viewer@acme.example").status_code == 302
    for report_id in reports[:2]:  # KPIs: a card needs its previous period too
        pins.pin(hub.web, tenant_id=acme, report_id=report_id)
    cards = pins.list_cards(hub.web, tenant_id=acme)

    def part(drawn: dict[Any, dict[str, Any]], name: str, report_id: int) -> dict[str, Any]:
        return drawn[json.dumps(dashboard.card_id(name, report_id), sort_keys=True)]

    cold = _drawn(client)
    assert cold['"dashboard-pulse"'].get("children") is None
    assert cold['"dashboard-pulse-load"']["max_intervals"] == 1
    for card in cards:
        assert part(cold, "body", card.report_id).get("children") is None
        assert part(cold, "load", card.report_id)["max_intervals"] == 1
    assert cold['"dashboard-activity"']["children"] is not None

    expected = pulse(acme)
    viewer = accounts.authenticate(hub.web, email="viewer@acme.example", password=DEMO_PASSWORD)
    assert viewer is not None
    for card in cards:
        preview(card.definition, viewer, mode=Mode.SAVED)
    warm = _drawn(client)
    assert warm['"dashboard-pulse-load"']["max_intervals"] == 0
    conversations = int(expected.hero.frame["conversations"].sum())
    assert warm['"pulse-conversations"']["children"] == f"{conversations:,}"
    assert warm['"pulse-runs"']["children"] == dashboard.cell(expected.strip, "total_runs")
    for card in cards:
        assert part(warm, "body", card.report_id)["children"] is not None
        assert part(warm, "load", card.report_id)["max_intervals"] == 0


# ---- activity feed ---------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["acme", "globex"])
def test_activity_feed_is_the_latest_past_events_of_the_tenant(hub: Hub, slug: str) -> None:
    """Newest first, nothing in the future, only the tenant's own rows."""
    tenant = hub.tenant_id(slug)
    feed = recent_activity(hub.web, tenant_id=tenant, limit=12)
    expected = _hand(hub, """
        SELECT at, kind, title FROM (
          SELECT c.completed_at AS at, 'conversion' AS kind, g.name AS title
          FROM ins_goal_completions c JOIN ins_goals g ON g.tenant_id = c.tenant_id
                                                      AND g.id = c.goal_id
          WHERE c.tenant_id = :t AND c.completed_at <= now()
          UNION ALL
          SELECT e.finished_at, 'run', f.name FROM fs_executions e
          JOIN fs_flows f ON f.tenant_id = e.tenant_id AND f.id = e.flow_id
          WHERE e.tenant_id = :t AND e.finished_at <= now()
          UNION ALL
          SELECT started_at, 'conversation', channel FROM chat_conversations
          WHERE tenant_id = :t AND started_at <= now()
        ) x ORDER BY at DESC LIMIT 12
    """, t=tenant)  # fmt: skip
    assert len(feed) == 12
    assert [(a.at, a.kind, a.title) for a in feed] == [tuple(r) for r in expected]
