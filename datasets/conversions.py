"""Conversions: one row per goal completion, read live from the ledger (real-time)."""

from __future__ import annotations

from datasets.model import (
    Agg,
    Dataset,
    Dimension,
    FieldType,
    Filter,
    GroupedRollup,
    Lookup,
    Measure,
    MeasureRows,
    RowField,
    RowSource,
    each_alone_and_none,
)
from datasets.model import MeasureType as T
from datasets.model import RowCount as R
from datasets.operators import CATEGORICAL, NUMERIC
from db import schema as s

GOALS = Lookup(s.goals, missing_label="(deleted goal)")
FLOWS = Lookup(s.flows, missing_label="(no flow)")
GROUPS = ("goal_id", "channel", "currency", "flow_id")

CONVERSIONS = Dataset(
    id="conversions",
    label="Conversions",
    description="Goal completions with their value, by goal, channel, currency and flow.",
    table=s.goal_completions,
    time_column="completed_at",
    daily=s.goal_completions_daily,
    currency_field="currency",
    drill=RowSource("goal completions", s.goal_completions, "completed_at", fields=(
        RowField("value", "Value", T.CURRENCY, currency_column="currency"),
        RowField("customer_id", "Customer", "category"),
        RowField("conversation_id", "Conversation", "category"),
    )),
    grouped=(
        GroupedRollup(Agg.COUNT_DISTINCT, "customer_id", s.goal_customer_bits, GROUPS,
                      each_alone_and_none(GROUPS), numbers=s.customer_ids,
                      stamped="customer_n"),
        GroupedRollup(Agg.COUNT_DISTINCT, "conversation_id", s.goal_conversation_bits, GROUPS,
                      each_alone_and_none(GROUPS)),
    ),
    measures=(
        Measure("conversions", "Conversions", T.COUNT, Agg.COUNT,
                "Number of goal completions.", rows=MeasureRows(R.ROWS)),
        Measure("revenue", "Revenue", T.CURRENCY, Agg.SUM,
                "Sum of completion values, in the row's currency.", column="value",
                rows=MeasureRows(R.BEHIND, "value")),
        Measure("avg_value", "Avg value", T.CURRENCY, Agg.AVG,
                "Average value of completions that carry one.", column="value",
                rows=MeasureRows(R.BEHIND, "value")),
        Measure("distinct_customers", "Customers", T.COUNT, Agg.COUNT_DISTINCT,
                "Distinct customers who completed a goal.", column="customer_id",
                rows=MeasureRows(R.DISTINCT, "customer_id")),
        Measure("distinct_conversations", "Conversations", T.COUNT, Agg.COUNT_DISTINCT,
                "Distinct conversations with a completion.", column="conversation_id",
                rows=MeasureRows(R.DISTINCT, "conversation_id")),
    ),
    dimensions=(
        Dimension("time", "Time", "When the goal was completed (UTC).", "completed_at",
                  is_time=True),
        Dimension("goal", "Goal", "The goal completed.", "goal_id", lookup=GOALS),
        Dimension("channel", "Channel", "The conversation's channel.", "channel"),
        Dimension("currency", "Currency", "The currency of the value (ISO 4217).", "currency"),
        Dimension("flow", "Flow", "The flow that handled the conversation.", "flow_id",
                  lookup=FLOWS),
    ),
    filters=(
        Filter("goal", "Goal", FieldType.CATEGORY, "goal_id", CATEGORICAL, suggest=True,
               lookup=GOALS, value_kind="int"),
        Filter("channel", "Channel", FieldType.CATEGORY, "channel", CATEGORICAL, suggest=True),
        Filter("currency", "Currency", FieldType.CATEGORY, "currency", CATEGORICAL,
               suggest=True),
        Filter("flow", "Flow", FieldType.CATEGORY, "flow_id", CATEGORICAL, suggest=True,
               lookup=FLOWS, value_kind="int"),
        Filter("value", "Value", FieldType.NUMBER, "value", NUMERIC, value_kind="number"),
    ),
)  # fmt: skip
