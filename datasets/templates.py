"""The six built-in templates: cloneable starting points that pre-fill the builder.

A template is never itself a saved report. Each definition passes validate() (the
Funnel template once a flow is chosen: the builder asks for one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    description: str
    definition: dict[str, Any]
    needs_flow: bool = False


LAST_30_DAYS = {"preset": "30d"}

TEMPLATES: tuple[Template, ...] = (
    Template(
        "conversions_overview", "Conversions overview",
        "Daily goal completions and the customers behind them.",
        {"dataset": "conversions", "measures": ["conversions", "distinct_customers"],
         "dimensions": [{"id": "time", "grain": "day"}], "date_range": LAST_30_DAYS,
         "viz": "line"},
    ),
    Template(
        "revenue_by_goal", "Revenue by goal",
        "Revenue per goal, sliced by currency.",
        {"dataset": "conversions", "measures": ["revenue"],
         "dimensions": [{"id": "goal"}, {"id": "currency"}], "date_range": LAST_30_DAYS,
         "viz": "bar"},
    ),
    Template(
        "chat_engagement", "Chat engagement",
        "Conversations per day and how many the agent engaged.",
        {"dataset": "chat", "measures": ["conversations", "engaged"],
         "dimensions": [{"id": "time", "grain": "day"}], "date_range": LAST_30_DAYS,
         "viz": "line"},
    ),
    Template(
        "flow_success", "Flow success",
        "Runs, outcomes, success rate and durations per flow.",
        {"dataset": "flow_runs",
         "measures": ["total_runs", "completed", "failed", "aborted", "success_rate",
                      "avg_duration", "p95_duration"],
         "dimensions": [{"id": "flow"}], "date_range": LAST_30_DAYS, "viz": "table"},
    ),
    Template(
        "event_explorer", "Event explorer",
        "Telemetry events by name, and in how many conversations.",
        {"dataset": "telemetry", "measures": ["events", "distinct_conversations"],
         "dimensions": [{"id": "event_name"}], "date_range": LAST_30_DAYS, "viz": "bar"},
    ),
    Template(
        "funnel", "Funnel",
        "Step-by-step drop-off of one flow.",
        {"dataset": "funnel", "date_range": LAST_30_DAYS, "viz": "funnel"},
        needs_flow=True,
    ),
)  # fmt: skip

BY_ID = {t.id: t for t in TEMPLATES}
