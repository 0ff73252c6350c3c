"""The hub's command line: `python -m db COMMAND`.

Works against DATABASE_URL, or against the embedded server under HUB_HOME when unset.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time

from sqlalchemy.engine import Connection, Engine

import config
import runtime
from access import Leaf
from db import accounts, engines, migrate, seed
from db.provision import provision_defaults
from db.retention import MIN_RETENTION_DAYS, set_telemetry_retention
from db.rollups import refresh_rollups
from errors import BadRetention


def _admin_engine() -> Engine:
    settings = config.load()
    services = runtime.Services()
    runtime.prepare_database(settings, services)
    return engines.create(config.load().database_url or services.env["DATABASE_URL"])


def cmd_migrate(args: argparse.Namespace) -> None:
    admin = _admin_engine()  # prepare_database() has already upgraded to head
    if args.downgrade:
        migrate.downgrade(admin, revision=args.downgrade)
    print(f"schema at revision {migrate.current_revision(admin)}")


def cmd_seed_demo(args: argparse.Namespace) -> None:
    _admin_engine()
    created = seed.seed_demo(engines.default().cron, scale=args.scale, on_step=runtime.progress_bar)
    print(f"\nseeded: {', '.join(created) or 'nothing (already seeded)'}")


def cmd_create_tenant(args: argparse.Namespace) -> None:
    _admin_engine()
    with engines.default().cron.begin() as conn:
        tenant_id = accounts.create_tenant(conn, slug=args.slug, name=args.name)
    print(f"tenant {args.slug} created with id {tenant_id}")


def _tenant_id(conn: Connection, slug: str) -> int:
    tenant_id = accounts.tenant_id_by_slug(conn, slug)
    if tenant_id is None:
        sys.exit(f"no tenant with slug {slug!r}")
    return tenant_id


def cmd_create_role(args: argparse.Namespace) -> None:
    _admin_engine()
    with engines.default().cron.begin() as conn:
        tenant_id = _tenant_id(conn, args.tenant)
        accounts.ensure_role(
            conn, tenant_id=tenant_id, name=args.name, leaves=[Leaf(x) for x in args.leaf]
        )
    print(f"role {args.name!r} of {args.tenant} grants: {', '.join(args.leaf) or 'nothing'}")


def cmd_create_user(args: argparse.Namespace) -> None:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
    if len(password) < 8:
        sys.exit("the password must have at least 8 characters")
    _admin_engine()
    with engines.default().cron.begin() as conn:
        tenant_id = _tenant_id(conn, args.tenant)
        role_ids = [
            accounts.role_id_by_name(conn, tenant_id=tenant_id, name=role) for role in args.role
        ]
        if None in role_ids:
            sys.exit(f"unknown role among {args.role}; create it with create-role first")
        accounts.create_user(
            conn,
            tenant_id=tenant_id,
            email=args.email,
            name=args.name,
            password=password,
            role_ids=role_ids,
        )
    print(f"user {args.email} created in {args.tenant}")


def cmd_refresh(args: argparse.Namespace) -> None:
    _admin_engine()
    started = time.perf_counter()
    refresh_rollups(engines.default().cron, full=args.full)
    what = "rebuilt" if args.full else "refreshed"
    print(f"rollups {what} in {time.perf_counter() - started:.1f} s")


def cmd_provision_defaults(args: argparse.Namespace) -> None:
    _admin_engine()
    cron = engines.default().cron
    with cron.connect() as conn:
        tenant_id = _tenant_id(conn, args.tenant)
    done = provision_defaults(cron, tenant_id=tenant_id, currency=args.currency.upper())
    for label, names in (("goals", done.goals), ("reports", done.reports),
                         ("pinned", done.pinned)):  # fmt: skip
        print(f"{label}: {', '.join(names) or 'nothing new'}")


def cmd_set_retention(args: argparse.Namespace) -> None:
    _admin_engine()
    with engines.default().cron.begin() as conn:
        tenant_id = _tenant_id(conn, args.tenant)
        try:
            set_telemetry_retention(conn, tenant_id=tenant_id, days=args.days)
        except BadRetention as exc:
            sys.exit(str(exc))
    print(f"{args.tenant} keeps raw telemetry for {args.days} days")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m db", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("migrate", help="apply migrations (or --downgrade REVISION)")
    m.add_argument("--downgrade", metavar="REVISION", help="e.g. base, 0003")
    m.set_defaults(func=cmd_migrate)
    s = sub.add_parser("seed-demo", help="seed the demo tenants if missing")
    s.add_argument("--scale", type=float, default=1.0, help="volume multiplier (bench: 300)")
    s.set_defaults(func=cmd_seed_demo)
    t = sub.add_parser("create-tenant", help="create a tenant")
    t.add_argument("slug")
    t.add_argument("name")
    t.set_defaults(func=cmd_create_tenant)
    r = sub.add_parser("create-role", help="create or update a role and its ACL leaves")
    r.add_argument("--tenant", required=True, help="tenant slug")
    r.add_argument("--name", required=True)
    r.add_argument("--leaf", action="append", default=[], choices=[x.value for x in Leaf])
    r.set_defaults(func=cmd_create_role)
    u = sub.add_parser("create-user", help="create a user with roles (password prompted)")
    u.add_argument("--tenant", required=True, help="tenant slug")
    u.add_argument("--email", required=True)
    u.add_argument("--name", required=True)
    u.add_argument("--role", action="append", default=[], help="role name, repeatable")
    u.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    u.set_defaults(func=cmd_create_user)
    f = sub.add_parser("refresh", help="refresh the analytics rollups now (changed days)")
    f.add_argument("--full", action="store_true", help="recompute every rollup from the rows")
    f.set_defaults(func=cmd_refresh)
    d = sub.add_parser(
        "provision-defaults", help="default goals and starter saved/pinned reports (idempotent)"
    )
    d.add_argument("--tenant", required=True, help="tenant slug")
    d.add_argument("--currency", default="USD", help="currency of valued goals (ISO 4217)")
    d.set_defaults(func=cmd_provision_defaults)
    k = sub.add_parser("set-retention", help="how many days a tenant keeps raw telemetry")
    k.add_argument("--tenant", required=True, help="tenant slug")
    k.add_argument("--days", required=True, type=int, help=f"at least {MIN_RETENTION_DAYS}")
    k.set_defaults(func=cmd_set_retention)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
