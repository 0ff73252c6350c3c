"""The dashboard's Pulse overview, computed through the semantic layer like any report.

Every figure is a report definition (data, below) run for the user's tenant through the
result cache, so the dashboard and a saved report of the same definition always agree:
- the conversations hero: conversations a day over the last 14 days (Chat engagement);
- the metric strip over the selected range: runs, success rate, average duration and
  failed runs (Flow runs), and Token spend — the estimated LLM cost with the token
  count beneath (Token usage, the same rollup), shown as "—" until there is token data;
- flows that need attention: flows with failed runs and a success rate under
  ATTENTION_SUCCESS_RATE, most failures first; and the top flows by runs.

`cached_pulse` is the same overview read from the cache alone (None unless all four
figures are there), which the dashboard draws in its first response.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pandas as pd

from datasets.cache import peek_cached, run_cached
from datasets.formatting import is_empty
from datasets.model import Mode
from datasets.run import Result
from datasets.validate import validate

RANGES = {"7d": "Last 7 days", "14d": "Last 14 days", "30d": "Last 30 days",
          "90d": "Last 90 days"}  # fmt: skip
DEFAULT_RANGE = "30d"
ATTENTION_SUCCESS_RATE = Decimal("0.9")  # under 90% (exactly 90% is fine)
LIST_LENGTH = 5

HERO = {"dataset": "chat", "measures": ["conversations"],
        "dimensions": [{"id": "time", "grain": "day"}], "date_range": {"preset": "14d"},
        "viz": "line"}  # fmt: skip


def strip_definition(preset: str) -> dict[str, Any]:
    return {"dataset": "flow_runs", "viz": "table", "date_range": {"preset": preset},
            "measures": ["total_runs", "success_rate", "avg_duration", "failed"]}  # fmt: skip


def tokens_definition(preset: str) -> dict[str, Any]:
    return {"dataset": "token_usage", "viz": "table", "date_range": {"preset": preset},
            "measures": ["cost", "total_tokens"]}  # fmt: skip


def flows_definition(preset: str) -> dict[str, Any]:
    return {"dataset": "flow_runs", "viz": "table", "date_range": {"preset": preset},
            "measures": ["total_runs", "failed", "success_rate"],
            "dimensions": [{"id": "flow"}]}  # fmt: skip


@dataclass(frozen=True)
class Pulse:
    preset: str
    hero: Result
    strip: Result
    tokens: Result
    flows: Result

    @property
    def as_of(self) -> str:
        """When its oldest figure was computed (each comes from the result cache)."""
        return min((self.hero, self.strip, self.tokens, self.flows), key=lambda r: r.ran_at).as_of

    def has_token_data(self) -> bool:
        return int(self.tokens.frame["total_tokens"].iloc[0]) > 0

    def attention(self) -> Result:
        """Flows with failures and a success rate under the bar, most failures first."""
        frame = self.flows.frame
        below = frame["success_rate"].map(
            lambda rate: not is_empty(rate) and Decimal(rate) < ATTENTION_SUCCESS_RATE
        )
        needs = frame[(frame["failed"] > 0) & below.astype(bool)]
        needs = needs.sort_values(["failed", "flow"], ascending=[False, True])
        return _with_frame(self.flows, needs.head(LIST_LENGTH))

    def top_flows(self) -> Result:
        """The busiest flows (the flows result is ordered by runs, most first)."""
        return _with_frame(self.flows, self.flows.frame.head(LIST_LENGTH))


def _with_frame(result: Result, frame: pd.DataFrame) -> Result:
    return replace(result, frame=frame.reset_index(drop=True), truncated=False)


def _definitions(preset: str) -> list[dict[str, Any]]:
    return [HERO, strip_definition(preset), tokens_definition(preset), flows_definition(preset)]


def pulse(tenant_id: int, preset: str = DEFAULT_RANGE) -> Pulse:
    """The overview for the tenant over `preset` (one of RANGES)."""
    preset = preset if preset in RANGES else DEFAULT_RANGE

    def run(raw: dict[str, Any]) -> Result:
        return run_cached(validate(raw), tenant_id=tenant_id, mode=Mode.SAVED)

    # The four figures are independent reports: run them side by side.
    with ThreadPoolExecutor(max_workers=4) as pool:
        hero, strip, tokens, flows = pool.map(run, _definitions(preset))
    return Pulse(preset, hero, strip, tokens, flows)


def cached_pulse(tenant_id: int, preset: str = DEFAULT_RANGE) -> Pulse | None:
    """The overview from the result cache alone, or None when any figure is not there."""
    preset = preset if preset in RANGES else DEFAULT_RANGE
    found = []
    for raw in _definitions(preset):
        result = peek_cached(validate(raw), tenant_id=tenant_id, mode=Mode.SAVED)
        if result is None:
            return None
        found.append(result)
    hero, strip, tokens, flows = found
    return Pulse(preset, hero, strip, tokens, flows)
