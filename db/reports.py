"""Saved reports (ins_reports) as the hub lists them, read under the tenant's RLS."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db import schema as s
from db.tenancy import tenant_transaction


@dataclass(frozen=True)
class ReportSummary:
    id: int
    name: str
    description: str
    dataset: str
    viz: str
    owner: str | None
    updated_at: dt.datetime
    is_pinned: bool
    is_scheduled: bool


@dataclass(frozen=True)
class SavedReport:
    id: int
    tenant_id: int
    name: str
    description: str
    definition: dict[str, Any]
    updated_at: dt.datetime


def get_report(web: Engine, *, tenant_id: int, report_id: int) -> SavedReport | None:
    """The tenant's saved report, or None (also for another tenant's id: RLS hides it)."""
    r = s.reports
    query = sa.select(
        r.c.id, r.c.tenant_id, r.c.name, r.c.description, r.c.definition, r.c.updated_at
    ).where(r.c.id == report_id)
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        row = conn.execute(query).one_or_none()
    return None if row is None else SavedReport(**row._mapping)


def list_reports(web: Engine, *, tenant_id: int) -> list[ReportSummary]:
    r, u = s.reports, s.users
    pinned = sa.exists().where(
        s.dashboard_pins.c.tenant_id == r.c.tenant_id, s.dashboard_pins.c.report_id == r.c.id
    )
    scheduled = sa.exists().where(
        s.report_schedules.c.tenant_id == r.c.tenant_id,
        s.report_schedules.c.report_id == r.c.id,
    )
    query = (
        sa.select(
            r.c.id,
            r.c.name,
            r.c.description,
            r.c.definition["dataset"].astext.label("dataset"),
            r.c.definition["viz"].astext.label("viz"),
            u.c.name.label("owner"),
            r.c.updated_at,
            pinned.label("is_pinned"),
            scheduled.label("is_scheduled"),
        )
        .outerjoin(u, sa.and_(u.c.tenant_id == r.c.tenant_id, u.c.id == r.c.owner_id))
        .order_by(r.c.updated_at.desc(), r.c.id.desc())
    )
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        return [ReportSummary(**row._mapping) for row in conn.execute(query)]
