"""The shared Redis clients: `default()` enqueues export jobs and reads their status;
`fail_fast(url)`, with short timeouts and no retries, serves sign-in throttling and the
result cache, which must answer at once when Redis is away. RQ workers and the cron
scheduler connect from their REDIS_URL.
"""

from __future__ import annotations

from functools import cache

from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

import config

# A few O(1) commands each: a Redis that has not answered in 500 ms is down for these
# callers, and a sign-in page or report that hangs helps nobody. No retries: a refused
# connection fails at once, and the pool itself replaces a pooled connection that died
# with a restarted server when it hands it out.
FAIL_FAST_TIMEOUT_SECONDS = 0.5


@cache
def fail_fast(url: str) -> Redis:
    """A client for `url` with short timeouts and no retries."""
    return Redis.from_url(
        url,
        socket_connect_timeout=FAIL_FAST_TIMEOUT_SECONDS,
        socket_timeout=FAIL_FAST_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 0),
    )


def connect(url: str) -> Redis:
    return Redis.from_url(url)


@cache
def default() -> Redis:
    url = config.load().redis_url
    if url is None:
        raise RuntimeError(
            "REDIS_URL is not set: start the hub with `make run` (embedded Redis) "
            "or point REDIS_URL at a server."
        )
    return connect(url)
