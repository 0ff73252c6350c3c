"""Goal matching (migration 0006): telemetry events of active goals become completions,
valued by the goal's rule, and show in a Conversions report at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from datasets.model import Mode
from datasets.run import run_report
from datasets.validate import validate
from db import schema as s
from tests.conftest import Hub

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def conversation(hub: Hub) -> Iterator[dict[str, Any]]:
    """A new Acme conversation with two flow runs (the first decides the flow)."""
    acme = hub.tenant_id("acme")
    with hub.cron.begin() as conn:
        conversation_id = conn.scalar(
            sa.insert(s.conversations)
            .values(
                tenant_id=acme,
                channel="instagram",
                customer_id="cus_matching",
                started_at=NOW - dt.timedelta(minutes=5),
            )
            .returning(s.conversations.c.id)
        )
        flows = conn.scalars(
            sa.select(s.flows.c.id)
            .where(s.flows.c.tenant_id == acme)
            .order_by(s.flows.c.id)
            .limit(2)
        ).all()
        for flow in flows:
            conn.execute(
                sa.insert(s.executions).values(
                    tenant_id=acme,
                    flow_id=flow,
                    conversation_id=conversation_id,
                    status="completed",
                    trigger_type="message",
                    started_at=NOW,
                    finished_at=NOW,
                    duration_ms=100,
                )
            )
    created: dict[str, Any] = {"tenant": acme, "id": conversation_id, "first_flow": flows[0],
                               "events": []}  # fmt: skip
    yield created
    with hub.cron.begin() as conn:
        conn.execute(sa.delete(s.telemetry_events).where(
            s.telemetry_events.c.id.in_(created["events"])))  # fmt: skip
        for table in (s.goal_completions, s.telemetry_events, s.executions):
            conn.execute(sa.delete(table).where(table.c.conversation_id == conversation_id))
        conn.execute(sa.delete(s.conversations).where(s.conversations.c.id == conversation_id))


def _today_by_currency(hub: Hub, tenant: int) -> dict[str, tuple[int, Decimal]]:
    definition = validate({"dataset": "conversions", "measures": ["conversions", "revenue"],
                           "dimensions": [{"id": "currency"}],
                           "date_range": {"preset": "today"}})  # fmt: skip
    frame = run_report(definition, tenant_id=tenant, mode=Mode.EXPORT, engine=hub.web).frame
    return {r.currency: (r.conversions, r.revenue) for r in frame.itertuples()}


def test_events_of_active_goals_complete_them_by_their_value_rule(
    hub: Hub, conversation: dict[str, Any]
) -> None:
    tenant, conversation_id = conversation["tenant"], conversation["id"]
    before = _today_by_currency(hub, tenant)
    events = [
        ("order_placed", {"amount": "42.50", "currency": "GBP"}, conversation_id),
        ("appointment_booked", {}, conversation_id),  # fixed 25.00 USD
        ("newsletter_signup", {}, conversation_id),  # no value
        ("add_to_cart", {"amount": "9.99"}, conversation_id),  # inactive goal
        ("order_placed", {"amount": "5.00"}, None),  # outside a conversation
        ("page_viewed", {}, conversation_id),  # no goal
    ]
    with hub.cron.begin() as conn:
        conversation["events"] = conn.scalars(
            sa.insert(s.telemetry_events).returning(s.telemetry_events.c.id),
            [{"tenant_id": tenant, "event_name": name, "properties": props,
              "conversation_id": conv, "occurred_at": NOW} for name, props, conv in events],
        ).all()  # fmt: skip
        rows = conn.execute(sa.text("""
            SELECT g.name, c.channel, c.currency, c.value, c.customer_id, c.flow_id,
                   c.completed_at
            FROM ins_goal_completions c JOIN ins_goals g ON g.tenant_id = c.tenant_id
                                                       AND g.id = c.goal_id
            WHERE c.conversation_id = :c ORDER BY g.name
        """), {"c": conversation_id}).all()  # fmt: skip
        default = conn.scalar(sa.select(s.goals.c.default_currency).where(
            s.goals.c.tenant_id == tenant, s.goals.c.name == "Newsletter signup"))  # fmt: skip
    flow = conversation["first_flow"]
    assert [tuple(r) for r in rows] == [
        ("Appointment booked", "instagram", "USD", Decimal("25.00"), "cus_matching", flow, NOW),
        ("Newsletter signup", "instagram", default, None, "cus_matching", flow, NOW),
        ("Order placed", "instagram", "GBP", Decimal("42.50"), "cus_matching", flow, NOW),
    ]

    after = _today_by_currency(hub, tenant)  # real-time: no refresh in between
    added: dict[str, tuple[int, Decimal]] = {}
    for _name, _channel, currency, value, *_rest in rows:
        n, revenue = added.get(currency, (0, Decimal(0)))
        added[currency] = (n + 1, revenue + (value or 0))
    for currency, (n, revenue) in added.items():
        was_n, was_revenue = before.get(currency, (0, Decimal(0)))
        assert after[currency] == (was_n + n, was_revenue + revenue)
