"""Throttles failed sign-ins per account and per client address, in Redis.

Counters live in Redis so every web process shares them. A window starts at the first
failure and lasts WINDOW_SECONDS; a successful sign-in clears the account's counter.
"""

from __future__ import annotations

import hashlib

from redis import Redis

from errors import TooManyRequests

WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 30


def _keys(email: str, address: str) -> dict[str, int]:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return {
        f"hub:login-failures:account:{digest}": MAX_FAILURES_PER_ACCOUNT,
        f"hub:login-failures:address:{address}": MAX_FAILURES_PER_ADDRESS,
    }


def check(redis: Redis, *, email: str, address: str) -> None:
    """Raises TooManyRequests while the account or the address is over its limit."""
    for key, limit in _keys(email, address).items():
        count = redis.get(key)
        if count is not None and int(count) >= limit:
            minutes = max(1, -(-int(redis.ttl(key)) // 60))
            raise TooManyRequests(
                f"Too many failed sign-in attempts. Try again in {minutes} minute"
                f"{'s' if minutes != 1 else ''}."
            )


def record_failure(redis: Redis, *, email: str, address: str) -> None:
    with redis.pipeline() as pipe:
        for key in _keys(email, address):
            pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)  # the window opens once
            pipe.incr(key)
        pipe.execute()


def clear_account(redis: Redis, *, email: str) -> None:
    account_key = next(iter(_keys(email, "-")))
    redis.delete(account_key)
