"""The builder's preview as a user feels it: from an edit to the new preview drawn.

    python -m bench.preview [--edits 12]

Starts a hub on the demo data (a throwaway embedded database, seeded, with gunicorn and
an RQ worker as the browser tests run them), signs in as admin@acme.example in headless
Chromium, opens the builder on the Chat engagement template and makes a series of edits
(grain Week / Month / Day, visualization Bar / Line), one at a time, each once the page is
quiet. Each edit's times run from its click event (performance.now() in the page) to the
first change inside the preview ("new content") and to the last one once it has settled
("fully drawn": no Dash request in flight and nothing redrawn for SETTLE_MS; Dash's
loading marks are not redrawing). Prints the medians and writes
bench/results/preview-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.common.by import By

import config
import runtime
from bench.harness import throwaway_hub
from bench.pages import PREVIEW_DRAWN, RESULTS
from components import ids
from components.builder import PREVIEW_FRAME
from db import engines, seed
from db.seed import DEMO_PASSWORD
from tests.browser import chromium, running_hub, sign_in

TARGET_MS = 500.0
TIMEOUT_S = 20.0
SETTLE_MS = 600
# A cycle: each edit changes the chart (the last leaves grain Day, so Week changes it).
EDITS = (("grain", "Week"), ("grain", "Month"), ("viz", "Bar"), ("grain", "Day"),
         ("viz", "Line"))  # fmt: skip

# Counts Dash requests in flight; records each edit's click (from the event itself) and
# the first and the last change inside the preview after it.
WATCH = """
const watch = window.hubBench = {pending: 0, editAt: 0, firstAt: 0, changedAt: 0};
const fetch = window.fetch;
window.fetch = function () {
  watch.pending += 1;
  return fetch.apply(this, arguments).finally(() => { watch.pending -= 1; });
};
document.addEventListener("click", () => { watch.editAt = performance.now(); }, true);
// Dash's own status marks are not drawing: its loading attribute, and the pending class
// dcc.Graph sets while Plotly works (and again for the no-op resize Plotly debounces by
// 100 ms after a new chart mounts); a resize that changes anything redraws the SVG.
const pending = (classes) => (classes || "").replace("dash-graph--pending", "").trim();
const status = (c) => c.attributeName === "data-dash-is-loading" || (
  c.attributeName === "class" && pending(c.oldValue) === pending(c.target.getAttribute("class")));
new MutationObserver((changes) => {
  if (changes.every(status)) { return; }
  watch.changedAt = performance.now();
  if (watch.firstAt <= watch.editAt) { watch.firstAt = watch.changedAt; }
}).observe(
  document.getElementById("PREVIEW"),
  {childList: true, subtree: true, characterData: true, attributes: true,
   attributeOldValue: true});
""".replace("PREVIEW", PREVIEW_FRAME)
QUIET = """
const watch = window.hubBench;
return watch.pending === 0 && performance.now() - watch.changedAt > SETTLE ? true : null;
""".replace("SETTLE", str(SETTLE_MS))
# null until the preview has changed after the edit and settled; then the edit's time.
SETTLED = """
const watch = window.hubBench, now = performance.now();
if (watch.pending > 0 || watch.changedAt <= watch.editAt || now - watch.changedAt < SETTLE) {
  return null;
}
return [watch.firstAt - watch.editAt, watch.changedAt - watch.editAt];
""".replace("SETTLE", str(SETTLE_MS))


def _wait(driver: webdriver.Chrome, script: str, edit: str = "opening") -> Any:
    deadline = time.monotonic() + TIMEOUT_S
    while (state := driver.execute_script(script)) is None:
        if time.monotonic() > deadline:
            watch = driver.execute_script("return window.hubBench")
            raise TimeoutError(f"{edit}: no new preview within {TIMEOUT_S:.0f} s: {watch}")
        time.sleep(0.02)
    return state


def _measure(driver: webdriver.Chrome, base: str, rounds: int) -> list[list[float]]:
    driver.get(f"{base}/admin/analytics/reports/new?template=chat_engagement")
    _wait(driver, PREVIEW_DRAWN)
    driver.execute_script(WATCH)
    samples = []
    for n in range(rounds):
        group, text = EDITS[n % len(EDITS)]
        control = ids.B_GRAIN if group == "grain" else ids.B_VIZ
        _wait(driver, QUIET)
        label = driver.find_element(
            By.XPATH, f"//*[@id='{control}']//label[normalize-space()='{text}']"
        )
        label.click()
        first, last = _wait(driver, SETTLED, f"edit {n + 1}, {group} {text}")
        samples.append([round(first, 1), round(last, 1)])
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=12)
    args = parser.parse_args()
    with throwaway_hub(), tempfile.TemporaryDirectory() as scratch:
        seed.seed_demo(engines.default().cron)
        services = runtime.Services()
        runtime.prepare_redis(config.load(), services)
        try:
            with (
                running_hub({"REDIS_URL": os.environ["REDIS_URL"]}, Path(scratch)) as base,
                chromium(Path(scratch)) as driver,
            ):
                sign_in(driver, base, "admin@acme.example", DEMO_PASSWORD)
                samples = _measure(driver, base, args.edits)
        finally:
            services.stop()
    lines = {"new content": [first for first, _ in samples],
             "fully drawn": [last for _, last in samples]}  # fmt: skip
    rows = [{"line": line, "edits": len(values), "median_ms": round(statistics.median(values), 1),
             "samples_ms": values, "target_ms": TARGET_MS,
             "meets_target": statistics.median(values) <= TARGET_MS}
            for line, values in lines.items()]  # fmt: skip
    for row in rows:
        verdict = "met" if row["meets_target"] else "MISSED"
        print(f"preview {row['line']} after an edit: median {row['median_ms']:,.1f} ms over "
              f"{row['edits']} edits (target {TARGET_MS:,.0f} ms {verdict})")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"preview-{dt.date.today().isoformat()}.json"
    path.write_text(json.dumps({"preview": rows}, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
