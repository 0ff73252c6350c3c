"""A report compared with an earlier window: which window, and the joined columns.

The earlier window is the report's own, shifted back by a whole number of its buckets,
so each bucket meets the bucket it is compared with:

- previous year: 52 weeks back for a weekly series (the same ISO week), else 12 months
  (the same dates; 29 February meets the 28th);
- previous period: month, quarter or year to date go back 1, 3 or 12 months, so "this
  month so far" meets the same days of the last month; a monthly series goes back the
  months it spans, a weekly one the whole weeks it spans, anything else its length in days.

Both windows run through the same compiler (`datasets.run`); `joined` puts beside each
measure its previous value and its change, matching rows on their breakdown values (a
currency breakdown is one of them, so money is only compared within one currency).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pandas as pd

from datasets.formatting import CHANGE, is_empty
from datasets.model import (
    AggregateQuery,
    Better,
    Column,
    Compare,
    Definition,
    ExplicitRange,
    Grain,
    Preset,
    PresetRange,
)

PREVIOUS, DELTA = "__previous", "__change"  # suffixes of a measure's comparison column ids
TO_DATE_MONTHS = {Preset.MTD: 1, Preset.QTD: 3, Preset.YTD: 12}


@dataclass(frozen=True)
class Shift:
    """How far back the compared window is: whole days, or whole months (clamped)."""

    days: int = 0
    months: int = 0

    def back(self, day: dt.date) -> dt.date:
        return _add_months(day, -self.months) - dt.timedelta(days=self.days)

    def forward(self, day: dt.date) -> dt.date:
        return _add_months(day, self.months) + dt.timedelta(days=self.days)


def _add_months(day: dt.date, months: int) -> dt.date:
    if not months:
        return day
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return day.replace(year=year, month=month + 1,
                       day=min(day.day, calendar.monthrange(year, month + 1)[1]))  # fmt: skip


def _grain(definition: Definition) -> Grain | None:
    if not isinstance(definition, AggregateQuery):
        return None
    return next((r.grain or Grain.DAY for r in definition.dimensions if r.id == "time"), None)


def shift(definition: Definition, compare: Compare, start: dt.date, end: dt.date) -> Shift:
    """How far back `compare` looks from the window [start, end] of `definition`."""
    grain = _grain(definition)
    if compare is Compare.PREVIOUS_YEAR:
        return Shift(days=364) if grain is Grain.WEEK else Shift(months=12)
    range_ = definition.date_range
    if isinstance(range_, PresetRange) and range_.preset in TO_DATE_MONTHS:
        return Shift(months=TO_DATE_MONTHS[range_.preset])
    if grain is Grain.MONTH:
        return Shift(months=(end.year - start.year) * 12 + end.month - start.month + 1)
    days = (end - start).days + 1
    return Shift(days=7 * math.ceil(days / 7)) if grain is Grain.WEEK else Shift(days=days)


def earlier(definition: Definition, by: Shift, start: dt.date, end: dt.date) -> Definition:
    """The definition over the window [start, end] moved back `by`, compared with nothing."""
    window = ExplicitRange(start=by.back(start), end=by.back(end))
    return definition.model_copy(update={"date_range": window, "compare": None})


def previous_period(definition: Definition, start: dt.date, end: dt.date) -> Definition:
    """The definition over its previous period (a KPI's and an alert's change)."""
    return earlier(definition, shift(definition, Compare.PREVIOUS_PERIOD, start, end), start, end)


def comparison_columns(column: Column) -> tuple[Column, Column]:
    """A measure's previous value and its change, as result columns."""
    previous = replace(column, id=column.id + PREVIOUS, label=f"{column.label} (previous)",
                       role="comparison", is_additive=False, compares=column.id)  # fmt: skip
    change = Column(column.id + DELTA, f"{column.label} Δ %", "comparison", CHANGE,
                    better=column.better, compares=column.id)  # fmt: skip
    return previous, change


def change(value: Any, previous: Any) -> float | None:
    """(value - previous) / |previous|; None when either is empty or previous is 0."""
    if is_empty(value) or is_empty(previous) or previous == 0:
        return None
    now, before = Decimal(str(value)), Decimal(str(previous))
    return float((now - before) / abs(before))


def joined(columns: tuple[Column, ...], current: pd.DataFrame, previous: pd.DataFrame,
           by: Shift) -> tuple[tuple[Column, ...], pd.DataFrame]:  # fmt: skip
    """The current rows with, after each measure, its previous value and change: rows meet
    on their breakdown values, the previous window's time moved forward by `by`."""
    keys = [c.id for c in columns if c.role == "dimension"]
    measures = [c for c in columns if c.role == "measure"]
    before = previous.copy()
    for c in columns:
        if c.role == "dimension" and c.type == "time":
            before[c.id] = [by.forward(_day(v)) for v in before[c.id]]
    before = before.drop_duplicates(keys) if keys else before.head(1)
    lookup = {_key(row, keys): row for row in before.to_dict("records")}
    out_columns: list[Column] = []
    data: dict[str, list[Any]] = {}
    rows = current.to_dict("records")
    matches = [lookup.get(_key(row, keys), {}) for row in rows]  # each row's earlier row
    for column in columns:
        out_columns.append(column)
        data[column.id] = [row[column.id] for row in rows]
        if column in measures:
            prev_col, change_col = comparison_columns(column)
            earlier_values = [match.get(column.id) for match in matches]
            out_columns += [prev_col, change_col]
            data[prev_col.id] = earlier_values
            now = data[column.id]
            data[change_col.id] = [change(v, e) for v, e in zip(now, earlier_values, strict=True)]
    frame = pd.DataFrame(data, columns=[c.id for c in out_columns], dtype=object)
    return tuple(out_columns), frame


TONES = ("good", "bad")


def tone(change: Any, better: str) -> str | None:
    """Whether a change is good or bad news for its measure (`Better`); None when there is
    no change, or the measure has no better direction. Shown beside the arrows, never alone."""
    if is_empty(change) or change == 0 or better == Better.NEITHER:
        return None
    return "good" if (change > 0) is (better == Better.UP) else "bad"


def _day(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _key(row: dict[str, Any], keys: list[str]) -> tuple[Any, ...]:
    return tuple(None if is_empty(row[k]) else _day(row[k]) for k in keys)


def window_words(compare: Compare, start: dt.date, end: dt.date) -> str:
    """What a compared report is compared with, in words: "the previous period, …"."""
    what = "the previous period" if compare is Compare.PREVIOUS_PERIOD else "the previous year"
    window = start.isoformat() if start == end else f"{start.isoformat()} to {end.isoformat()}"
    return f"{what}, {window} (UTC)"
