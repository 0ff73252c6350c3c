"""Keeps the hub's processes running: each child that exits is started again, the same
way, after an exponential backoff, and the reason is printed.

The programs (web server, RQ worker, RQ cron) and the embedded servers they need
(PostgreSQL, Redis) are all children. Each runs in its own process group, so a Ctrl-C in
the terminal reaches only the hub, which then stops the programs before the servers;
and each is told to stop if the hub dies, even by SIGKILL, so nothing is left behind.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
BACKOFF_FIRST_SECONDS = 1.0  # the first restart after a crash
BACKOFF_MAX_SECONDS = 30.0  # the longest wait between restarts
STABLE_SECONDS = 60.0  # up at least this long: the next crash starts the backoff over
POLL_SECONDS = 0.5  # how often the children are checked
STOP_TIMEOUT_SECONDS = 15.0  # a program's grace period after SIGTERM, then SIGKILL


def die_with_parent(sig: signal.Signals = signal.SIGTERM) -> Callable[[], None]:
    """A preexec_fn: the child gets `sig` when the process that started it dies, even by
    SIGKILL. The kernel sends it when the starting *thread* exits, so start children from
    the main thread; it runs after Popen's user switch, which would otherwise clear it."""

    def set_parent_death_signal() -> None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig)

    return set_parent_death_signal


def spawn(argv: list[str], **options: object) -> subprocess.Popen[bytes]:
    """A child in its own process group that dies with the hub."""
    return subprocess.Popen(
        argv,
        process_group=0,
        preexec_fn=die_with_parent(),
        **options,  # type: ignore[arg-type]
    )


def stop_process(
    process: subprocess.Popen[bytes] | None,
    *,
    sig: signal.Signals = signal.SIGTERM,
    timeout: float = STOP_TIMEOUT_SECONDS,
) -> None:
    """Sends `sig` once and waits; SIGKILL after `timeout`."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


class Child(Protocol):
    """What the supervisor needs of a child: its current process, a way to start it again
    the same way (same data, socket and URL; returning once it is ready, raising if it
    cannot start), and a clean stop."""

    @property
    def process(self) -> subprocess.Popen[bytes] | None: ...

    def restart(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Program:
    """A command run as a child, its output appended to a log file."""

    argv: list[str]
    log: Path
    env: Mapping[str, str]
    process: subprocess.Popen[bytes] | None = None

    def restart(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:  # the child keeps its own copy of the descriptor
            self.process = spawn(self.argv, stdout=out, stderr=subprocess.STDOUT, env=self.env)

    def stop(self) -> None:
        stop_process(self.process)


@dataclass
class _Watch:
    """The supervisor's bookkeeping for one child."""

    started_at: float
    failures: int = 0  # consecutive short-lived runs: the backoff's exponent
    restart_at: float | None = None  # when a restart is due


@dataclass
class Supervisor:
    """Watches running `servers` (started first, stopped last) and `programs`. A child
    that exits is started again after 1 s, 2 s, 4 s … (`first_delay` doubling up to
    `max_delay`); one that had stayed up `stable_after` seconds starts over at 1 s."""

    servers: dict[str, Child]
    programs: dict[str, Child]
    say: Callable[[str], None] = field(default=lambda line: print(line, flush=True))
    first_delay: float = BACKOFF_FIRST_SECONDS
    max_delay: float = BACKOFF_MAX_SECONDS
    stable_after: float = STABLE_SECONDS
    _watches: dict[str, _Watch] = field(default_factory=dict)

    @property
    def children(self) -> dict[str, Child]:
        return {**self.servers, **self.programs}

    def run(self) -> None:
        """Until interrupted (KeyboardInterrupt); the caller then calls stop()."""
        while True:
            self.check()
            time.sleep(POLL_SECONDS)

    def check(self) -> None:
        """One pass: schedules a restart for each child that exited, runs those due."""
        for name, child in self.children.items():
            now = time.monotonic()
            watch = self._watches.setdefault(name, _Watch(started_at=now))
            if watch.restart_at is not None:
                if now >= watch.restart_at:
                    self._restart(name, child, watch)
                continue
            code = child.process.poll() if child.process is not None else -1
            if code is None:
                continue
            if now - watch.started_at >= self.stable_after:
                watch.failures = 0
            delay = self._schedule(watch, now)
            self.say(f"{name} exited with code {code}; restarting in {delay:g} s")

    def _schedule(self, watch: _Watch, now: float) -> float:
        delay = min(self.max_delay, self.first_delay * 2**watch.failures)
        watch.failures += 1
        watch.restart_at = now + delay
        return delay

    def _restart(self, name: str, child: Child, watch: _Watch) -> None:
        watch.restart_at = None
        try:
            child.restart()
        except Exception as error:  # it did not come up: try again later, say why
            child.stop()
            delay = self._schedule(watch, time.monotonic())
            self.say(f"{name} did not start ({error}); retrying in {delay:g} s")
            return
        watch.started_at = time.monotonic()
        pid = child.process.pid if child.process is not None else "?"
        self.say(f"{name} restarted (pid {pid})")

    def stop(self) -> None:
        """Stops the programs together, then the servers in reverse order of start."""
        with ThreadPoolExecutor(max_workers=max(1, len(self.programs))) as pool:
            list(pool.map(lambda child: child.stop(), self.programs.values()))
        for child in reversed(self.servers.values()):
            child.stop()
