"""Slows down password guessing, per account and per client address, in Redis.

The policy follows OWASP's Authentication Cheat Sheet: delays that grow, not lockouts
that an attacker can aim at the real owner or at everyone behind one address.

- **Per account** (the email, stripped and lower-cased, so `Ada@X.example ` and
  `ada@x.example` are one account, known or not): each attempt is reserved atomically
  *before* the password is verified, counted as a failure in advance and refunded by a
  successful sign-in. The first `Policy.free_failures - 1` failures cost nothing; from
  the `free_failures`-th on, the next attempt must wait `base_delay`, then twice that,
  and so on up to `max_delay` (by default 1 s, 2 s, 4 s … 5 minutes after the 5th, 6th,
  7th … failure). An attempt during the wait is refused with 429 and `Retry-After`
  without checking the password, so concurrent guesses cannot slip past the limit.
  The record is forgotten `window` after the last attempt's wait ends.
- **Per client address**: wrong passwords are counted in a `window` that opens at the
  first one. Past `address_failures`, the password is still checked and a correct one
  signs in (an office behind one NAT is not locked out by a sprayer), but each wrong
  one is answered with 429, `Retry-After` and a pause of `address_penalty` first.
- **The client address** is the direct peer, unless the peer is one of the reverse
  proxies named by `HUB_TRUSTED_PROXIES` (IPs or CIDR ranges): then it is the right-most
  `X-Forwarded-For` hop that is not a trusted proxy. Hops to its left were written by
  the client and are never believed.
- **Redis down**: the reservation is the gate, so without Redis nobody signs in; the
  throttle's client (`redis_client.fail_fast`) gives up after half a second and sign-in answers 503
  at once. It reconnects by itself when Redis is back.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

from config import Network
from errors import ServiceUnavailable

# v2: the account record became a hash; the old string keys expire on their own.
KEY_PREFIX = "hub:login-failures:v2:"
UNAVAILABLE = "Sign-in is briefly unavailable. Try again in a minute."
UNAVAILABLE_RETRY_AFTER = 60

# KEYS[1]: the account's record. ARGV: now ('' for Redis's clock), base_delay,
# max_delay, window (all in ms), free_failures. Returns {granted 0/1, failures, ms to
# wait when refused}. Redis's clock is shared by every web process and ordered with the
# scripts themselves: with each caller's own clock, a request that read its clock early
# but ran late would be refused by a grant "from its future".
_RESERVE = """
redis.replicate_commands()  -- writes after TIME (the default from Redis 5 on)
local now = tonumber(ARGV[1])
if now == nil then
    local clock = redis.call('TIME')
    now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
end
local base, cap, window = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local free = tonumber(ARGV[5])
local record = redis.call('HMGET', KEYS[1], 'failures', 'next_at')
local failures = tonumber(record[1]) or 0
local next_at = tonumber(record[2]) or 0
if now < next_at then
    return {0, failures, next_at - now}
end
failures = failures + 1
local delay = 0
if failures >= free then
    delay = math.min(base * 2 ^ (failures - free), cap)
end
redis.call('HSET', KEYS[1], 'failures', failures, 'next_at', string.format('%d', now + delay))
redis.call('PEXPIRE', KEYS[1], window + delay)
return {1, failures, 0}
"""


@dataclass(frozen=True)
class Policy:
    """The throttle's limits; times in seconds. `DEFAULT_POLICY` is what the hub uses."""

    free_failures: int = 5
    base_delay: float = 1.0
    max_delay: float = 5 * 60.0
    window: float = 15 * 60.0
    address_failures: int = 30
    address_penalty: float = 1.0

    def __post_init__(self) -> None:
        for name in ("free_failures", "address_failures"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("base_delay", "max_delay", "window", "address_penalty"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_delay < self.base_delay:
            raise ValueError("max_delay must be at least base_delay")


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Reservation:
    """One sign-in attempt: granted (verify the password) or refused for `retry_after` s."""

    is_granted: bool
    failures: int
    retry_after: float


def _account_key(email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}account:{digest}"


def _address_key(address: str) -> str:
    return f"{KEY_PREFIX}address:{address}"


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def reserve(
    redis: Redis, *, email: str, policy: Policy = DEFAULT_POLICY, now: float | None = None
) -> Reservation:
    """Reserves an attempt for the account, counting it as a failure until `clear_account`.

    `now` (seconds) replaces Redis's clock, for tests. Raises ServiceUnavailable when
    Redis does not answer."""
    now_ms: int | str = "" if now is None else _ms(now)
    args = (now_ms, _ms(policy.base_delay), _ms(policy.max_delay), _ms(policy.window))
    try:
        script = redis.register_script(_RESERVE)
        granted, failures, wait_ms = script([_account_key(email)], [*args, policy.free_failures])
    except RedisError as exc:
        raise ServiceUnavailable(UNAVAILABLE) from exc
    return Reservation(bool(granted), int(failures), int(wait_ms) / 1000)


def clear_account(redis: Redis, *, email: str) -> None:
    """Forgets the account's failures (after a correct password)."""
    redis.delete(_account_key(email))


def record_address_failure(redis: Redis, *, address: str, policy: Policy = DEFAULT_POLICY) -> bool:
    """Counts a wrong password from `address`; True once the address is over its limit."""
    key = _address_key(address)
    with redis.pipeline() as pipe:
        pipe.set(key, 0, px=_ms(policy.window), nx=True)  # the window opens once
        pipe.incr(key)
        _, count = pipe.execute()
    return int(count) > policy.address_failures


def try_again_in(seconds: float) -> str:
    """When to try again, rounded up: 'Try again in 8 seconds.' or '… in 3 minutes.'"""
    whole = max(1, math.ceil(seconds))
    if whole < 60:
        return f"Try again in {whole} second{'s' if whole != 1 else ''}."
    minutes = math.ceil(whole / 60)
    return f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


def client_address(
    remote_addr: str, forwarded_for: str | None, *, trusted: tuple[Network, ...]
) -> str:
    """The client's address: the peer, or behind trusted proxies the right-most untrusted
    X-Forwarded-For hop (a hop that is not an IP address ends the walk)."""
    address = remote_addr
    if not forwarded_for or not _is_trusted(address, trusted):
        return address
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        if _parse(hop) is None:
            break
        address = hop
        if not _is_trusted(hop, trusted):
            break
    return address


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    parsed = _parse(address)
    return parsed is not None and any(parsed in network for network in trusted)
