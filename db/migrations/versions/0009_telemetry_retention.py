"""Telemetry retention: each tenant keeps its raw telemetry events for a number of days.

`tenants.telemetry_retention_days` (default 400, at least 31; `python -m db
set-retention`) bounds how long ins_telemetry_events keeps a tenant's rows; the daily
RetentionCronJob (db/retention.py) deletes older ones in small batches. Deleting base
rows marks no day for the incremental refresh (0008), so the rollups keep the
aggregates of deleted days, and ins_rebuild_analytics() is redefined to recompute the
telemetry rollups only from each tenant's oldest remaining event on, keeping the days
before it. Retention deletes whole UTC days, each batch under the refresh's advisory
lock, so a rebuild never sees a day half deleted.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0009"
down_revision = "0008"


def _rollups() -> ModuleType:
    path = Path(__file__).with_name("0008_incremental_rollups.py")
    spec = importlib.util.spec_from_file_location("migration_0008_incremental_rollups", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    op.execute("""
ALTER TABLE tenants ADD COLUMN telemetry_retention_days integer NOT NULL DEFAULT 400
    CONSTRAINT tenants_telemetry_retention_days_check CHECK (telemetry_retention_days >= 31)
""")
    op.execute(_rollups()._rebuild_function(keeps_deleted_days=True))


def downgrade() -> None:
    op.execute(_rollups()._rebuild_function())
    op.execute("ALTER TABLE tenants DROP COLUMN telemetry_retention_days")
