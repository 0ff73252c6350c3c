"""The demo: tenants Acme and Globex, their roles and users, and their platform data.

Idempotent: a tenant whose slug already exists is left alone, so a restart never
re-seeds or loses what users saved. Demo users share DEMO_PASSWORD (demo only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from access import Leaf
from db import accounts, demo
from db.provision import provision_defaults
from db.rollups import refresh_rollups

DEMO_PASSWORD = "demo-password"

ALL_LEAVES = tuple(Leaf)
ANALYST_LEAVES = (Leaf.ANALYTICS, Leaf.REPORTS_MANAGE, Leaf.GOALS)
VIEWER_LEAVES = (Leaf.ANALYTICS,)


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: str


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    profile: demo.DemoProfile
    roles: dict[str, tuple[Leaf, ...]]
    users: tuple[DemoUser, ...]


DEMO_TENANTS = (
    DemoTenant(
        slug="acme",
        name="Acme",
        profile=demo.ACME,
        roles={"Administrator": ALL_LEAVES, "Analyst": ANALYST_LEAVES, "Viewer": VIEWER_LEAVES},
        users=(
            DemoUser("admin@acme.example", "Ada Admin", "Administrator"),
            DemoUser("analyst@acme.example", "Ana Analyst", "Analyst"),
            DemoUser("viewer@acme.example", "Vic Viewer", "Viewer"),
        ),
    ),
    DemoTenant(
        slug="globex",
        name="Globex",
        profile=demo.GLOBEX,
        roles={"Administrator": ALL_LEAVES},
        users=(DemoUser("admin@globex.example", "Gus Globex", "Administrator"),),
    ),
)

Progress = Callable[[str, float], None]


def is_seeded(cron: Engine) -> bool:
    with cron.connect() as conn:
        return accounts.tenant_id_by_slug(conn, DEMO_TENANTS[0].slug) is not None


def seed_demo(
    cron: Engine,
    *,
    scale: float = 1.0,
    on_step: Progress | None = None,
) -> list[str]:
    """Seeds every missing demo tenant as it stands at the start of its transaction (the
    tenant's `created_at`); returns the slugs it created."""
    created: list[str] = []
    for index, tenant in enumerate(DEMO_TENANTS):

        def report(label: str, fraction: float, index: int = index, slug: str = tenant.slug):
            if on_step is not None:
                on_step(f"{slug}: {label}", (index + fraction) / len(DEMO_TENANTS))

        with cron.begin() as conn:
            if accounts.tenant_id_by_slug(conn, tenant.slug) is not None:
                continue
            tenant_id = accounts.create_tenant(conn, slug=tenant.slug, name=tenant.name)
            role_ids = {
                name: accounts.ensure_role(conn, tenant_id=tenant_id, name=name, leaves=leaves)
                for name, leaves in tenant.roles.items()
            }
            for user in tenant.users:
                accounts.create_user(
                    conn,
                    tenant_id=tenant_id,
                    email=user.email,
                    name=user.name,
                    password=DEMO_PASSWORD,
                    role_ids=[role_ids[user.role]],
                )
            profile = replace(
                tenant.profile,
                conversations_per_day=tenant.profile.conversations_per_day * scale,
            )
            demo.seed_platform_data(
                conn,
                tenant_id=tenant_id,
                profile=profile,
                now=conn.scalar(sa.select(sa.func.now())),
                on_step=report,
            )
        provision_defaults(cron, tenant_id=tenant_id)  # starter reports, pinned as for anyone
        created.append(tenant.slug)
    if created:
        if on_step is not None:
            on_step("refreshing rollups", 1.0)
        refresh_rollups(cron)
    return created
