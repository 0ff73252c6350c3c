"""`python -m db`: create a tenant, a role and a user who can then sign in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from access import Leaf
from db import accounts
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
    assert _cli(hub, "migrate").strip() == "schema at revision 0005"
