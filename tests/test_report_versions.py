"""A report's version history: every save that changes it keeps a version, in words;
restore, duplicate and delete; and the versions stay within the tenant."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

import permissions
import reporting
from access import HubUser, Leaf, effective_leaves
from datasets.diff import definition_changes, report_changes
from db import schema as s
from db.report_versions import list_versions
from db.reports import delete_report, duplicate_report, save_report
from db.tenancy import tenant_transaction
from errors import Forbidden
from tests.conftest import Hub

BY_CHANNEL = {"dataset": "conversions", "measures": ["conversions"],
              "dimensions": [{"id": "channel"}], "viz": "bar",
              "filters": [{"field": "channel", "op": "in", "value": ["web"]}],
              "date_range": {"preset": "30d"}}  # fmt: skip
WIDER = {**BY_CHANNEL, "measures": ["conversions", "distinct_customers"], "filters": [],
         "date_range": {"preset": "90d"}}  # fmt: skip


def _user(hub: Hub, email: str, *leaves: Leaf) -> HubUser:
    with hub.cron.connect() as conn:
        user_id, name = conn.execute(
            sa.select(s.users.c.id, s.users.c.name).where(s.users.c.email == email)
        ).one()
    tenant = email.split("@")[1].removesuffix(".example")
    return HubUser(id=user_id, tenant_id=hub.tenant_id(tenant), tenant_slug=tenant,
                   tenant_name=tenant.title(), email=email, name=name,
                   leaves=effective_leaves(leaves or tuple(Leaf)))  # fmt: skip


def _save(hub: Hub, user: HubUser, name: str, definition: dict[str, Any],
          report_id: int | None = None) -> int:  # fmt: skip
    return save_report(hub.web, tenant_id=user.tenant_id, owner_id=user.id, name=name,
                       description="", definition=definition, report_id=report_id)  # fmt: skip


def _versions(hub: Hub, user: HubUser, report_id: int) -> list[tuple[Any, ...]]:
    versions = list_versions(hub.web, tenant_id=user.tenant_id, report_id=report_id)
    return [(v.version, v.name, v.definition, v.saved_by, v.restored_from) for v in versions]


def test_each_save_that_changes_the_report_keeps_a_version_by_whoever_saved_it(hub: Hub) -> None:
    admin = _user(hub, "admin@acme.example")
    analyst = _user(hub, "analyst@acme.example")
    report_id = _save(hub, admin, "Versioned by channel", BY_CHANNEL)
    _save(hub, analyst, "Versioned by channel", WIDER, report_id)
    _save(hub, analyst, "Versioned by channel", WIDER, report_id)  # no change: no version
    assert _versions(hub, admin, report_id) == [
        (2, "Versioned by channel", WIDER, "Ana Analyst", None),
        (1, "Versioned by channel", BY_CHANNEL, admin.name, None),
    ]
    with hub.cron.connect() as conn:
        v = s.report_versions
        saved_at = conn.scalars(sa.select(v.c.saved_at).where(v.c.report_id == report_id)).all()
    assert all(abs(at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1) for at in saved_at)


def test_the_difference_between_two_versions_reads_in_words() -> None:
    assert definition_changes(BY_CHANNEL, WIDER) == [
        "measure Customers added",
        "filter Channel is any of (web) removed",
        "range 30 d → 90 d",
    ]
    renamed = {**WIDER, "dataset": "chat", "measures": ["messages"], "viz": "line",
               "dimensions": [{"id": "time", "grain": "week"}],
               "date_range": {"start": "2026-01-01", "end": "2026-03-31"}}  # fmt: skip
    assert report_changes(("Old", "", WIDER), ("New", "Weekly", renamed)) == [
        "renamed “Old” → “New”",
        "description changed",
        "dataset Conversions → Chat engagement",
        "measure Messages added",
        "measure Conversions removed",
        "measure Customers removed",
        "breakdown Time by week added",
        "breakdown Channel removed",
        "range 90 d → 2026-01-01 to 2026-03-31",
        "chart bar → line",
    ]
    weekly = {**renamed, "dimensions": [{"id": "time", "grain": "month"}],
              "measures": ["gone_measure", "messages"],
              "date_range": {"preset": "mtd"}}  # fmt: skip
    assert definition_changes(renamed, weekly) == [
        "measure gone_measure added",
        "breakdown Time by week → by month",
        "range 2026-01-01 to 2026-03-31 → month to date",
    ]
    swapped = {**WIDER, "measures": ["distinct_customers", "conversions"]}
    assert definition_changes(WIDER, swapped) == ["measures reordered"]
    assert definition_changes(WIDER, WIDER) == []
    compared = {**WIDER, "compare": "previous_year"}
    assert definition_changes(WIDER, compared) == ["comparison none → previous year"]
    assert definition_changes(compared, {**WIDER, "compare": "previous_period"}) == [
        "comparison previous year → previous period"
    ]


def test_restore_saves_an_old_version_as_the_newest(hub: Hub) -> None:
    analyst = _user(hub, "analyst@acme.example")
    report_id = _save(hub, analyst, "Restorable", BY_CHANNEL)
    _save(hub, analyst, "Restorable wider", WIDER, report_id)
    assert reporting.restore(analyst, report_id, 1) == reporting.Saved(report_id=report_id)
    assert _versions(hub, analyst, report_id) == [
        (3, "Restorable", BY_CHANNEL, "Ana Analyst", 1),
        (2, "Restorable wider", WIDER, "Ana Analyst", None),
        (1, "Restorable", BY_CHANNEL, "Ana Analyst", None),
    ]
    with hub.cron.connect() as conn:
        current = conn.execute(sa.select(s.reports.c.name, s.reports.c.definition)
                               .where(s.reports.c.id == report_id)).one()  # fmt: skip
    assert tuple(current) == ("Restorable", BY_CHANNEL)


def test_restore_needs_reports_manage_an_existing_version_and_a_free_name(hub: Hub) -> None:
    analyst = _user(hub, "analyst@acme.example")
    viewer = _user(hub, "viewer@acme.example", Leaf.ANALYTICS)
    report_id = _save(hub, analyst, "Guarded", BY_CHANNEL)
    _save(hub, analyst, "Guarded renamed", WIDER, report_id)
    with pytest.raises(Forbidden) as denied:  # the words are permissions.py's
        permissions.require_save(viewer, BY_CHANNEL, report_id)
    assert reporting.restore(viewer, report_id, 1) == reporting.Saved(
        issues=(("(definition)", denied.value.public_message),)
    )
    assert reporting.restore(analyst, report_id, 7) == reporting.Saved(
        issues=(("version", "This report has no version 7."),)
    )
    _save(hub, analyst, "Guarded", BY_CHANNEL)  # another report takes the old name
    assert reporting.restore(analyst, report_id, 1) == reporting.Saved(
        issues=(("name", "A report named “Guarded” already exists"),)
    )
    assert [v[0] for v in _versions(hub, analyst, report_id)] == [2, 1]


def test_a_duplicate_starts_a_fresh_history_and_delete_takes_the_history(hub: Hub) -> None:
    analyst = _user(hub, "analyst@acme.example")
    report_id = _save(hub, analyst, "Has a past", BY_CHANNEL)
    _save(hub, analyst, "Has a past", WIDER, report_id)
    copy = duplicate_report(hub.web, tenant_id=analyst.tenant_id, owner_id=analyst.id,
                            report_id=report_id)  # fmt: skip
    assert _versions(hub, analyst, copy) == [(1, "Has a past (copy)", WIDER, "Ana Analyst", None)]
    delete_report(hub.web, tenant_id=analyst.tenant_id, report_id=report_id)
    with hub.cron.connect() as conn:
        left = conn.scalar(sa.select(sa.func.count()).select_from(s.report_versions)
                           .where(s.report_versions.c.report_id == report_id))  # fmt: skip
    assert left == 0


def test_versions_stay_within_the_tenant(hub: Hub) -> None:
    analyst = _user(hub, "analyst@acme.example")
    report_id = _save(hub, analyst, "Acme only history", BY_CHANNEL)
    globex = hub.tenant_id("globex")
    assert list_versions(hub.web, tenant_id=globex, report_id=report_id) == []
    v = s.report_versions
    forged = sa.insert(v).values(tenant_id=globex, report_id=report_id, version=9, name="x",
                                 description="", definition={})  # fmt: skip
    web = tenant_transaction(hub.web, tenant_id=analyst.tenant_id)
    with pytest.raises(DBAPIError, match="row-level security"), web as conn:
        conn.execute(forged)
    rewrite = sa.update(v).where(v.c.report_id == report_id).values(name="rewritten")
    web = tenant_transaction(hub.web, tenant_id=analyst.tenant_id)
    with pytest.raises(DBAPIError, match="permission denied"), web as conn:
        conn.execute(rewrite)
