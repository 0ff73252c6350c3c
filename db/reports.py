"""Saved reports (ins_reports): list, read, save, duplicate, delete — under the tenant's RLS.

Definitions are stored as validated JSON; callers validate before saving. Names are
unique per tenant, case-insensitively (the index `ins_reports_tenant_name`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from db import schema as s
from db.report_versions import mark_restored
from db.tenancy import tenant_transaction
from errors import BadReport, NotFound

MAX_NAME = 200


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


def list_reports(web: Engine, *, tenant_id: int, name_contains: str = "") -> list[ReportSummary]:
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
    if name_contains:
        query = query.where(
            sa.func.lower(r.c.name).contains(name_contains.lower(), autoescape=True)
        )
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        return [ReportSummary(**row._mapping) for row in conn.execute(query)]


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise BadReport([("name", "give the report a name")])
    if len(cleaned) > MAX_NAME:
        raise BadReport([("name", f"at most {MAX_NAME} characters")])
    return cleaned


def save_report(
    web: Engine,
    *,
    tenant_id: int,
    owner_id: int,
    name: str,
    description: str,
    definition: dict[str, Any],
    report_id: int | None = None,
    restored_from: int | None = None,
) -> int:
    """Creates the report (report_id None) or updates it; returns its id.

    `owner_id` is the user saving: the owner of a new report, and the author of the
    version the save adds when it changes anything (see db.report_versions); a restore
    names the version it brings back (`restored_from`)."""
    name = _clean_name(name)
    values = {"name": name, "description": description.strip(), "definition": definition,
              "updated_by": owner_id}  # fmt: skip
    r = s.reports
    try:
        with tenant_transaction(web, tenant_id=tenant_id) as conn:
            if report_id is None:
                return conn.scalar(
                    sa.insert(r)
                    .values(tenant_id=tenant_id, owner_id=owner_id, **values)
                    .returning(r.c.id)
                )
            updated = conn.scalar(
                sa.update(r)
                .where(r.c.id == report_id)
                .values(updated_at=sa.func.now(), **values)
                .returning(r.c.id)
            )
            if updated is not None and restored_from is not None:
                mark_restored(conn, report_id=updated, restored_from=restored_from)
    except IntegrityError as exc:
        if "ins_reports_tenant_name" in str(exc.orig):
            raise BadReport([("name", f"a report named “{name}” already exists")]) from None
        raise
    if updated is None:
        raise NotFound("There is no such report.")
    return updated


def duplicate_report(web: Engine, *, tenant_id: int, owner_id: int, report_id: int) -> int:
    """Copies the report as "<name> (copy)", or "(copy 2)", "(copy 3)"… if taken."""
    original = get_report(web, tenant_id=tenant_id, report_id=report_id)
    if original is None:
        raise NotFound("There is no such report.")
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        taken = {
            n.lower()
            for n in conn.scalars(
                sa.select(s.reports.c.name).where(
                    sa.func.lower(s.reports.c.name).startswith(
                        original.name.lower() + " (copy", autoescape=True
                    )
                )
            )
        }
    copy = 1
    while True:
        suffix = " (copy)" if copy == 1 else f" (copy {copy})"
        name = original.name[: MAX_NAME - len(suffix)] + suffix
        if name.lower() not in taken:
            break
        copy += 1
    return save_report(
        web, tenant_id=tenant_id, owner_id=owner_id, name=name,
        description=original.description, definition=original.definition,
    )  # fmt: skip


def delete_report(web: Engine, *, tenant_id: int, report_id: int) -> None:
    """Deletes the report; its pin and schedule go with it (ON DELETE CASCADE)."""
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        deleted = conn.scalar(
            sa.delete(s.reports).where(s.reports.c.id == report_id).returning(s.reports.c.id)
        )
    if deleted is None:
        raise NotFound("There is no such report.")
