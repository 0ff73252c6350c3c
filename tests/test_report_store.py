"""Saving, renaming, duplicating and deleting reports, per tenant."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from db import schema as s
from db.reports import delete_report, duplicate_report, get_report, list_reports, save_report
from errors import BadRequest, NotFound
from tests.conftest import Hub

DEFINITION = {"dataset": "chat", "measures": ["conversations"], "viz": "table"}


def _save(hub: Hub, slug: str, name: str, report_id: int | None = None) -> int:
    tenant = hub.tenant_id(slug)
    with hub.cron.connect() as conn:
        owner = conn.scalar(
            sa.select(sa.func.min(s.users.c.id)).where(s.users.c.tenant_id == tenant)
        )
    return save_report(hub.web, tenant_id=tenant, owner_id=owner, name=name, description="",
                       definition=DEFINITION, report_id=report_id)  # fmt: skip


def test_names_are_unique_per_tenant_whatever_the_case(hub: Hub) -> None:
    """A second "Store Weekly" in Acme is refused with a clear message; Globex may use it."""
    _save(hub, "acme", "Store weekly")
    with pytest.raises(BadRequest, match="A report named “STORE weekly” already exists"):
        _save(hub, "acme", "  STORE  weekly ")
    assert _save(hub, "globex", "Store weekly")


def test_update_renames_and_keeps_the_id(hub: Hub) -> None:
    """Saving an existing report updates it in place."""
    report_id = _save(hub, "acme", "Draft one")
    assert _save(hub, "acme", "Final one", report_id) == report_id
    report = get_report(hub.web, tenant_id=hub.tenant_id("acme"), report_id=report_id)
    assert report is not None and report.name == "Final one"


def test_empty_name_is_refused(hub: Hub) -> None:
    """A report needs a name."""
    with pytest.raises(BadRequest, match="name: Give the report a name"):
        _save(hub, "acme", "   ")


def test_duplicate_numbers_its_copies(hub: Hub) -> None:
    """Copies are "(copy)", then "(copy 2)", then "(copy 3)"."""
    acme = hub.tenant_id("acme")
    original = _save(hub, "acme", "Funnel 100% weekly")
    names = []
    for _ in range(3):
        copy = duplicate_report(hub.web, tenant_id=acme, owner_id=1, report_id=original)
        report = get_report(hub.web, tenant_id=acme, report_id=copy)
        assert report is not None and report.definition == DEFINITION
        names.append(report.name)
    assert names == ["Funnel 100% weekly (copy)", "Funnel 100% weekly (copy 2)",
                     "Funnel 100% weekly (copy 3)"]  # fmt: skip


def test_delete_removes_the_pin_and_schedule(hub: Hub) -> None:
    """Deleting a report un-pins and un-schedules it."""
    acme = hub.tenant_id("acme")
    report_id = _save(hub, "acme", "Soon gone")
    with hub.cron.begin() as conn:
        conn.execute(sa.insert(s.dashboard_pins).values(tenant_id=acme, report_id=report_id,
                                                        position=3, span=4))  # fmt: skip
        conn.execute(sa.insert(s.report_schedules).values(
            tenant_id=acme, report_id=report_id, frequency="weekly", hour=6, weekday=1,
            recipients=["a@acme.example"]))  # fmt: skip
    delete_report(hub.web, tenant_id=acme, report_id=report_id)
    assert report_id not in {r.id for r in list_reports(hub.web, tenant_id=acme)}
    with hub.cron.connect() as conn:
        for table in (s.dashboard_pins, s.report_schedules):
            assert conn.scalar(sa.select(sa.func.count()).select_from(table)
                               .where(table.c.report_id == report_id)) == 0  # fmt: skip


def test_other_tenants_reports_are_not_found(hub: Hub) -> None:
    """Globex can neither read, update, duplicate nor delete an Acme report."""
    report_id = _save(hub, "acme", "Acme only")
    globex = hub.tenant_id("globex")
    assert get_report(hub.web, tenant_id=globex, report_id=report_id) is None
    with pytest.raises(NotFound):
        _save(hub, "globex", "Hijack", report_id)
    with pytest.raises(NotFound):
        duplicate_report(hub.web, tenant_id=globex, owner_id=1, report_id=report_id)
    with pytest.raises(NotFound):
        delete_report(hub.web, tenant_id=globex, report_id=report_id)
    assert get_report(hub.web, tenant_id=hub.tenant_id("acme"), report_id=report_id)
