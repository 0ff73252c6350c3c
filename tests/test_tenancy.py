"""Row-level security: the web role sees one tenant, the cron role sees all."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from db import schema as s
from db.tenancy import tenant_transaction
from tests.conftest import Hub

TENANT_SCOPED = [t.name for t in s.TENANT_OWNED]


@pytest.fixture(scope="module")
def reports_in_both_tenants(hub: Hub) -> None:
    """Each tenant gets a saved report, pinned, scheduled, delivered, unsubscribed from and
    alerted on (with a firing), so no hub table is empty."""
    with hub.cron.begin() as conn:
        for slug in ("acme", "globex"):
            tenant_id = hub.tenant_id(slug)
            report_id = conn.scalar(
                sa.insert(s.reports)
                .values(
                    tenant_id=tenant_id,
                    name=f"Isolation check {slug}",
                    definition={"dataset": "conversions", "viz": "line"},
                )
                .returning(s.reports.c.id)
            )
            conn.execute(
                sa.insert(s.dashboard_pins).values(
                    tenant_id=tenant_id, report_id=report_id, position=0, span=6
                )
            )
            conn.execute(
                sa.insert(s.report_schedules).values(
                    tenant_id=tenant_id,
                    report_id=report_id,
                    frequency="daily",
                    hour=7,
                    recipients=[f"ops@{slug}.example"],
                )
            )
            conn.execute(
                sa.insert(s.report_deliveries).values(
                    tenant_id=tenant_id, report_id=report_id, kind="manual", state="sent",
                    recipients=[f"ops@{slug}.example"],
                )
            )  # fmt: skip
            alert_id = conn.scalar(
                sa.insert(s.report_alerts).values(
                    tenant_id=tenant_id, report_id=report_id, measure="conversions",
                    condition="above", threshold=1, cooldown_hours=24,
                    recipients=[f"ops@{slug}.example"], active=True,
                ).returning(s.report_alerts.c.id)
            )  # fmt: skip
            conn.execute(
                sa.insert(s.alert_firings).values(
                    tenant_id=tenant_id, alert_id=alert_id, value=2, threshold=1,
                    condition="above",
                )
            )  # fmt: skip
            conn.execute(
                sa.insert(s.report_unsubscribes).values(
                    tenant_id=tenant_id, report_id=report_id, schedule_id=0,
                    address=f"gone@{slug}.example",
                )
            )  # fmt: skip


def _count_by_tenant(conn: sa.Connection, table: str) -> dict[int, int]:
    rows = conn.execute(
        sa.select(s.metadata.tables[table].c.tenant_id, sa.func.count()).group_by(
            s.metadata.tables[table].c.tenant_id
        )
    ).all()
    return dict(rows)


@pytest.mark.usefixtures("reports_in_both_tenants")
@pytest.mark.parametrize("table", TENANT_SCOPED)
def test_web_role_sees_only_its_tenant(hub: Hub, table: str) -> None:
    """With Acme set, a WHERE-less select returns exactly Acme's rows, none of Globex's."""
    acme, globex = hub.tenant_id("acme"), hub.tenant_id("globex")
    with hub.cron.connect() as conn:
        everyone = _count_by_tenant(conn, table)
    assert everyone.get(acme, 0) > 0 and everyone.get(globex, 0) > 0, everyone
    with tenant_transaction(hub.web, tenant_id=acme) as conn:
        assert conn.scalar(sa.select(sa.func.current_user())) == "hub_web"
        seen = _count_by_tenant(conn, table)
    assert seen == {acme: everyone[acme]}


@pytest.mark.usefixtures("reports_in_both_tenants")
@pytest.mark.parametrize("table", [*TENANT_SCOPED, "tenants"])
def test_web_role_without_tenant_sees_nothing(hub: Hub, table: str) -> None:
    """No app.tenant_id in the transaction means no rows at all."""
    with hub.web.begin() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(sa.table(table))) == 0


def test_web_role_sees_only_its_own_tenant_row(hub: Hub) -> None:
    """The tenants table itself is filtered by id."""
    acme = hub.tenant_id("acme")
    with tenant_transaction(hub.web, tenant_id=acme) as conn:
        assert conn.execute(sa.select(s.tenants.c.id, s.tenants.c.slug)).all() == [(acme, "acme")]


@pytest.mark.usefixtures("reports_in_both_tenants")
@pytest.mark.parametrize("table", TENANT_SCOPED)
def test_cron_role_sees_both_tenants(hub: Hub, table: str) -> None:
    """hub_cron bypasses RLS: both tenants' rows are there with no tenant set."""
    with hub.cron.connect() as conn:
        assert conn.scalar(sa.select(sa.func.current_user())) == "hub_cron"
        tenants = set(_count_by_tenant(conn, table))
    assert {hub.tenant_id("acme"), hub.tenant_id("globex")} <= tenants


def test_web_role_cannot_write_into_another_tenant(hub: Hub) -> None:
    """WITH CHECK refuses a row for Globex from an Acme transaction."""
    acme, globex = hub.tenant_id("acme"), hub.tenant_id("globex")
    with (
        pytest.raises(DBAPIError, match="row-level security"),
        tenant_transaction(hub.web, tenant_id=acme) as conn,
    ):
        conn.execute(
            sa.insert(s.reports).values(
                tenant_id=globex, name="Sneaky", definition={"dataset": "chat"}
            )
        )


@pytest.mark.parametrize("rollup", [t.name for t in s.ROLLUPS])
def test_web_role_cannot_read_the_raw_rollups(hub: Hub, rollup: str) -> None:
    """The materialized views themselves are out of the web role's reach."""
    with (
        pytest.raises(DBAPIError, match="permission denied"),
        tenant_transaction(hub.web, tenant_id=hub.tenant_id("acme")) as conn,
    ):
        conn.execute(sa.select(sa.func.count()).select_from(sa.table(rollup, schema="rollup")))


def test_web_role_cannot_bypass_row_security(hub: Hub) -> None:
    """hub_web has no BYPASSRLS, no superuser and owns no table."""
    with hub.web.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT rolbypassrls, rolsuper, "
                "(SELECT count(*) FROM pg_tables WHERE tableowner = current_user) "
                "FROM pg_roles WHERE rolname = current_user"
            )
        ).one()
    assert tuple(row) == (False, False, 0)


def test_every_tenant_table_forces_row_level_security(hub: Hub) -> None:
    """ENABLE + FORCE on every tenant-owned table (and tenants), each with a policy."""
    names = [*(t.name for t in s.TENANT_TABLES), "tenants"]
    with hub.admin.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
                "(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) "
                "FROM pg_class c WHERE c.relname = ANY(:names) AND c.relkind = 'r'"
            ),
            {"names": names},
        ).all()
    assert sorted(r[0] for r in rows) == sorted(names)
    assert all(r[1] and r[2] and r[3] >= 1 for r in rows), rows
