"""`python app.py`: the whole hub on one machine.

Starts the embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are unset,
migrates, seeds the demo on first start, then runs the web server (gunicorn), one RQ
worker and the RQ cron scheduler as child processes until Ctrl-C or SIGTERM. The
supervisor (supervisor.py) starts again, with backoff, any of them that exits, the
embedded servers included.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import urllib.request
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

import config
import embedded_redis
import mailer
import supervisor
from db import embedded, engines, migrate, seed
from jobs import queues

BIN = Path(sys.executable).parent
KEEP_ALIVE_SECONDS = 75  # longer than a proxy's idle timeout; see web_argv()
# The embedded demo's sender, so its scheduled emails reach the Outbox out of the box.
DEMO_MAILER_FROM = "reports@hub.localhost"


@dataclass
class Services:
    """What prepare() started, and the environment child processes need."""

    env: dict[str, str] = field(default_factory=dict)
    postgres: embedded.EmbeddedPostgres | None = None
    redis: embedded_redis.RedisServer | None = None

    def servers(self) -> dict[str, supervisor.Child]:
        """The embedded servers this process started, in order of start."""
        started: dict[str, supervisor.Child] = {}
        if self.postgres is not None and self.postgres.process is not None:
            started["postgres"] = self.postgres
        if self.redis is not None:
            started["redis"] = self.redis
        return started

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()


def prepare_database(settings: config.Settings, services: Services) -> None:
    """Embedded PostgreSQL if needed, then roles and migrations; exports the URLs."""
    is_embedded = settings.database_url is None
    if is_embedded:
        services.postgres = embedded.start_server(settings.hub_home / "postgres")
        admin_url = embedded.create_database(services.postgres)
        services.env.update(embedded.role_urls(admin_url))
    else:
        admin_url = settings.database_url
    admin = engines.create(admin_url, pool_size=1)
    migrate.upgrade(admin, roles_can_login=is_embedded)
    admin.dispose()
    os.environ.update(services.env)


def prepare_redis(settings: config.Settings, services: Services) -> None:
    if settings.redis_url is None:
        services.redis = embedded_redis.start(settings.hub_home / "redis")
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


def web_argv(bind: str, *, workers: int = 2) -> list[str]:
    """gunicorn serving the hub. Its keep-alive outlasts a proxy's or a pooled client's
    idle timeout (AWS ALB and nginx upstreams use 60 s), so the client, not the server,
    closes an idle connection: with gunicorn's default 2 s, a request sent on a pooled
    connection just as the server closed it got a connection reset."""
    return [
        str(BIN / "gunicorn"),
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        "4",
        "--keep-alive",
        str(KEEP_ALIVE_SECONDS),
        "--access-logfile",
        "-",
        "app:create_server()",
    ]


def programs(settings: config.Settings) -> dict[str, supervisor.Program]:
    """The web server, one RQ worker and the RQ cron scheduler, not yet started."""
    logs = settings.hub_home / "logs"
    redis_url = os.environ["REDIS_URL"]
    env = os.environ.copy()
    argvs = {
        "web": web_argv(f"{settings.host}:{settings.port}"),
        "worker": [str(BIN / "rq"), "worker", "--url", redis_url, *queues.ALL],
        "cron": [str(BIN / "rq"), "cron", "jobs.cron_config", "--url", redis_url],
    }
    return {
        name: supervisor.Program(argv, logs / f"{name}.log", env) for name, argv in argvs.items()
    }


def wait_until_up(url: str, web: supervisor.Child, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if web.process is None or web.process.poll() is not None:
            raise RuntimeError("the web server exited; see HUB_HOME/logs/web.log")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the web server did not answer in time; see HUB_HOME/logs/web.log")


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


def default_demo_sender(env: MutableMapping[str, str]) -> None:
    """The embedded demo (no DATABASE_URL) sends as DEMO_MAILER_FROM unless MAILER_FROM
    is set: without a sender no scheduled email would ever go out. A real deployment
    names its own sender."""
    if not env.get("DATABASE_URL") and not env.get("MAILER_FROM"):
        env["MAILER_FROM"] = DEMO_MAILER_FROM


def main() -> None:
    default_demo_sender(os.environ)
    settings = config.load()
    settings.hub_home.mkdir(parents=True, exist_ok=True)
    os.environ["HUB_HOME"] = str(settings.hub_home)
    mailer.ensure_outbox(settings.outbox)
    services = Services()
    hub: supervisor.Supervisor | None = None
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        print("Starting PostgreSQL and applying migrations…")
        prepare_database(settings, services)
        seed_if_empty()
        print("Starting Redis, the web server, an RQ worker and the RQ cron scheduler…")
        prepare_redis(settings, services)
        hub = supervisor.Supervisor(services.servers(), dict(programs(settings)))
        for program in hub.programs.values():
            program.restart()
        wait_until_up(f"http://127.0.0.1:{settings.port}", hub.programs["web"])
        _print_ready(settings)
        hub.run()  # restarts whatever exits, until Ctrl-C or SIGTERM
    except KeyboardInterrupt:
        print("\nStopping…")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the stop short
            signal.signal(sig, signal.SIG_IGN)
        if hub is not None:
            hub.stop()
        services.stop()
        print("Stopped.")
