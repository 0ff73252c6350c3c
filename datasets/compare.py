"""The previous period of a definition: the same length, ending the day before it starts."""

from __future__ import annotations

import datetime as dt

from datasets.model import Definition, ExplicitRange


def previous_period(definition: Definition, start: dt.date, end: dt.date) -> Definition:
    days = (end - start).days + 1
    earlier = ExplicitRange(start=start - dt.timedelta(days=days), end=start - dt.timedelta(days=1))
    return definition.model_copy(update={"date_range": earlier})
