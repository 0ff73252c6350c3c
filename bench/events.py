"""Event Explorer speed: a page of raw events for each filter, on the benchmark tenant.

    python -m bench.events --home DIR      # a kept benchmark home (see bench.reports)

Picks real values from the benchmark tenant's 10M events (an event name, a conversation
with events, its customer and channel, a property), then times `db.events.events_page`
(the explorer's one read, under row-level security on the web role) for the newest page
of each filter and combination, a page ten pages deep (keyset: no OFFSET) and the way
back to a newer page. Target: every page that filters on an indexed field (time, event
name, conversation, customer) in at most 200 ms. Writes bench/results/events-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.harness import bench_tenant, throwaway_hub, timings
from db import engines
from db.events import EventFilter, events_page, parse_filters

RESULTS = Path(__file__).with_name("results")
TARGET_MS = 200.0
REPEAT = 7

SAMPLE = """
SELECT e.conversation_id, c.customer_id, c.channel, e.event_name,
       (SELECT key FROM jsonb_object_keys(e.properties) AS key LIMIT 1) AS key
FROM ins_telemetry_events e
JOIN chat_conversations c ON c.tenant_id = e.tenant_id AND c.id = e.conversation_id
WHERE e.tenant_id = :t AND e.occurred_at > now() - interval '30 days'
  AND e.properties <> '{}'::jsonb
ORDER BY e.occurred_at DESC LIMIT 1"""


def _cases(x: dict[str, Any]) -> list[tuple[str, dict[str, str], bool]]:
    """(line, URL query, on an indexed field)."""
    week = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=7)).isoformat()
    return [
        ("newest", {}, True),
        ("last 7 days", {"start": week}, True),
        ("event name", {"event": x["event_name"]}, True),
        ("conversation", {"conversation": str(x["conversation_id"])}, True),
        ("customer", {"customer": x["customer_id"]}, True),
        ("event name + 7 days, 100 rows", {"event": x["event_name"], "start": week,
                                           "size": "100"}, True),
        ("channel", {"channel": x["channel"]}, False),
        ("property exists (key = value)", {"key": x["key"], "value": "1"}, False),
    ]  # fmt: skip


def _measure(tenant_id: int) -> list[dict[str, object]]:
    web = engines.default().web
    with engines.default().cron.connect() as conn:
        sample = dict(conn.execute(sa.text(SAMPLE), {"t": tenant_id}).one()._mapping)
    rows = []
    for line, query, indexed in _cases(sample):
        filters = parse_filters(query)

        def page(filters: EventFilter = filters) -> object:
            return events_page(web, tenant_id=tenant_id, filters=filters)

        took = timings(page, REPEAT)
        rows.append({"line": line, "query": query, "indexed": indexed, **took})
        mark = ("ok" if took["median_ms"] <= TARGET_MS else "MISSED") if indexed else "(unindexed)"
        print(f"{line:<32} {took['median_ms']:8.1f} ms (p95 {took['p95_ms']:8.1f})  {mark}")
    deep = EventFilter()
    for _ in range(10):
        deep = EventFilter(older_than=events_page(web, tenant_id=tenant_id, filters=deep).older)
    for line, filters in (
        ("ten pages deep", deep),
        ("back to a newer page", EventFilter(newer_than=deep.older_than)),
    ):

        def page(filters: EventFilter = filters) -> object:
            return events_page(web, tenant_id=tenant_id, filters=filters)

        took = timings(page, REPEAT)
        rows.append({"line": line, "indexed": True, **took})
        print(f"{line:<32} {took['median_ms']:8.1f} ms (p95 {took['p95_ms']:8.1f})  "
              f"{'ok' if took['median_ms'] <= TARGET_MS else 'MISSED'}")  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="a kept benchmark home")
    parser.add_argument("--per-day", type=float, default=13000.0)
    args = parser.parse_args()
    with throwaway_hub(keep=args.home):
        rows = _measure(bench_tenant(args.per_day))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"events-{dt.date.today().isoformat()}-{int(args.per_day)}.json"
    path.write_text(json.dumps({"per_day": args.per_day, "target_ms": TARGET_MS,
                                "pages": rows}, indent=2, default=str))  # fmt: skip
    print(f"written to {path}")


if __name__ == "__main__":
    main()
