"""Chat engagement: daily conversation statistics from ins_conversation_stats_daily."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from datasets.model import Agg, Dataset, Dimension, Measure, MeasureRows, RowField, RowSource
from datasets.model import MeasureType as T
from datasets.model import RowCount as R
from db import schema as s

# Chat rollups have no row identity: drill-down lists the conversations of the day, the
# rows every measure is computed from, each with its messages counted as the rollup
# counts them (migration 0004).
BEHIND = MeasureRows(R.BEHIND)


def _messages(role: str | None = None) -> ColumnElement[int]:
    """How many messages (of `role`) a conversation has."""
    m = s.messages.alias(f"{role or 'all'}_messages")
    of_role = [m.c.role == role] if role else []
    return (
        sa.select(sa.func.count())
        .where(m.c.tenant_id == s.conversations.c.tenant_id,
               m.c.conversation_id == s.conversations.c.id, *of_role)
        .scalar_subquery()
    )  # fmt: skip


def _engaged() -> ColumnElement[str]:
    """Whether an agent message comes after the conversation's first user message: "yes"
    or "no"."""
    c, first, reply = s.conversations, s.messages.alias("first_user"), s.messages.alias("reply")
    first_user = (
        sa.select(sa.func.min(first.c.created_at))
        .where(first.c.tenant_id == c.c.tenant_id, first.c.conversation_id == c.c.id,
               first.c.role == "user")
        .scalar_subquery()
    )  # fmt: skip
    answered = sa.exists().where(
        reply.c.tenant_id == c.c.tenant_id, reply.c.conversation_id == c.c.id,
        reply.c.role == "agent", reply.c.created_at > first_user,
    )  # fmt: skip
    return sa.case((answered, "yes"), else_="no")


CHAT = Dataset(
    id="chat",
    label="Chat engagement",
    description="Conversations and messages per day, and how many were engaged.",
    table=s.conversation_stats_daily,
    time_column="day",
    drill=RowSource("conversations", s.conversations, "started_at", fields=(
        RowField("id", "Conversation", "category"),
        RowField("channel", "Channel", "category"),
        RowField("customer_id", "Customer", "category"),
        RowField("messages", "Messages", T.COUNT, expression=_messages()),
        RowField("user_messages", "User messages", T.COUNT, expression=_messages("user")),
        RowField("agent_messages", "Agent messages", T.COUNT, expression=_messages("agent")),
        RowField("engaged", "Engaged", "category", expression=_engaged()),
    )),
    measures=(
        Measure("conversations", "Conversations", T.COUNT, Agg.SUM,
                "Conversations started.", column="conversations",
                rows=MeasureRows(R.ROWS)),
        Measure("messages", "Messages", T.COUNT, Agg.SUM,
                "All messages of those conversations.", column="messages", rows=BEHIND),
        Measure("user_messages", "User messages", T.COUNT, Agg.SUM,
                "Messages written by customers.", column="user_messages", rows=BEHIND),
        Measure("agent_messages", "Agent messages", T.COUNT, Agg.SUM,
                "Replies from the agent (bot or human).", column="agent_messages", rows=BEHIND),
        Measure("engaged", "Engaged conversations", T.COUNT, Agg.SUM,
                "Conversations in which the agent answered a customer message.",
                column="engaged_conversations",
                rows=MeasureRows(R.ROWS, "engaged", "yes")),
        Measure("messages_per_conversation", "Messages / conversation", T.DECIMAL, Agg.RATIO,
                "Messages divided by conversations.", numerator="messages",
                denominator="conversations", precision=1, rows=BEHIND),
    ),
    dimensions=(
        Dimension("time", "Time", "The UTC day the conversation started.", "day",
                  is_time=True),
    ),
    notes=(
        "A conversation and all its messages count on the UTC day the conversation "
        "started, even when messages arrive later.",
        "Engaged: at least one agent message comes after the conversation's first "
        "customer message.",
        "Read from a materialized view refreshed hourly: figures lag by up to an hour.",
    ),
)  # fmt: skip
