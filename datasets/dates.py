"""Date ranges: presets and explicit windows resolved to inclusive UTC days, and the SQL
condition that keeps a range's rows."""

from __future__ import annotations

import datetime as dt
from typing import Any, assert_never

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from datasets.model import ExplicitRange, Grain, Preset, PresetRange

UTC = sa.literal_column("'UTC'")  # the zone every day boundary is in, as SQL
MAX_RANGE_DAYS = 731  # two years: the longest window a report may span


def resolve(date_range: PresetRange | ExplicitRange, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last UTC day (both inclusive) of the range, as of `today`."""
    if isinstance(date_range, ExplicitRange):
        return date_range.start, date_range.end
    preset = date_range.preset
    match preset:
        case Preset.TODAY:
            return today, today
        case Preset.YESTERDAY:
            yesterday = today - dt.timedelta(days=1)
            return yesterday, yesterday
        case Preset.D7 | Preset.D14 | Preset.D30 | Preset.D90 | Preset.D180 | Preset.D365:
            days = int(preset.value.removesuffix("d"))
            return today - dt.timedelta(days=days - 1), today
        case Preset.MTD:
            return today.replace(day=1), today
        case Preset.QTD:
            return today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1), today
        case Preset.YTD:
            return today.replace(month=1, day=1), today
        case _:
            assert_never(preset)


def midnight(day: dt.date) -> dt.datetime:
    """The UTC instant a day starts."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def bucket_start(day: dt.date, grain: Grain) -> dt.date:
    """The first day of the bucket holding `day` (weeks start on Monday, as in PostgreSQL)."""
    match grain:
        case Grain.DAY:
            return day
        case Grain.WEEK:
            return day - dt.timedelta(days=day.weekday())
        case Grain.MONTH:
            return day.replace(day=1)
        case _:
            assert_never(grain)


def in_range(column: ColumnElement[Any], start: dt.date, end: dt.date) -> ColumnElement[bool]:
    """Rows of the inclusive UTC days [start, end]: a date column between them, or a
    timestamp from start's midnight up to (not including) the midnight after end."""
    if isinstance(column.type, sa.Date):
        return column.between(start, end)
    after = midnight(end + dt.timedelta(days=1))
    return sa.and_(column >= midnight(start), column < after)
