"""`python app.py`: the whole hub on one machine.

Starts the embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are unset,
migrates, seeds the demo on first start, then runs the web server (gunicorn), one RQ
worker and the RQ cron scheduler as child processes until Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import config
from db import embedded, engines, migrate, seed
from jobs import queues, redis_server

BIN = Path(sys.executable).parent


@dataclass
class Services:
    """What prepare() started, and the environment child processes need."""

    env: dict[str, str] = field(default_factory=dict)
    redis: redis_server.RedisServer | None = None

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()


def prepare_database(settings: config.Settings, services: Services) -> None:
    """Embedded PostgreSQL if needed, then roles and migrations; exports the URLs."""
    is_embedded = settings.database_url is None
    if is_embedded:
        admin_url = embedded.start(settings.hub_home / "postgres")
        services.env.update(embedded.role_urls(admin_url))
    else:
        admin_url = settings.database_url
    admin = engines.create(admin_url, pool_size=1)
    migrate.upgrade(admin, roles_can_login=is_embedded)
    admin.dispose()
    os.environ.update(services.env)


def prepare_redis(settings: config.Settings, services: Services) -> None:
    if settings.redis_url is None:
        services.redis = redis_server.start(settings.hub_home / "redis")
        services.env["REDIS_URL"] = services.redis.url
    os.environ.update(services.env)


def progress_bar(label: str, fraction: float, width: int = 32) -> None:
    filled = round(width * max(0.0, min(1.0, fraction)))
    bar = "#" * filled + "-" * (width - filled)
    sys.stdout.write(f"\r  [{bar}] {fraction:5.0%}  {label[:40]:<40}")
    sys.stdout.flush()


def seed_if_empty() -> None:
    cron = engines.default().cron
    if seed.is_seeded(cron):
        print("Demo data: already seeded, reusing it.")
        return
    print("Seeding the demo data (first start only):")
    started = time.monotonic()
    seed.seed_demo(cron, on_step=progress_bar)
    progress_bar("done", 1.0)
    print(f"\n  seeded in {time.monotonic() - started:.1f} s")


def _spawn(name: str, argv: list[str], logs: Path) -> subprocess.Popen:
    log = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the child's life
    return subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
        preexec_fn=redis_server.die_with_parent,  # no orphans if the hub is killed
    )


def start_processes(settings: config.Settings) -> dict[str, subprocess.Popen]:
    logs = settings.hub_home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    redis_url = os.environ["REDIS_URL"]
    bind = f"{settings.host}:{settings.port}"
    return {
        "web": _spawn(
            "web",
            [
                str(BIN / "gunicorn"),
                "--bind",
                bind,
                "--workers",
                "2",
                "--threads",
                "4",
                "--access-logfile",
                "-",
                "app:create_server()",
            ],
            logs,
        ),
        "worker": _spawn(
            "worker", [str(BIN / "rq"), "worker", "--url", redis_url, *queues.ALL], logs
        ),
        "cron": _spawn(
            "cron", [str(BIN / "rq"), "cron", "jobs.cron_config", "--url", redis_url], logs
        ),
    }


def wait_until_up(url: str, processes: dict[str, subprocess.Popen], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if processes["web"].poll() is not None:
            raise RuntimeError("the web server exited; see HUB_HOME/logs/web.log")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the web server did not answer in time; see HUB_HOME/logs/web.log")


def stop_processes(processes: dict[str, subprocess.Popen]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _print_ready(settings: config.Settings) -> None:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    url = f"http://{host}:{settings.port}"
    print(f"\nAnalytics Hub is running at {url}/admin/analytics")
    print(f"Data, logs and outbox: {settings.hub_home}")
    if seed.is_seeded(engines.default().cron):
        print(f"Demo sign-ins (password: {seed.DEMO_PASSWORD}):")
        for tenant in seed.DEMO_TENANTS:
            for user in tenant.users:
                print(f"  {user.email:<24} {tenant.name} · {user.role}")
    print("Press Ctrl-C to stop.")


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    settings = config.load()
    settings.hub_home.mkdir(parents=True, exist_ok=True)
    os.environ["HUB_HOME"] = str(settings.hub_home)
    services = Services()
    processes: dict[str, subprocess.Popen] = {}
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        print("Starting PostgreSQL and applying migrations…")
        prepare_database(settings, services)
        seed_if_empty()
        print("Starting Redis, the web server, an RQ worker and the RQ cron scheduler…")
        prepare_redis(settings, services)
        processes = start_processes(settings)
        wait_until_up(f"http://127.0.0.1:{settings.port}", processes)
        _print_ready(settings)
        while all(p.poll() is None for p in processes.values()):
            time.sleep(0.5)
        dead = [name for name, p in processes.items() if p.poll() is not None]
        print(f"\n{', '.join(dead)} exited; see {settings.hub_home / 'logs'}. Stopping.")
    except KeyboardInterrupt:
        print("\nStopping…")
    finally:
        stop_processes(processes)
        services.stop()
        print("Stopped.")
