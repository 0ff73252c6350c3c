"""Row-level security and grants for the web (hub_web) and cron (hub_cron) roles.

Every tenant-owned table gets ENABLE + FORCE ROW LEVEL SECURITY and a policy on the
transaction's `app.tenant_id`. With no tenant set, hub_current_tenant() is NULL and
no row matches. hub_cron has BYPASSRLS and sweeps all tenants. hub_owner, which owns
the tables and is therefore subject to FORCE, may read every row so that refreshing
the materialized views (which runs their query as the owner) sees all tenants.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from db.migrations.tenant_policies import tenant_policies

revision = "0003"
down_revision = "0002"

TENANT_TABLES = (
    "fs_flows",
    "fs_flow_steps",
    "fs_executions",
    "fs_execution_steps",
    "chat_conversations",
    "chat_messages",
    "ins_telemetry_events",
    "ins_goals",
    "ins_goal_completions",
    "users",
    "roles",
    "role_grants",
    "user_roles",
    "ins_reports",
    "ins_report_schedules",
    "ins_dashboard_pins",
)
# What the web app may change; everything else is read-only to it.
WEB_WRITABLE = ("ins_goals", "ins_reports", "ins_report_schedules", "ins_dashboard_pins")

FUNCTIONS = """
CREATE FUNCTION hub_current_tenant() RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::bigint $$;
"""


UPGRADE_EXTRA = f"""
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants USING (id = hub_current_tenant());
CREATE POLICY owner_reads_all ON tenants FOR SELECT TO hub_owner USING (true);
GRANT SELECT ON tenants TO hub_web;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenants TO hub_cron;

-- Login happens before the tenant is known: the login transaction names the email
-- it is checking in app.login_email and may see exactly the users with that email.
CREATE POLICY login_lookup ON users FOR SELECT
    USING (lower(email) = NULLIF(current_setting('app.login_email', true), ''));
GRANT UPDATE (last_login_at) ON users TO hub_web;

GRANT INSERT, UPDATE, DELETE ON {", ".join(WEB_WRITABLE)} TO hub_web;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO hub_web, hub_cron;
GRANT EXECUTE ON FUNCTION hub_current_tenant() TO hub_web, hub_cron;
"""


def upgrade() -> None:
    op.execute(FUNCTIONS)
    for table in TENANT_TABLES:
        op.execute(tenant_policies(table))
    op.execute(UPGRADE_EXTRA)


def downgrade() -> None:
    op.execute("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM hub_web, hub_cron")
    op.execute("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM hub_web, hub_cron")
    for table in (*TENANT_TABLES, "tenants"):
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"DROP POLICY IF EXISTS owner_reads_all ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP POLICY IF EXISTS login_lookup ON users")
    op.execute("DROP FUNCTION hub_current_tenant()")
