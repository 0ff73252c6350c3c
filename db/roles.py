"""Creates the three database roles and lets the admin login act as them.

Roles are cluster-wide, so this runs before migrations, idempotently, on the admin
(DATABASE_URL) connection, which needs CREATEROLE (and superuser to grant BYPASSRLS)
the first time only. Embedded mode creates them as logins reachable over the private
Unix socket; elsewhere they are NOLOGIN roles reached with SET ROLE unless the operator
gives them a password and their own URLs.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.engines import CRON_ROLE, OWNER_ROLE, WEB_ROLE

ATTRIBUTES = {
    OWNER_ROLE: "NOBYPASSRLS",
    WEB_ROLE: "NOBYPASSRLS",
    CRON_ROLE: "BYPASSRLS",
}


def ensure_roles(conn: Connection, *, can_login: bool) -> None:
    login = "LOGIN" if can_login else "NOLOGIN"
    existing = set(
        conn.scalars(
            sa.text("SELECT rolname FROM pg_roles WHERE rolname = ANY(:names)"),
            {"names": list(ATTRIBUTES)},
        )
    )
    me, is_superuser = conn.execute(
        sa.text("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
    ).one()
    for role, attributes in ATTRIBUTES.items():
        if role not in existing:
            conn.execute(sa.text(f'CREATE ROLE "{role}" {login} {attributes}'))
        if not is_superuser and role != me:
            conn.execute(sa.text(f'GRANT "{role}" TO "{me}"'))
    database = conn.scalar(sa.text("SELECT current_database()"))
    conn.execute(sa.text(f'GRANT CONNECT, CREATE ON DATABASE "{database}" TO "{OWNER_ROLE}"'))
    conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{database}" TO "{WEB_ROLE}", "{CRON_ROLE}"'))
    conn.execute(sa.text(f'GRANT USAGE, CREATE ON SCHEMA public TO "{OWNER_ROLE}"'))
    conn.execute(sa.text(f'GRANT USAGE ON SCHEMA public TO "{WEB_ROLE}", "{CRON_ROLE}"'))
