"""Telemetry: raw chat events from ins_telemetry_events (needs the telemetry leaf)."""

from __future__ import annotations

from datasets.model import (
    Agg,
    Dataset,
    Dimension,
    FieldType,
    Filter,
    GroupedRollup,
    Measure,
    MeasureRows,
    RowField,
    RowSource,
    each_alone_and_none,
)
from datasets.model import MeasureType as T
from datasets.model import RowCount as R
from datasets.operators import SEARCHABLE
from db import schema as s

TELEMETRY = Dataset(
    id="telemetry",
    label="Telemetry",
    description="Chat telemetry events by name: how often, in how many conversations.",
    table=s.telemetry_events,
    time_column="occurred_at",
    daily=s.telemetry_events_daily,
    leaf="comerix.insights.telemetry",
    drill=RowSource("events", s.telemetry_events, "occurred_at", fields=(
        RowField("conversation_id", "Conversation", "category"),
        RowField("properties", "Properties", "json"),
    )),
    grouped=(
        GroupedRollup(Agg.COUNT_DISTINCT, "conversation_id", s.telemetry_conversation_bits,
                      ("event_name",), each_alone_and_none(("event_name",))),
    ),
    measures=(
        Measure("events", "Events", T.COUNT, Agg.COUNT, "Events recorded.",
                rows=MeasureRows(R.ROWS)),
        Measure("distinct_conversations", "Conversations", T.COUNT, Agg.COUNT_DISTINCT,
                "Distinct conversations with the event.", column="conversation_id",
                rows=MeasureRows(R.DISTINCT, "conversation_id")),
    ),
    dimensions=(
        Dimension("time", "Time", "When the event occurred (UTC).", "occurred_at",
                  is_time=True),
        Dimension("event_name", "Event", "The event's name.", "event_name"),
    ),
    filters=(
        Filter("event_name", "Event", FieldType.CATEGORY, "event_name", SEARCHABLE,
               suggest=True),
    ),
)  # fmt: skip
