"""Chat engagement: daily conversation statistics from ins_conversation_stats_daily."""

from __future__ import annotations

from datasets.model import Agg, Dataset, Dimension, Measure
from datasets.model import MeasureType as T
from db import schema as s

CHAT = Dataset(
    id="chat",
    label="Chat engagement",
    description="Conversations and messages per day, and how many were engaged.",
    table=s.conversation_stats_daily,
    time_column="day",
    measures=(
        Measure("conversations", "Conversations", T.COUNT, Agg.SUM,
                "Conversations started.", column="conversations"),
        Measure("messages", "Messages", T.COUNT, Agg.SUM,
                "All messages of those conversations.", column="messages"),
        Measure("user_messages", "User messages", T.COUNT, Agg.SUM,
                "Messages written by customers.", column="user_messages"),
        Measure("agent_messages", "Agent messages", T.COUNT, Agg.SUM,
                "Replies from the agent (bot or human).", column="agent_messages"),
        Measure("engaged", "Engaged conversations", T.COUNT, Agg.SUM,
                "Conversations in which the agent answered a customer message.",
                column="engaged_conversations"),
        Measure("messages_per_conversation", "Messages / conversation", T.DECIMAL, Agg.RATIO,
                "Messages divided by conversations.", numerator="messages",
                denominator="conversations", precision=1),
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
