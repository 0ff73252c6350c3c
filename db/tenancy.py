"""The one place that sets the tenant of a transaction (`app.tenant_id`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

DEFAULT_STATEMENT_TIMEOUT_MS = 15_000


@contextmanager
def tenant_transaction(
    engine: Engine, *, tenant_id: int, statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS
) -> Iterator[Connection]:
    """A transaction in which row-level security shows only `tenant_id`'s rows.

    It also bounds every statement by `statement_timeout_ms` and works in UTC.
    """
    with engine.begin() as conn:
        conn.execute(
            sa.select(
                sa.func.set_config("app.tenant_id", str(int(tenant_id)), True),
                sa.func.set_config("statement_timeout", str(int(statement_timeout_ms)), True),
                sa.func.set_config("TimeZone", "UTC", True),
            )
        )
        yield conn


@contextmanager
def login_transaction(engine: Engine, *, email: str) -> Iterator[Connection]:
    """A transaction that may see the users whose email is `email`, in any tenant."""
    with engine.begin() as conn:
        conn.execute(sa.select(sa.func.set_config("app.login_email", email.strip().lower(), True)))
        yield conn
