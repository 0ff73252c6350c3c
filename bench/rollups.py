"""How much the daily rollups save, as a ratio against bare SQL on the same data.

    python -m bench.rollups --scale 20

Seeds the demo at `scale` times its volume into a fresh database (embedded under a
temporary HUB_HOME, or a new database on DATABASE_URL's server), refreshes the rollups,
then times two reads the hub makes all the time, each through the hub's path (the web
role, row-level security, the rollup view) and as bare SQL over the raw tables:

- chat engagement per day over 365 days;
- token usage per day and flow over 90 days.

Prints rows, seeding time, and median timings with the ratio hub/bare (lower is better).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import sqlalchemy as sa

import runtime
from bench.harness import throwaway_hub, timings
from db import engines, seed
from db.tenancy import tenant_transaction

BARE_ENGAGEMENT = """
SELECT (c.started_at AT TIME ZONE 'UTC')::date AS day, count(DISTINCT c.id), count(m.id)
FROM chat_conversations c
LEFT JOIN chat_messages m ON m.tenant_id = c.tenant_id AND m.conversation_id = c.id
WHERE c.tenant_id = :tenant AND c.started_at >= now() - interval '365 days'
GROUP BY 1 ORDER BY 1
"""
HUB_ENGAGEMENT = """
SELECT day, conversations, messages FROM ins_conversation_stats_daily
WHERE day >= (now() AT TIME ZONE 'UTC')::date - 365 ORDER BY day
"""
BARE_TOKENS = """
SELECT (created_at AT TIME ZONE 'UTC')::date AS day, flow_id, sum(total_tokens), sum(cost_usd)
FROM chat_messages
WHERE tenant_id = :tenant AND total_tokens IS NOT NULL
  AND created_at >= now() - interval '90 days'
GROUP BY 1, 2 ORDER BY 1, 2
"""
HUB_TOKENS = """
SELECT day, flow_id, total_tokens, cost_usd FROM ins_token_usage_daily ORDER BY day, flow_id
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    with throwaway_hub():
        _measure(args)


def _measure(args: argparse.Namespace) -> None:
    hub = engines.default()
    started = time.perf_counter()
    seed.seed_demo(hub.cron, scale=args.scale, on_step=runtime.progress_bar)
    seconds = time.perf_counter() - started
    admin = engines.create(os.environ["DATABASE_URL"])
    with admin.connect() as conn:
        tenant = conn.scalar(sa.text("SELECT id FROM tenants WHERE slug = 'acme'"))
        messages = conn.scalar(sa.text("SELECT count(*) FROM chat_messages"))

    def bare(sql: str) -> Callable[[], object]:
        def run() -> object:
            with admin.connect() as conn:
                return conn.execute(sa.text(sql), {"tenant": tenant}).all()

        return run

    def through_hub(sql: str) -> Callable[[], object]:
        def run() -> object:
            with tenant_transaction(hub.web, tenant_id=tenant) as conn:
                return conn.execute(sa.text(sql)).all()

        return run

    print(f"\nscale {args.scale}: {messages:,} chat messages, seeded in {seconds:.1f} s")
    for name, hub_sql, bare_sql in (
        ("engagement per day, 365 d", HUB_ENGAGEMENT, BARE_ENGAGEMENT),
        ("tokens per day and flow, 90 d", HUB_TOKENS, BARE_TOKENS),
    ):
        hub_ms = timings(through_hub(hub_sql), args.repeat)["median_ms"]
        bare_ms = timings(bare(bare_sql), args.repeat)["median_ms"]
        print(
            f"{name:<32} hub {hub_ms:8.1f} ms   bare SQL {bare_ms:8.1f} ms   "
            f"ratio {hub_ms / bare_ms:.3f}"
        )


if __name__ == "__main__":
    main()
