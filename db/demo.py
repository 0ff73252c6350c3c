"""Deterministic, realistic demo data for one tenant's platform tables, generated in SQL.

Every row comes from an `INSERT ... SELECT` over generate_series or over rows an earlier
statement inserted, so the same code seeds the demo (Acme, ~60 conversations a day) in
seconds and a benchmark (20,000 a day, tens of millions of rows) at linear cost.

Determinism: no random(). Each draw hashes (row ordinal, salt, seed) -- see `_u` -- so the
data does not depend on plan or scan order, and rows are inserted in ORDER BY order so a
fresh database assigns the same identity ids. Per-tenant shape (which flows and their
share, when two of them launched, the channel and currency mix, the busiest hour) comes
from random.Random(seed), so tenants differ in shape, not only in size.

Volume: conversations per UTC day = rate x growth (half the rate at the start of the
history, the full rate on the seed's day) x weekday factor (weekends ~0.6 of weekdays) x
noise, with rare campaign spikes.

Nothing is later than `now`, the moment of seeding: the seed's day has a whole day's
conversations, started in the part of it that has passed (its hours squeezed into it),
and what would come after `now` has not happened yet: later messages, steps and events
are not written, and a run that would finish later is still running.
"""

from __future__ import annotations

import datetime
import json
import random
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from db.provision import DEFAULT_GOALS


@dataclass(frozen=True)
class DemoProfile:
    conversations_per_day: float  # average at the END of the history (growth leads up to it)
    seed: int  # different tenants use different seeds -> distinct data


ACME = DemoProfile(conversations_per_day=60, seed=1)
GLOBEX = DemoProfile(conversations_per_day=18, seed=2)
HISTORY_DAYS = 396  # ~13 months up to and including the seed's day

FLOWS = {  # name: ordered steps
    "Order status": "Greeting / Identify customer / Look up order / Share tracking link",
    "Product finder": "Ask preferences / Search catalogue / Show recommendations / Add to cart"
    " / Send checkout link",
    "Returns & refunds": "Find order / Check return policy / Choose refund method"
    " / Create return label / Confirm return",
    "Abandoned cart recovery": "Send reminder / Offer discount / Send checkout link",
    "Appointment booking": "Choose service / Pick a slot / Collect contact details"
    " / Confirm booking",
    "Lead qualification": "Greeting / Company size / Budget & timeline / Score lead"
    " / Book a demo / Hand over to sales",
    "FAQ assistant": "Understand question / Search help centre / Answer",
    "Subscription management": "Verify identity / Show plan / Change plan / Confirm change",
}
CORE_FLOWS = ("Order status", "Product finder")  # every tenant has these, plus 4 drawn others
FLOW_COVERAGE = 0.85  # share of conversations routed to a flow (once that flow launched)
CHANNELS = {"web": 0.45, "whatsapp": 0.25, "messenger": 0.12, "instagram": 0.10, "email": 0.08}
CURRENCIES = ("USD", "EUR", "GBP")

# Message bodies, four per kind: user opener, user follow-up, agent greeting, agent answer,
# system notice.
TEXTS = (
    ("Where is my order?", "Can I return this?", "Is this in a medium?", "Can I rebook?"),
    ("Thanks!", "Yes please", "Can I talk to a person?", "No, that's all"),
    ("Hi! How can I help?", "Let me check.", "What is your order number?", "Happy to help."),
    ("Here is your tracking link.", "I found 3 matches.", "You're booked in!", "Anything else?"),
    ("Handed over to a human agent", "Closed after inactivity", "Customer left", "Moved to email"),
)

# Chat telemetry: (flow or "" for any, event, probability, funnel, seconds after the start).
# Rules of one funnel share a draw, so a later stage fires only if the earlier one did.
EVENT_RULES = (
    ("", "conversation_started", 1.0, 0, 0),
    ("", "link_clicked", 0.12, 1, 200),
    ("", "handoff_to_human", 0.06, 2, 300),
    ("", "csat_submitted", 0.18, 3, 600),
    ("", "newsletter_signup", 0.02, 4, 400),
    ("Product finder", "product_viewed", 0.85, 10, 60),
    ("Product finder", "add_to_cart", 0.38, 10, 120),
    ("Product finder", "checkout_started", 0.22, 10, 180),
    ("Product finder", "order_placed", 0.14, 10, 240),
    ("Abandoned cart recovery", "link_clicked", 0.55, 11, 60),
    ("Abandoned cart recovery", "checkout_started", 0.30, 11, 120),
    ("Abandoned cart recovery", "order_placed", 0.20, 11, 240),
    ("Order status", "link_clicked", 0.45, 12, 90),
    ("Returns & refunds", "refund_requested", 0.50, 13, 150),
    ("Appointment booking", "appointment_booked", 0.42, 14, 180),
    ("Lead qualification", "lead_qualified", 0.35, 15, 200),
    ("Lead qualification", "newsletter_signup", 0.25, 16, 240),
    ("FAQ assistant", "newsletter_signup", 0.08, 17, 120),
    ("Subscription management", "link_clicked", 0.40, 18, 150),
)

# Goals: the defaults every tenant gets (db.provision), plus an inactive one.
GOALS = (*DEFAULT_GOALS, ("Added to cart", "add_to_cart", False, "none", None, None, None))


def _u(key: str, salt: int) -> str:
    """SQL for a uniform draw in (0, 1): a hash of the integer SQL `key`, `salt` and :seed."""
    hashed = f"hashint8extended(({key})::bigint, CAST(:seed AS bigint) * 1000 + {salt})"
    return f"(((({hashed}) & 4294967295)::float8 + 0.5) / 4294967296)"


def _z(key: str, salt: int) -> str:
    """SQL for a standard normal draw (Box-Muller over the draws `salt` and `salt + 1`)."""
    return f"(sqrt(-2 * ln({_u(key, salt)})) * cos(2 * pi() * {_u(key, salt + 1)}))"


def _lognormal_ms(key: str, salt: int, median: int, sigma: float) -> str:
    """SQL for a log-normal duration in ms, clamped to 200 ms .. 60 s."""
    return f"least(60000, greatest(200, {median} * exp({sigma} * {_z(key, salt)})))::int"


# One row per history day: index i (0 = first day), the day, its UTC midnight, growth,
# and the share of the day that has passed at :now (1 before the seed's day).
_DAYS = """days AS (
    SELECT i, day, day_start, power(2.0::float8, i::float8 / (:days - 1) - 1) AS growth,
           least(1, extract(epoch FROM CAST(:now AS timestamptz) - day_start)::float8 / 86400)
               AS share
    FROM generate_series(0, :days - 1) AS i,
         LATERAL (SELECT CAST(:today AS date) - (:days - 1) + i AS day) AS d,
         LATERAL (SELECT day::timestamp AT TIME ZONE 'UTC' AS day_start) AS s
)"""

# Conversations with their ordinal, flow and run status (from the first message-triggered
# run) and whether an agent replied (less likely when that run failed or there was no flow).
_FACTS = f"""facts AS MATERIALIZED (
    SELECT c.*, {_u("c.ord", 40)} >= CASE WHEN c.status = 'failed' THEN 0.6
        WHEN c.flow_id IS NULL THEN 0.12 ELSE 0.04 END AS engaged
    FROM (SELECT c.id, c.channel, c.started_at, x.flow_id, x.status,
                 row_number() OVER (ORDER BY c.id) AS ord
          FROM chat_conversations c
          LEFT JOIN (SELECT DISTINCT ON (conversation_id) conversation_id, flow_id, status
                     FROM fs_executions WHERE tenant_id = :tenant_id AND trigger_type = 'message'
                     ORDER BY conversation_id, id) x ON x.conversation_id = c.id
          WHERE c.tenant_id = :tenant_id) c
)"""

FLOWS_SQL = """
INSERT INTO fs_flows (tenant_id, name, created_at)
SELECT :tenant_id, name, (CAST(:today AS date) - age)::timestamp AT TIME ZONE 'UTC'
       + interval '9 hours 30 minutes'
FROM jsonb_to_recordset(CAST(:flows AS jsonb)) AS f(name text, age int)
ORDER BY age DESC, name
"""

STEPS_SQL = """
INSERT INTO fs_flow_steps (tenant_id, flow_id, position, name)
SELECT :tenant_id, f.id, s.position, s.name
FROM jsonb_to_recordset(CAST(:flows AS jsonb)) AS j(name text, steps text)
JOIN fs_flows f ON f.tenant_id = :tenant_id AND f.name = j.name,
     unnest(string_to_array(j.steps, ' / ')) WITH ORDINALITY AS s(name, position)
ORDER BY f.id, s.position
"""

# A daily count of conversations, each started around the tenant's busy hour (15% at any
# time), from a customer pool where some customers come back often. The seed's day fits
# its hours into the part of it before :now.
CONVERSATIONS_SQL = f"""
WITH {_DAYS},
drawn AS (
    SELECT d.day_start, d.share, d.i::bigint * 10000000 + k AS key
    FROM days d, generate_series(1, floor(
        :rate * d.growth
        * (ARRAY[1.1, 1.18, 1.18, 1.14, 1.05, 0.7, 0.65])[extract(isodow FROM d.day)::int]
        * (0.8 + 0.4 * {_u("d.i", 1)}) * CASE WHEN {_u("d.i", 2)} < 0.02 THEN 1.7 ELSE 1 END
        + {_u("d.i", 3)})::int) AS k
),
timed AS MATERIALIZED (
    SELECT key, day_start, share, CASE WHEN {_u("key", 4)} < 0.85
        THEN :peak_hour * 3600 + 12600 * {_z("key", 5)} ELSE 86400 * {_u("key", 7)} END AS secs,
        1 + floor(:customers * power({_u("key", 8)}, 1.3))::bigint AS customer
    FROM drawn
)
INSERT INTO chat_conversations (tenant_id, channel, customer_id, started_at)
SELECT :tenant_id,
       (CAST(:channels AS text[]))[width_bucket({_u("key", 9)}, CAST(:channel_cdf AS float8[]))],
       'cus_' || lpad(customer::text, greatest(6, length(customer::text)), '0'),
       day_start + floor(1000 * share * (secs - 86400 * floor(secs / 86400))) * interval '1 ms'
           AS started_at
FROM timed
ORDER BY started_at, key
"""

# Flow runs: one per conversation routed to a flow (7% retried later), plus scheduled, API
# and manual runs without a conversation, those started by :now. ~8% fail (more in some
# flows and on rare incident days), 5% are aborted, 2% of today's and yesterday's runs are
# still running, and so is a run that would finish after :now.
EXECUTIONS_SQL = f"""
WITH {_DAYS},
flows AS (
    SELECT f.id, f.created_at, j.lo, j.hi, row_number() OVER (ORDER BY f.id) AS rank,
           count(*) OVER () AS n
    FROM fs_flows f
    JOIN jsonb_to_recordset(CAST(:flows AS jsonb)) AS j(name text, lo float8, hi float8)
        ON j.name = f.name
    WHERE f.tenant_id = :tenant_id
),
conv AS (
    SELECT c.*, {_u("c.ord", 10)} AS pick
    FROM (SELECT id, started_at, row_number() OVER (ORDER BY id) AS ord
          FROM chat_conversations WHERE tenant_id = :tenant_id) c
),
background AS MATERIALIZED (
    SELECT d.i::bigint * 100000 + k AS key, d.day_start, {_u("d.i * 100000 + k", 16)} AS v,
           {_u("d.i * 100000 + k", 17)} AS w
    FROM days d, generate_series(1, floor(
        :rate * 0.08 * d.growth * (0.6 + 0.8 * {_u("d.i", 14)}) + {_u("d.i", 15)})::int) AS k
),
runs AS (
    SELECT f.id AS flow_id, f.rank, c.id AS conversation_id, 'message' AS trigger_type,
           c.started_at + CASE WHEN r = 1 THEN 1 + 3 * {_u("c.ord", 11)}
               ELSE 60 + 1800 * {_u("c.ord", 12)} END * interval '1 second' AS started_at,
           c.ord * 4 + r AS key
    FROM conv c
    JOIN flows f ON c.pick >= f.lo AND c.pick < f.hi AND f.created_at <= c.started_at
    CROSS JOIN generate_series(1, CASE WHEN {_u("c.ord", 13)} < 0.07 THEN 2 ELSE 1 END) AS r
    UNION ALL
    SELECT f.id, f.rank, NULL,
           CASE WHEN v < 0.55 THEN 'schedule' WHEN v < 0.9 THEN 'api' ELSE 'manual' END,
           day_start + CASE WHEN v < 0.55 THEN 3600 * floor(24 * w) + 5 * v
               WHEN v < 0.9 THEN 86280 * w ELSE 28800 + 36000 * w END * interval '1 second',
           -key
    FROM background b
    JOIN flows f ON f.rank = 1 + floor(f.n * {_u("b.key", 18)}) AND f.created_at <= b.day_start
),
decided AS MATERIALIZED (
    SELECT r.*, CASE WHEN s < p_fail THEN 'failed' WHEN s < p_fail + 0.05 THEN 'aborted'
        WHEN s < p_fail + 0.07 AND started_at >= (CAST(:today AS date) - 1)::timestamp
            AT TIME ZONE 'UTC' THEN 'running'
        ELSE 'completed' END AS status
    FROM runs r, LATERAL (SELECT {_u("r.key", 20)} AS s,
        0.08 * (0.5 + {_u("r.rank", 21)}) + CASE WHEN {
    _u("(r.started_at AT TIME ZONE 'UTC')::date - CAST(:today AS date)", 22)
} < 0.015
            THEN 0.3 ELSE 0 END AS p_fail) AS x
    WHERE r.started_at <= CAST(:now AS timestamptz)
)
INSERT INTO fs_executions (tenant_id, flow_id, conversation_id, status, trigger_type,
                           started_at, finished_at, duration_ms)
SELECT :tenant_id, flow_id, conversation_id, CASE WHEN f.ms IS NULL THEN 'running' ELSE status END,
       trigger_type, started_at, started_at + f.ms * interval '1 ms', f.ms
FROM decided, LATERAL (SELECT CASE status
    WHEN 'completed' THEN {_lognormal_ms("key", 23, 2500, 0.8)}
    WHEN 'aborted' THEN {_lognormal_ms("key", 23, 15000, 0.7)}
    WHEN 'failed' THEN CASE WHEN {_u("key", 25)} < 0.35
        THEN 30000 + floor(2000 * {_u("key", 26)})::int  -- timeouts
        ELSE {_lognormal_ms("key", 23, 900, 1.0)} END
    END AS ms) AS d,
    LATERAL (SELECT CASE WHEN started_at + d.ms * interval '1 ms' <= CAST(:now AS timestamptz)
        THEN d.ms END AS ms) AS f  -- finished by :now
ORDER BY started_at, key
"""

# Each run reaches step 1, then goes on with probability 0.78 per step; completed runs reach
# every step. Steps are spread over the run's duration, in order, up to :now.
EXECUTION_STEPS_SQL = f"""
WITH runs AS MATERIALIZED (
    SELECT e.id, e.flow_id, e.started_at, coalesce(e.duration_ms, 1500 * n.steps) AS span_ms,
           CASE WHEN e.status = 'completed' THEN n.steps ELSE least(n.steps,
               1 + floor(ln({_u("e.ord", 30)}) / ln(0.78)))::int END AS reached, e.ord
    FROM (SELECT *, row_number() OVER (ORDER BY id) AS ord
          FROM fs_executions WHERE tenant_id = :tenant_id) e
    JOIN (SELECT flow_id, count(*)::int AS steps FROM fs_flow_steps
          WHERE tenant_id = :tenant_id GROUP BY flow_id) n ON n.flow_id = e.flow_id
)
INSERT INTO fs_execution_steps (tenant_id, execution_id, step_id, reached_at)
SELECT :tenant_id, r.id, s.id, t.reached_at
FROM runs r
JOIN fs_flow_steps s ON s.tenant_id = :tenant_id AND s.flow_id = r.flow_id
    AND s.position <= r.reached,
LATERAL (SELECT r.started_at + CASE WHEN s.position = 1 THEN 0
    ELSE r.span_ms * (s.position - 1 + 0.8 * {_u("r.ord * 8 + s.position", 31)}) / r.reached
    END * interval '1 ms' AS reached_at) AS t
WHERE t.reached_at <= CAST(:now AS timestamptz)
ORDER BY r.id, s.position
"""

# Engaged conversations alternate user/agent (2-14 messages, the odd double user message,
# sometimes a closing system notice); the others have one user message and maybe a notice.
# Agents answer in seconds, users in up to minutes; messages after :now are not written yet.
# 85% of agent replies carry LLM tokens; the prompt grows along the conversation.
MESSAGES_SQL = f"""
WITH {_FACTS},
shaped AS MATERIALIZED (
    SELECT f.*, 2 + 10 * {_u("f.ord", 42)} AS agent_s, 10 + 170 * {_u("f.ord", 43)} ^ 2 AS user_s,
           CASE WHEN f.engaged THEN least(14, greatest(2, round(5 * exp(0.5 * {_z("f.ord", 38)}))))
                ELSE 1 + ({_u("f.ord", 44)} < 0.4)::int END::int AS n,
           {_u("f.ord", 45)} < 0.12 AS closes
    FROM facts f
),
lines AS MATERIALIZED (
    SELECT s.*, p, s.ord * 16 + p AS key, CASE
        WHEN p = 1 THEN 'user'
        WHEN NOT s.engaged OR (p = s.n AND p >= 4 AND s.closes) THEN 'system'
        WHEN p % 2 = 0 AND p > 2 AND {_u("s.ord * 16 + p", 46)} < 0.06 THEN 'user'
        WHEN p % 2 = 0 THEN 'agent' ELSE 'user' END AS role,
        {_u("s.ord * 16 + p", 47)} < 0.85 AS llm
    FROM shaped s, generate_series(1, s.n) AS p
)
INSERT INTO chat_messages (tenant_id, conversation_id, flow_id, role, body, created_at,
                           prompt_tokens, completion_tokens, total_tokens, cost_usd)
SELECT :tenant_id, id, CASE WHEN role = 'agent' THEN flow_id END, role,
       CASE WHEN {_u("key", 50)} >= 0.08 THEN (CAST(:texts AS text[]))[
           1 + floor(4 * {_u("key", 51)})::int + 4 * CASE role WHEN 'user' THEN (p > 1)::int
               WHEN 'agent' THEN 2 + (p > 2)::int ELSE 4 END] END,
       a.created_at, t.pt, t.ct, t.pt + t.ct,
       round((t.pt * 0.0000025 + t.ct * 0.00001)::numeric, 6)
FROM lines,
LATERAL (SELECT started_at + (floor((p - 1) / 2) * (agent_s + user_s) + ((p - 1) % 2) * agent_s
    + CASE WHEN p > 1 THEN 0.4 * least(agent_s, user_s) * {_u("key", 52)} ELSE 0 END)
    * interval '1 second' AS created_at) AS a,
LATERAL (SELECT CASE WHEN role = 'agent' AND llm
        THEN least(3000, 300 + 150 * (p - 1) + 900 * {_u("key", 48)} ^ 2)::int END AS pt,
    CASE WHEN role = 'agent' AND llm THEN (20 + 380 * {_u("key", 49)} ^ 2.2)::int END AS ct) AS t
WHERE a.created_at <= CAST(:now AS timestamptz)
ORDER BY a.created_at, id, p
"""

# Chat events from EVENT_RULES (only conversation_started where no agent answered), plus
# campaign sends and clicks that belong to no conversation; those that happened by :now.
TELEMETRY_SQL = f"""
WITH {_FACTS}, {_DAYS},
rules AS MATERIALIZED (
    SELECT r.*, coalesce(fl.id, CASE WHEN r.flow = '' THEN 0 ELSE -1 END) AS flow_id
    FROM jsonb_to_recordset(CAST(:rules AS jsonb))
        AS r(n int, flow text, event text, p float8, funnel int, secs int)
    LEFT JOIN fs_flows fl ON fl.tenant_id = :tenant_id AND fl.name = r.flow
),
chat AS MATERIALIZED (
    SELECT f.id AS conversation_id, r.event, f.ord * 64 + r.n AS key,
           f.started_at + r.secs * interval '1 second'
               * (1 + 0.3 * {_u("f.ord", 60)} + 0.02 * {_u("f.ord * 64 + r.n", 61)}) AS occurred_at,
           round(least(900, greatest(5, 48 * exp(0.75 * {_z("f.ord", 62)})))::numeric, 2) AS amount,
           (CAST(:currencies AS text[]))[width_bucket({_u("f.ord", 64)},
               CAST(:currency_cdf AS float8[]))] AS currency,
           {_u("f.ord", 65)} AS v, {_u("f.ord", 66)} AS w, f.ord, f.channel, f.status
    FROM facts f
    JOIN rules r ON r.flow_id IN (0, f.flow_id) AND (f.engaged OR r.event = 'conversation_started')
        AND {_u("f.ord * 64 + r.funnel", 59)} < r.p
),
sends AS (
    SELECT d.i::bigint * 100000 + k AS key, d.day_start
    FROM days d, generate_series(1, floor(
        :rate * 0.15 * d.growth * (0.5 + {_u("d.i", 67)}) + {_u("d.i", 68)})::int) AS k
),
events AS (
    SELECT conversation_id, event, occurred_at, key, CASE event
        WHEN 'conversation_started' THEN jsonb_build_object('channel', channel, 'locale',
            (ARRAY['en-US', 'en-GB', 'de-DE', 'fr-FR', 'es-ES', 'nl-NL'])[1 + floor(6 * v)::int])
        WHEN 'product_viewed' THEN jsonb_build_object('sku', 'SKU-' || (1000 + floor(900 * w)),
            'category', (ARRAY['shoes', 'jackets', 'bags', 'accessories'])[1 + floor(4 * v)::int],
            'price', round(amount / (1 + floor(3 * v))::numeric, 2))
        WHEN 'add_to_cart' THEN jsonb_build_object('sku', 'SKU-' || (1000 + floor(900 * w)),
            'quantity', 1 + floor(3 * v ^ 3))
        WHEN 'checkout_started' THEN jsonb_build_object('cart_value', amount, 'currency', currency)
        WHEN 'order_placed' THEN jsonb_build_object('order_id', 'ORD-' || (100000 + ord),
            'amount', amount, 'currency', currency)
        WHEN 'refund_requested' THEN jsonb_build_object('amount', amount, 'currency', currency,
            'reason', (ARRAY['damaged', 'wrong size', 'not as described', 'changed mind'])
                [1 + floor(4 * v)::int])
        WHEN 'appointment_booked' THEN jsonb_build_object('days_ahead', 1 + floor(14 * w),
            'service', (ARRAY['consultation', 'fitting', 'repair', 'demo'])[1 + floor(4 * v)::int])
        WHEN 'lead_qualified' THEN jsonb_build_object('score', 50 + floor(50 * w),
            'segment', (ARRAY['smb', 'mid-market', 'enterprise'])[1 + floor(3 * v ^ 2)::int])
        WHEN 'newsletter_signup' THEN jsonb_build_object('source', 'chat', 'channel', channel)
        WHEN 'csat_submitted' THEN jsonb_build_object('score', CASE WHEN status = 'failed'
            THEN 1 + floor(3 * w) ELSE (ARRAY[2, 3, 4, 4, 5, 5, 5, 5])[1 + floor(8 * w)::int] END)
        WHEN 'handoff_to_human' THEN jsonb_build_object('reason', (ARRAY['asked for a person',
            'low confidence', 'negative sentiment'])[1 + floor(3 * w)::int])
        ELSE jsonb_build_object('url', 'https://shop.example.com/'
            || (ARRAY['track', 'sale', 'checkout', 'help', 'account'])[1 + floor(5 * w)::int])
        END AS properties
    FROM chat
    UNION ALL
    SELECT NULL, e.event, s.day_start + (32400 + 28800 * {_u("s.key", 69)}
               + e.delay * {_u("s.key", 70)}) * interval '1 second', -(s.key * 2 + e.n),
           jsonb_build_object('campaign', (ARRAY['Welcome series', 'Weekly deals',
               'Back in stock', 'Seasonal sale'])[1 + floor(4 * {_u("s.key", 71)})::int],
               'channel', CASE WHEN {_u("s.key", 72)} < 0.6 THEN 'email' ELSE 'whatsapp' END)
    FROM sends s
    JOIN (VALUES ('message_sent', 0, 0), ('link_clicked', 1, 7200)) AS e(event, n, delay)
        ON e.n = 0 OR {_u("s.key", 73)} < 0.22
)
INSERT INTO ins_telemetry_events (tenant_id, conversation_id, event_name, properties, occurred_at)
SELECT :tenant_id, conversation_id, event, properties, occurred_at
FROM events
WHERE occurred_at <= CAST(:now AS timestamptz)
ORDER BY occurred_at, key
"""

GOALS_SQL = """
INSERT INTO ins_goals (tenant_id, name, event_name, active, value_rule, fixed_value,
                       value_property, default_currency, created_at)
SELECT :tenant_id, name, event, active, rule, fixed, prop, coalesce(currency, :currency),
       (CAST(:today AS date) - :days - 37 + 7 * n)::timestamp AT TIME ZONE 'UTC'
           + interval '10 hours'
FROM jsonb_to_recordset(CAST(:goals AS jsonb)) AS g(n int, name text, event text,
    active boolean, rule text, fixed numeric, prop text, currency text)
ORDER BY n
"""

# (progress label, fraction done before it starts, statement)
STAGES = (
    ("flows", 0.0, FLOWS_SQL),
    ("flow steps", 0.01, STEPS_SQL),
    ("conversations", 0.02, CONVERSATIONS_SQL),
    ("executions", 0.08, EXECUTIONS_SQL),
    ("execution steps", 0.17, EXECUTION_STEPS_SQL),
    ("messages", 0.38, MESSAGES_SQL),
    ("goals", 0.80, GOALS_SQL),
    # Goal completions come from the events through goal matching (migration 0006).
    ("telemetry and goal completions", 0.80, TELEMETRY_SQL),
)

# Bulk statements over fresh, never-analysed rows: hash joins beat the nested loops the
# planner picks from its tiny row estimates. Set for the transaction, restored at the end.
SETTINGS = {"enable_nestloop": "off", "max_parallel_workers_per_gather": "0", "work_mem": "64MB"}
_GET_SETTINGS = """SELECT array_agg(current_setting(name) ORDER BY n)
FROM unnest(CAST(:names AS text[])) WITH ORDINALITY AS s(name, n)"""
_SET_SETTINGS = """SELECT set_config(name, value, true)
FROM unnest(CAST(:names AS text[]), CAST(:values AS text[])) AS s(name, value)"""


def _cumulative(weights: list[float]) -> list[float]:
    """Lower bound of each weight's bucket in [0, 1), for width_bucket()."""
    return [sum(weights[:index]) / sum(weights) for index in range(len(weights))]


def _records(fields: str, rows: tuple[tuple[object, ...], ...]) -> str:
    """JSON objects for jsonb_to_recordset(), numbered from 1 in `n`."""
    keys = ["n", *fields.split()]
    return json.dumps([dict(zip(keys, (n, *row), strict=True)) for n, row in enumerate(rows, 1)])


def _parameters(tenant_id: int, profile: DemoProfile, now: datetime.datetime) -> dict[str, object]:
    """Bound parameters, including the tenant's shape drawn from its seed."""
    rng = random.Random(profile.seed)
    others = [name for name in FLOWS if name not in CORE_FLOWS]
    rng.shuffle(others)
    names = [*CORE_FLOWS, *others[:4]]
    rng.shuffle(names)
    # Four flows predate the history; the last two launched during it.
    ages = [HISTORY_DAYS + rng.randint(20, 200) for _ in range(4)]
    ages += [rng.randint(40, HISTORY_DAYS - 60) for _ in range(2)]
    lows = [FLOW_COVERAGE * low for low in _cumulative([rng.uniform(0.5, 1.5) for _ in names])]
    highs = [*lows[1:], FLOW_COVERAGE]
    flows = [
        {"name": name, "steps": FLOWS[name], "age": age, "lo": lo, "hi": hi}
        for name, age, lo, hi in zip(names, ages, lows, highs, strict=True)
    ]
    channel_weights = [weight * rng.uniform(0.5, 1.6) for weight in CHANNELS.values()]
    currencies = [*CURRENCIES[profile.seed % 3 - 1 :], *CURRENCIES[: profile.seed % 3 - 1]]
    return {
        "tenant_id": tenant_id,
        "seed": profile.seed,
        "now": now,
        "today": now.astimezone(datetime.UTC).date(),
        "days": HISTORY_DAYS,
        "rate": float(profile.conversations_per_day),
        "customers": max(50, round(profile.conversations_per_day * HISTORY_DAYS * 0.6)),
        "peak_hour": rng.uniform(11.0, 16.0),
        "flows": json.dumps(flows),
        "channels": list(CHANNELS),
        "channel_cdf": _cumulative(channel_weights),
        "currency": currencies[0],
        "currencies": currencies,
        "currency_cdf": _cumulative([0.7, 0.2, 0.1]),
        "texts": [text for kind in TEXTS for text in kind],
        "rules": _records("flow event p funnel secs", EVENT_RULES),
        "goals": _records("name event active rule fixed prop currency", GOALS),
    }


def seed_platform_data(
    conn: Connection,
    *,
    tenant_id: int,
    profile: DemoProfile,
    now: datetime.datetime,
    on_step: Callable[[str, float], None] | None = None,
) -> None:
    """Insert flows, steps, conversations, messages, executions, execution steps, telemetry,
    goals, completions for tenant_id, as they stand at `now` (timezone-aware).

    `conn` is inside a transaction, as a role that bypasses row-level security.
    """
    names = list(SETTINGS)
    saved = conn.scalar(sa.text(_GET_SETTINGS), {"names": names})
    conn.execute(sa.text(_SET_SETTINGS), {"names": names, "values": list(SETTINGS.values())})
    parameters = _parameters(tenant_id, profile, now)
    for label, fraction, statement in STAGES:
        if on_step is not None:
            on_step(label, fraction)
        conn.execute(sa.text(statement), parameters)
    conn.execute(sa.text(_SET_SETTINGS), {"names": names, "values": saved})
    if on_step is not None:
        on_step("done", 1.0)
