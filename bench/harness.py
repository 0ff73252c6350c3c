"""What every benchmark needs: a throwaway hub database, and warm timings."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import config
import runtime
from db import engines
from db.databases import create_database, drop_database


@contextmanager
def throwaway_hub(keep: Path | None = None) -> Iterator[None]:
    """A migrated hub: embedded under a temporary HUB_HOME, or a new database on
    DATABASE_URL's server (dropped afterwards). With `keep`, the embedded database lives
    under that directory and survives, so a slow seed is paid once."""
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as scratch:
        os.environ["HUB_HOME"] = str(keep or scratch)
        if keep is not None:
            os.environ.pop("DATABASE_URL", None)
        bench_database = None
        if os.environ.get("DATABASE_URL"):
            bench_database = create_database(os.environ["DATABASE_URL"], prefix="bench")
            os.environ["DATABASE_URL"] = bench_database
        try:
            runtime.prepare_database(config.load(), runtime.Services())
            yield
        finally:
            engines.default().web.dispose()
            engines.default().cron.dispose()
            if bench_database:
                drop_database(bench_database)


def _summary(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return {"median_ms": statistics.median(samples), "p95_ms": p95}


def _elapsed_ms(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def timings(run: Callable[[], object], repeat: int) -> dict[str, float]:
    """Median and p95 in ms over `repeat` warm runs (one run first to warm caches)."""
    run()
    return _summary([_elapsed_ms(run) for _ in range(repeat)])


def paired_timings(
    a: Callable[[], object], b: Callable[[], object], repeat: int
) -> tuple[dict[str, float], dict[str, float]]:
    """timings() of two ways to the same answer, their runs interleaved (a, b, a, b, …) so
    that background load weighs on both alike."""
    a()
    b()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        samples[0].append(_elapsed_ms(a))
        samples[1].append(_elapsed_ms(b))
    return _summary(samples[0]), _summary(samples[1])
