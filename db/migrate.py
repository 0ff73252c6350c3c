"""Applies and reverts the Alembic migrations as hub_owner."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from db.engines import OWNER_ROLE
from db.roles import ensure_roles

MIGRATIONS = Path(__file__).with_name("migrations")


def _config(conn: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(admin: Engine, *, revision: str = "head", roles_can_login: bool = False) -> None:
    with admin.begin() as conn:
        ensure_roles(conn, can_login=roles_can_login)
    with admin.begin() as conn:
        conn.execute(sa.text(f'SET LOCAL ROLE "{OWNER_ROLE}"'))
        command.upgrade(_config(conn), revision)


def downgrade(admin: Engine, *, revision: str = "base") -> None:
    with admin.begin() as conn:
        conn.execute(sa.text(f'SET LOCAL ROLE "{OWNER_ROLE}"'))
        command.downgrade(_config(conn), revision)


def current_revision(admin: Engine) -> str | None:
    with admin.connect() as conn:
        if conn.scalar(sa.text("SELECT to_regclass('public.alembic_version')")) is None:
            return None
        return conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
