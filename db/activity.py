"""The dashboard's live activity feed: the tenant's latest goal completions, finished flow
runs and new conversations, newest first, under the tenant's row-level security.

Each source is read newest-first through its (tenant_id, time) index and cut to `limit`
before the sources are merged, so the feed costs three short index scans.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db import schema as s
from db.tenancy import tenant_transaction

Kind = Literal["conversion", "run", "conversation"]


@dataclass(frozen=True)
class Activity:
    at: dt.datetime
    kind: Kind
    title: str  # the goal, the flow, or the conversation's channel
    detail: str  # the channel of a conversion, a run's status, or the customer
    value: Decimal | None = None  # a conversion's value, in `currency`
    currency: str | None = None
    duration_ms: int | None = None  # a finished run's


def _latest(select: sa.Select, at: sa.ColumnElement[dt.datetime], limit: int) -> sa.Select:
    return select.where(at <= sa.func.now()).order_by(at.desc()).limit(limit)


def recent_activity(web: Engine, *, tenant_id: int, limit: int = 12) -> list[Activity]:
    c, g, e, f = s.goal_completions, s.goals, s.executions, s.flows
    v = s.conversations
    conversions = _latest(
        sa.select(c.c.completed_at, g.c.name, c.c.channel, c.c.value, c.c.currency).join(
            g, sa.and_(g.c.tenant_id == c.c.tenant_id, g.c.id == c.c.goal_id)
        ),
        c.c.completed_at,
        limit,
    )
    runs = _latest(
        sa.select(e.c.finished_at, f.c.name, e.c.status, e.c.duration_ms).join(
            f, sa.and_(f.c.tenant_id == e.c.tenant_id, f.c.id == e.c.flow_id)
        ),
        e.c.finished_at,
        limit,
    ).where(e.c.finished_at.is_not(None))
    conversations = _latest(sa.select(v.c.started_at, v.c.channel, v.c.customer_id),
                            v.c.started_at, limit)  # fmt: skip
    feed: list[Activity] = []
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        for at, goal, channel, value, currency in conn.execute(conversions):
            feed.append(Activity(at, "conversion", goal, channel, value, currency))
        for at, flow, status, duration_ms in conn.execute(runs):
            feed.append(Activity(at, "run", flow, status, duration_ms=duration_ms))
        for at, channel, customer in conn.execute(conversations):
            feed.append(Activity(at, "conversation", channel, customer))
    feed.sort(key=lambda a: a.at, reverse=True)
    return feed[:limit]
