"""Flow runs: one row per execution of a flow, from fs_executions."""

from __future__ import annotations

from datasets.conversions import FLOWS
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
from datasets.model import Better as B
from datasets.model import MeasureType as T
from datasets.model import RowCount as R
from datasets.operators import CATEGORICAL, NUMERIC
from db import schema as s

GROUPS = ("flow_id", "status", "trigger_type")

FLOW_RUNS = Dataset(
    id="flow_runs",
    label="Flow runs",
    description="Executions of flows: outcomes, success rate and durations.",
    table=s.executions,
    time_column="started_at",
    daily=s.executions_daily,
    drill=RowSource("runs", s.executions, "started_at", fields=(
        RowField("duration_ms", "Duration", T.DURATION),
        RowField("conversation_id", "Conversation", "category"),
    )),
    grouped=(
        GroupedRollup(Agg.P95, "duration_ms", s.duration_hist, GROUPS, each_alone_and_none(GROUPS)),
    ),
    measures=(
        Measure("total_runs", "Runs", T.COUNT, Agg.COUNT, "Runs started.",
                rows=MeasureRows(R.ROWS)),
        Measure("completed", "Completed", T.COUNT, Agg.COUNT_WHERE,
                "Runs that completed.", column="status", where_value="completed",
                rows=MeasureRows(R.ROWS, "status", "completed")),
        Measure("failed", "Failed", T.COUNT, Agg.COUNT_WHERE,
                "Runs that failed.", column="status", where_value="failed",
                rows=MeasureRows(R.ROWS, "status", "failed"), better=B.DOWN),
        Measure("aborted", "Aborted", T.COUNT, Agg.COUNT_WHERE,
                "Runs that were aborted.", column="status", where_value="aborted",
                rows=MeasureRows(R.ROWS, "status", "aborted"), better=B.DOWN),
        Measure("in_flight", "In flight", T.COUNT, Agg.COUNT_WHERE,
                "Runs still running.", column="status", where_value="running",
                rows=MeasureRows(R.ROWS, "status", "running"), better=B.NEITHER),
        Measure("finished_runs", "Finished", T.COUNT, Agg.COUNT,
                "Runs that ended: completed, failed or aborted.", column="finished_at",
                rows=MeasureRows(R.ROWS, "finished_at")),
        Measure("success_rate", "Success rate", T.RATIO, Agg.RATIO,
                "Completed runs divided by finished runs (running ones are left out).",
                numerator="completed", denominator="finished_runs",
                rows=MeasureRows(R.BEHIND, "finished_at")),
        Measure("avg_duration", "Avg duration", T.DURATION, Agg.AVG,
                "Mean duration of finished runs.", column="duration_ms",
                rows=MeasureRows(R.BEHIND, "duration_ms"), better=B.DOWN),
        Measure("p95_duration", "p95 duration", T.DURATION, Agg.P95,
                "95th percentile duration of finished runs (continuous), within 1 %.",
                column="duration_ms", rows=MeasureRows(R.BEHIND, "duration_ms"), better=B.DOWN),
    ),
    dimensions=(
        Dimension("time", "Time", "When the run started (UTC).", "started_at", is_time=True),
        Dimension("flow", "Flow", "The flow that ran.", "flow_id", lookup=FLOWS),
        Dimension("status", "Status", "completed, failed, aborted or running.", "status"),
        Dimension("trigger_type", "Trigger", "What started the run.", "trigger_type"),
    ),
    filters=(
        Filter("flow", "Flow", FieldType.CATEGORY, "flow_id", CATEGORICAL, suggest=True,
               lookup=FLOWS, value_kind="int"),
        Filter("status", "Status", FieldType.CATEGORY, "status", CATEGORICAL, suggest=True),
        Filter("trigger_type", "Trigger", FieldType.CATEGORY, "trigger_type", CATEGORICAL,
               suggest=True),
        Filter("duration", "Duration (ms)", FieldType.NUMBER, "duration_ms", NUMERIC,
               value_kind="number"),
    ),
)  # fmt: skip
