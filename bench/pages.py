"""Page speed as a user feels it, on the benchmark tenant, in headless Chromium.

    python -m bench.pages --home ~/bench                  # a kept bench.reports home
    python -m bench.pages --home /tmp/b --per-day 650     # seeds it first if it is new

Starts the hub (gunicorn and an RQ worker, as the browser tests do, with an embedded
Redis under the home) on the benchmark database, signs in as the benchmark tenant's
admin (bench.harness.BENCH_ADMIN) and times, as medians over --runs:

- the dashboard cold: right after a rollup refresh, with the result cache emptied;
- the dashboard warm: opened again right after that;
- the builder opened from each template, until its preview is drawn;
- a 365-day run of each template through `POST /admin/analytics/reports/run?mode=saved`
  with the signed-in session: the first run after the refresh (cold) and the runs after it
  (warm, from the cache where there is one).

A page's time runs from the start of its navigation (performance.now() in the page) to
the first moment it is rendered: no Dash callback in flight and no loading spinner in the
document, and every part drawn: for the dashboard the Pulse (its hero chart's SVG and the
Flow runs tile) and every pinned card's body (a Plotly SVG or an AG Grid row, or an error
shown in it, which is counted); for the builder, its preview (a Plotly SVG or a grid row,
or an error). Writes bench/results/pages-<date>-<per-day>.json and prints a table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from redis import Redis
from selenium import webdriver

import config
import runtime
from bench.harness import BENCH_ADMIN, bench_tenant, throwaway_hub
from datasets.templates import TEMPLATES
from db import engines
from db.rollups import refresh_rollups
from db.seed import DEMO_PASSWORD
from tests.browser import chromium, running_hub, sign_in

RESULTS = Path(__file__).with_name("results")
TIMEOUT_S = 120.0
POLL_S = 0.02
TARGETS_MS = {"dashboard cold": 1500.0, "dashboard warm": 1000.0, "route 365 d": 1500.0}

# Returns null until the page is rendered, then performance.now() and the errors shown.
SETTLED = """
const busy = document.querySelector('[data-dash-is-loading="true"], .dash-spinner');
if (busy || !window.dash_clientside) { return null; }
const drawn = (el) => el && el.querySelector('.js-plotly-plot .main-svg, .ag-row, .alert');
const errors = (els) => els.filter((el) => el.querySelector('.alert')).length;
"""
DASHBOARD_RENDERED = (
    SETTLED
    + """
const pulse = document.getElementById('pulse-hero-chart');
const cards = [...document.querySelectorAll('.hub-pin-card .hub-card-body')];
if (!pulse || !pulse.querySelector('.main-svg') || !document.getElementById('pulse-runs')
    || cards.length === 0 || !cards.every(drawn)) { return null; }
return {ms: performance.now(), cards: cards.length, errors: errors(cards)};
"""
)
PREVIEW_DRAWN = (
    SETTLED
    + """
const preview = document.getElementById('builder-preview');
if (!drawn(preview)) { return null; }
return {ms: performance.now(), cards: 1, errors: errors([preview])};
"""
)


def _median(samples: list[float]) -> float:
    return round(statistics.median(samples), 1)


def _open(driver: webdriver.Chrome, url: str, rendered: str) -> dict[str, Any]:
    """Navigates to `url` and waits until `rendered` holds; its time and errors shown."""
    driver.get(url)
    deadline = time.monotonic() + TIMEOUT_S
    while (state := driver.execute_script(rendered)) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} was not rendered within {TIMEOUT_S:.0f} s")
        time.sleep(POLL_S)
    return state


def _empty_caches(cron: sa.Engine) -> None:
    """A rollup refresh, and the result cache (in Redis) emptied."""
    refresh_rollups(cron)
    Redis.from_url(os.environ["REDIS_URL"]).flushdb()


def _route_timer(session: requests.Session, base: str, body: dict[str, Any]) -> Callable[[], float]:
    def run() -> float:
        started = time.perf_counter()
        answer = session.post(f"{base}/admin/analytics/reports/run?mode=saved", json=body,
                              timeout=TIMEOUT_S)  # fmt: skip
        elapsed = (time.perf_counter() - started) * 1000
        answer.raise_for_status()
        return elapsed

    return run


def _measure(driver: webdriver.Chrome, base: str, tenant_id: int, runs: int) -> list[dict]:
    cron = engines.default().cron
    with cron.connect() as conn:
        flow_id = conn.scalar(sa.text("SELECT min(id) FROM fs_flows WHERE tenant_id = :t"),
                              {"t": tenant_id})  # fmt: skip
    session = requests.Session()
    for cookie in driver.get_cookies():  # the browser's signed-in session
        session.cookies.set(cookie["name"], cookie["value"])
    dashboard = f"{base}/admin/analytics/dashboard"
    _open(driver, dashboard, DASHBOARD_RENDERED)  # the server's first requests, unmeasured
    samples: dict[str, list[dict[str, Any]]] = {}

    def add(line: str, state: dict[str, Any]) -> None:
        samples.setdefault(line, []).append(state)

    routes = {}
    for template in TEMPLATES:
        body = {**template.definition, "date_range": {"preset": "365d"}}
        if template.needs_flow:
            body["flow_id"] = flow_id
        routes[template.id] = _route_timer(session, base, body)
    for _ in range(runs):
        _empty_caches(cron)
        add("dashboard cold", _open(driver, dashboard, DASHBOARD_RENDERED))
        add("dashboard warm", _open(driver, dashboard, DASHBOARD_RENDERED))
        for template in TEMPLATES:
            url = f"{base}/admin/analytics/reports/new?template={template.id}"
            add(f"builder {template.id}", _open(driver, url, PREVIEW_DRAWN))
    _empty_caches(cron)
    for template_id, run in routes.items():
        add(f"route 365 d {template_id} cold", {"ms": run()})
        for _ in range(runs):
            add(f"route 365 d {template_id} warm", {"ms": run()})
    rows = []
    for line, states in samples.items():
        median = _median([state["ms"] for state in states])
        target = next((ms for prefix, ms in TARGETS_MS.items() if line.startswith(prefix)), None)
        rows.append({"line": line, "runs": len(states), "median_ms": median,
                     "samples_ms": [round(state["ms"], 1) for state in states],
                     "errors_shown": sum(state.get("errors", 0) for state in states),
                     "target_ms": target,
                     "meets_target": None if target is None else median <= target})  # fmt: skip
    return rows


def _print(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'line':<42} {'runs':>4} {'median':>11}  target")
    for row in rows:
        verdict = "" if row["target_ms"] is None else (
            f"{row['target_ms']:,.0f} ms {'met' if row['meets_target'] else 'MISSED'}")  # fmt: skip
        errors = f"  ({row['errors_shown']} errors shown)" if row["errors_shown"] else ""
        print(f"{row['line']:<42} {row['runs']:>4} {row['median_ms']:>8,.1f} ms  {verdict}{errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--home",
        type=Path,
        required=True,
        help="the kept benchmark home (seeded first if it has no bench tenant)",
    )
    parser.add_argument(
        "--per-day",
        type=float,
        default=13000.0,
        help="conversations a day, if the home must be seeded",
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with throwaway_hub(keep=args.home), tempfile.TemporaryDirectory() as scratch:
        tenant_id = bench_tenant(args.per_day)
        services = runtime.Services()
        runtime.prepare_redis(config.load(), services)
        logs = args.home / "logs"
        logs.mkdir(exist_ok=True)
        try:
            with (
                running_hub({"REDIS_URL": os.environ["REDIS_URL"]}, logs) as base,
                chromium(Path(scratch)) as driver,
            ):
                sign_in(driver, base, BENCH_ADMIN, DEMO_PASSWORD)
                rows = _measure(driver, base, tenant_id, args.runs)
        finally:
            services.stop()
    _print(rows)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"pages-{dt.date.today().isoformat()}-{int(args.per_day)}.json"
    path.write_text(json.dumps({"per_day": args.per_day, "runs": args.runs, "pages": rows},
                               indent=2))  # fmt: skip
    print(f"written to {path}")


if __name__ == "__main__":
    main()
