"""Hand-written SQL over the platform's base tables: the expectations of test_datasets.py.

Nothing here touches the semantic layer. Each dataset's facts, measures and dimensions
are written again as plain SQL over the raw tables (never the rollup views), and
`expected_sql` assembles them into one query with the runner's documented contract:
range [lo, hi) on the fact's UTC timestamp; without a time dimension, rows ordered by the
first measure descending (empty last) then the dimensions; with one, every bucket from
the one holding the first day to the one holding the last, times every combination of
the other dimensions present in the range, ordered by bucket then dimensions, with
counts and sums 0 and averages / ratios empty in buckets without facts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Facts:
    source: str  # FROM clause; `x` is one fact row (with tenant_id)
    time: str  # the timestamptz that puts a fact in a UTC day
    measures: dict[str, str]  # measure id -> aggregate over x
    dimensions: dict[str, str]  # non-time dimension id -> the value shown
    averages: frozenset[str] = frozenset()  # empty (not 0) without facts; compared approx
    # Read from histograms: within their declared relative error (1 %) of the rows' value.
    percentiles: frozenset[str] = frozenset()


FLOW_NAME = "coalesce(f.name, '(no flow)')"
JOIN_FLOW = "LEFT JOIN fs_flows f ON f.tenant_id = x.tenant_id AND f.id = x.flow_id"

CONVERSIONS = Facts(
    source="ins_goal_completions x "
    "JOIN ins_goals g ON g.tenant_id = x.tenant_id AND g.id = x.goal_id " + JOIN_FLOW,
    time="x.completed_at",
    measures={
        "conversions": "count(*)",
        "revenue": "coalesce(sum(x.value), 0)",
        "avg_value": "avg(x.value)",
        "distinct_customers": "count(DISTINCT x.customer_id)",
        "distinct_conversations": "count(DISTINCT x.conversation_id)",
    },
    dimensions={"goal": "g.name", "channel": "x.channel", "currency": "x.currency",
                "flow": FLOW_NAME},
    averages=frozenset({"avg_value"}),
)  # fmt: skip

# One row per conversation with its messages' figures, dated by the conversation's start.
CHAT = Facts(
    source="""(SELECT c.tenant_id, c.started_at,
        (SELECT count(*) FROM chat_messages m
         WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id) AS messages,
        (SELECT count(*) FROM chat_messages m WHERE m.tenant_id = c.tenant_id
         AND m.conversation_id = c.id AND m.role = 'user') AS user_messages,
        (SELECT count(*) FROM chat_messages m WHERE m.tenant_id = c.tenant_id
         AND m.conversation_id = c.id AND m.role = 'agent') AS agent_messages,
        EXISTS (SELECT 1 FROM chat_messages a
                WHERE a.tenant_id = c.tenant_id AND a.conversation_id = c.id
                  AND a.role = 'agent' AND a.created_at > (
                      SELECT min(u.created_at) FROM chat_messages u
                      WHERE u.tenant_id = c.tenant_id AND u.conversation_id = c.id
                        AND u.role = 'user')) AS engaged
        FROM chat_conversations c) x""",
    time="x.started_at",
    measures={
        "conversations": "count(*)",
        "messages": "coalesce(sum(x.messages), 0)",
        "user_messages": "coalesce(sum(x.user_messages), 0)",
        "agent_messages": "coalesce(sum(x.agent_messages), 0)",
        "engaged": "count(*) FILTER (WHERE x.engaged)",
        "messages_per_conversation": "sum(x.messages)::numeric / nullif(count(*), 0)",
    },
    dimensions={},
    averages=frozenset({"messages_per_conversation"}),
)

# Token-bearing messages. "conversations" counts distinct (UTC day, flow, conversation):
# distinct conversations per day and flow, summed over the days and flows of a row.
TOKEN_CONVERSATIONS = (
    "count(DISTINCT ROW((x.created_at AT TIME ZONE 'UTC')::date, x.flow_id, x.conversation_id))"
)
TOKEN_USAGE = Facts(
    source="(SELECT * FROM chat_messages WHERE total_tokens IS NOT NULL) x " + JOIN_FLOW,
    time="x.created_at",
    measures={
        "total_tokens": "coalesce(sum(x.total_tokens), 0)",
        "prompt_tokens": "coalesce(sum(x.prompt_tokens), 0)",
        "completion_tokens": "coalesce(sum(x.completion_tokens), 0)",
        "cost": "coalesce(sum(x.cost_usd), 0)",
        "messages": "count(*)",
        "conversations": TOKEN_CONVERSATIONS,
        "avg_tokens_per_message": "sum(x.total_tokens)::numeric / nullif(count(*), 0)",
        "avg_tokens_per_conversation": "sum(x.total_tokens)::numeric / "
        f"nullif({TOKEN_CONVERSATIONS}, 0)",
    },
    dimensions={"flow": FLOW_NAME},
    averages=frozenset({"avg_tokens_per_message", "avg_tokens_per_conversation"}),
)

ENDED = "x.status IN ('completed', 'failed', 'aborted')"
FLOW_RUNS = Facts(
    source="fs_executions x " + JOIN_FLOW,
    time="x.started_at",
    measures={
        "total_runs": "count(*)",
        "completed": "count(*) FILTER (WHERE x.status = 'completed')",
        "failed": "count(*) FILTER (WHERE x.status = 'failed')",
        "aborted": "count(*) FILTER (WHERE x.status = 'aborted')",
        "in_flight": "count(*) FILTER (WHERE x.status = 'running')",
        "finished_runs": f"count(*) FILTER (WHERE {ENDED})",
        "success_rate": "(count(*) FILTER (WHERE x.status = 'completed'))::numeric / "
        f"nullif(count(*) FILTER (WHERE {ENDED}), 0)",
        "avg_duration": f"avg(x.duration_ms) FILTER (WHERE {ENDED})",
        "p95_duration": "percentile_cont(0.95) WITHIN GROUP (ORDER BY x.duration_ms) "
        f"FILTER (WHERE {ENDED})",
    },
    dimensions={"flow": FLOW_NAME, "status": "x.status", "trigger_type": "x.trigger_type"},
    averages=frozenset({"success_rate", "avg_duration", "p95_duration"}),
    percentiles=frozenset({"p95_duration"}),
)

TELEMETRY = Facts(
    source="ins_telemetry_events x",
    time="x.occurred_at",
    measures={
        "events": "count(*)",
        "distinct_conversations": "count(DISTINCT x.conversation_id)",
    },
    dimensions={"event_name": "x.event_name"},
)

FACTS = {
    "conversions": CONVERSIONS,
    "chat": CHAT,
    "token_usage": TOKEN_USAGE,
    "flow_runs": FLOW_RUNS,
    "telemetry": TELEMETRY,
}


def expected_sql(
    facts: Facts, measures: list[str], dimensions: list[str], grain: str | None, where: str
) -> str:
    """The expected rows: `dimensions` excludes time; with `grain`, time is the first column.

    Parameters: :t tenant, :lo and :hi the range's UTC instants, :a its first day.
    """
    dims = [f"{facts.dimensions[d]} AS d{i}" for i, d in enumerate(dimensions)]
    aggs = [f"{facts.measures[m]} AS m{i}" for i, m in enumerate(measures)]
    rows = (
        f"FROM {facts.source} WHERE x.tenant_id = :t AND {facts.time} >= :lo "
        f"AND {facts.time} < :hi AND ({where})"
    )
    if grain is None:
        group = f" GROUP BY {', '.join(map(str, range(1, len(dims) + 1)))}" if dims else ""
        order = [f"{len(dims) + 1} DESC NULLS LAST", *map(str, range(1, len(dims) + 1))]
        return f"SELECT {', '.join(dims + aggs)} {rows}{group} ORDER BY {', '.join(order)}"
    bucket = f"date_trunc('{grain}', {facts.time} AT TIME ZONE 'UTC')::date"
    names = [f"d{i}" for i in range(len(dims))]
    combos = f", combos AS (SELECT DISTINCT {', '.join(names)} FROM facts)" if dims else ""
    join = " CROSS JOIN combos c" if dims else ""
    on = "".join(f" AND r.{n} IS NOT DISTINCT FROM c.{n}" for n in names)
    shown = [
        f"r.m{i}" if m in facts.averages else f"coalesce(r.m{i}, 0)" for i, m in enumerate(measures)
    ]
    return (
        f"WITH facts AS (SELECT {', '.join([f'{bucket} AS bucket', *dims, *aggs])} {rows} "
        f"GROUP BY {', '.join(map(str, range(1, len(dims) + 2)))}), "
        f"buckets AS (SELECT generate_series(date_trunc('{grain}', CAST(:a AS timestamp)), "
        f"CAST(:hi AS timestamptz) AT TIME ZONE 'UTC' - interval '1 day', "
        f"interval '1 {grain}')::date AS bucket){combos} "
        f"SELECT {', '.join(['b.bucket', *(f'c.{n}' for n in names), *shown])} "
        f"FROM buckets b{join} LEFT JOIN facts r ON r.bucket = b.bucket{on} "
        f"ORDER BY {', '.join(map(str, range(1, len(dims) + 2)))}"
    )


# The funnel of flow :f: each ordered step with the runs started in [lo, hi) reaching it.
FUNNEL_SQL = """
WITH runs AS (SELECT id FROM fs_executions WHERE tenant_id = :t AND flow_id = :f
              AND started_at >= :lo AND started_at < :hi)
SELECT s.position || '. ' || s.name,
       (SELECT count(*) FROM fs_execution_steps e JOIN runs r ON r.id = e.execution_id
        WHERE e.tenant_id = :t AND e.step_id = s.id)
FROM fs_flow_steps s WHERE s.tenant_id = :t AND s.flow_id = :f ORDER BY s.position
"""

# Edge cases the demo lacks, for tenant :t from UTC midnight :d (day D). Conversations:
# 1 user then agent (engaged; one more agent reply on D+1), 2 agent BEFORE the user (not
# engaged), 3 no message, 4 started 23:59 with replies on D+1 (count on D). Token-bearing
# replies: conversation 1 on D and D+1, 4 twice on D+1. Events: names with '_' and '%',
# a tie on count, a NULL conversation.
EDGE_ROWS = (
    """INSERT INTO chat_conversations (tenant_id, id, channel, customer_id, started_at)
    SELECT :t, id, 'web', 'c' || id, CAST(:d AS timestamptz) + CAST(at AS interval)
    FROM (VALUES (1, '10:00'), (2, '11:00'), (3, '12:00'), (4, '23:59')) AS v(id, at)""",
    """INSERT INTO chat_messages (tenant_id, conversation_id, role, created_at,
        prompt_tokens, completion_tokens, total_tokens, cost_usd)
    SELECT :t, c, r, CAST(:d AS timestamptz) + CAST(at AS interval), p, q, p + q, usd
    FROM (VALUES (1, 'user', '10:00', NULL, NULL, NULL), (1, 'agent', '10:01', 60, 40, 0.001),
                 (1, 'agent', '33:00', 6, 4, 0.0001), (2, 'agent', '11:00', NULL, NULL, NULL),
                 (2, 'user', '11:05', NULL, NULL, NULL), (4, 'user', '23:59', NULL, NULL, NULL),
                 (4, 'agent', '24:01', 30, 20, 0.0005), (4, 'agent', '25:00', 25, 15, 0.0004))
         AS v(c, r, at, p, q, usd)""",
    """INSERT INTO ins_telemetry_events (tenant_id, conversation_id, event_name, occurred_at)
    SELECT :t, c, e, CAST(:d AS timestamptz) + interval '12 hours'
    FROM (VALUES (1, 'a_b'), (NULL, 'a_b'), (2, 'axb'), (2, 'axb'), (3, '50%')) AS v(c, e)""",
)
