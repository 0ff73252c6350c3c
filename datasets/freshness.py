"""How fresh a dataset's numbers are, in words for the report page, cards and emails.

Chat engagement and Token usage read only rollups, so they trail by up to the hourly
refresh. Conversions, Flow runs, Telemetry and Funnel read the rollups before the
watermark and the base rows from it on (datasets.daily): today is real time, and a
late row for an earlier day counts from the next hourly refresh. Either way the line
names the last refresh (`ins_rollups_through.refreshed_at`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from datasets.cache import ROLLUP_ONLY
from datasets.model import Dataset
from db.rollups import last_refresh


def freshness(dataset: Dataset, refreshed_at: dt.datetime | None, *, now: dt.datetime) -> str:
    """One line: how far behind the dataset may be and when the rollups were refreshed,
    e.g. "Chat engagement: up to an hour behind; last refresh 14:00 UTC"."""
    if dataset.id in ROLLUP_ONLY:
        lag = "up to an hour behind"
    else:
        lag = "real time for today; late rows for earlier days count after the hourly refresh"
    return f"{dataset.label}: {lag}; {_refresh(refreshed_at, now)}"


def _refresh(refreshed_at: dt.datetime | None, now: dt.datetime) -> str:
    if refreshed_at is None:
        return "not refreshed yet"
    at = refreshed_at.astimezone(dt.UTC)
    day = "" if at.date() == now.astimezone(dt.UTC).date() else f"{at:%Y-%m-%d} "
    return f"last refresh {day}{at:%H:%M} UTC"


def describe_freshness(dataset: Dataset, engine: Engine) -> tuple[str, tuple[str, ...]]:
    """The freshness line of `dataset` as of now, and its caveats (`Dataset.notes`)."""
    now = dt.datetime.now(dt.UTC)
    return freshness(dataset, last_refresh(engine), now=now), dataset.notes
