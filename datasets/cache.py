"""The result cache: run results kept in Redis, so the same report asked again — a
dashboard visit, a card's minute tick, a report page, an export — is read, not recomputed.

`run_cached` is the one entry point; it has `run_report`'s keywords plus `refresh`.
`peek_cached` reads a stored result without computing one (None on a miss), so a page
can draw what is already known in its first response and leave the rest to callbacks.

Key: `hub:result:v1:<tenant id>:<sha256>` over the tenant, the canonical definition
(`Definition.model_dump_json()`), the mode (its row cap shapes the rows), the UTC day that
resolves the date range, and the data version (`db.rollups.data_version`). The tenant is
in the key and in the hash, so one tenant's entry never answers another's request. The
data version is read in its own small tenant transaction *before* the report runs: read
after, numbers computed from the old rollups could be filed under the new version. A
refresh that changes what the rollups hold changes the version, which retires every
entry at once (old entries are never read again and expire by their TTL).

Freshness (TTL):
- Chat engagement and Token usage (ROLLUP_ONLY) read nothing but rollups, which change
  only at a refresh, which changes the version: ROLLUP_TTL_SECONDS (1 hour) only bounds
  how long an unused entry takes memory.
- Every other dataset — Conversions, Flow runs, Telemetry, Funnel, and any dataset added
  later unless it is listed in ROLLUP_ONLY — reads its base rows after the watermark (the
  live tail), which change at any moment: LIVE_TAIL_TTL_SECONDS (60 s), so such a result
  is at most a minute behind its rows.
- Every mode keeps this policy, exports and scheduled emails included: they are never
  older than what the screen may show, and they say when their data was computed
  (`Result.ran_at`, "as of 14:05 UTC").

`refresh=True` (the Refresh buttons) skips the read, recomputes and stores the result.

Single-flight: the first miss takes a lock (`SET NX PX`, LOCK_TTL_MS, longer than any
statement may run) and computes; identical misses meanwhile poll for its value. When the
lock goes away without a value (its holder failed, died, or outlived the lock) a waiter
computes the result itself.

The cache never fails a report: without REDIS_URL, or on any Redis error (logged, one
line), the report runs uncached; an entry that cannot be read back is recomputed.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import Engine

import config
import redis_client
from datasets import result_codec
from datasets.model import Definition, Mode
from datasets.run import STATEMENT_TIMEOUT_MS, Result, run_report
from db import engines
from db.rollups import data_version
from db.tenancy import tenant_transaction

log = logging.getLogger(__name__)

KEY_PREFIX = "hub:result:v1:"  # v1: result_codec's format; a new format takes a new prefix
ROLLUP_ONLY = frozenset({"chat", "token_usage"})
LIVE_TAIL_TTL_SECONDS = 60
ROLLUP_TTL_SECONDS = 3600
# A lock outlives the longest statement, so it ends with its holder's work, or by itself
# when the holder died.
LOCK_TTL_MS = STATEMENT_TIMEOUT_MS + 5_000
POLL_SECONDS = 0.05  # how often a waiting request looks for the holder's value
# Deletes the lock only while it is still ours (it may have expired and been retaken).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"


def ttl_seconds(dataset_id: str) -> int:
    return ROLLUP_TTL_SECONDS if dataset_id in ROLLUP_ONLY else LIVE_TAIL_TTL_SECONDS


def cache_key(
    definition: Definition, *, tenant_id: int, mode: Mode, day: dt.date, version: str
) -> str:
    parts = [int(tenant_id), definition.model_dump_json(), mode.value, day.isoformat(), version]
    digest = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
    return f"{KEY_PREFIX}{int(tenant_id)}:{digest}"


def lock_key(key: str) -> str:
    return f"{key}:lock"


def default_client() -> Redis | None:
    """A client for REDIS_URL with short timeouts and no retries, or None without one
    (redis_client.fail_fast, as sign-in throttling uses): a Redis that has not answered
    in half a second is down for the cache, and the report runs without it."""
    url = config.load().redis_url
    return redis_client.fail_fast(url) if url else None


def _version(engine: Engine, tenant_id: int) -> str:
    with tenant_transaction(engine, tenant_id=tenant_id) as conn:
        return data_version(conn)


def run_cached(
    definition: Definition,
    *,
    tenant_id: int,
    mode: Mode,
    refresh: bool = False,
    engine: Engine | None = None,
    today: dt.date | None = None,
    redis: Redis | None = None,
) -> Result:
    """run_report's result for the tenant, from the cache when a fresh one is there
    (`refresh`: recomputed and stored); `redis` defaults to default_client()."""
    engine = engine if engine is not None else engines.default().web
    day = today or dt.datetime.now(dt.UTC).date()

    def compute() -> Result:
        return run_report(definition, tenant_id=tenant_id, mode=mode, engine=engine, today=day)

    redis = redis if redis is not None else default_client()
    if redis is None:
        return compute()
    key = cache_key(definition, tenant_id=tenant_id, mode=mode, day=day,
                    version=_version(engine, tenant_id))  # fmt: skip
    return fetch_or_compute(
        redis, key, ttl=ttl_seconds(definition.dataset), compute=compute, refresh=refresh,
        decode=_decoder(definition, mode),
    )  # fmt: skip


def peek_cached(
    definition: Definition,
    *,
    tenant_id: int,
    mode: Mode,
    engine: Engine | None = None,
    today: dt.date | None = None,
    redis: Redis | None = None,
) -> Result | None:
    """The result run_cached would read from the cache, or None when it would compute one
    (a miss, no Redis, a Redis error): never runs the report."""
    engine = engine if engine is not None else engines.default().web
    day = today or dt.datetime.now(dt.UTC).date()
    redis = redis if redis is not None else default_client()
    if redis is None:
        return None
    key = cache_key(definition, tenant_id=tenant_id, mode=mode, day=day,
                    version=_version(engine, tenant_id))  # fmt: skip
    try:
        raw = redis.get(key)
    except RedisError as error:
        log.warning("result cache unavailable: %s", error)
        return None
    return _decoded(raw, _decoder(definition, mode))


def _decoder(definition: Definition, mode: Mode) -> Callable[[bytes], Result]:
    return functools.partial(result_codec.loads, definition=definition, mode=mode)


def fetch_or_compute(
    redis: Redis,
    key: str,
    *,
    ttl: int,
    compute: Callable[[], Result],
    decode: Callable[[bytes], Result],
    refresh: bool = False,
) -> Result:
    """The result stored under `key`, or `compute()`'s, stored for `ttl` seconds; identical
    concurrent misses compute once (see the module docstring)."""
    token = secrets.token_hex(8)
    try:
        cached = None if refresh else _decoded(redis.get(key), decode)
        if cached is not None:
            return cached
        is_holder = refresh or bool(redis.set(lock_key(key), token, nx=True, px=LOCK_TTL_MS))
        # A holder that finished between our miss and our lock has stored the result.
        stored = None if refresh or not is_holder else _decoded(redis.get(key), decode)
    except RedisError as error:
        log.warning("result cache unavailable, running uncached: %s", error)
        return compute()
    if not is_holder:
        awaited = _awaited(redis, key, decode)
        return awaited if awaited is not None else _stored(redis, key, compute(), ttl)
    try:
        return stored if stored is not None else _stored(redis, key, compute(), ttl)
    finally:
        if not refresh:
            _release(redis, key, token)


def _decoded(raw: bytes | None, decode: Callable[[bytes], Result]) -> Result | None:
    if raw is None:
        return None
    try:
        return decode(raw)
    except (ValueError, KeyError, TypeError) as error:  # written by another format
        log.warning("unreadable result cache entry, recomputing: %r", error)
        return None


def _awaited(redis: Redis, key: str, decode: Callable[[bytes], Result]) -> Result | None:
    """The lock holder's result, once stored; None when the lock ended without one."""
    deadline = time.monotonic() + LOCK_TTL_MS / 1000
    try:
        while time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            pipe = redis.pipeline(transaction=False)
            raw, is_locked = pipe.get(key).exists(lock_key(key)).execute()
            if raw is not None:
                return _decoded(raw, decode)
            if not is_locked:
                return None
    except RedisError as error:
        log.warning("result cache unavailable while waiting, running uncached: %s", error)
    return None


def _stored(redis: Redis, key: str, result: Result, ttl: int) -> Result:
    try:
        redis.set(key, result_codec.dumps(result), ex=ttl)
    except (RedisError, TypeError) as error:
        log.warning("result not cached: %s", error)
    return result


def _release(redis: Redis, key: str, token: str) -> None:
    try:
        redis.eval(_RELEASE, 1, lock_key(key), token)
    except RedisError as error:  # the lock then ends by its TTL
        log.warning("result cache lock not released: %s", error)
