"""The shared Redis client: the web app enqueues export jobs and reads their status with it.

Sign-in throttling keeps its own client with short timeouts and no retries
(throttle.client); RQ workers and the cron scheduler connect from their REDIS_URL.
"""

from __future__ import annotations

from functools import cache

from redis import Redis

import config


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
