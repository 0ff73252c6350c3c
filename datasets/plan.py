"""plan(dataset, definition) -> Plan: where each measure of an aggregate is read from.

Four sources, chosen once per measure:
- the daily rollup (counts, sums and averages of complete days, plus the live tail);
- bitmaps (distinct counts: one bit per id per day, merged over the range, exact);
- histograms (percentiles: log-spaced duration buckets per day, within 1 %);
- the rows (anything else: a numeric range filter needs them, so every measure of such
  a report reads them).
A rollup answers a measure when it keeps every column the report breaks down or filters
by. Measures read from the same place form one step; the compiler builds one select per
step (`datasets.sources`) and joins them on the breakdowns. `Plan.explain()` is what
describe() and the benchmark show.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa

from datasets.model import Agg, AggregateQuery, Dataset, FieldType, GroupedRollup, Measure


class Source(StrEnum):
    DAILY = "daily rollup"
    BITMAPS = "bitmaps"
    HISTOGRAMS = "histograms"
    ROWS = "rows"


# How a reader is told where a number comes from (describe(): the About sheet, emails).
IN_WORDS = {
    Source.DAILY: "daily totals, with today's rows live",
    Source.BITMAPS: "exact daily sets of ids, with today's rows live",
    Source.HISTOGRAMS: "daily duration histograms (within 1 %), with today's rows live",
    Source.ROWS: "the rows",
}


GROUPED_SOURCE = {Agg.COUNT_DISTINCT: Source.BITMAPS, Agg.P95: Source.HISTOGRAMS}
SHAPE = frozenset({"tenant_id", "day", "row_count"})


@dataclass(frozen=True)
class Step:
    """Measures read together: from `table` (a rollup, or the base table for rows), for a
    grouped rollup at its grouping set `kept`."""

    source: Source
    table: sa.Table
    measures: tuple[str, ...]
    rollup: GroupedRollup | None = None
    kept: frozenset[str] = frozenset()

    def explain(self) -> str:
        by = f" by {', '.join(sorted(self.kept)) or 'nothing'}" if self.rollup else ""
        tail = "" if self.source is Source.ROWS else " + live tail"
        return f"{', '.join(self.measures)}: {self.source} {self.table.name}{by}{tail}"


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]

    def explain(self) -> str:
        return "; ".join(step.explain() for step in self.steps)

    def in_words(self, dataset: Dataset) -> str:
        """Each step's measures by label, and where they come from, for readers."""
        return "; ".join(
            ", ".join(dataset.measure(m).label for m in step.measures)
            + f" from {IN_WORDS[step.source]}"
            for step in self.steps
        )


def daily_columns(daily: sa.Table) -> frozenset[str]:
    """The daily rollup's grouping columns besides tenant and day."""
    return frozenset(
        c.key for c in daily.c if c.key not in SHAPE and not c.key.startswith(("count__", "sum__"))
    )


def _in_daily(dataset: Dataset, measure: Measure, daily: sa.Table) -> bool:
    match measure.agg:
        case Agg.COUNT:
            return measure.column is None or f"count__{measure.column}" in daily.c
        case Agg.COUNT_WHERE:
            return measure.column in daily_columns(daily)
        case Agg.SUM | Agg.AVG:
            return {f"sum__{measure.column}", f"count__{measure.column}"} <= set(daily.c.keys())
        case Agg.RATIO:
            assert measure.numerator and measure.denominator
            parts = (dataset.measure(measure.numerator), dataset.measure(measure.denominator))
            return all(_in_daily(dataset, p, daily) for p in parts)
        case Agg.COUNT_DISTINCT | Agg.P95:
            return False


def _needed(dataset: Dataset, definition: AggregateQuery) -> frozenset[str]:
    """The base columns the report breaks down or filters by (time aside)."""
    dims = (dataset.dimension(r.id) for r in definition.dimensions)
    return frozenset(
        [d.column for d in dims if not d.is_time]
        + [dataset.filter(f.field).column for f in definition.filters]
    )


def _step_for(dataset: Dataset, measure: Measure, needed: frozenset[str]) -> Step:
    daily = dataset.daily
    if daily is not None and needed <= daily_columns(daily) and _in_daily(dataset, measure, daily):
        return Step(Source.DAILY, daily, ())
    for rollup in dataset.grouped:
        kept = rollup.smallest_set(needed)
        if rollup.agg is measure.agg and rollup.column == measure.column and kept is not None:
            return Step(GROUPED_SOURCE[rollup.agg], rollup.table, (), rollup, kept)
    return Step(Source.ROWS, dataset.table, ())


def plan(dataset: Dataset, definition: AggregateQuery, *, rows_only: bool = False) -> Plan:
    """Each measure's source; `rows_only` reads everything from the base rows (what a tool
    without rollups runs: the benchmark's naive statement, and the tests' reference)."""
    needed = _needed(dataset, definition)
    needs_rows = rows_only or any(
        dataset.filter(f.field).type is FieldType.NUMBER for f in definition.filters
    )
    steps: dict[tuple[Source, str, frozenset[str]], Step] = {}
    for measure_id in definition.measures:
        measure = dataset.measure(measure_id)
        step = (
            Step(Source.ROWS, dataset.table, ())
            if needs_rows
            else _step_for(dataset, measure, needed)
        )
        key = (step.source, step.table.name, step.kept)
        found = steps.get(key, step)
        steps[key] = Step(
            found.source, found.table, (*found.measures, measure_id), found.rollup, found.kept
        )
    return Plan(tuple(steps.values()))
