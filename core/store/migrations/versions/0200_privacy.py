"""privacy: audit events, which conversations each model learnt from, redaction and retrain marks

`conversations.redacted_at` records that the storage policy rewrote a closed conversation to its
redacted form; `registered_models.needs_retrain` / `retrain_reason` flag a model whose training
data held an erased customer's conversation.

Revision ID: 0200_privacy
Revises: 0100_console
"""
import sqlalchemy as sa
from alembic import op

revision = "0200_privacy"
down_revision = "0100_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_action_at", ["action", "created_at"], unique=False)

    op.create_table(
        "model_training_conversations",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["registered_models.id"],
                                name=op.f("fk_model_training_conversations_model_id_registered_models"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_id", "conversation_id", name=op.f("pk_model_training_conversations")),
    )
    with op.batch_alter_table("model_training_conversations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_training_conversations_conversation_id"), ["conversation_id"],
                              unique=False)

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("registered_models", schema=None) as batch_op:
        batch_op.add_column(sa.Column("needs_retrain", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("retrain_reason", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("registered_models", schema=None) as batch_op:
        batch_op.drop_column("retrain_reason")
        batch_op.drop_column("needs_retrain")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("redacted_at")
    with op.batch_alter_table("model_training_conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_training_conversations_conversation_id"))
    op.drop_table("model_training_conversations")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_action_at")
    op.drop_table("audit_events")
