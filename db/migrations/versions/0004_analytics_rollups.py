"""Daily rollups: ins_conversation_stats_daily and ins_token_usage_daily.

PostgreSQL has no row-level security on materialized views, so the materialized views
live in the `rollup` schema, which hub_web cannot read, and `public` exposes each under
its contract name as a security-barrier view that applies the same rule as the table
policies: rows of the transaction's tenant, or every row for a BYPASSRLS role (hub_cron).
ins_refresh_analytics() refreshes both CONCURRENTLY (hence the unique indexes) and is
SECURITY DEFINER so hub_cron can run it while hub_owner keeps ownership.

Chat engagement attributes a conversation and all its messages to the UTC day the
conversation started. A conversation is "engaged" when at least one agent message
comes after its first user message. The token rollup counts only messages that
recorded a token total, over the last 90 UTC days including today, by tenant, day and
flow; `conversations` is distinct per (day, flow), so it must not be summed across days.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"

UPGRADE = """
CREATE SCHEMA rollup;

CREATE MATERIALIZED VIEW rollup.ins_conversation_stats_daily AS
WITH per_conversation AS (
    SELECT c.tenant_id,
           (c.started_at AT TIME ZONE 'UTC')::date AS day,
           count(m.id) AS messages,
           count(m.id) FILTER (WHERE m.role = 'user') AS user_messages,
           count(m.id) FILTER (WHERE m.role = 'agent') AS agent_messages,
           coalesce(max(m.created_at) FILTER (WHERE m.role = 'agent')
                    > min(m.created_at) FILTER (WHERE m.role = 'user'), false) AS is_engaged
    FROM chat_conversations c
    LEFT JOIN chat_messages m ON m.tenant_id = c.tenant_id AND m.conversation_id = c.id
    GROUP BY c.tenant_id, c.id, c.started_at
)
SELECT tenant_id,
       day,
       count(*)::bigint AS conversations,
       sum(messages)::bigint AS messages,
       sum(user_messages)::bigint AS user_messages,
       sum(agent_messages)::bigint AS agent_messages,
       count(*) FILTER (WHERE is_engaged)::bigint AS engaged_conversations
FROM per_conversation
GROUP BY tenant_id, day
WITH DATA;
CREATE UNIQUE INDEX ins_conversation_stats_daily_key
    ON rollup.ins_conversation_stats_daily (tenant_id, day);

CREATE MATERIALIZED VIEW rollup.ins_token_usage_daily AS
SELECT tenant_id,
       (created_at AT TIME ZONE 'UTC')::date AS day,
       flow_id,
       count(*)::bigint AS messages,
       count(DISTINCT conversation_id)::bigint AS conversations,
       sum(prompt_tokens)::bigint AS prompt_tokens,
       sum(completion_tokens)::bigint AS completion_tokens,
       sum(total_tokens)::bigint AS total_tokens,
       sum(cost_usd)::numeric(16, 6) AS cost_usd
FROM chat_messages
WHERE total_tokens IS NOT NULL
  AND created_at >= ((now() AT TIME ZONE 'UTC')::date - 89)::timestamp AT TIME ZONE 'UTC'
GROUP BY tenant_id, day, flow_id
WITH DATA;
CREATE UNIQUE INDEX ins_token_usage_daily_key
    ON rollup.ins_token_usage_daily (tenant_id, day, flow_id) NULLS NOT DISTINCT;

CREATE VIEW public.ins_conversation_stats_daily WITH (security_barrier) AS
SELECT * FROM rollup.ins_conversation_stats_daily
WHERE tenant_id = hub_current_tenant()
   OR (SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user);

CREATE VIEW public.ins_token_usage_daily WITH (security_barrier) AS
SELECT * FROM rollup.ins_token_usage_daily
WHERE tenant_id = hub_current_tenant()
   OR (SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user);

GRANT SELECT ON public.ins_conversation_stats_daily, public.ins_token_usage_daily
    TO hub_web, hub_cron;

CREATE FUNCTION ins_refresh_analytics() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY rollup.ins_conversation_stats_daily;
    REFRESH MATERIALIZED VIEW CONCURRENTLY rollup.ins_token_usage_daily;
END
$$;
REVOKE ALL ON FUNCTION ins_refresh_analytics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ins_refresh_analytics() TO hub_cron;
"""

DOWNGRADE = """
DROP FUNCTION ins_refresh_analytics();
DROP VIEW public.ins_token_usage_daily, public.ins_conversation_stats_daily;
DROP SCHEMA rollup CASCADE;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
