"""SQLAlchemy Core tables mirroring the migrations, for building queries.

The migrations own the DDL; tests/test_migrations.py checks that every column declared
here exists in the migrated database with the same name, so a column a migration renames
or drops fails there.

The rollups are declared under their public names: security-barrier views applying the
tenant rule over the tables in schema `rollup` (migrations 0004, 0005 and 0008), which
ins_refresh_analytics() refreshes by day together with their watermark,
ins_rollups_through.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, BIT, JSONB

metadata = sa.MetaData()


def _tenant_id() -> sa.Column:
    return sa.Column("tenant_id", sa.BigInteger, primary_key=True)


def _ts(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("slug", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    _ts("created_at"),
    # How long raw telemetry is kept (migration 0009; db/retention.py deletes older rows).
    sa.Column("telemetry_retention_days", sa.Integer, nullable=False),
)

flows = sa.Table(
    "fs_flows",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False),
    _ts("created_at"),
)

flow_steps = sa.Table(
    "fs_flow_steps",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("flow_id", sa.BigInteger, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
)

executions = sa.Table(
    "fs_executions",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("flow_id", sa.BigInteger, nullable=False),
    sa.Column("conversation_id", sa.BigInteger),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("trigger_type", sa.Text, nullable=False),
    _ts("started_at"),
    _ts("finished_at", nullable=True),
    sa.Column("duration_ms", sa.Integer),
)

execution_steps = sa.Table(
    "fs_execution_steps",
    metadata,
    _tenant_id(),
    sa.Column("execution_id", sa.BigInteger, primary_key=True),
    sa.Column("step_id", sa.BigInteger, primary_key=True),
    _ts("reached_at"),
)

conversations = sa.Table(
    "chat_conversations",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
    _ts("started_at"),
)

messages = sa.Table(
    "chat_messages",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.BigInteger, nullable=False),
    sa.Column("flow_id", sa.BigInteger),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("body", sa.Text),
    _ts("created_at"),
    sa.Column("prompt_tokens", sa.Integer),
    sa.Column("completion_tokens", sa.Integer),
    sa.Column("total_tokens", sa.Integer),
    sa.Column("cost_usd", sa.Numeric(12, 6)),
)

telemetry_events = sa.Table(
    "ins_telemetry_events",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.BigInteger),
    sa.Column("event_name", sa.Text, nullable=False),
    sa.Column("properties", JSONB, nullable=False),
    _ts("occurred_at"),
)

goals = sa.Table(
    "ins_goals",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("event_name", sa.Text, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("value_rule", sa.Text, nullable=False),
    sa.Column("fixed_value", sa.Numeric(14, 2)),
    sa.Column("value_property", sa.Text),
    sa.Column("default_currency", sa.String(3), nullable=False),
    _ts("created_at"),
)

goal_completions = sa.Table(
    "ins_goal_completions",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("goal_id", sa.BigInteger, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("value", sa.Numeric(14, 2)),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("conversation_id", sa.BigInteger),
    sa.Column("flow_id", sa.BigInteger),
    _ts("completed_at"),
    # The customer's dense number (ins_customer_ids) when known at insert (migration 0014).
    sa.Column("customer_n", sa.Integer),
)

conversation_stats_daily = sa.Table(
    "ins_conversation_stats_daily",
    metadata,
    sa.Column("tenant_id", sa.BigInteger),
    sa.Column("day", sa.Date),
    sa.Column("conversations", sa.BigInteger),
    sa.Column("messages", sa.BigInteger),
    sa.Column("user_messages", sa.BigInteger),
    sa.Column("agent_messages", sa.BigInteger),
    sa.Column("engaged_conversations", sa.BigInteger),
)

token_usage_daily = sa.Table(
    "ins_token_usage_daily",
    metadata,
    sa.Column("tenant_id", sa.BigInteger),
    sa.Column("day", sa.Date),
    sa.Column("flow_id", sa.BigInteger),
    sa.Column("messages", sa.BigInteger),
    sa.Column("conversations", sa.BigInteger),
    sa.Column("prompt_tokens", sa.BigInteger),
    sa.Column("completion_tokens", sa.BigInteger),
    sa.Column("total_tokens", sa.BigInteger),
    sa.Column("cost_usd", sa.Numeric(16, 6)),
)


# Daily rollups of the datasets' base tables (migration 0005): complete UTC days before
# rollups_through.through_day, grouped by the columns named like the base table's, with
# row_count, count__X (X's non-null rows) per counted column X, and sum__X per summed one.
def _daily(name: str, *columns: sa.Column[Any]) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("tenant_id", sa.BigInteger),
        sa.Column("day", sa.Date),
        *columns,
        sa.Column("row_count", sa.BigInteger),
    )


goal_completions_daily = _daily(
    "ins_goal_completions_daily",
    sa.Column("goal_id", sa.BigInteger),
    sa.Column("channel", sa.Text),
    sa.Column("currency", sa.String(3)),
    sa.Column("flow_id", sa.BigInteger),
    sa.Column("count__value", sa.BigInteger),
    sa.Column("sum__value", sa.Numeric(20, 2)),
)
executions_daily = _daily(
    "fs_executions_daily",
    sa.Column("flow_id", sa.BigInteger),
    sa.Column("status", sa.Text),
    sa.Column("trigger_type", sa.Text),
    sa.Column("count__finished_at", sa.BigInteger),
    sa.Column("count__duration_ms", sa.BigInteger),
    sa.Column("sum__duration_ms", sa.BigInteger),
)
telemetry_events_daily = _daily("ins_telemetry_events_daily", sa.Column("event_name", sa.Text))
execution_steps_daily = _daily(
    "fs_execution_steps_daily",
    sa.Column("flow_id", sa.BigInteger),
    sa.Column("step_id", sa.BigInteger),
)
rollups_through = sa.Table(
    "ins_rollups_through",
    metadata,
    sa.Column("through_day", sa.Date),
    _ts("refreshed_at"),
)

# Exact distinct counts and percentiles (migration 0008): per day and grouping set
# (`grouping`: GROUPING() of the breakdown columns, a bit set per column left out), a
# bit(4096) per id block of the ids present, or counts per log-spaced duration bucket.
customer_ids = sa.Table(
    "ins_customer_ids",
    metadata,
    sa.Column("tenant_id", sa.BigInteger),
    sa.Column("customer_id", sa.Text),
    sa.Column("n", sa.Integer),
)


def _grouped(name: str, *columns: sa.Column[Any], value: sa.Column[Any]) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("tenant_id", sa.BigInteger),
        sa.Column("grouping", sa.SmallInteger),
        sa.Column("day", sa.Date),
        *columns,
        value,
    )


def _goal_groups() -> list[sa.Column[Any]]:
    return [
        sa.Column("goal_id", sa.BigInteger),
        sa.Column("channel", sa.Text),
        sa.Column("currency", sa.String(3)),
        sa.Column("flow_id", sa.BigInteger),
    ]


def _bits() -> sa.Column[Any]:
    return sa.Column("bits", BIT(4096))


goal_customer_bits = _grouped(
    "ins_goal_completions_customer_bits",
    *_goal_groups(),
    sa.Column("block", sa.Integer),
    value=_bits(),
)
goal_conversation_bits = _grouped(
    "ins_goal_completions_conversation_bits",
    *_goal_groups(),
    sa.Column("block", sa.Integer),
    value=_bits(),
)
telemetry_conversation_bits = _grouped(
    "ins_telemetry_events_conversation_bits",
    sa.Column("event_name", sa.Text),
    sa.Column("block", sa.Integer),
    value=_bits(),
)
duration_hist = _grouped(
    "fs_executions_duration_hist",
    sa.Column("flow_id", sa.BigInteger),
    sa.Column("status", sa.Text),
    sa.Column("trigger_type", sa.Text),
    sa.Column("bucket", sa.Integer),
    value=sa.Column("row_count", sa.BigInteger),
)


users = sa.Table(
    "users",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
    _ts("created_at"),
    _ts("last_login_at", nullable=True),
    # Bumped by sign-out, deactivation and a password change (migration 0007): a session
    # issued at an older generation no longer loads.
    sa.Column("session_generation", sa.Integer, nullable=False),
)

roles = sa.Table(
    "roles",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False),
)

role_grants = sa.Table(
    "role_grants",
    metadata,
    _tenant_id(),
    sa.Column("role_id", sa.BigInteger, primary_key=True),
    sa.Column("leaf", sa.Text, primary_key=True),
)

user_roles = sa.Table(
    "user_roles",
    metadata,
    _tenant_id(),
    sa.Column("user_id", sa.BigInteger, primary_key=True),
    sa.Column("role_id", sa.BigInteger, primary_key=True),
)

reports = sa.Table(
    "ins_reports",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("definition", JSONB, nullable=False),
    sa.Column("owner_id", sa.BigInteger),
    _ts("created_at"),
    _ts("updated_at"),
    sa.Column("updated_by", sa.BigInteger),  # who saved it last (migration 0013)
)

# Every saved state of a report, numbered from 1; a trigger on ins_reports adds them.
report_versions = sa.Table(
    "ins_report_versions",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("report_id", sa.BigInteger, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("definition", JSONB, nullable=False),
    sa.Column("saved_by", sa.BigInteger),
    _ts("saved_at"),
    sa.Column("restored_from", sa.Integer),
)

report_schedules = sa.Table(
    "ins_report_schedules",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("report_id", sa.BigInteger, nullable=False),
    sa.Column("frequency", sa.Text, nullable=False),
    sa.Column("hour", sa.SmallInteger, nullable=False),
    sa.Column("weekday", sa.SmallInteger),
    sa.Column("recipients", ARRAY(sa.Text), nullable=False),
    sa.Column("last_sent_on", sa.Date),
    sa.Column("created_by", sa.BigInteger),
    _ts("created_at"),
    _ts("updated_at"),
    # Migration 0011: the hour's IANA zone, the attachment (csv or xlsx), pause, and
    # whether a scheduled email with no rows is skipped.
    sa.Column("time_zone", sa.Text, nullable=False),
    sa.Column("attachment", sa.Text, nullable=False),
    sa.Column("paused", sa.Boolean, nullable=False),
    sa.Column("skip_empty", sa.Boolean, nullable=False),
)

# The delivery ledger (migration 0011, db/deliveries.py): one row per email delivery,
# unique per (report, slot_day) for scheduled ones; `outcomes` maps each recipient to
# {state, message_id, error, at}.
report_deliveries = sa.Table(
    "ins_report_deliveries",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("report_id", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("slot_day", sa.Date),
    _ts("due_at"),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("recipients", ARRAY(sa.Text), nullable=False),
    sa.Column("outcomes", JSONB, nullable=False),
    sa.Column("row_count", sa.Integer),
    sa.Column("attachment_bytes", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("requested_by", sa.BigInteger),
    _ts("notified_at", nullable=True),
    _ts("created_at"),
    _ts("started_at", nullable=True),
    _ts("finished_at", nullable=True),
    sa.Column("alert_id", sa.BigInteger),  # migration 0012: the alert an 'alert' one emails
)

# Addresses removed from a schedule through an email's unsubscribe link (migration 0011).
report_unsubscribes = sa.Table(
    "ins_report_unsubscribes",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("report_id", sa.BigInteger, nullable=False),
    sa.Column("schedule_id", sa.BigInteger, nullable=False),
    sa.Column("address", sa.Text, nullable=False),
    _ts("at"),
)

# Alerts on a report's measure and the times they fired (migration 0012, db/alerts.py).
report_alerts = sa.Table(
    "ins_report_alerts",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("report_id", sa.BigInteger, nullable=False),
    sa.Column("measure", sa.Text, nullable=False),
    sa.Column("condition", sa.Text, nullable=False),  # above, below, change
    sa.Column("threshold", sa.Numeric, nullable=False),
    sa.Column("cooldown_hours", sa.Integer, nullable=False),
    sa.Column("recipients", ARRAY(sa.Text), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.BigInteger),
    _ts("created_at"),
    _ts("updated_at"),
)

alert_firings = sa.Table(
    "ins_alert_firings",
    metadata,
    _tenant_id(),
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.BigInteger, nullable=False),
    _ts("fired_at"),
    sa.Column("value", sa.Numeric, nullable=False),
    sa.Column("previous", sa.Numeric),
    sa.Column("threshold", sa.Numeric, nullable=False),
    sa.Column("condition", sa.Text, nullable=False),
    sa.Column("delivery_id", sa.BigInteger),
)

dashboard_pins = sa.Table(
    "ins_dashboard_pins",
    metadata,
    _tenant_id(),
    sa.Column("report_id", sa.BigInteger, primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("span", sa.SmallInteger, nullable=False),
    _ts("pinned_at"),
)

# Everything carrying a tenant_id: the tenant tables (row-level security with a policy on
# it, TENANT_TABLES) and the rollup views (the same rule inside the view, ROLLUPS).
TENANT_OWNED = tuple(
    t for t in metadata.sorted_tables if "tenant_id" in t.c and t.name != "tenants"
)
ROLLUPS = (
    conversation_stats_daily,
    token_usage_daily,
    goal_completions_daily,
    executions_daily,
    telemetry_events_daily,
    execution_steps_daily,
    customer_ids,
    goal_customer_bits,
    goal_conversation_bits,
    telemetry_conversation_bits,
    duration_hist,
)
TENANT_TABLES = tuple(t for t in TENANT_OWNED if t not in ROLLUPS)
