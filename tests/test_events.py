"""The Event Explorer's reads (db/events.py) on the demo data, against hand SQL: keyset
pages newest first, every filter, a conversation's timeline, and tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from db.events import Cursor, EventFilter, conversation_timeline, events_page, parse_filters
from errors import BadEventFilter
from tests.conftest import Hub

NEWEST = """SELECT e.id FROM ins_telemetry_events e
LEFT JOIN chat_conversations c ON c.tenant_id = e.tenant_id AND c.id = e.conversation_id
WHERE e.tenant_id = :t AND ({where}) ORDER BY e.occurred_at DESC, e.id DESC"""


def hand(hub: Hub, sql: str, **params: Any) -> list[Any]:
    with hub.admin.connect() as conn:
        return list(conn.scalars(sa.text(sql), params))


def ids(hub: Hub, tenant: int, filters: EventFilter) -> list[int]:
    return [e.id for e in events_page(hub.web, tenant_id=tenant, filters=filters).events]


def test_pages_walk_newest_first_and_back(hub: Hub) -> None:
    """Older pages continue after the last row, newer ones come back to the first page."""
    acme = hub.tenant_id("acme")
    every = hand(hub, NEWEST.format(where="TRUE"), t=acme)
    first = events_page(hub.web, tenant_id=acme, filters=EventFilter())
    assert [e.id for e in first.events] == every[:50] and first.newer is None
    assert first.older is not None
    second = events_page(hub.web, tenant_id=acme,
                         filters=EventFilter(page_size=100, older_than=first.older))  # fmt: skip
    assert [e.id for e in second.events] == every[50:150]
    assert second.newer is not None
    back = events_page(hub.web, tenant_id=acme,
                       filters=EventFilter(page_size=50, newer_than=second.newer))  # fmt: skip
    assert [e.id for e in back.events] == every[:50] and back.newer is None


def test_the_oldest_page_says_nothing_is_older(hub: Hub) -> None:
    acme = hub.tenant_id("acme")
    every = hand(hub, NEWEST.format(where="TRUE"), t=acme)
    with hub.admin.connect() as conn:
        at = conn.scalar(sa.text("SELECT occurred_at FROM ins_telemetry_events WHERE id = :i"),
                         {"i": every[-3]})  # fmt: skip
    last = events_page(hub.web, tenant_id=acme,
                       filters=EventFilter(older_than=Cursor(at, every[-3])))  # fmt: skip
    assert [e.id for e in last.events] == every[-2:] and last.older is None


def _sample(hub: Hub, acme: int) -> dict[str, Any]:
    """A conversation with events, its customer and channel, and one event property."""
    with hub.admin.connect() as conn:
        row = conn.execute(sa.text("""
            SELECT e.conversation_id, c.customer_id, c.channel, e.event_name, p.key, p.value
            FROM ins_telemetry_events e
            JOIN chat_conversations c ON c.tenant_id = e.tenant_id AND c.id = e.conversation_id
            CROSS JOIN LATERAL jsonb_each_text(e.properties) p
            WHERE e.tenant_id = :t ORDER BY e.id LIMIT 1"""), {"t": acme}).one()  # fmt: skip
    return dict(row._mapping)


def test_every_filter_equals_hand_sql(hub: Hub) -> None:
    acme = hub.tenant_id("acme")
    x = _sample(hub, acme)
    cases = [
        ({"event": x["event_name"]}, "e.event_name = :event"),
        ({"conversation": str(x["conversation_id"])}, "e.conversation_id = :conversation"),
        ({"customer": x["customer_id"]}, "c.customer_id = :customer"),
        ({"channel": x["channel"]}, "c.channel = :channel"),
        ({"key": x["key"], "value": x["value"]}, "e.properties ->> :key = :value"),
        ({"key": x["key"], "op": "contains", "value": x["value"][1:3].upper()},
         "strpos(lower(e.properties ->> :key), lower(:value)) > 0"),
        ({"start": "2000-01-01", "end": "2000-01-31", "event": x["event_name"]}, "FALSE"),
        ({"event": x["event_name"], "channel": x["channel"], "size": "100"},
         "e.event_name = :event AND c.channel = :channel"),
    ]  # fmt: skip
    for query, where in cases:
        filters = parse_filters(query)
        expected = hand(hub, NEWEST.format(where=where), t=acme, **query)[: filters.page_size]
        assert ids(hub, acme, filters) == expected, query
        assert where == "FALSE" or expected, query


def test_another_tenants_conversation_shows_nothing(hub: Hub) -> None:
    """A Globex conversation id in an Acme explorer URL: no events, no timeline."""
    acme, globex = hub.tenant_id("acme"), hub.tenant_id("globex")
    theirs = _sample(hub, globex)["conversation_id"]
    filters = parse_filters({"conversation": str(theirs)})
    assert ids(hub, acme, filters) == []
    assert conversation_timeline(hub.web, tenant_id=acme, conversation_id=theirs) is None
    assert ids(hub, globex, filters) != []


def test_a_conversation_timeline_holds_everything_in_time_order(hub: Hub) -> None:
    acme = hub.tenant_id("acme")
    with hub.admin.connect() as conn:
        conversation = conn.scalar(sa.text("""
            SELECT c.id FROM chat_conversations c
            WHERE c.tenant_id = :t
              AND EXISTS (SELECT FROM ins_telemetry_events e
                          WHERE e.tenant_id = c.tenant_id AND e.conversation_id = c.id)
              AND EXISTS (SELECT FROM fs_executions r
                          WHERE r.tenant_id = c.tenant_id AND r.conversation_id = c.id)
              AND EXISTS (SELECT FROM ins_goal_completions g
                          WHERE g.tenant_id = c.tenant_id AND g.conversation_id = c.id)
            ORDER BY c.id LIMIT 1"""), {"t": acme})  # fmt: skip
        counts = dict(conn.execute(sa.text("""
            SELECT 'event', count(*) FROM ins_telemetry_events WHERE conversation_id = :c
            UNION ALL SELECT 'message', count(*) FROM chat_messages WHERE conversation_id = :c
            UNION ALL SELECT 'run', count(*) FROM fs_executions WHERE conversation_id = :c
            UNION ALL SELECT 'conversion', count(*) FROM ins_goal_completions
                      WHERE conversation_id = :c"""), {"c": conversation}).all())  # fmt: skip
    timeline = conversation_timeline(hub.web, tenant_id=acme, conversation_id=conversation)
    assert timeline is not None
    assert {k: sum(1 for i in timeline if i.kind == k) for k in counts} == counts
    assert [i.at for i in timeline] == sorted(i.at for i in timeline)


@pytest.mark.parametrize(
    ("query", "paths"),
    [
        ({"start": "2026-13-01"}, ["start"]),
        ({"start": "2026-02-01", "end": "2026-01-01"}, ["end"]),
        ({"conversation": "12a"}, ["conversation"]),
        ({"conversation": "١٢"}, ["conversation"]),  # Arabic-Indic digits are not an id
        ({"channel": "fax"}, ["channel"]),
        ({"key": "plan"}, ["value"]),
        ({"value": "pro"}, ["key"]),
        ({"op": "like", "size": "25"}, ["op", "size"]),
        ({"older": "yesterday"}, ["older"]),
        ({"event": "x" * 201}, ["event"]),
    ],
)
def test_bad_filters_name_each_field(query: dict[str, str], paths: list[str]) -> None:
    with pytest.raises(BadEventFilter) as caught:
        parse_filters(query)
    assert [i.path for i in caught.value.issues] == paths


def test_a_cursor_survives_the_url() -> None:
    filters = parse_filters({"older": "2026-11-30T10:15:00.123456+00:00_42"})
    assert filters.older_than is not None
    assert parse_filters({"older": filters.older_than.token()}) == filters
