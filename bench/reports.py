"""Report speed per dataset through the runner, against the bare statement.

    python -m bench.reports --per-day 13000                  # ~20M chat messages
    python -m bench.reports --per-day 13000 --home ~/bench   # keep the seed for reruns

Seeds the demo tenants plus a benchmark tenant with `--per-day` conversations a day over
13 months (at 13000: ~20M chat messages, ~3M flow runs, topped up to 5M goal completions
and 10M telemetry events) into a fresh database (embedded under a temporary HUB_HOME, or
a new database on DATABASE_URL's server; with --home, an embedded one kept there), then
times the hourly refresh after one more hour of writes (and with --rebuild a full
rollup rebuild), then runs a 30-day and a 365-day report per line of REPORTS three ways:
through `run_report` (validation done once; compile, RLS transaction, fetch, DataFrame;
the result cache is not involved), as the bare compiled statement on the same engine in
a tenant transaction, and as the naive statement (every measure over the base rows:
what a reporting tool without rollups runs). Prints median and p95 over warm runs, the
plan, the ratios and whether the line meets its targets, and writes
bench/results/reports-<date>-<per-day>.json. With --compare, each line instead runs
compared with its previous period (both windows in one statement) against the same line
alone, held to the same targets (reports-<date>-<per-day>-compare.json).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from bench.harness import bench_tenant, paired_timings, throwaway_hub, timings
from datasets.compile import compile_definition
from datasets.model import AggregateQuery, Definition, Mode
from datasets.plan import plan
from datasets.registry import DATASETS
from datasets.run import run_report
from datasets.validate import validate
from db import engines
from db.rollups import refresh_rollups
from db.tenancy import tenant_transaction
from errors import ReportTimeout

RESULTS = Path(__file__).with_name("results")

# (line, dataset, definition body): every line is held to the speed targets. The
# templates' lines are those of the built-in templates; the others cover each source
# (daily rollup, bitmaps, histograms) with its widest breakdown.
REPORTS: list[tuple[str, str, dict[str, object]]] = [
    ("conversions", "conversions",
     {"measures": ["conversions", "revenue", "avg_value"],
      "dimensions": [{"id": "time", "grain": "day"}, {"id": "currency"}], "viz": "line"}),
    ("conversions distinct", "conversions",
     {"measures": ["distinct_customers", "distinct_conversations"],
      "dimensions": [{"id": "currency"}], "viz": "table"}),
    ("conversions overview", "conversions",
     {"measures": ["conversions", "distinct_customers"],
      "dimensions": [{"id": "time", "grain": "day"}], "viz": "line"}),
    ("chat", "chat",
     {"measures": ["conversations", "messages", "engaged", "messages_per_conversation"],
      "dimensions": [{"id": "time", "grain": "day"}], "viz": "line"}),
    ("token_usage", "token_usage",
     {"measures": ["total_tokens", "cost", "avg_tokens_per_conversation"],
      "dimensions": [{"id": "time", "grain": "day"}, {"id": "flow"}], "viz": "table"}),
    ("flow_runs", "flow_runs",
     {"measures": ["total_runs", "success_rate", "avg_duration"],
      "dimensions": [{"id": "flow"}], "viz": "table"}),
    ("flow_runs p95", "flow_runs",
     {"measures": ["p95_duration"], "dimensions": [{"id": "flow"}], "viz": "table"}),
    ("flow success", "flow_runs",
     {"measures": ["total_runs", "completed", "failed", "aborted", "success_rate",
                   "avg_duration", "p95_duration"],
      "dimensions": [{"id": "flow"}], "viz": "table"}),
    ("telemetry", "telemetry",
     {"measures": ["events"], "dimensions": [{"id": "event_name"}], "viz": "bar"}),
    ("telemetry distinct", "telemetry",
     {"measures": ["events", "distinct_conversations"], "dimensions": [{"id": "event_name"}],
      "viz": "bar"}),
    ("funnel", "funnel", {"viz": "funnel"}),
]  # fmt: skip
TARGET_MS = {30: 150.0, 365: 1500.0}
OVERHEAD_RATIO, OVERHEAD_MS = 1.3, 15.0
# The naive statement (every measure over the base rows, what a tool without rollups
# runs) takes seconds to minutes: two runs say as much, under a longer timeout.
NAIVE_REPEAT, NAIVE_TIMEOUT_MS = 2, 180_000
REFRESH_TARGET_S = 5.0

# One more hour of writes, as the platform makes them: the same hour a day earlier,
# written again a day later (so it ends now): events (goal matching makes completions),
# runs and messages in their conversations.
ONE_HOUR = [
    f"""INSERT INTO {table} ({columns})
    SELECT {shifted} FROM {table}
    WHERE tenant_id = :t AND {time} >= now() - interval '25 hours'
      AND {time} < now() - interval '24 hours'"""
    for table, columns, shifted, time in [
        ("ins_telemetry_events", "tenant_id, conversation_id, event_name, properties, occurred_at",
         "tenant_id, conversation_id, event_name, properties, occurred_at + interval '1 day'",
         "occurred_at"),
        ("fs_executions", "tenant_id, flow_id, conversation_id, status, trigger_type, started_at, "
         "finished_at, duration_ms",
         "tenant_id, flow_id, conversation_id, status, trigger_type, "
         "started_at + interval '1 day', finished_at + interval '1 day', duration_ms",
         "started_at"),
        ("chat_messages", "tenant_id, conversation_id, flow_id, role, created_at, prompt_tokens, "
         "completion_tokens, total_tokens, cost_usd",
         "tenant_id, conversation_id, flow_id, role, created_at + interval '1 day', "
         "prompt_tokens, completion_tokens, total_tokens, cost_usd", "created_at"),
    ]
]  # fmt: skip


def _refreshes(tenant_id: int, rebuild: bool) -> dict[str, object]:
    """The hourly refresh after one more hour of writes, and (when asked) a full rebuild."""
    cron = engines.default().cron
    with cron.begin() as conn:
        written = sum(conn.execute(sa.text(s), {"t": tenant_id}).rowcount for s in ONE_HOUR)
    started = time.perf_counter()
    refresh_rollups(cron)
    hourly_s = time.perf_counter() - started
    print(f"hourly refresh after one hour of writes ({written} rows): {hourly_s:.1f} s "
          f"{'ok' if hourly_s <= REFRESH_TARGET_S else 'MISSED'}")  # fmt: skip
    found: dict[str, object] = {"one_hour_rows": written, "hourly_refresh_s": hourly_s,
                                "meets_targets": hourly_s <= REFRESH_TARGET_S}  # fmt: skip
    if rebuild:
        started = time.perf_counter()
        refresh_rollups(cron, full=True)
        found["full_rebuild_s"] = time.perf_counter() - started
        print(f"full rebuild: {found['full_rebuild_s']:.0f} s")
    return found


def _compared(line: str, raw: dict[str, object], days: int, tenant_id: int,
              repeat: int) -> dict[str, object]:  # fmt: skip
    """The line compared with its previous period, against the same report alone: both
    windows run through the runner (compiler, rollups, one statement)."""
    alone, compared = validate(raw), validate({**raw, "compare": "previous_period"})
    web = engines.default().web

    def plain() -> object:
        return run_report(alone, tenant_id=tenant_id, mode=Mode.SAVED, engine=web)

    def both() -> object:
        return run_report(compared, tenant_id=tenant_id, mode=Mode.SAVED, engine=web)

    try:
        compared_t, plain_t = paired_timings(both, plain, repeat)
    except (ReportTimeout, OperationalError):
        print(f"{line:<21} {days:>3} d  compared: stopped by the statement timeout  MISSED")
        return {"timed_out": True, "meets_targets": False}
    ratio = compared_t["median_ms"] / plain_t["median_ms"]
    fast = compared_t["median_ms"] <= TARGET_MS[days]
    print(f"{line:<21} {days:>3} d  compared {compared_t['median_ms']:7.1f} ms "
          f"(p95 {compared_t['p95_ms']:7.1f})  alone {plain_t['median_ms']:7.1f} ms  "
          f"compared/alone {ratio:.2f}  {'ok' if fast else 'MISSED'}")  # fmt: skip
    return {"compared": compared_t, "alone": plain_t, "compared_over_alone": ratio,
            "meets_targets": fast}  # fmt: skip


def _line(line: str, raw: dict[str, object], days: int, tenant_id: int,
          repeat: int) -> dict[str, object]:  # fmt: skip
    definition = validate(raw)
    today = dt.datetime.now(dt.UTC).date()
    cap = Mode.SAVED.row_cap + 1
    select = compile_definition(definition, today=today).select.limit(cap)
    naive_select = compile_definition(definition, today=today, rows_only=True).select.limit(cap)
    web = engines.default().web

    def runner() -> object:
        return run_report(definition, tenant_id=tenant_id, mode=Mode.SAVED, engine=web)

    def bare() -> object:
        with tenant_transaction(web, tenant_id=tenant_id) as conn:
            return conn.execute(select).all()

    def naive() -> object:
        with tenant_transaction(web, tenant_id=tenant_id,
                                statement_timeout_ms=NAIVE_TIMEOUT_MS) as conn:  # fmt: skip
            return conn.execute(naive_select).all()

    try:
        hub_t, bare_t = paired_timings(runner, bare, repeat)
    except (ReportTimeout, OperationalError):  # the 15 s statement timeout
        print(f"{line:<21} {days:>3} d  stopped by the statement timeout  MISSED")
        return {"timed_out": True, "meets_targets": False}
    naive_t: dict[str, float] | None = None
    if isinstance(definition, AggregateQuery):  # a funnel has no rows-only plan
        with contextlib.suppress(OperationalError):  # past NAIVE_TIMEOUT_MS
            naive_t = timings(naive, NAIVE_REPEAT)
    ratio = hub_t["median_ms"] / bare_t["median_ms"]
    light = ratio <= OVERHEAD_RATIO or hub_t["median_ms"] - bare_t["median_ms"] <= OVERHEAD_MS
    fast = hub_t["median_ms"] <= TARGET_MS[days]
    speedup = naive_t["median_ms"] / hub_t["median_ms"] if naive_t else None
    missing = "  > 180 s  " if isinstance(definition, AggregateQuery) else "    n/a    "
    shown = f"{naive_t['median_ms']:9.1f} ms" if naive_t else missing
    print(
        f"{line:<21} {days:>3} d  runner {hub_t['median_ms']:7.1f} ms (p95 {hub_t['p95_ms']:7.1f})"
        f"  bare {bare_t['median_ms']:7.1f} ms  naive {shown}"
        f"  naive/runner {f'{speedup:,.0f}' if speedup else 'n/a'}"
        f"  {'ok' if fast and light else 'MISSED'}"
    )
    return {"runner": hub_t, "bare": bare_t, "naive": naive_t, "ratio": ratio,
            "naive_over_runner": speedup, "meets_targets": fast and light,
            "plan": _explain(definition)}  # fmt: skip


def _explain(definition: Definition) -> str:
    if not isinstance(definition, AggregateQuery):
        return "funnel: daily step rollup + live tail"
    return plan(DATASETS[definition.dataset], definition).explain()


def _measure(args: argparse.Namespace) -> dict[str, object]:
    started = time.perf_counter()
    tenant_id = bench_tenant(args.per_day)
    seeded_s = time.perf_counter() - started
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
    refreshes = _refreshes(tenant_id, args.rebuild)
    rows = []
    for line, dataset, body in REPORTS:
        if args.line and line not in args.line:
            continue
        for days in (30, 365):
            raw = {"dataset": dataset, "date_range": {"preset": f"{days}d"}, **body}
            if dataset == "funnel":
                raw["flow_id"] = flow_id
            measure = _compared if args.compare else _line
            found = measure(line, raw, days, tenant_id, args.repeat)
            rows.append({"line": line, "dataset": dataset, "days": days, **found})
    return {"per_day": args.per_day, "rows_in_benchmark_tenant": counts,
            "seed_seconds": seeded_s, "refresh": refreshes, "reports": rows}  # fmt: skip


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
    parser.add_argument("--rebuild", action="store_true", help="also time a full rollup rebuild")
    parser.add_argument("--compare", action="store_true",
                        help="time each line compared with its previous period against the "
                        "line alone (reports-…-compare.json)")  # fmt: skip
    args = parser.parse_args()
    with throwaway_hub(keep=args.home):
        results = _measure(args)
    RESULTS.mkdir(exist_ok=True)
    partial = "-" + "-".join(sorted(args.line)).replace(" ", "_") if args.line else ""
    partial += "-compare" if args.compare else ""
    name = f"reports-{dt.date.today().isoformat()}-{int(args.per_day)}{partial}.json"
    (RESULTS / name).write_text(json.dumps(results, indent=2))
    print(f"written to {RESULTS / name}")


if __name__ == "__main__":
    main()
