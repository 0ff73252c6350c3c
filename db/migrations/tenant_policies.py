"""The row-level security every tenant-owned table gets (migration 0003 and later ones).

Frozen with the migrations that use it: a change here would change what an old revision
creates, so a new rule belongs in a new migration.
"""

from __future__ import annotations


def tenant_policies(table: str) -> str:
    """ENABLE + FORCE row-level security on `app.tenant_id`; the owner reads every row
    (refreshing the rollups runs as it); hub_web reads, hub_cron reads and writes."""
    return f"""
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {table}
    USING (tenant_id = hub_current_tenant())
    WITH CHECK (tenant_id = hub_current_tenant());
CREATE POLICY owner_reads_all ON {table} FOR SELECT TO hub_owner USING (true);
GRANT SELECT ON {table} TO hub_web;
GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO hub_cron;
"""
