"""Indexes for the Event Explorer (db/events.py): a conversation's events, and a
customer's conversations. Events by time and by name use the indexes of 0001.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.execute("""
CREATE INDEX ins_telemetry_events_tenant_conversation
    ON ins_telemetry_events (tenant_id, conversation_id, occurred_at)
    WHERE conversation_id IS NOT NULL;
CREATE INDEX chat_conversations_tenant_customer ON chat_conversations (tenant_id, customer_id);
""")


def downgrade() -> None:
    op.execute(
        "DROP INDEX ins_telemetry_events_tenant_conversation, chat_conversations_tenant_customer"
    )
