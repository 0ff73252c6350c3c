"""datasets.freshness: the line every report page, card and email shows about its data."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from datasets.freshness import freshness
from datasets.registry import DATASETS
from db import schema as s
from db.rollups import last_refresh
from tests.conftest import Hub

NOW = dt.datetime(2026, 12, 2, 14, 30, tzinfo=dt.UTC)
LIVE = "real time for today; late rows for earlier days count after the hourly refresh"


@pytest.mark.parametrize(
    ("dataset", "line"),
    [
        ("chat", "Chat engagement: up to an hour behind; last refresh 14:00 UTC"),
        ("token_usage", "Token usage: up to an hour behind; last refresh 14:00 UTC"),
        ("conversions", f"Conversions: {LIVE}; last refresh 14:00 UTC"),
        ("flow_runs", f"Flow runs: {LIVE}; last refresh 14:00 UTC"),
        ("telemetry", f"Telemetry: {LIVE}; last refresh 14:00 UTC"),
        ("funnel", f"Funnel: {LIVE}; last refresh 14:00 UTC"),
    ],
)
def test_each_dataset_says_how_far_behind_it_may_be(dataset: str, line: str) -> None:
    """Rollup-only datasets lag by up to an hour; live-tail ones are real time today."""
    assert freshness(DATASETS[dataset], dt.datetime(2026, 12, 2, 14, 0, tzinfo=dt.UTC),
                     now=NOW) == line  # fmt: skip


def test_an_older_refresh_names_its_day_and_a_missing_one_says_so() -> None:
    """A refresh before today carries its date (in UTC); none at all is said plainly."""
    chat = DATASETS["chat"]
    yesterday = dt.datetime(2026, 12, 2, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert freshness(chat, yesterday, now=NOW) == (
        "Chat engagement: up to an hour behind; last refresh 2026-12-01 22:30 UTC"
    )
    assert freshness(chat, None, now=NOW) == (
        "Chat engagement: up to an hour behind; not refreshed yet")  # fmt: skip


def test_last_refresh_is_the_watermark_row_read_as_the_web_role(hub: Hub) -> None:
    """The stamp is ins_rollups_through.refreshed_at, readable by the web role."""
    with hub.admin.connect() as conn:
        stamp = conn.scalar(sa.select(s.rollups_through.c.refreshed_at))
    assert stamp is not None and last_refresh(hub.web) == stamp
