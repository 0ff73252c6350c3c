"""A drill-down's clicked point (Bucket), checked against its report before any query.

A bucket names the value each breakdown has in the clicked result row (the time
bucket's first day, a lookup's name as shown, None for an empty value) and the measure
clicked; a funnel's names its step. Checking it gives a Point: the measure and the rows
it is made of (`Measure.rows`), the report's days within the time bucket, and the other
breakdowns' values; a bucket that does not fit is a BadBucket naming every bad part.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, assert_never

from datasets import dates
from datasets.model import (
    AggregateQuery,
    Dataset,
    DimensionRef,
    FunnelQuery,
    Grain,
    MeasureRows,
)
from datasets.run import Result
from datasets.validate import MAX_TEXT, is_clean_text
from errors import BadBucket, echo


@dataclass(frozen=True)
class Bucket:
    """A clicked point: `values` maps each breakdown id of the report to the value its
    result row holds (time: the bucket's first day, a date or "YYYY-MM-DD"; a lookup:
    its shown name; an empty value: None); `measure` is the measure id clicked."""

    measure: str
    values: Mapping[str, Any]

    @staticmethod
    def of_row(result: Result, row: int, measure: str) -> Bucket:
        """The bucket of row `row` of a result (a table row, a chart point's row)."""
        record = result.frame.iloc[row]
        breakdowns = [c.id for c in result.columns if c.role == "dimension"]
        return Bucket(measure, {b: record[b] for b in breakdowns})

    @staticmethod
    def from_json(raw: object) -> Bucket:
        """A bucket sent by a client: {"measure": id, "values": {breakdown id: value}}."""
        if not isinstance(raw, dict) or set(raw) != {"measure", "values"}:
            raise BadBucket([("(bucket)", 'an object {"measure": …, "values": {…}}')])
        measure, values = raw["measure"], raw["values"]
        if not isinstance(measure, str) or not isinstance(values, dict):
            raise BadBucket([("(bucket)", "measure is a measure id, values an object")])
        return Bucket(measure, values)


@dataclass(frozen=True)
class Point:
    """A bucket checked against its report: the measure and the rows it is made of, the
    days, the breakdown values."""

    measure: str
    made_of: MeasureRows
    start: dt.date
    end: dt.date
    values: dict[str, str | None]


def _as_day(value: Any) -> dt.date | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _last_day(first: dt.date, grain: Grain) -> dt.date:
    """The last day of the bucket that starts on `first`."""
    match grain:
        case Grain.DAY:
            return first
        case Grain.WEEK:
            return first + dt.timedelta(days=6)
        case Grain.MONTH:
            return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(1)
        case _:
            assert_never(grain)


def _days(ref: DimensionRef, value: Any, start: dt.date, end: dt.date,
          issues: list[tuple[str, str]]) -> tuple[dt.date, dt.date]:  # fmt: skip
    """The report's days within the time bucket `value` ([start, end] when it is bad)."""
    grain = ref.grain or Grain.DAY
    day, path = _as_day(value), f"values.{ref.id}"
    if day is None:
        issues.append((path, f"'{echo(value)}' is not a day (YYYY-MM-DD)"))
    elif dates.bucket_start(day, grain) != day:
        issues.append((path, f"{day} does not start a {grain.value} of the report"))
    elif max(start, day) > min(end, _last_day(day, grain)):
        issues.append((path, f"the {grain.value} of {day} is outside the report's days, "
                       f"{start} to {end}"))  # fmt: skip
    else:
        return max(start, day), min(end, _last_day(day, grain))
    return start, end


def aggregate_point(dataset: Dataset, definition: AggregateQuery, bucket: Bucket,
           today: dt.date) -> Point:  # fmt: skip
    """The bucket checked against the definition; BadBucket naming every bad part."""
    issues: list[tuple[str, str]] = []
    if bucket.measure not in definition.measures:
        issues.append(("measure", f"'{echo(bucket.measure)}' is not a measure of this report; "
                       f"one of: {', '.join(definition.measures)}"))  # fmt: skip
    refs = {r.id: r for r in definition.dimensions}
    for key in bucket.values:
        if key not in refs:
            shown = ", ".join(refs) or "none"
            issues.append((f"values.{echo(key)}", f"not a breakdown of this report; its "
                           f"breakdowns: {shown}"))  # fmt: skip
    start, end = dates.resolve(definition.date_range, today)
    values: dict[str, str | None] = {}
    for ref in definition.dimensions:
        path = f"values.{ref.id}"
        if ref.id not in bucket.values:
            issues.append((path, "missing: a point has a value for every breakdown"))
            continue
        value = bucket.values[ref.id]
        if dataset.dimension(ref.id).is_time:
            start, end = _days(ref, value, start, end, issues)
        elif value is None or _is_text(value):
            values[ref.id] = value
        else:
            issues.append((path, f"'{echo(value)}' is not a {ref.id} (a text, or null)"))
    if issues:
        raise BadBucket(issues)
    made_of = dataset.measure(bucket.measure).rows
    assert made_of is not None, "the registry checks that every measure declares its rows"
    return Point(bucket.measure, made_of, start, end, values)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT and is_clean_text(value)


def funnel_point(dataset: Dataset, definition: FunnelQuery, bucket: Bucket,
                  today: dt.date) -> tuple[Point, str]:  # fmt: skip
    """A funnel's point checked (its measure, and a step as the funnel shows it), and the
    step; BadBucket naming every bad part."""
    issues: list[tuple[str, str]] = []
    measures = {o.id: o.rows for o in dataset.outputs if o.rows is not None}
    if bucket.measure not in measures:
        issues.append(("measure", f"'{echo(bucket.measure)}' is not a measure of the funnel; "
                       f"one of: {', '.join(measures)}"))  # fmt: skip
    step = bucket.values.get("step")
    if set(bucket.values) != {"step"} or not _is_text(step):
        issues.append(("values", 'a funnel\'s point is one step: {"step": "2. Ask order number"}'))
    if issues:
        raise BadBucket(issues)
    start, end = dates.resolve(definition.date_range, today)
    return Point(bucket.measure, measures[bucket.measure], start, end, {}), str(step)
