"""Goal matching: every telemetry event of an active goal becomes a goal completion.

The platform's telemetry pipeline inserts `ins_telemetry_events`; a statement-level
trigger then records, in the same transaction, one `ins_goal_completions` row per event
in a conversation whose name is an active goal's `event_name`:
- value by the goal's rule: `fixed` → `fixed_value`; `property` → the event property
  named by `value_property` (and the event's `currency` property when it has one);
  `none` → no value;
- currency: the event's `currency` property for `property` goals, else the goal's
  `default_currency`;
- channel and customer: the conversation's; flow: the flow of the conversation's first
  execution, if any; completed at the event's time.
Events outside a conversation (no customer) and events of inactive goals complete
nothing. The statement-level form (a transition table) keeps bulk inserts set-based.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"

UPGRADE = """
CREATE INDEX fs_executions_tenant_conversation
    ON fs_executions (tenant_id, conversation_id, id) WHERE conversation_id IS NOT NULL;

CREATE FUNCTION ins_match_goals() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, public
    AS $$
BEGIN
    INSERT INTO ins_goal_completions (tenant_id, goal_id, channel, currency, value,
                                      customer_id, conversation_id, flow_id, completed_at)
    SELECT e.tenant_id, g.id, c.channel,
           CASE WHEN g.value_rule = 'property'
                THEN coalesce(e.properties ->> 'currency', g.default_currency)
                ELSE g.default_currency END,
           CASE g.value_rule WHEN 'fixed' THEN g.fixed_value
                WHEN 'property' THEN (e.properties ->> g.value_property)::numeric(14, 2) END,
           c.customer_id, c.id, first_run.flow_id, e.occurred_at
    FROM new_events e
    JOIN ins_goals g ON g.tenant_id = e.tenant_id AND g.event_name = e.event_name AND g.active
    JOIN chat_conversations c ON c.tenant_id = e.tenant_id AND c.id = e.conversation_id
    LEFT JOIN (
        SELECT DISTINCT ON (x.tenant_id, x.conversation_id) x.tenant_id, x.conversation_id,
               x.flow_id
        FROM fs_executions x
        WHERE (x.tenant_id, x.conversation_id) IN (SELECT tenant_id, conversation_id
                                                   FROM new_events)
        ORDER BY x.tenant_id, x.conversation_id, x.id
    ) first_run ON first_run.tenant_id = c.tenant_id AND first_run.conversation_id = c.id
    ORDER BY e.occurred_at, e.id, g.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER ins_telemetry_events_match_goals
    AFTER INSERT ON ins_telemetry_events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION ins_match_goals();
"""

DOWNGRADE = """
DROP TRIGGER ins_telemetry_events_match_goals ON ins_telemetry_events;
DROP FUNCTION ins_match_goals();
DROP INDEX fs_executions_tenant_conversation;
"""


def upgrade() -> None:
    op.execute(UPGRADE)


def downgrade() -> None:
    op.execute(DOWNGRADE)
