"""The tenant's flows, for pickers (the funnel's flow, filter suggestions)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db import schema as s
from db.tenancy import tenant_transaction


def list_flows(web: Engine, *, tenant_id: int) -> list[tuple[int, str]]:
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        rows = conn.execute(
            sa.select(s.flows.c.id, s.flows.c.name).order_by(s.flows.c.name, s.flows.c.id)
        )
        return [(r.id, r.name) for r in rows]
