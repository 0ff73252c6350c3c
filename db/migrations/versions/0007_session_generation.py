"""Server-side sign-out: a per-user session generation.

A session stores the user's `session_generation` when it signs in, and the web app
loads the user only while the row still has that generation. Signing out bumps it
(the web role may change exactly that column, in its own tenant under RLS), and so does
the database whenever a user is deactivated or their password hash changes, whoever
makes the change: every session issued before then stops working, and re-activating
the user does not bring old sessions back.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"

UPGRADE = """
ALTER TABLE users ADD COLUMN session_generation integer NOT NULL DEFAULT 0;
GRANT UPDATE (session_generation) ON users TO hub_web;

CREATE FUNCTION users_end_sessions() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, public
    AS $$
BEGIN
    NEW.session_generation := OLD.session_generation + 1;
    RETURN NEW;
END
$$;

CREATE TRIGGER users_end_sessions
    BEFORE UPDATE OF is_active, password_hash ON users
    FOR EACH ROW
    WHEN ((OLD.is_active AND NOT NEW.is_active)
          OR OLD.password_hash IS DISTINCT FROM NEW.password_hash)
    EXECUTE FUNCTION users_end_sessions();
"""

DOWNGRADE = """
DROP TRIGGER users_end_sessions ON users;
DROP FUNCTION users_end_sessions();
REVOKE UPDATE (session_generation) ON users FROM hub_web;
ALTER TABLE users DROP COLUMN session_generation;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
