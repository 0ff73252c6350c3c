"""Report speed per dataset through the runner, against the bare statement.

    python -m bench.reports --per-day 13000                  # ~20M chat messages
    python -m bench.reports --per-day 13000 --home ~/bench   # keep the seed for reruns

Seeds the demo tenants plus a benchmark tenant with `--per-day` conversations a day over
13 months (at 13000: ~20M chat messages, ~3M flow runs, topped up to 5M goal completions
and 10M telemetry events) into a fresh database (embedded under a temporary HUB_HOME, or
a new database on DATABASE_URL's server; with --home, an embedded one kept there), then
runs a 30-day and a 365-day report per line of REPORTS: through `run_report`
(validation done once; compile, RLS transaction, fetch, DataFrame) and as the bare
compiled statement on the same engine in a tenant transaction. Prints median and p95
over warm runs, the ratio runner/bare and whether the line meets its targets, and
writes bench/results/reports-<date>-<per-day>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from bench.harness import bench_tenant, paired_timings, throwaway_hub
from datasets.compile import compile_definition
from datasets.model import Mode
from datasets.run import run_report
from datasets.validate import validate
from db import engines
from db.tenancy import tenant_transaction
from errors import ReportTimeout

RESULTS = Path(__file__).with_name("results")

# (line, dataset, definition body, held to the speed targets). Additive measures come
# from the daily rollups and are held to the targets; distinct counts and percentiles
# cannot be combined from days, read the rows, and are reported on their own lines
# against the bare statement (the runner-overhead target only).
REPORTS: list[tuple[str, str, dict[str, object], bool]] = [
    ("conversions", "conversions",
     {"measures": ["conversions", "revenue", "avg_value"],
      "dimensions": [{"id": "time", "grain": "day"}, {"id": "currency"}], "viz": "line"}, True),
    ("conversions distinct", "conversions",
     {"measures": ["distinct_customers", "distinct_conversations"],
      "dimensions": [{"id": "currency"}], "viz": "table"}, False),
    ("chat", "chat",
     {"measures": ["conversations", "messages", "engaged", "messages_per_conversation"],
      "dimensions": [{"id": "time", "grain": "day"}], "viz": "line"}, True),
    ("token_usage", "token_usage",
     {"measures": ["total_tokens", "cost", "avg_tokens_per_conversation"],
      "dimensions": [{"id": "time", "grain": "day"}, {"id": "flow"}], "viz": "line"}, True),
    ("flow_runs", "flow_runs",
     {"measures": ["total_runs", "success_rate", "avg_duration"],
      "dimensions": [{"id": "flow"}], "viz": "table"}, True),
    ("flow_runs p95", "flow_runs",
     {"measures": ["p95_duration"], "dimensions": [{"id": "flow"}], "viz": "table"}, False),
    ("telemetry", "telemetry",
     {"measures": ["events"], "dimensions": [{"id": "event_name"}], "viz": "bar"}, True),
    ("telemetry distinct", "telemetry",
     {"measures": ["distinct_conversations"], "dimensions": [{"id": "event_name"}],
      "viz": "bar"}, False),
    ("funnel", "funnel", {"viz": "funnel"}, True),
]  # fmt: skip
TARGET_MS = {30: 150.0, 365: 1500.0}
OVERHEAD_RATIO, OVERHEAD_MS = 1.3, 15.0
ROWS_REPEAT = 5


def _measure(args: argparse.Namespace) -> dict[str, object]:
    started = time.perf_counter()
    tenant_id = bench_tenant(args.per_day)
    seeded_s = time.perf_counter() - started
    web = engines.default().web
    with engines.default().cron.connect() as conn:
        counts = {
            table: conn.scalar(
                sa.text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"), {"t": tenant_id}
            )
            for table in ("ins_goal_completions", "chat_messages", "fs_executions",
                          "ins_telemetry_events")
        }  # fmt: skip
        flow_id = conn.scalar(sa.text("SELECT min(id) FROM fs_flows WHERE tenant_id = :t"),
                              {"t": tenant_id})  # fmt: skip
    print(f"\nseeded in {seeded_s:.0f} s; benchmark tenant rows: {counts}")
    rows = []
    for line, dataset, body, targeted in REPORTS:
        if args.line and line not in args.line:
            continue
        for days in (30, 365):
            raw = {"dataset": dataset, "date_range": {"preset": f"{days}d"}, **body}
            if dataset == "funnel":
                raw["flow_id"] = flow_id
            definition = validate(raw)
            today = dt.datetime.now(dt.UTC).date()
            select = compile_definition(definition, today=today).select.limit(
                Mode.SAVED.row_cap + 1
            )

            def runner(definition=definition) -> object:
                return run_report(definition, tenant_id=tenant_id, mode=Mode.SAVED, engine=web)

            def bare(select=select) -> object:
                with tenant_transaction(web, tenant_id=tenant_id) as conn:
                    return conn.execute(select).all()

            try:
                # Distinct counts and percentiles take seconds: fewer runs say as much.
                repeat = args.repeat if targeted else min(args.repeat, ROWS_REPEAT)
                hub_t, bare_t = paired_timings(runner, bare, repeat)
            except (ReportTimeout, OperationalError):  # the 15 s statement timeout
                rows.append({"line": line, "dataset": dataset, "days": days,
                             "targeted": targeted, "timed_out": True,
                             "meets_targets": False})  # fmt: skip
                print(f"{line:<21} {days:>3} d  stopped by the statement timeout  MISSED")
                continue
            ratio = hub_t["median_ms"] / bare_t["median_ms"]
            light = (
                ratio <= OVERHEAD_RATIO or hub_t["median_ms"] - bare_t["median_ms"] <= OVERHEAD_MS
            )
            fast = not targeted or hub_t["median_ms"] <= TARGET_MS[days]
            row = {"line": line, "dataset": dataset, "days": days, "targeted": targeted,
                   "runner": hub_t, "bare": bare_t, "ratio": ratio,
                   "meets_targets": fast and light}  # fmt: skip
            rows.append(row)
            print(
                f"{line:<21} {days:>3} d  runner {hub_t['median_ms']:8.1f} ms "
                f"(p95 {hub_t['p95_ms']:8.1f})   bare {bare_t['median_ms']:8.1f} ms "
                f"(p95 {bare_t['p95_ms']:8.1f})   ratio {ratio:.2f}  "
                f"{'ok' if row['meets_targets'] else 'MISSED'}{'' if targeted else ' (rows)'}"
            )
    return {"per_day": args.per_day, "rows_in_benchmark_tenant": counts,
            "seed_seconds": seeded_s, "reports": rows}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=float, default=13000.0)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--home",
        type=Path,
        help="keep the embedded database here and "
        "reuse its seed on the next run (the seed takes ~25 min at 13000)",
    )
    parser.add_argument(
        "--line", action="append", default=[], help="measure only this line of REPORTS (repeatable)"
    )
    args = parser.parse_args()
    with throwaway_hub(keep=args.home):
        results = _measure(args)
    RESULTS.mkdir(exist_ok=True)
    partial = "-" + "-".join(sorted(args.line)).replace(" ", "_") if args.line else ""
    name = f"reports-{dt.date.today().isoformat()}-{int(args.per_day)}{partial}.json"
    (RESULTS / name).write_text(json.dumps(results, indent=2))
    print(f"written to {RESULTS / name}")


if __name__ == "__main__":
    main()
