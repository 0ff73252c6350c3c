"""Tenants, users and roles: creation (CLI, demo) and sign-in lookups (web)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Connection, Engine

from access import HubUser, Leaf, effective_leaves
from db import schema as s
from db.tenancy import login_transaction, tenant_transaction

_hasher = PasswordHasher()
# Verified when the email is unknown, so a miss costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_tenant(conn: Connection, *, slug: str, name: str) -> int:
    return conn.scalar(sa.insert(s.tenants).values(slug=slug, name=name).returning(s.tenants.c.id))


def tenant_id_by_slug(conn: Connection, slug: str) -> int | None:
    return conn.scalar(sa.select(s.tenants.c.id).where(s.tenants.c.slug == slug))


def role_id_by_name(conn: Connection, *, tenant_id: int, name: str) -> int | None:
    return conn.scalar(
        sa.select(s.roles.c.id).where(s.roles.c.tenant_id == tenant_id, s.roles.c.name == name)
    )


def ensure_role(conn: Connection, *, tenant_id: int, name: str, leaves: Iterable[Leaf]) -> int:
    """The role `name` of the tenant, created if missing, granted exactly `leaves`."""
    role_id = role_id_by_name(conn, tenant_id=tenant_id, name=name)
    if role_id is None:
        role_id = conn.scalar(
            sa.insert(s.roles).values(tenant_id=tenant_id, name=name).returning(s.roles.c.id)
        )
    conn.execute(
        sa.delete(s.role_grants).where(
            s.role_grants.c.tenant_id == tenant_id, s.role_grants.c.role_id == role_id
        )
    )
    rows = [{"tenant_id": tenant_id, "role_id": role_id, "leaf": leaf.value} for leaf in leaves]
    if rows:
        conn.execute(sa.insert(s.role_grants), rows)
    return role_id


def create_user(
    conn: Connection,
    *,
    tenant_id: int,
    email: str,
    name: str,
    password: str,
    role_ids: Iterable[int] = (),
) -> int:
    user_id = conn.scalar(
        sa.insert(s.users)
        .values(
            tenant_id=tenant_id,
            email=email.strip().lower(),
            name=name,
            password_hash=hash_password(password),
        )
        .returning(s.users.c.id)
    )
    rows = [{"tenant_id": tenant_id, "user_id": user_id, "role_id": r} for r in role_ids]
    if rows:
        conn.execute(sa.insert(s.user_roles), rows)
    return user_id


@dataclass(frozen=True)
class SignIn:
    """A successful sign-in: the user, and the session generation the session must carry."""

    user: HubUser
    session_generation: int


def _load(
    conn: Connection, *, tenant_id: int, user_id: int, session_generation: int | None = None
) -> HubUser | None:
    u, t = s.users, s.tenants
    conditions = [u.c.tenant_id == tenant_id, u.c.id == user_id, u.c.is_active]
    if session_generation is not None:
        conditions.append(u.c.session_generation == session_generation)
    row = conn.execute(
        sa.select(u.c.id, u.c.tenant_id, u.c.email, u.c.name, t.c.slug, t.c.name.label("tenant"))
        .join(t, t.c.id == u.c.tenant_id)
        .where(*conditions)
    ).one_or_none()
    if row is None:
        return None
    granted = conn.scalars(
        sa.select(s.role_grants.c.leaf)
        .join(
            s.user_roles,
            sa.and_(
                s.user_roles.c.tenant_id == s.role_grants.c.tenant_id,
                s.user_roles.c.role_id == s.role_grants.c.role_id,
            ),
        )
        .where(s.user_roles.c.tenant_id == tenant_id, s.user_roles.c.user_id == user_id)
    )
    return HubUser(
        id=row.id,
        tenant_id=row.tenant_id,
        tenant_slug=row.slug,
        tenant_name=row.tenant,
        email=row.email,
        name=row.name,
        leaves=effective_leaves(granted),
    )


def load_user(
    web: Engine, *, tenant_id: int, user_id: int, session_generation: int
) -> HubUser | None:
    """The active user `user_id` of `tenant_id`, read under that tenant's RLS context, if
    their sessions are still at `session_generation` (sign-out and deactivation bump it)."""
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        return _load(
            conn, tenant_id=tenant_id, user_id=user_id, session_generation=session_generation
        )


def sign_in(web: Engine, *, email: str, password: str) -> SignIn | None:
    """The user with this email and password and their session generation, or None.

    Same cost whether or not the email exists."""
    with login_transaction(web, email=email) as conn:
        candidates = conn.execute(
            sa.select(s.users.c.tenant_id, s.users.c.id, s.users.c.password_hash).where(
                sa.func.lower(s.users.c.email) == email.strip().lower(), s.users.c.is_active
            )
        ).all()
    matches = [c for c in candidates if _verify(c.password_hash, password)]
    if not candidates:
        _verify(_DUMMY_HASH, password)
    if len(matches) != 1:
        return None
    tenant_id, user_id = matches[0].tenant_id, matches[0].id
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        generation = conn.scalar(
            sa.update(s.users)
            .where(s.users.c.tenant_id == tenant_id, s.users.c.id == user_id)
            .values(last_login_at=sa.func.now())
            .returning(s.users.c.session_generation)
        )
        user = _load(conn, tenant_id=tenant_id, user_id=user_id)
    return None if user is None or generation is None else SignIn(user, generation)


def authenticate(web: Engine, *, email: str, password: str) -> HubUser | None:
    """The user with this email and password, or None (see `sign_in`)."""
    signed_in = sign_in(web, email=email, password=password)
    return None if signed_in is None else signed_in.user


def end_sessions(web: Engine, *, tenant_id: int, user_id: int) -> None:
    """Signs the user out everywhere: every session issued before now stops loading."""
    with tenant_transaction(web, tenant_id=tenant_id) as conn:
        conn.execute(
            sa.update(s.users)
            .where(s.users.c.tenant_id == tenant_id, s.users.c.id == user_id)
            .values(session_generation=s.users.c.session_generation + 1)
        )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
