"""Migrations apply on an empty database, downgrade cleanly, and re-apply."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db import migrate
from db import schema as s

CONTRACT_TABLES = {
    "tenants", "fs_flows", "fs_flow_steps", "fs_executions", "fs_execution_steps",
    "chat_conversations", "chat_messages", "ins_telemetry_events", "ins_goals",
    "ins_goal_completions", "users", "roles", "role_grants", "user_roles", "ins_reports",
    "ins_report_schedules", "ins_dashboard_pins", "ins_report_deliveries",
    "ins_report_unsubscribes", "ins_report_alerts", "ins_alert_firings", "ins_report_versions",
}  # fmt: skip
ROLLUPS = {t.name for t in s.ROLLUPS}


def _objects(engine: Engine) -> dict[str, set[str]]:
    with engine.connect() as conn:
        tables = set(
            conn.scalars(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        )
        views = set(
            conn.scalars(sa.text("SELECT viewname FROM pg_views WHERE schemaname = 'public'"))
        )
        matviews = set(conn.scalars(sa.text("SELECT matviewname FROM pg_matviews")))
        functions = set(
            conn.scalars(
                sa.text(
                    "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = 'public'"
                )
            )
        )
    return {"tables": tables, "views": views, "matviews": matviews, "functions": functions}


def test_upgrade_downgrade_upgrade(fresh_database: Engine) -> None:
    """Head has every contract table, the rollups (tables in schema rollup behind views) and
    the refresh functions; 0007 had them as materialized views; base has none."""
    migrate.upgrade(fresh_database)
    head = _objects(fresh_database)
    assert head["tables"] >= CONTRACT_TABLES
    assert head["matviews"] == set()
    assert ROLLUPS | {"ins_rollups_through"} <= head["views"]
    assert {"ins_refresh_analytics", "ins_rebuild_analytics", "hub_current_tenant",
            "ins_match_goals", "ins_duration_bucket"} <= head["functions"]  # fmt: skip
    assert migrate.current_revision(fresh_database) == "0014"

    migrate.downgrade(fresh_database, revision="0007")
    before = _objects(fresh_database)
    daily = {t.name for t in s.ROLLUPS if t.name.endswith("_daily")}
    assert before["matviews"] == daily | {"ins_rollups_through"}
    migrate.upgrade(fresh_database)

    migrate.downgrade(fresh_database, revision="base")
    base = _objects(fresh_database)
    assert base["tables"] <= {"alembic_version"}
    assert base["views"] == base["matviews"] == set()
    assert base["functions"] == set()

    migrate.upgrade(fresh_database)
    assert _objects(fresh_database) == head


def test_objects_are_owned_by_hub_owner(fresh_database: Engine) -> None:
    """Migrations run as hub_owner, so it owns every table and view they create."""
    migrate.upgrade(fresh_database)
    with fresh_database.connect() as conn:
        owners = set(
            conn.scalars(
                sa.text(
                    "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname IN ('public', 'rollup') AND c.relkind IN ('r', 'v', 'm')"
                )
            )
        )
    assert owners == {"hub_owner"}


def test_metadata_matches_the_migrated_schema(fresh_database: Engine) -> None:
    """Every column db/schema.py declares exists in the migrated database."""
    migrate.upgrade(fresh_database)
    inspector = sa.inspect(fresh_database)
    views = set(inspector.get_view_names())
    for table in s.metadata.sorted_tables:
        assert table.name in views or inspector.has_table(table.name), table.name
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert set(table.c.keys()) <= columns, (table.name, set(table.c.keys()) - columns)
