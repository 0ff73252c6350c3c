"""Rollups as tables refreshed by day, plus exact distinct-count bitmaps and histograms.

The rollups of 0004 and 0005 were materialized views recomputed in full every hour. They
become tables in schema `rollup` with the same names, columns and security-barrier views
in `public`, and ins_refresh_analytics() recomputes only the (tenant, day) pairs that
can have changed:
- the ledger rollups (goal completions, flow runs, steps, telemetry) hold complete UTC
  days before the watermark; each refresh rolls up the days from the old watermark to
  today's, and always yesterday again (a row committed just after midnight);
- the chat rollups (conversation stats, token usage) include today, so each refresh
  recomputes yesterday and today; token usage keeps its 90-day window;
- any older day that receives rows (a late event, a run that finished after its day
  was rolled up) is recorded in rollup.ins_dirty_days by statement-level triggers on
  the base tables, and recomputed by the next refresh.
Deleting base rows marks nothing: the rollups keep the aggregates of deleted days (the
retention of raw rows). ins_rebuild_analytics() recomputes everything (`python -m db
refresh --full`). Both take one advisory lock, so two refreshes never interleave, and
run in one transaction, so readers see the old rollups until the new ones commit.

Distinct counts, exactly, for any range of days: per day and id block of 4096, a
`bit(4096)` of the ids present (bit_or to merge days, bit_count to count). Conversation
ids are dense integers already; customer ids are text, so rollup.ins_customer_ids gives
each customer of a tenant a dense number in order of first appearance (new customers
share blocks). Percentiles: per day, counts of durations in log-spaced buckets with a
1 % relative error (ins_duration_bucket / ins_bucket_value; the DDSketch mapping, with
0 ms as its own bucket). Both keep several grouping sets in one table, told apart by
`grouping` (PostgreSQL's GROUPING() of the grouped columns: a bit set per column left
out, the first column the most significant): every breakdown column alone and none.
Rows without an id (an event outside a conversation) keep their group with an empty
block, so a group whose rows carry no id counts 0 rather than vanishing.

It also indexes finished runs by time, for the dashboard's activity feed.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

from alembic import op

revision = "0008"
down_revision = "0007"

UTC_DAY = "(({t}) AT TIME ZONE 'UTC')::date"
ONE_BIT = "('1' || repeat('0', 4095))::bit(4096)"


class Rollup(NamedTuple):
    """One rollup table: its DDL, unique key, the base it follows and its select.

    `select` has three slots: {join} (the incremental refresh joins its work list
    there), {where} (the full rebuild's bound) and {day} (the row's UTC day)."""

    name: str
    base: str  # the change marker it follows (ins_dirty_days.base)
    ledger: bool  # complete days before the watermark (else: up to now)
    columns: str
    key: str
    time: str  # the timestamptz its day comes from, in the select's aliases
    tenant: str  # the tenant column, in the select's aliases
    select: str


def _ledger(name: str, base: str, table: str, time: str, groups: str, sums: str) -> Rollup:
    columns = ", ".join(f"{g} {t}" for g, t in (c.split(":") for c in groups.split(", ")))
    names = ", ".join(c.split(":")[0] for c in groups.split(", "))
    sum_cols = "".join(f",\n       {s}" for s in sums.split("; ") if s)
    sum_ddl = "".join(f", {s.split(' AS ')[1]} {_type(s)}" for s in sums.split("; ") if s)
    return Rollup(
        name, base, True,
        f"tenant_id bigint NOT NULL, day date NOT NULL, {columns}, row_count bigint NOT NULL"
        f"{sum_ddl}",
        f"tenant_id, day, {names}", f"b.{time}", "b.tenant_id",
        f"""SELECT b.tenant_id, {{day}} AS day, {names},
       count(*)::bigint AS row_count{sum_cols}
FROM {table} b {{join}}
WHERE {{where}}
GROUP BY b.tenant_id, {{day}}, {names}""",
    )  # fmt: skip


def _type(expression: str) -> str:
    return expression.split("::")[-1].split(" AS ")[0]


GOAL_GROUPS = "goal_id, channel, currency, flow_id"
RUN_GROUPS = "flow_id, status, trigger_type"


def _sets(groups: str) -> str:
    return ", ".join([*(f"({g})" for g in groups.split(", ")), "()"])


def _bits(name: str, base: str, source: str, groups: str, ddl: str, number: str) -> Rollup:
    return Rollup(
        name,
        base,
        True,
        f"tenant_id bigint NOT NULL, grouping smallint NOT NULL, day date NOT NULL, {ddl}, "
        "block integer, bits bit(4096)",
        f"tenant_id, grouping, day, {groups}, block",
        "b.time",
        "b.tenant_id",
        f"""SELECT b.tenant_id, GROUPING({groups})::smallint, {{day}} AS day, {groups},
       ({number} / 4096)::integer AS block, bit_or({ONE_BIT} >> ({number} % 4096)::integer)
FROM {source} {{join}}
WHERE {{where}}
GROUP BY b.tenant_id, {{day}}, block, GROUPING SETS ({_sets(groups)})""",
    )


CUSTOMER_BITS = "ins_goal_completions_customer_bits"
GOAL_DDL = "goal_id bigint, channel text, currency char(3), flow_id bigint"
GOALS = "(SELECT *, completed_at AS time FROM ins_goal_completions) b"
RUN_DDL = "flow_id bigint, status text, trigger_type text"

ROLLUPS: tuple[Rollup, ...] = (
    _ledger("ins_goal_completions_daily", "ins_goal_completions", "ins_goal_completions",
            "completed_at",
            "goal_id:bigint, channel:text, currency:char(3), flow_id:bigint",
            "count(value)::bigint AS count__value; sum(value)::numeric(20, 2) AS sum__value"),
    _ledger("fs_executions_daily", "fs_executions", "fs_executions", "started_at",
            "flow_id:bigint, status:text, trigger_type:text",
            "count(finished_at)::bigint AS count__finished_at; "
            "count(duration_ms)::bigint AS count__duration_ms; "
            "sum(duration_ms)::bigint AS sum__duration_ms"),
    _ledger("ins_telemetry_events_daily", "ins_telemetry_events", "ins_telemetry_events",
            "occurred_at", "event_name:text", ""),
    Rollup(
        "fs_execution_steps_daily", "fs_executions", True,
        "tenant_id bigint NOT NULL, day date NOT NULL, flow_id bigint, step_id bigint, "
        "row_count bigint NOT NULL",
        "tenant_id, day, flow_id, step_id", "b.started_at", "b.tenant_id",
        """SELECT b.tenant_id, {day} AS day, b.flow_id, r.step_id, count(*)::bigint
FROM fs_execution_steps r
JOIN fs_executions b ON b.tenant_id = r.tenant_id AND b.id = r.execution_id {join}
WHERE {where}
GROUP BY b.tenant_id, {day}, b.flow_id, r.step_id""",
    ),
    Rollup(
        "ins_conversation_stats_daily", "chat", False,
        "tenant_id bigint NOT NULL, day date NOT NULL, conversations bigint NOT NULL, "
        "messages bigint NOT NULL, user_messages bigint NOT NULL, "
        "agent_messages bigint NOT NULL, engaged_conversations bigint NOT NULL",
        "tenant_id, day", "b.started_at", "b.tenant_id",
        """SELECT tenant_id, day, count(*)::bigint, sum(messages)::bigint,
       sum(user_messages)::bigint, sum(agent_messages)::bigint,
       count(*) FILTER (WHERE is_engaged)::bigint
FROM (
    SELECT b.tenant_id, {day} AS day,
           count(m.id) AS messages,
           count(m.id) FILTER (WHERE m.role = 'user') AS user_messages,
           count(m.id) FILTER (WHERE m.role = 'agent') AS agent_messages,
           coalesce(max(m.created_at) FILTER (WHERE m.role = 'agent')
                    > min(m.created_at) FILTER (WHERE m.role = 'user'), false) AS is_engaged
    FROM chat_conversations b {join}
    LEFT JOIN chat_messages m ON m.tenant_id = b.tenant_id AND m.conversation_id = b.id
    WHERE {where}
    GROUP BY b.tenant_id, b.id, b.started_at
) per_conversation
GROUP BY tenant_id, day""",
    ),
    Rollup(
        "ins_token_usage_daily", "tokens", False,
        "tenant_id bigint NOT NULL, day date NOT NULL, flow_id bigint, "
        "messages bigint NOT NULL, conversations bigint NOT NULL, prompt_tokens bigint, "
        "completion_tokens bigint, total_tokens bigint, cost_usd numeric(16, 6)",
        "tenant_id, day, flow_id", "b.created_at", "b.tenant_id",
        """SELECT b.tenant_id, {day} AS day, b.flow_id, count(*)::bigint,
       count(DISTINCT b.conversation_id)::bigint, sum(b.prompt_tokens)::bigint,
       sum(b.completion_tokens)::bigint, sum(b.total_tokens)::bigint,
       sum(b.cost_usd)::numeric(16, 6)
FROM chat_messages b {join}
WHERE b.total_tokens IS NOT NULL AND {where}
GROUP BY b.tenant_id, {day}, b.flow_id""",
    ),
    _bits(CUSTOMER_BITS, "ins_goal_completions",
          f"{GOALS} JOIN rollup.ins_customer_ids d "
          "ON d.tenant_id = b.tenant_id AND d.customer_id = b.customer_id",
          GOAL_GROUPS, GOAL_DDL, "d.n"),
    _bits("ins_goal_completions_conversation_bits", "ins_goal_completions", GOALS,
          GOAL_GROUPS, GOAL_DDL, "b.conversation_id"),
    _bits("ins_telemetry_events_conversation_bits", "ins_telemetry_events",
          "(SELECT *, occurred_at AS time FROM ins_telemetry_events) b",
          "event_name", "event_name text", "b.conversation_id"),
    Rollup(
        "fs_executions_duration_hist", "fs_executions", True,
        f"tenant_id bigint NOT NULL, grouping smallint NOT NULL, day date NOT NULL, "
        f"{RUN_DDL}, bucket integer NOT NULL, row_count bigint NOT NULL",
        f"tenant_id, grouping, day, {RUN_GROUPS}, bucket", "b.started_at", "b.tenant_id",
        f"""SELECT b.tenant_id, GROUPING({RUN_GROUPS})::smallint, {{day}} AS day,
       {RUN_GROUPS}, ins_duration_bucket(b.duration_ms) AS bucket, count(*)::bigint
FROM fs_executions b {{join}}
WHERE b.duration_ms IS NOT NULL AND {{where}}
GROUP BY b.tenant_id, {{day}}, bucket, GROUPING SETS ({_sets(RUN_GROUPS)})""",
    ),
)  # fmt: skip

# Where a base table's rows land: (base marker, table, its day, the trigger's FROM).
MARKERS: tuple[tuple[str, str, str, str], ...] = (
    ("ins_goal_completions", "ins_goal_completions", "n.completed_at", "changed n"),
    ("ins_telemetry_events", "ins_telemetry_events", "n.occurred_at", "changed n"),
    ("fs_executions", "fs_executions", "n.started_at", "changed n"),
    ("fs_executions", "fs_execution_steps", "e.started_at",
     "changed n JOIN fs_executions e ON e.tenant_id = n.tenant_id AND e.id = n.execution_id"),
    ("chat", "chat_conversations", "n.started_at", "changed n"),
    ("chat", "chat_messages", "c.started_at",
     "changed n JOIN chat_conversations c "
     "ON c.tenant_id = n.tenant_id AND c.id = n.conversation_id"),
    ("tokens", "chat_messages", "n.created_at", "changed n"),
)  # fmt: skip

GAMMA = "((1 + 0.01) / (1 - 0.01))"

FUNCTIONS = f"""
CREATE FUNCTION ins_duration_bucket(ms integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN ms <= 0 THEN -1 ELSE ceil(ln(ms) / ln({GAMMA}))::integer END;
COMMENT ON FUNCTION ins_duration_bucket(integer) IS
    'The log-spaced bucket of a duration: every value in bucket i is within 1 % of '
    'ins_bucket_value(i); 0 ms is bucket -1.';
CREATE FUNCTION ins_bucket_value(bucket integer) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN bucket < 0 THEN 0
                ELSE 2 * power({GAMMA}, bucket) / ({GAMMA} + 1) END;
GRANT EXECUTE ON FUNCTION ins_duration_bucket(integer), ins_bucket_value(integer)
    TO hub_web, hub_cron;

-- The dashboard's activity feed reads the latest finished runs.
CREATE INDEX fs_executions_tenant_finished ON fs_executions (tenant_id, finished_at)
    WHERE finished_at IS NOT NULL;

CREATE TABLE rollup.ins_rollups_through (
    through_day date NOT NULL,
    refreshed_at timestamptz NOT NULL
);
INSERT INTO rollup.ins_rollups_through VALUES ((now() AT TIME ZONE 'UTC')::date, now());
CREATE VIEW public.ins_rollups_through AS
SELECT through_day, refreshed_at FROM rollup.ins_rollups_through;
GRANT SELECT ON public.ins_rollups_through TO hub_web, hub_cron;

CREATE TABLE rollup.ins_dirty_days (
    tenant_id bigint NOT NULL,
    base text NOT NULL,
    day date NOT NULL,
    PRIMARY KEY (tenant_id, base, day)
);

CREATE TABLE rollup.ins_customer_ids (
    tenant_id bigint NOT NULL,
    customer_id text NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (tenant_id, customer_id),
    UNIQUE (tenant_id, n)
);
CREATE VIEW public.ins_customer_ids WITH (security_barrier) AS
SELECT * FROM rollup.ins_customer_ids
WHERE tenant_id = hub_current_tenant()
   OR (SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user);
GRANT SELECT ON public.ins_customer_ids TO hub_web, hub_cron;
"""

CUSTOMERS = """
INSERT INTO rollup.ins_customer_ids (tenant_id, customer_id, n)
SELECT x.tenant_id, x.customer_id,
       coalesce(top.n + 1, 0) + row_number() OVER (PARTITION BY x.tenant_id
                                                   ORDER BY x.first_at, x.customer_id) - 1
FROM (
    SELECT b.tenant_id, b.customer_id, min(b.time) AS first_at
    FROM {source} {join}
    WHERE {where}
      AND NOT EXISTS (SELECT FROM rollup.ins_customer_ids d
                      WHERE d.tenant_id = b.tenant_id AND d.customer_id = b.customer_id)
    GROUP BY b.tenant_id, b.customer_id
) x
LEFT JOIN LATERAL (SELECT max(d.n) AS n FROM rollup.ins_customer_ids d
                   WHERE d.tenant_id = x.tenant_id) top ON true;
"""


def _fill(r: Rollup, *, join: str, where: str) -> str:
    day = UTC_DAY.format(t=r.time)
    return f"INSERT INTO rollup.{r.name}\n" + r.select.format(join=join, where=where, day=day)


def _incremental(r: Rollup) -> str:
    join = (f"JOIN pg_temp.todo t ON t.base = '{r.base}' AND t.tenant_id = {r.tenant} "
            f"AND {r.time} >= t.lo AND {r.time} < t.hi")  # fmt: skip
    return f"""
    DELETE FROM rollup.{r.name} r USING pg_temp.todo t
    WHERE t.base = '{r.base}' AND r.tenant_id = t.tenant_id AND r.day = t.day;
    {_fill(r, join=join, where="true")};"""


def _bound(r: Rollup) -> str:
    if r.ledger:
        return f"{r.time} < new_through::timestamp AT TIME ZONE 'UTC'"
    if r.name == "ins_token_usage_daily":
        return f"{r.time} >= (new_through - 89)::timestamp AT TIME ZONE 'UTC'"
    return "true"


def _customers(join: str, where: str) -> str:
    return CUSTOMERS.format(source=GOALS, join=join, where=where)


GOALS_JOIN = ("JOIN pg_temp.todo t ON t.base = 'ins_goal_completions' "
              "AND t.tenant_id = b.tenant_id AND b.time >= t.lo AND b.time < t.hi")  # fmt: skip
LOCK = "PERFORM pg_advisory_xact_lock(hashtext('ins_refresh_analytics'));"
FUNCTION_HEAD = """
CREATE OR REPLACE FUNCTION {name}() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$
DECLARE
    old_through date;
    new_through date := (now() AT TIME ZONE 'UTC')::date;
BEGIN
    {lock}
    SELECT through_day INTO old_through FROM rollup.ins_rollups_through;
"""


def _array(names: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{n}'" for n in names) + "]::text[]"


def _refresh_function() -> str:
    """ins_refresh_analytics(): the (tenant, base, day) work list, then each rollup."""
    ledger_bases = sorted({r.base for r in ROLLUPS if r.ledger})
    chat_bases = sorted({r.base for r in ROLLUPS if not r.ledger})
    ledger_days = "least(old_through, new_through - 1), new_through - 1"
    chat_days = "new_through - 1, new_through"
    body = "".join(
        (_customers(GOALS_JOIN, "true") if r.name == CUSTOMER_BITS else "") + _incremental(r)
        for r in ROLLUPS
    )
    return (
        FUNCTION_HEAD.format(name="ins_refresh_analytics", lock=LOCK)
        + f"""
    CREATE TEMP TABLE todo (tenant_id bigint, base text, day date,
                            lo timestamptz, hi timestamptz) ON COMMIT DROP;
    WITH marked AS (DELETE FROM rollup.ins_dirty_days RETURNING tenant_id, base, day),
    recent AS (
        SELECT t.id AS tenant_id, b.base, d::date AS day
        FROM tenants t
        CROSS JOIN unnest({_array(ledger_bases)}) AS b(base)
        CROSS JOIN generate_series({ledger_days}, interval '1 day') AS d
        UNION ALL
        SELECT t.id, b.base, d::date
        FROM tenants t
        CROSS JOIN unnest({_array(chat_bases)}) AS b(base)
        CROSS JOIN generate_series({chat_days}, interval '1 day') AS d
    )
    INSERT INTO todo
    SELECT DISTINCT tenant_id, base, day, day::timestamp AT TIME ZONE 'UTC',
           (day + 1)::timestamp AT TIME ZONE 'UTC'
    FROM (SELECT * FROM marked UNION ALL SELECT * FROM recent) work
    WHERE base <> ALL ({_array(ledger_bases)}) OR day < new_through;
    ANALYZE todo;
{body}
    DELETE FROM rollup.ins_token_usage_daily WHERE day < new_through - 89;
    UPDATE rollup.ins_rollups_through SET through_day = new_through, refreshed_at = now();
END
$$;
"""
    )


# Migration 0009's retention deletes a tenant's oldest raw telemetry by whole UTC days:
# a rebuild then recomputes the telemetry rollups from the tenant's oldest remaining
# event's day on, and keeps the days before it (their raw rows are gone).
OLDEST_EVENT_DAY = """(SELECT (min(e.occurred_at) AT TIME ZONE 'UTC')::date
        FROM ins_telemetry_events e WHERE e.tenant_id = r.tenant_id)"""


def _rebuild_function(*, keeps_deleted_days: bool = False) -> str:
    """ins_rebuild_analytics(): every rollup recomputed from its base table; with
    `keeps_deleted_days` (0009), the telemetry rollups only from each tenant's oldest
    remaining event on, so days whose raw events retention deleted keep their aggregates
    (a tenant without events keeps all its days)."""
    fills = []
    for r in ROLLUPS:
        if r.name == CUSTOMER_BITS:
            fills.append(_customers("", "b.time < new_through::timestamp AT TIME ZONE 'UTC'"))
        if keeps_deleted_days and r.base == "ins_telemetry_events":
            fills.append(
                f"DELETE FROM rollup.{r.name} r WHERE r.day >= {OLDEST_EVENT_DAY};\n"
                f"    {_fill(r, join='', where=_bound(r))};"
            )
            continue
        fills.append(f"TRUNCATE rollup.{r.name};\n    {_fill(r, join='', where=_bound(r))};")
    body = "\n    ".join(fills)
    return (
        FUNCTION_HEAD.format(name="ins_rebuild_analytics", lock=LOCK)
        + f"""
    DELETE FROM rollup.ins_dirty_days;
    {body}
    UPDATE rollup.ins_rollups_through SET through_day = new_through, refreshed_at = now();
END
$$;
"""
    )


def _table(r: Rollup) -> str:
    return f"""
CREATE TABLE rollup.{r.name} ({r.columns});
CREATE UNIQUE INDEX {r.name}_key ON rollup.{r.name} ({r.key}) NULLS NOT DISTINCT;
CREATE VIEW public.{r.name} WITH (security_barrier) AS
SELECT * FROM rollup.{r.name}
WHERE tenant_id = hub_current_tenant()
   OR (SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user);
GRANT SELECT ON public.{r.name} TO hub_web, hub_cron;
"""


def _marker(base: str, table: str, day_of: str, source: str, event: str) -> str:
    name = f"ins_mark_{table}_{base}_{event.lower()}"
    return f"""
CREATE FUNCTION rollup.{name}() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
    AS $$
BEGIN
    INSERT INTO rollup.ins_dirty_days (tenant_id, base, day)
    SELECT DISTINCT n.tenant_id, '{base}', {UTC_DAY.format(t=day_of)}
    FROM {source}
    WHERE {UTC_DAY.format(t=day_of)} < (clock_timestamp() AT TIME ZONE 'UTC')::date - 1
    {"AND n.total_tokens IS NOT NULL" if base == "tokens" else ""}
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER {name} AFTER {event} ON {table}
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION rollup.{name}();
"""


OLD_VIEWS = [
    "ins_conversation_stats_daily", "ins_token_usage_daily", "ins_rollups_through",
    "ins_goal_completions_daily", "fs_executions_daily", "ins_telemetry_events_daily",
    "fs_execution_steps_daily",
]  # fmt: skip


def upgrade() -> None:
    op.execute("DROP FUNCTION ins_refresh_analytics()")
    for name in OLD_VIEWS:
        op.execute(f"DROP VIEW public.{name}")
        op.execute(f"DROP MATERIALIZED VIEW rollup.{name}")
    op.execute(FUNCTIONS)
    for r in ROLLUPS:
        op.execute(_table(r))
    for base, table, day_of, source in MARKERS:
        for event in ("INSERT", "UPDATE"):
            op.execute(_marker(base, table, day_of, source, event))
    op.execute(_refresh_function())
    op.execute(_rebuild_function())
    for name in ("ins_refresh_analytics", "ins_rebuild_analytics"):
        op.execute(f"REVOKE ALL ON FUNCTION {name}() FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {name}() TO hub_cron")
    op.execute("SELECT ins_rebuild_analytics()")


def _released(name: str) -> ModuleType:
    path = Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def downgrade() -> None:
    for _, table, *_ in MARKERS:
        op.execute(f"""
DO $$ DECLARE t record; BEGIN
  FOR t IN SELECT tgname FROM pg_trigger WHERE tgrelid = '{table}'::regclass
           AND tgname LIKE 'ins_mark_%' LOOP
    EXECUTE format('DROP TRIGGER %I ON {table}', t.tgname);
  END LOOP;
END $$""")
    op.execute("DROP FUNCTION ins_refresh_analytics(), ins_rebuild_analytics()")
    op.execute("DROP FUNCTION ins_duration_bucket(integer), ins_bucket_value(integer)")
    op.execute("DROP INDEX fs_executions_tenant_finished")
    for r in ROLLUPS:
        op.execute(f"DROP VIEW public.{r.name}")
    op.execute("DROP VIEW public.ins_rollups_through, public.ins_customer_ids")
    op.execute("DROP SCHEMA rollup CASCADE")
    op.execute(_released("0004_analytics_rollups.py").UPGRADE)
    _released("0005_dataset_rollups.py").upgrade()
