"""Each goal completion carries its customer's dense number when it is known at insert.

Distinct customers merge the per-day bitmaps of complete days (0008) with the live tail:
today's completions, each needing its customer's number from rollup.ins_customer_ids.
Looked up at read time, that is one index probe per tail row on every report, and the
tail grows through the day (8k rows at noon on the benchmark tenant, 16k by evening).
So a BEFORE INSERT trigger stamps the number on the row (`customer_n`) as it is written,
when the customer has one; a customer first seen since the last refresh has none yet,
and the reader looks those few up (datasets.sources). Numbers never change once given,
so a stamped number is always the numbering's. The trigger function lives in schema
`rollup`, like the dirty-day markers, so a bulk load that disables those disables it too;
rollup.ins_stamp_customer_numbers() stamps the live tail's rows written without it (here:
those written before this migration; bench.harness: its bulk load's).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"

UPGRADE = """
ALTER TABLE ins_goal_completions ADD COLUMN customer_n integer;
COMMENT ON COLUMN ins_goal_completions.customer_n IS
    'The customer''s number in rollup.ins_customer_ids when it had one at insert, else null.';

CREATE FUNCTION rollup.ins_goal_completions_number() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$
BEGIN
    NEW.customer_n := (SELECT d.n FROM rollup.ins_customer_ids d
                       WHERE d.tenant_id = NEW.tenant_id AND d.customer_id = NEW.customer_id);
    RETURN NEW;
END
$$;
CREATE TRIGGER ins_goal_completions_number BEFORE INSERT ON ins_goal_completions
    FOR EACH ROW EXECUTE FUNCTION rollup.ins_goal_completions_number();

-- Stamps the live tail's rows written without their number (before this migration, or
-- by a bulk load that disabled the trigger), once their customers are numbered. Row
-- security lets the owner update only the tenant in app.tenant_id: one tenant at a time.
CREATE FUNCTION rollup.ins_stamp_customer_numbers() RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$
DECLARE
    tenant bigint;
    stamped bigint := 0;
    done bigint;
    kept text := current_setting('app.tenant_id', true);
BEGIN
    FOR tenant IN SELECT id FROM tenants LOOP
        PERFORM set_config('app.tenant_id', tenant::text, true);
        UPDATE ins_goal_completions g SET customer_n = d.n
        FROM rollup.ins_customer_ids d, rollup.ins_rollups_through w
        WHERE g.tenant_id = tenant AND g.customer_n IS NULL
          AND g.completed_at >= w.through_day::timestamp AT TIME ZONE 'UTC'
          AND d.tenant_id = g.tenant_id AND d.customer_id = g.customer_id;
        GET DIAGNOSTICS done = ROW_COUNT;
        stamped := stamped + done;
    END LOOP;
    PERFORM set_config('app.tenant_id', coalesce(kept, ''), true);
    RETURN stamped;
END
$$;
SELECT rollup.ins_stamp_customer_numbers();
"""

DOWNGRADE = """
DROP TRIGGER ins_goal_completions_number ON ins_goal_completions;
DROP FUNCTION rollup.ins_goal_completions_number(), rollup.ins_stamp_customer_numbers();
ALTER TABLE ins_goal_completions DROP COLUMN customer_n;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
