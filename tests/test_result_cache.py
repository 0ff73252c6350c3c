"""The result cache against real Redis and PostgreSQL: lossless entries, keys that carry
the tenant, single-flight misses, Refresh (and the report page's and cards' Refresh
buttons), TTLs, and reports that run without Redis."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import flask
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from redis import Redis
from werkzeug.test import TestResponse

from datasets import cache, result_codec
from datasets.model import Definition, Mode
from datasets.run import Result, run_report
from datasets.validate import validate
from db import schema as s
from tests import callbacks
from tests.conftest import Hub
from tests.web import sign_in

TODAY = dt.datetime.now(dt.UTC).date()
WINDOW = {"start": (TODAY - dt.timedelta(days=20)).isoformat(), "end": TODAY.isoformat()}
# Decimal sums, dates, empty averages (days without revenue in a currency) and text.
DAILY_REVENUE = {"dataset": "conversions", "measures": ["conversions", "revenue", "avg_value"],
                 "dimensions": [{"id": "time", "grain": "day"}, {"id": "currency"}],
                 "date_range": WINDOW, "viz": "table"}  # fmt: skip
COUNT = {"dataset": "conversions", "measures": ["conversions"], "date_range": WINDOW,
         "viz": "kpi"}  # fmt: skip


@pytest.fixture
def redis(hub: Hub) -> Iterator[Redis]:
    """The session's Redis with no result cache entries before and after the test."""

    def clear() -> None:
        for key in hub.redis.scan_iter(f"{cache.KEY_PREFIX}*"):
            hub.redis.delete(key)

    clear()
    yield hub.redis
    clear()


def _run(hub: Hub, raw: dict[str, Any], tenant: str, redis: Redis, **kw: Any) -> Result:
    return cache.run_cached(validate(raw), tenant_id=hub.tenant_id(tenant), mode=Mode.SAVED,
                            engine=hub.web, today=TODAY, redis=redis, **kw)  # fmt: skip


def _cells(result: Result) -> list[list[tuple[type, Any]]]:
    return [[(type(v), v) for v in row] for row in result.frame.itertuples(index=False)]


def test_an_entry_reads_back_as_the_same_result(hub: Hub) -> None:
    """Values keep their types (Decimal, date, None, int, str); columns, truncation,
    timing, range and ran_at are kept."""
    definition = validate(DAILY_REVENUE)
    fresh = run_report(definition, tenant_id=hub.tenant_id("acme"), mode=Mode.SAVED,
                       engine=hub.web, today=TODAY)  # fmt: skip
    back = result_codec.loads(result_codec.dumps(fresh), definition=definition, mode=Mode.SAVED)
    kinds = {kind for row in _cells(fresh) for kind, _ in row}
    assert {Decimal, dt.date, type(None), int, str} <= kinds
    assert _cells(back) == _cells(fresh)
    assert list(back.frame.columns) == list(fresh.frame.columns)
    assert (back.columns, back.truncated, back.elapsed_ms, back.start, back.end, back.ran_at) == (
        fresh.columns,
        fresh.truncated,
        fresh.elapsed_ms,
        fresh.start,
        fresh.end,
        fresh.ran_at,
    )
    assert back.formatted() == fresh.formatted()


def test_a_cell_json_cannot_hold_is_refused() -> None:
    """Anything but the tagged types is a TypeError (and so is not cached), never pickled."""
    with pytest.raises(TypeError, match="of type bytes cannot be stored"):
        result_codec._cell(b"x")


def test_the_key_names_tenant_definition_mode_day_and_version() -> None:
    one, other = validate(COUNT), validate(COUNT | {"measures": ["revenue"],
                                                    "filters": [{"field": "currency", "op": "eq",
                                                                 "value": "EUR"}]})  # fmt: skip
    base = {"tenant_id": 1, "mode": Mode.SAVED, "day": TODAY, "version": "2026-12-01"}
    key = cache.cache_key(one, **base)
    assert key.startswith("hub:result:v1:1:") and key == cache.cache_key(validate(COUNT), **base)
    changed = [cache.cache_key(other, **base)] + [
        cache.cache_key(one, **(base | change))
        for change in ({"tenant_id": 2}, {"mode": Mode.EXPORT},
                       {"day": TODAY - dt.timedelta(days=1)}, {"version": "2026-12-02"})
    ]  # fmt: skip
    assert len({key, *changed}) == 6
    assert cache.cache_key(one, **(base | {"tenant_id": 2})).startswith("hub:result:v1:2:")


def _hand_count(hub: Hub, tenant: str) -> int:
    lo = dt.datetime.combine(dt.date.fromisoformat(WINDOW["start"]), dt.time(), dt.UTC)
    hi = dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(), dt.UTC)
    with hub.admin.connect() as conn:
        return conn.scalar(sa.text(
            "SELECT count(*) FROM ins_goal_completions WHERE tenant_id = :t "
            "AND completed_at >= :lo AND completed_at < :hi"),
            {"t": hub.tenant_id(tenant), "lo": lo, "hi": hi})  # fmt: skip


def test_a_tenant_never_gets_another_tenants_cached_result(hub: Hub, redis: Redis) -> None:
    """The same definition, cached for Acme, then asked by Globex (twice: computed, then
    from its own entry): each gets its own hand-counted number."""
    acme, globex = _hand_count(hub, "acme"), _hand_count(hub, "globex")
    assert acme != globex and acme > 0 and globex > 0
    first = _run(hub, COUNT, "acme", redis)
    assert int(first.frame["conversions"].iloc[0]) == acme
    computed, cached = _run(hub, COUNT, "globex", redis), _run(hub, COUNT, "globex", redis)
    assert cached.ran_at == computed.ran_at != first.ran_at
    assert int(computed.frame["conversions"].iloc[0]) == globex
    assert int(cached.frame["conversions"].iloc[0]) == globex
    assert int(_run(hub, COUNT, "acme", redis).frame["conversions"].iloc[0]) == acme
    assert len(list(redis.scan_iter(f"{cache.KEY_PREFIX}*"))) == 2


def test_identical_concurrent_misses_run_the_statement_once(hub: Hub, redis: Redis) -> None:
    """Eight threads ask for the same report at once: one computes (the compute function
    is counted), the seven others get its result."""
    definition = validate(DAILY_REVENUE)
    calls: list[float] = []
    guard = threading.Lock()

    def compute() -> Result:
        with guard:
            calls.append(time.monotonic())
        time.sleep(0.3)  # long enough for every thread to miss while the first computes
        return run_report(definition, tenant_id=hub.tenant_id("acme"), mode=Mode.SAVED,
                          engine=hub.web, today=TODAY)  # fmt: skip

    decode = _decoder(definition)
    results = _in_threads(8, lambda: cache.fetch_or_compute(
        redis, "hub:result:v1:test:flight", ttl=60, compute=compute, decode=decode))  # fmt: skip
    assert len(calls) == 1
    assert len({r.ran_at for r in results}) == 1
    assert all(_cells(r) == _cells(results[0]) for r in results)
    assert not redis.exists(cache.lock_key("hub:result:v1:test:flight"))


def test_concurrent_run_cached_requests_share_one_computation(hub: Hub, redis: Redis) -> None:
    """Through the entry point: every thread's result was computed at the same instant."""
    results = _in_threads(6, lambda: _run(hub, DAILY_REVENUE, "acme", redis))
    assert len({r.ran_at for r in results}) == 1


def test_a_waiter_computes_itself_when_the_lock_holder_died(hub: Hub, redis: Redis) -> None:
    """A lock left by a holder that died (it expires in 400 ms, no value is ever stored):
    the request waits for the lock to end, then computes and stores the result."""
    key = "hub:result:v1:test:orphan"
    redis.set(cache.lock_key(key), "dead holder", px=400)
    definition = validate(COUNT)
    calls: list[int] = []

    def compute() -> Result:
        calls.append(1)
        return run_report(definition, tenant_id=hub.tenant_id("acme"), mode=Mode.SAVED,
                          engine=hub.web, today=TODAY)  # fmt: skip

    started = time.monotonic()
    result = cache.fetch_or_compute(redis, key, ttl=60, compute=compute,
                                    decode=_decoder(definition))  # fmt: skip
    assert time.monotonic() - started >= 0.35 and calls == [1]
    assert redis.exists(key) and not redis.exists(cache.lock_key(key))
    assert int(result.frame["conversions"].iloc[0]) == _hand_count(hub, "acme")


def test_peek_reads_a_stored_result_and_never_computes(hub: Hub, redis: Redis) -> None:
    """Before a run there is nothing to peek at and peeking stores nothing; after it, the
    peek is the stored result itself; without Redis it is None."""

    def peek(client: Redis) -> Result | None:
        return cache.peek_cached(validate(DAILY_REVENUE), tenant_id=hub.tenant_id("acme"),
                                 mode=Mode.SAVED, engine=hub.web, today=TODAY,
                                 redis=client)  # fmt: skip

    assert peek(redis) is None
    assert list(redis.scan_iter(f"{cache.KEY_PREFIX}*")) == []
    stored = _run(hub, DAILY_REVENUE, "acme", redis)
    seen = peek(redis)
    assert seen is not None
    assert (_cells(seen), seen.ran_at) == (_cells(stored), stored.ran_at)
    assert (
        cache.peek_cached(
            validate(DAILY_REVENUE),
            tenant_id=hub.tenant_id("globex"),
            mode=Mode.SAVED,
            engine=hub.web,
            today=TODAY,
            redis=redis,
        )
        is None
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert peek(Redis(port=port, socket_connect_timeout=0.5, socket_timeout=0.5)) is None


def test_refresh_recomputes_and_stores(hub: Hub, redis: Redis) -> None:
    first = _run(hub, COUNT, "acme", redis)
    assert _run(hub, COUNT, "acme", redis).ran_at == first.ran_at
    refreshed = _run(hub, COUNT, "acme", redis, refresh=True)
    assert refreshed.ran_at > first.ran_at
    assert _run(hub, COUNT, "acme", redis).ran_at == refreshed.ran_at


@pytest.mark.parametrize(("dataset", "measure", "ttl"), [
    ("conversions", "conversions", 60), ("flow_runs", "total_runs", 60),
    ("telemetry", "events", 60), ("chat", "conversations", 3600),
    ("token_usage", "total_tokens", 3600),
])  # fmt: skip
def test_live_tail_datasets_keep_a_minute_and_rollup_ones_an_hour(
    hub: Hub, redis: Redis, dataset: str, measure: str, ttl: int
) -> None:
    _run(hub, {"dataset": dataset, "measures": [measure], "date_range": WINDOW, "viz": "kpi"},
         "acme", redis)  # fmt: skip
    (key,) = redis.scan_iter(f"{cache.KEY_PREFIX}*")
    assert ttl * 1000 - 5000 < redis.pttl(key) <= ttl * 1000


def test_an_unreadable_entry_is_recomputed_and_replaced(hub: Hub, redis: Redis) -> None:
    first = _run(hub, COUNT, "acme", redis)
    (key,) = redis.scan_iter(f"{cache.KEY_PREFIX}*")
    redis.set(key, b'{"written": "by another format"}')
    again = _run(hub, COUNT, "acme", redis)
    assert again.ran_at > first.ran_at
    assert _run(hub, COUNT, "acme", redis).ran_at == again.ran_at


def test_without_redis_the_report_runs_uncached(hub: Hub) -> None:
    """A Redis that refuses connections: the report still answers, with the right number."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the probe closes
    gone = Redis(port=port, socket_connect_timeout=0.5, socket_timeout=0.5)
    result = _run(hub, COUNT, "acme", gone)
    assert int(result.frame["conversions"].iloc[0]) == _hand_count(hub, "acme")


def _decoder(definition: Definition) -> Callable[[bytes], Result]:
    return lambda raw: result_codec.loads(raw, definition=definition, mode=Mode.SAVED)


def _in_threads(count: int, call: Callable[[], Result]) -> list[Result]:
    """`call` in `count` threads released together; their results."""
    barrier = threading.Barrier(count)
    results: list[Result] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        result = call()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == count
    return results


# ---- the Refresh buttons ---------------------------------------------------------------


@pytest.fixture
def report(hub: Hub) -> Iterator[int]:
    with hub.cron.begin() as conn:
        report_id = conn.scalar(sa.insert(s.reports).values(
            tenant_id=hub.tenant_id("acme"), name="Cache refresh",
            definition=COUNT | {"viz": "table"},
        ).returning(s.reports.c.id))  # fmt: skip
    yield report_id
    with hub.cron.begin() as conn:
        conn.execute(sa.delete(s.reports).where(s.reports.c.id == report_id))


def _entry_ran_at(redis: Redis) -> str:
    """ran_at of the one cached result."""
    (key,) = redis.scan_iter(f"{cache.KEY_PREFIX}*")
    return json.loads(redis.get(key))["ran_at"]


def _client(flask_app: flask.Flask, email: str) -> FlaskClient:
    client = flask_app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def _refresh_report(client: FlaskClient, report_id: int) -> TestResponse:
    key, _ = callbacks.find("report-refresh", "n_clicks")
    return callbacks.post(client, key, inputs=[callbacks.value("report-refresh", "n_clicks", 1)],
                          state=[callbacks.value("report-id", "data", report_id)],
                          changed=["report-refresh.n_clicks"])  # fmt: skip


def test_the_report_pages_refresh_recomputes_for_a_reader(
    hub: Hub, flask_app: flask.Flask, redis: Redis, report: int
) -> None:
    """A Viewer's Refresh stores a newer result and shows when it was computed; another
    tenant's admin is told there is no such report, and nothing is recomputed."""
    viewer = _client(flask_app, "viewer@acme.example")
    first = _refresh_report(viewer, report)
    assert first.status_code == 200
    ran_at = dt.datetime.fromisoformat(_entry_ran_at(redis))
    assert f"as of {ran_at:%H:%M} UTC" in first.get_data(as_text=True)
    assert _refresh_report(viewer, report).status_code == 200
    refreshed = _entry_ran_at(redis)
    assert refreshed > ran_at.isoformat()
    foreign = _refresh_report(_client(flask_app, "admin@globex.example"), report)
    assert "There is no such report." in foreign.get_data(as_text=True)
    assert _entry_ran_at(redis) == refreshed


def test_a_cards_refresh_recomputes_and_its_tick_reads_the_cache(
    flask_app: flask.Flask, redis: Redis, report: int
) -> None:
    key, _ = callbacks.find("pin-card-refresh", "n_clicks")
    card = {"report": report}

    def post(trigger: str) -> None:
        ids = {part: {"type": f"pin-card-{part}", "report": report}
               for part in ("body", "load", "refresh")}  # fmt: skip
        changed = {
            "tick": "dashboard-tick.n_intervals",
            "refresh": f"{callbacks.id_text(ids['refresh'])}.n_clicks",
        }[trigger]
        response = callbacks.post(viewer, key, inputs=[
            callbacks.value(ids["load"], "n_intervals", 1),
            callbacks.value("dashboard-tick", "n_intervals", 1),
            callbacks.value(ids["refresh"], "n_clicks", 1 if trigger == "refresh" else None),
        ], state=[callbacks.value(ids["body"], "id", ids["body"])], changed=[changed],
           match=card)  # fmt: skip
        assert response.status_code == 200

    viewer = _client(flask_app, "viewer@acme.example")
    post("tick")
    computed = _entry_ran_at(redis)
    post("tick")
    assert _entry_ran_at(redis) == computed
    post("refresh")
    assert _entry_ran_at(redis) > computed


def test_a_holder_that_finds_the_value_stored_after_its_miss_does_not_compute(
    hub: Hub, redis: Redis
) -> None:
    """The race single-flight must close: a request misses, another holder stores the
    result and releases its lock, then the request takes the lock. It reads the stored
    result instead of computing the report a second time."""
    definition = validate(COUNT)
    key = "hub:result:v1:test:late-holder"
    stored = run_report(definition, tenant_id=hub.tenant_id("acme"), mode=Mode.SAVED,
                        engine=hub.web, today=TODAY)  # fmt: skip

    class LateLock(Redis):  # the real server; the other holder finishes just before our lock
        def set(self, name: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("nx"):
                super().set(key, result_codec.dumps(stored), ex=60)
            return super().set(name, value, *args, **kwargs)

    late = LateLock(connection_pool=redis.connection_pool)
    calls: list[int] = []

    def compute() -> Result:
        calls.append(1)
        return stored

    result = cache.fetch_or_compute(late, key, ttl=60, compute=compute,
                                    decode=_decoder(definition))  # fmt: skip
    assert calls == [] and result.ran_at == stored.ran_at
    assert not redis.exists(cache.lock_key(key))
