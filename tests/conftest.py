"""One hub per test session: real PostgreSQL and Redis, migrated and seeded once.

With DATABASE_URL / REDIS_URL set, the session creates its own database on that server
(dropped at the end) and uses that Redis; otherwise it starts the embedded servers
under a temporary HUB_HOME, exactly as `make run` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from redis import Redis
from sqlalchemy.engine import Engine

import config
import runtime
from db import engines, seed
from db import schema as s
from db.databases import create_database, drop_database

pytest_plugins = ["tests.smtp"]  # the `inbox` fixture: a real SMTP server

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


@dataclass(frozen=True)
class Hub:
    home: Path
    admin_url: str
    admin: Engine
    web: Engine
    cron: Engine
    redis: Redis
    env: dict[str, str]

    def work(self, queue: str, env: dict[str, str] | None = None) -> None:
        """Runs a real RQ worker in burst mode on `queue` until it is empty."""
        worker = subprocess.run(
            [str(Path(sys.executable).parent / "rq"), "worker", "--burst", "--url",
             self.env["REDIS_URL"], queue],
            cwd=ROOT, env={**os.environ, **self.env, **(env or {})}, capture_output=True,
            text=True,
            timeout=180,
        )  # fmt: skip
        assert worker.returncode == 0, worker.stderr

    def tenant_id(self, slug: str) -> int:
        with self.cron.connect() as conn:
            return conn.scalar(sa.text("SELECT id FROM tenants WHERE slug = :s"), {"s": slug})

    @contextmanager
    def saved_report(self, name: str, definition: dict[str, Any],
                     tenant: str = "acme") -> Iterator[int]:  # fmt: skip
        """A saved report of `tenant` for the block's length (deleted after it)."""
        with self.cron.begin() as conn:
            report_id = conn.scalar(sa.insert(s.reports).values(
                tenant_id=self.tenant_id(tenant), name=name, definition=definition,
            ).returning(s.reports.c.id))  # fmt: skip
        try:
            yield report_id
        finally:
            with self.cron.begin() as conn:
                conn.execute(sa.delete(s.reports).where(s.reports.c.id == report_id))


ENV_KEYS = (
    "DATABASE_URL",
    "HUB_WEB_DATABASE_URL",
    "HUB_CRON_DATABASE_URL",
    "REDIS_URL",
    "HUB_HOME",
    "SECRET_KEY",
)


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    home = tmp_path_factory.mktemp("hub")
    saved = dict(os.environ)
    given_database = os.environ.get("DATABASE_URL")
    test_database = create_database(given_database) if given_database else None
    for key in ("HUB_WEB_DATABASE_URL", "HUB_CRON_DATABASE_URL"):
        os.environ.pop(key, None)
    os.environ.update(HUB_HOME=str(home), SECRET_KEY="test-secret-key")
    if test_database:
        os.environ["DATABASE_URL"] = test_database
    services = runtime.Services()
    try:
        settings = config.load()
        runtime.prepare_database(settings, services)
        runtime.prepare_redis(settings, services)
        engines.default.cache_clear()
        hub_engines = engines.default()
        redis = Redis.from_url(os.environ["REDIS_URL"])
        redis.flushdb()
        seed.seed_demo(hub_engines.cron)
        env = {k: os.environ[k] for k in ENV_KEYS if k in os.environ}
        admin = engines.create(os.environ["DATABASE_URL"])
        yield Hub(home, env["DATABASE_URL"], admin, hub_engines.web, hub_engines.cron, redis, env)
        admin.dispose()
        hub_engines.web.dispose()
        hub_engines.cron.dispose()
    finally:
        engines.default.cache_clear()
        services.stop()
        if test_database:
            drop_database(test_database)
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def fresh_database(hub: Hub) -> Iterator[Engine]:
    """An empty database on the session's server, dropped after the test."""
    url = create_database(hub.admin_url)
    engine = engines.create(url)
    yield engine
    engine.dispose()
    drop_database(url)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def flask_app(hub: Hub):  # type: ignore[no-untyped-def]
    """The real hub app (Flask server with the Dash pages), in this process."""
    from app import create_app

    return create_app().server


# The phase reports of each test, kept on its item, so a fixture's teardown can tell
# whether the test itself failed.
PHASE_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
LOG_TAIL_LINES = 60


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    item.stash.setdefault(PHASE_REPORTS, {})[report.when] = report


def _call_failed(request: pytest.FixtureRequest) -> bool:
    report = request.node.stash.get(PHASE_REPORTS, {}).get("call")
    return report is not None and report.failed


def _tail(path: Path) -> str:
    lines = path.read_text(errors="replace").splitlines() if path.exists() else ["(missing)"]
    return "\n".join(lines[-LOG_TAIL_LINES:])


@pytest.fixture(scope="module")
def hub_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where base_url's gunicorn and RQ worker write web.log and worker.log."""
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="module")
def base_url(hub: Hub, hub_logs: Path) -> Iterator[str]:
    """The hub served by gunicorn with an RQ worker, as in production, for one module."""
    from tests import browser

    with browser.running_hub(hub.env, hub_logs) as base:
        yield base


@pytest.fixture(autouse=True)
def _server_logs_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """A failed test against base_url prints the tails of the server's and worker's logs."""
    yield
    if "base_url" in request.fixturenames and _call_failed(request):
        logs: Path = request.getfixturevalue("hub_logs")
        for name in ("web.log", "worker.log"):
            print(f"--- {name} (last {LOG_TAIL_LINES} lines) ---\n{_tail(logs / name)}")


@pytest.fixture
def driver(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Headless Chromium, downloading into the test's tmp_path; a failed test prints its
    browser console."""
    from tests import browser

    with browser.chromium(tmp_path) as chromium:
        yield chromium
        if _call_failed(request):
            console = "\n".join(f"{e['level']} {e['message']}" for e in chromium.get_log("browser"))
            print(f"--- browser console ---\n{console or '(empty)'}")
