"""The Event Explorer's reads: a tenant's raw telemetry events, filtered and paged by
keyset, and one conversation's timeline, under the tenant's row-level security.

Filters come from the URL (`parse_filters`), so a view can be shared; every value is a
bound parameter (a property key too: `properties ->> :key`). Pages are keyset, never
OFFSET: newest first, ordered by (occurred_at, id), `older` continues after the last row
and `newer` before the first, each one index range scan (migration 0010's indexes).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from datasets import dates
from db import schema as s
from db.tenancy import tenant_transaction
from errors import BadEventFilter, echo

PAGE_SIZES = (50, 100)
EXPORT_ROWS = 5000  # the spec's cap on a CSV export of the explorer's events
CHANNELS = ("web", "whatsapp", "messenger", "instagram", "email")
CURSOR = re.compile(r"(?P<at>\d{4}-\d\d-\d\dT[0-9:.]+\+00:00)_(?P<id>\d{1,19})")


@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first order: the (occurred_at, id) of a row."""

    occurred_at: dt.datetime
    id: int

    def token(self) -> str:
        return f"{self.occurred_at.astimezone(dt.UTC).isoformat()}_{self.id}"

    @staticmethod
    def parse(token: str, field: str) -> Cursor:
        match = CURSOR.fullmatch(token)
        if match is None:
            raise BadEventFilter([(field, f"“{echo(token)}” is not a position in the list")])
        return Cursor(dt.datetime.fromisoformat(match["at"]), int(match["id"]))


@dataclass(frozen=True)
class EventFilter:
    start: dt.date | None = None
    end: dt.date | None = None
    event_name: str | None = None
    conversation_id: int | None = None
    customer: str | None = None
    channel: str | None = None
    property_key: str | None = None
    property_op: Literal["eq", "contains"] = "eq"
    property_value: str | None = None
    page_size: int = PAGE_SIZES[0]
    older_than: Cursor | None = None
    newer_than: Cursor | None = None


def _text(raw: Mapping[str, str], field: str, issues: list[tuple[str, str]],
          limit: int = 200) -> str | None:  # fmt: skip
    value = (raw.get(field) or "").strip()
    if len(value) > limit:
        issues.append((field, f"at most {limit} characters"))
        return None
    return value or None


def _date(raw: Mapping[str, str], field: str, issues: list[tuple[str, str]]) -> dt.date | None:
    value = _text(raw, field, issues, 10)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        issues.append((field, f"“{echo(value)}” is not a date (YYYY-MM-DD)"))
        return None


def parse_filters(raw: Mapping[str, str]) -> EventFilter:
    """The filters of an explorer URL's query; BadEventFilter names each bad field."""
    issues: list[tuple[str, str]] = []
    start, end = _date(raw, "start", issues), _date(raw, "end", issues)
    if start and end and start > end:
        issues.append(("end", "on or after the start"))
    conversation = _text(raw, "conversation", issues, 19)
    if conversation is not None and not re.fullmatch(r"[0-9]{1,19}", conversation):
        issues.append(("conversation", "a conversation id (digits)"))
    event, customer = _text(raw, "event", issues), _text(raw, "customer", issues)
    channel = _text(raw, "channel", issues)
    if channel is not None and channel not in CHANNELS:
        issues.append(("channel", f"one of {', '.join(CHANNELS)}"))
    op = _text(raw, "op", issues) or "eq"
    if op not in ("eq", "contains"):
        issues.append(("op", "eq or contains"))
    key, value = _text(raw, "key", issues), _text(raw, "value", issues)
    if (key is None) != (value is None):
        issues.append(("value" if key else "key", "a property needs both a key and a value"))
    size = _text(raw, "size", issues) or str(PAGE_SIZES[0])
    if size not in {str(n) for n in PAGE_SIZES}:
        issues.append(("size", f"{' or '.join(map(str, PAGE_SIZES))} rows a page"))
    cursors = {}
    for field in ("older", "newer"):
        token = _text(raw, field, issues, 60)
        if token is not None:
            try:
                cursors[field] = Cursor.parse(token, field)
            except BadEventFilter as exc:
                issues.extend((i.path, i.message) for i in exc.issues)
    if issues:
        raise BadEventFilter(issues)
    return EventFilter(
        start=start, end=end, event_name=event,
        conversation_id=int(conversation) if conversation else None,
        customer=customer, channel=channel, property_key=key,
        property_op="contains" if op == "contains" else "eq", property_value=value,
        page_size=int(size), older_than=cursors.get("older"), newer_than=cursors.get("newer"),
    )  # fmt: skip


@dataclass(frozen=True)
class Event:
    id: int
    occurred_at: dt.datetime
    event_name: str
    conversation_id: int | None
    channel: str | None
    customer_id: str | None
    properties: dict[str, Any]


@dataclass(frozen=True)
class EventPage:
    events: list[Event]
    newer: Cursor | None  # where the newer page starts, None when this page is the newest
    older: Cursor | None  # where the older page starts, None when nothing is older


def _conditions(f: EventFilter) -> list[sa.ColumnElement[bool]]:
    e, c = s.telemetry_events, s.conversations
    where: list[sa.ColumnElement[bool]] = []
    if f.start is not None:
        where.append(e.c.occurred_at >= dates.midnight(f.start))
    if f.end is not None:
        where.append(e.c.occurred_at < dates.midnight(f.end + dt.timedelta(days=1)))
    if f.event_name is not None:
        where.append(e.c.event_name == f.event_name)
    if f.conversation_id is not None:
        where.append(e.c.conversation_id == f.conversation_id)
    if f.customer is not None:  # the conversation joined in events_page
        where.append(c.c.customer_id == f.customer)
    if f.channel is not None:
        where.append(c.c.channel == f.channel)
    if f.property_key is not None and f.property_value is not None:
        value = e.c.properties[f.property_key].astext
        where.append(e.c.properties.has_key(f.property_key))
        if f.property_op == "eq":
            where.append(value == f.property_value)
        else:
            where.append(sa.func.strpos(sa.func.lower(value), f.property_value.lower()) > 0)
    return where


def events_page(web: Engine, *, tenant_id: int, filters: EventFilter) -> EventPage:
    """One page of the tenant's events, newest first, from its cursor (else the newest)."""
    e, c = s.telemetry_events, s.conversations
    position = sa.tuple_(e.c.occurred_at, e.c.id)
    going_newer = filters.newer_than is not None
    query = (
        sa.select(e.c.id, e.c.occurred_at, e.c.event_name, e.c.conversation_id, c.c.channel,
                  c.c.customer_id, e.c.properties)
        .select_from(e.outerjoin(c, sa.and_(c.c.tenant_id == e.c.tenant_id,
                                            c.c.id == e.c.conversation_id)))
        .where(*_conditions(filters))
    )  # fmt: skip
    if filters.newer_than is not None:
        at = filters.newer_than
        query = query.where(position > sa.tuple_(sa.literal(at.occurred_at), sa.literal(at.id)))
        query = query.order_by(e.c.occurred_at, e.c.id)
    else:
        if filters.older_than is not None:
            at = filters.older_than
            query = query.where(position < sa.tuple_(sa.literal(at.occurred_at),
                                                     sa.literal(at.id)))  # fmt: skip
        query = query.order_by(e.c.occurred_at.desc(), e.c.id.desc())
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        rows = conn.execute(query.limit(filters.page_size + 1)).all()
    more = len(rows) > filters.page_size
    events = [Event(*row) for row in rows[: filters.page_size]]
    if going_newer:
        events.reverse()
    first = Cursor(events[0].occurred_at, events[0].id) if events else None
    last = Cursor(events[-1].occurred_at, events[-1].id) if events else None
    is_newest = (not going_newer and filters.older_than is None) or (going_newer and not more)
    has_older = more if not going_newer else True
    return EventPage(events, None if is_newest else first, last if has_older else None)


def events_rows(web: Engine, *, tenant_id: int, filters: EventFilter) -> list[Event]:
    """The newest EXPORT_ROWS events the filters match, their cursors ignored: what a CSV
    export holds."""
    every = dataclasses.replace(filters, page_size=EXPORT_ROWS, older_than=None, newer_than=None)
    return events_page(web, tenant_id=tenant_id, filters=every).events


@dataclass(frozen=True)
class TimelineItem:
    at: dt.datetime
    kind: Literal["event", "message", "run", "conversion"]
    title: str  # event name, message role, flow name, goal name
    detail: str  # the event's properties as JSON, tokens, status, value
    tokens: int | None = None
    cost_usd: Decimal | None = None
    duration_ms: int | None = None


def conversation_timeline(web: Engine, *, tenant_id: int, conversation_id: int
                          ) -> list[TimelineItem] | None:  # fmt: skip
    """Everything of one conversation in time order: events, messages with tokens and
    cost, runs with status and duration, goal completions; None if the tenant has no
    such conversation (another tenant's id included: row-level security hides it)."""
    conv, ev, msg, run, flow, done, goal = (
        s.conversations,
        s.telemetry_events,
        s.messages,
        s.executions,
        s.flows,
        s.goal_completions,
        s.goals,
    )
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        if conn.scalar(sa.select(conv.c.id).where(conv.c.id == conversation_id)) is None:
            return None
        items = [
            TimelineItem(at, "event", name, json.dumps(props, sort_keys=True))
            for at, name, props in conn.execute(
                sa.select(ev.c.occurred_at, ev.c.event_name, ev.c.properties)
                .where(ev.c.conversation_id == conversation_id))
        ] + [
            TimelineItem(at, "message", role, f"{tokens or 0} tokens", tokens, cost)
            for at, role, tokens, cost in conn.execute(
                sa.select(msg.c.created_at, msg.c.role, msg.c.total_tokens, msg.c.cost_usd)
                .where(msg.c.conversation_id == conversation_id))
        ] + [
            TimelineItem(at, "run", name, status, duration_ms=duration)
            for at, name, status, duration in conn.execute(
                sa.select(run.c.started_at, flow.c.name, run.c.status, run.c.duration_ms)
                .join(flow, sa.and_(flow.c.tenant_id == run.c.tenant_id,
                                    flow.c.id == run.c.flow_id))
                .where(run.c.conversation_id == conversation_id))
        ] + [
            TimelineItem(at, "conversion", name, "" if value is None else f"{value} {currency}")
            for at, name, value, currency in conn.execute(
                sa.select(done.c.completed_at, goal.c.name, done.c.value, done.c.currency)
                .join(goal, sa.and_(goal.c.tenant_id == done.c.tenant_id,
                                    goal.c.id == done.c.goal_id))
                .where(done.c.conversation_id == conversation_id))
        ]  # fmt: skip
    return sorted(items, key=lambda item: item.at)
