"""The three database connections of the hub, one per role.

`DATABASE_URL` is the owner/admin login that runs migrations. The web app uses
hub_web (row-level security enforced) and cron jobs use hub_cron (BYPASSRLS). Each
comes from its own URL when HUB_WEB_DATABASE_URL / HUB_CRON_DATABASE_URL are set,
otherwise from DATABASE_URL followed by `SET ROLE` (the login must be a member).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

import config

WEB_ROLE = "hub_web"
CRON_ROLE = "hub_cron"
OWNER_ROLE = "hub_owner"


def normalize_url(url: str | URL) -> URL:
    """Any postgres URL, driven by psycopg 3."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg")


def create(url: str | URL, *, role: str | None = None, pool_size: int = 5) -> Engine:
    """An engine; with `role`, every new connection runs `SET ROLE role` first."""
    engine = sa.create_engine(normalize_url(url), pool_size=pool_size, pool_pre_ping=True)
    if role is not None:
        statement = f'SET ROLE "{role}"'  # role is one of the three constants above

        @sa.event.listens_for(engine, "connect")
        def _set_role(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            with dbapi_connection.cursor() as cursor:
                cursor.execute(statement)
            dbapi_connection.commit()

    return engine


@dataclass(frozen=True)
class Engines:
    web: Engine
    cron: Engine


def from_settings(settings: config.Settings) -> Engines:
    if settings.database_url is None and (
        settings.web_database_url is None or settings.cron_database_url is None
    ):
        raise RuntimeError(
            "DATABASE_URL is not set: start the hub with `make run` (embedded PostgreSQL) "
            "or point DATABASE_URL at a server."
        )

    def for_role(explicit: str | None, role: str) -> Engine:
        if explicit is not None:
            return create(explicit)
        assert settings.database_url is not None
        return create(settings.database_url, role=role)

    return Engines(
        web=for_role(settings.web_database_url, WEB_ROLE),
        cron=for_role(settings.cron_database_url, CRON_ROLE),
    )


@cache
def default() -> Engines:
    """The process-wide engines, built from the environment on first use."""
    return from_settings(config.load())
