"""Funnel: step-by-step drop-off of one flow, counted in executions.

For the chosen flow, every ordered step (fs_flow_steps) with the number of executions of
that flow, started in the date range, that reached the step (fs_execution_steps); the
drop-off from the previous step and the conversion from the first. Executions, not
conversations, are counted: a flow can run without a conversation (schedule, API).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from datasets import daily, dates
from datasets.model import Dataset, MeasureRows, OutputColumn, QueryKind
from datasets.model import MeasureType as T
from datasets.model import RowCount as R
from db import schema as s

FUNNEL = Dataset(
    id="funnel",
    label="Funnel",
    description="Step-by-step drop-off for one flow: how many runs reached each step.",
    table=s.executions,
    time_column="started_at",
    kind=QueryKind.FUNNEL,
    outputs=(
        OutputColumn("step", "Step", "The flow's steps in order.", "dimension", "category"),
        OutputColumn("reached", "Reached",
                     "Executions started in the range that reached the step.",
                     "measure", T.COUNT, MeasureRows(R.ROWS)),
        OutputColumn("drop_off", "Drop-off",
                     "Share of the previous step's executions that did not reach this one.",
                     "measure", T.RATIO, MeasureRows(R.BEHIND)),
        OutputColumn("conversion", "Conversion",
                     "Share of the first step's executions that reached this one.",
                     "measure", T.RATIO, MeasureRows(R.BEHIND)),
    ),
    notes=(
        "Counts executions of the flow started in the range, whatever their outcome.",
    ),
)  # fmt: skip


def step_label(steps: sa.FromClause) -> ColumnElement[str]:
    """A step as the funnel shows it, its position and name: "2. Ask order number"."""
    return sa.func.concat(steps.c.position, ". ", steps.c.name)


def compile_funnel(
    flow_id: int, start: dt.date, end: dt.date
) -> tuple[sa.Select, tuple[ColumnElement[Any], ...]]:
    """One row per step of `flow_id` for runs started in [start, end], and the order of
    the steps: the daily rollup before its watermark, the base rows from it on (see
    datasets.daily)."""
    steps, reached_rows, runs = s.flow_steps, s.execution_steps, s.executions
    rolled_up = s.execution_steps_daily
    rolled = (
        daily.rolled_days(rolled_up, start, end)
        .where(rolled_up.c.flow_id == flow_id)
        .with_only_columns(rolled_up.c.tenant_id, rolled_up.c.step_id, rolled_up.c.row_count)
    )
    tail = (
        sa.select(reached_rows.c.tenant_id, reached_rows.c.step_id, sa.func.count())
        .join(
            runs,
            sa.and_(
                runs.c.tenant_id == reached_rows.c.tenant_id,
                runs.c.id == reached_rows.c.execution_id,
            ),
        )
        .where(
            runs.c.flow_id == flow_id,
            runs.c.started_at >= daily.from_through(),
            dates.in_range(runs.c.started_at, start, end),
        )
        .group_by(reached_rows.c.tenant_id, reached_rows.c.step_id)
    )
    both = sa.union_all(rolled, tail).subquery("reached_daily")
    reached = (
        sa.select(both.c.tenant_id, both.c.step_id, sa.func.sum(both.c.row_count).label("n"))
        .group_by(both.c.tenant_id, both.c.step_id)
        .cte("reached", nesting=True)
    )
    n = sa.cast(sa.func.coalesce(reached.c.n, 0), sa.BigInteger)
    in_order = {"order_by": steps.c.position}
    previous = sa.func.lag(n).over(**in_order)
    first = sa.func.first_value(n).over(**in_order)
    as_numeric = sa.Numeric(20, 10)
    return (
        sa.select(
            step_label(steps).label("step"),
            n.label("reached"),
            (1 - sa.cast(n, as_numeric) / sa.func.nullif(previous, 0)).label("drop_off"),
            (sa.cast(n, as_numeric) / sa.func.nullif(first, 0)).label("conversion"),
        )
        .select_from(steps)
        .outerjoin(
            reached,
            sa.and_(reached.c.tenant_id == steps.c.tenant_id, reached.c.step_id == steps.c.id),
        )
        .where(steps.c.flow_id == flow_id)
    ), (steps.c.position,)
