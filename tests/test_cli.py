"""`python -m db`: create a tenant, a role and a user who can then sign in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from access import Leaf
from datasets.model import Mode
from datasets.run import run_report
from datasets.validate import validate
from db import accounts
from db import schema as s
from tests.conftest import Hub

ROOT = Path(__file__).resolve().parent.parent


def _cli(hub: Hub, *args: str, stdin: str = "") -> str:
    env = {**os.environ, **hub.env, "DATABASE_URL": hub.admin_url}
    for key in ("HUB_WEB_DATABASE_URL", "HUB_CRON_DATABASE_URL"):
        env.pop(key, None)
    done = subprocess.run(
        [sys.executable, "-m", "db", *args],
        cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cli_creates_a_tenant_role_and_user_who_can_sign_in(hub: Hub) -> None:
    """The new user signs in with the password given on stdin and holds the role's leaves."""
    assert "tenant initech created" in _cli(hub, "create-tenant", "initech", "Initech")
    _cli(hub, "create-role", "--tenant", "initech", "--name", "Builders",
         "--leaf", Leaf.REPORTS_MANAGE.value)  # fmt: skip
    out = _cli(hub, "create-user", "--tenant", "initech", "--email", "Peter@Initech.example",
               "--name", "Peter", "--role", "Builders", "--password-stdin",
               stdin="tps-reports-2026\n")  # fmt: skip
    assert "user Peter@Initech.example created in initech" in out
    user = accounts.authenticate(
        hub.web, email="peter@initech.example", password="tps-reports-2026"
    )
    assert user is not None
    assert (user.tenant_slug, user.name) == ("initech", "Peter")
    assert user.leaves == {Leaf.REPORTS_MANAGE, Leaf.ANALYTICS}


def test_cli_migrate_reports_the_revision(hub: Hub) -> None:
    """migrate is idempotent and says where the schema is."""
    assert _cli(hub, "migrate").strip() == "schema at revision 0014"


def test_provision_defaults_is_idempotent_and_runnable_reports(hub: Hub) -> None:
    """A new tenant gets the default goals and starter reports (each one runs), three of
    them pinned in order; a second run creates nothing."""
    _cli(hub, "create-tenant", "umbrella", "Umbrella")
    first = _cli(hub, "provision-defaults", "--tenant", "umbrella", "--currency", "eur")
    assert first.splitlines() == [
        "goals: Order placed, Appointment booked, Lead qualified, Newsletter signup",
        "reports: Conversions overview, Chat engagement, Flow success, Revenue by goal",
        "pinned: Conversions overview, Chat engagement, Flow success",
    ]
    assert _cli(hub, "provision-defaults", "--tenant", "umbrella").splitlines() == [
        "goals: nothing new", "reports: nothing new", "pinned: nothing new"
    ]  # fmt: skip
    tenant = hub.tenant_id("umbrella")
    with hub.cron.connect() as conn:
        goals = conn.execute(sa.select(s.goals.c.name, s.goals.c.default_currency)
                             .where(s.goals.c.tenant_id == tenant)
                             .order_by(s.goals.c.id)).all()  # fmt: skip
        cards = conn.execute(
            sa.select(s.reports.c.name, s.dashboard_pins.c.position, s.dashboard_pins.c.span)
            .join(s.dashboard_pins, sa.and_(s.dashboard_pins.c.report_id == s.reports.c.id,
                                            s.dashboard_pins.c.tenant_id == tenant))
            .order_by(s.dashboard_pins.c.position)
        ).all()  # fmt: skip
        definitions = conn.scalars(sa.select(s.reports.c.definition)
                                   .where(s.reports.c.tenant_id == tenant)).all()  # fmt: skip
    assert [tuple(g) for g in goals] == [
        ("Order placed", "EUR"), ("Appointment booked", "USD"), ("Lead qualified", "EUR"),
        ("Newsletter signup", "EUR"),
    ]  # fmt: skip
    assert [tuple(c) for c in cards] == [
        ("Conversions overview", 0, 8), ("Chat engagement", 1, 4), ("Flow success", 2, 12)
    ]  # fmt: skip
    for definition in definitions:
        result = run_report(validate(definition), tenant_id=tenant, mode=Mode.SAVED,
                            engine=hub.web)  # fmt: skip
        assert result.columns  # a new tenant has no data, but every report runs


def test_set_retention_sets_the_days_and_refuses_fewer_than_31(hub: Hub) -> None:
    """set-retention stores the tenant's telemetry window; below 31 days it exits with the
    reason and changes nothing."""
    _cli(hub, "create-tenant", "hooli", "Hooli")
    assert _cli(hub, "set-retention", "--tenant", "hooli", "--days", "90").strip() == (
        "hooli keeps raw telemetry for 90 days"
    )
    env = {**os.environ, **hub.env, "DATABASE_URL": hub.admin_url}
    refused = subprocess.run(
        [sys.executable, "-m", "db", "set-retention", "--tenant", "hooli", "--days", "30"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr.strip() == "days: At least 31 days (30 given)"
    with hub.cron.connect() as conn:
        days = conn.scalar(sa.select(s.tenants.c.telemetry_retention_days)
                           .where(s.tenants.c.slug == "hooli"))  # fmt: skip
    assert days == 90
