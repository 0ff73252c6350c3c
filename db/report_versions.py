"""A report's versions (ins_report_versions, migration 0013), under the tenant's RLS.

The trigger on ins_reports adds a version whenever a report is created or its name,
description or definition changes; nothing here inserts one. A restore is a save of an
old version's state (reporting.restore) that this module then marks with the version it
brought back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from db import schema as s
from db.tenancy import tenant_transaction


@dataclass(frozen=True)
class ReportVersion:
    version: int
    name: str
    description: str
    definition: dict[str, Any]
    saved_by: str | None  # the user's name; None when provisioned or the user is gone
    saved_at: dt.datetime
    restored_from: int | None

    @property
    def state(self) -> tuple[str, str, dict[str, Any]]:
        """What datasets.diff compares."""
        return self.name, self.description, self.definition


def _query(report_id: int) -> sa.Select:
    v, u = s.report_versions, s.users
    return (
        sa.select(v.c.version, v.c.name, v.c.description, v.c.definition,
                  u.c.name.label("saved_by"), v.c.saved_at, v.c.restored_from)
        .outerjoin(u, sa.and_(u.c.tenant_id == v.c.tenant_id, u.c.id == v.c.saved_by))
        .where(v.c.report_id == report_id)
    )  # fmt: skip


def list_versions(web: Engine, *, tenant_id: int, report_id: int) -> list[ReportVersion]:
    """The report's versions, newest first (none for another tenant's report)."""
    query = _query(report_id).order_by(s.report_versions.c.version.desc())
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        return [ReportVersion(**row._mapping) for row in conn.execute(query)]


def get_version(
    web: Engine, *, tenant_id: int, report_id: int, version: int
) -> ReportVersion | None:
    query = _query(report_id).where(s.report_versions.c.version == version)
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        row = conn.execute(query).one_or_none()
    return None if row is None else ReportVersion(**row._mapping)


def mark_restored(conn: Connection, *, report_id: int, restored_from: int) -> None:
    """Marks the version that this transaction's save of the report added, if it added one
    (a restore of a state equal to the current one adds none), as restoring
    `restored_from`. The trigger's versions carry the transaction's now()."""
    v = s.report_versions
    conn.execute(
        sa.update(v)
        .where(v.c.report_id == report_id, v.c.saved_at == sa.func.now(),
               v.c.restored_from.is_(None))
        .values(restored_from=restored_from)
    )  # fmt: skip
