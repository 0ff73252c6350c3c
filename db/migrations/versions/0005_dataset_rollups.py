"""Daily rollups behind the Conversions, Flow runs, Telemetry and Funnel datasets.

Each rollup holds complete UTC days only: the rows of its base table before
`ins_rollups_through.through_day`, the UTC day on which ins_refresh_analytics() last
ran. Reports read the rollup for days before that watermark and the base table from
it on (the live tail), so they stay real-time while a year of history costs a few
thousand rollup rows. Only additive figures are kept — row counts, non-null counts and
sums per group — so any range of days combines them exactly; distinct counts and
percentiles are read from the base rows.

The rollups group by every column their dataset can break down or filter by, except
numeric ranges (value, duration), which need the rows. A run is attributed to the day
it started, and a funnel step reached to the day its execution started, as the
datasets' ranges do. A run's status can change after its day is rolled up (a run still
running at the refresh); the hourly refresh brings it up to date.

Like 0004, the materialized views live in schema `rollup` and public exposes each as a
security-barrier view with the tenant rule; ins_refresh_analytics() now refreshes all
of them and the watermark in one transaction, so a reader never sees a watermark that
does not match the rollups.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"

THROUGH = "((now() AT TIME ZONE 'UTC')::date)::timestamp AT TIME ZONE 'UTC'"

ROLLUPS = {
    "ins_goal_completions_daily": (
        f"""
SELECT tenant_id, (completed_at AT TIME ZONE 'UTC')::date AS day,
       goal_id, channel, currency, flow_id,
       count(*)::bigint AS row_count,
       count(value)::bigint AS count__value,
       sum(value)::numeric(20, 2) AS sum__value
FROM ins_goal_completions
WHERE completed_at < {THROUGH}
GROUP BY tenant_id, day, goal_id, channel, currency, flow_id""",
        "tenant_id, day, goal_id, channel, currency, flow_id",
    ),
    "fs_executions_daily": (
        f"""
SELECT tenant_id, (started_at AT TIME ZONE 'UTC')::date AS day,
       flow_id, status, trigger_type,
       count(*)::bigint AS row_count,
       count(finished_at)::bigint AS count__finished_at,
       count(duration_ms)::bigint AS count__duration_ms,
       sum(duration_ms)::bigint AS sum__duration_ms
FROM fs_executions
WHERE started_at < {THROUGH}
GROUP BY tenant_id, day, flow_id, status, trigger_type""",
        "tenant_id, day, flow_id, status, trigger_type",
    ),
    "ins_telemetry_events_daily": (
        f"""
SELECT tenant_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, event_name,
       count(*)::bigint AS row_count
FROM ins_telemetry_events
WHERE occurred_at < {THROUGH}
GROUP BY tenant_id, day, event_name""",
        "tenant_id, day, event_name",
    ),
    "fs_execution_steps_daily": (
        f"""
SELECT e.tenant_id, (e.started_at AT TIME ZONE 'UTC')::date AS day, e.flow_id, r.step_id,
       count(*)::bigint AS row_count
FROM fs_execution_steps r
JOIN fs_executions e ON e.tenant_id = r.tenant_id AND e.id = r.execution_id
WHERE e.started_at < {THROUGH}
GROUP BY e.tenant_id, day, e.flow_id, r.step_id""",
        "tenant_id, day, flow_id, step_id",
    ),
}


def _rollup(name: str, query: str, key: str) -> str:
    return f"""
CREATE MATERIALIZED VIEW rollup.{name} AS {query}
WITH DATA;
CREATE UNIQUE INDEX {name}_key ON rollup.{name} ({key}) NULLS NOT DISTINCT;
CREATE VIEW public.{name} WITH (security_barrier) AS
SELECT * FROM rollup.{name}
WHERE tenant_id = hub_current_tenant()
   OR (SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user);
GRANT SELECT ON public.{name} TO hub_web, hub_cron;
"""


def _refresh_function(rollups: list[str]) -> str:
    refresh = "    REFRESH MATERIALIZED VIEW CONCURRENTLY rollup.{};"
    refreshes = "\n".join(refresh.format(r) for r in rollups)
    return f"""
CREATE OR REPLACE FUNCTION ins_refresh_analytics() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$
BEGIN
{refreshes}
END
$$;
"""


BEFORE = ["ins_conversation_stats_daily", "ins_token_usage_daily"]
AFTER = [*BEFORE, "ins_rollups_through", *ROLLUPS]

WATERMARK = """
CREATE MATERIALIZED VIEW rollup.ins_rollups_through AS
SELECT (now() AT TIME ZONE 'UTC')::date AS through_day
WITH DATA;
CREATE UNIQUE INDEX ins_rollups_through_key ON rollup.ins_rollups_through (through_day);
CREATE VIEW public.ins_rollups_through AS SELECT through_day FROM rollup.ins_rollups_through;
GRANT SELECT ON public.ins_rollups_through TO hub_web, hub_cron;
"""


def upgrade() -> None:
    op.execute(WATERMARK)
    for name, (query, key) in ROLLUPS.items():
        op.execute(_rollup(name, query, key))
    op.execute(_refresh_function(AFTER))


def downgrade() -> None:
    op.execute(_refresh_function(BEFORE))
    for name in [*ROLLUPS, "ins_rollups_through"]:
        op.execute(f"DROP VIEW public.{name}")
        op.execute(f"DROP MATERIALIZED VIEW rollup.{name}")
