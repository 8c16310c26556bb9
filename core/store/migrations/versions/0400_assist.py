"""assist: every reply suggestion shown to an agent, and whether it was accepted, edited or ignored

Revision ID: 0400_assist
Revises: 0300_hardening
"""
import sqlalchemy as sa
from alembic import op

revision = "0400_assist"
down_revision = "0300_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assist_suggestions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("batch", sa.String(length=32), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("shown_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("final_text", sa.Text(), nullable=True),
        sa.Column("turn_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"],
                                name=op.f("fk_assist_suggestions_conversation_id_conversations"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_assist_suggestions_user_id_users")),
        sa.ForeignKeyConstraint(["turn_id"], ["turns.id"], name=op.f("fk_assist_suggestions_turn_id_turns"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assist_suggestions")),
    )
    with op.batch_alter_table("assist_suggestions", schema=None) as batch_op:
        batch_op.create_index("ix_assist_suggestions_conversation", ["conversation_id", "shown_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_assist_suggestions_batch"), ["batch"], unique=False)
        batch_op.create_index(batch_op.f("ix_assist_suggestions_turn_id"), ["turn_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("assist_suggestions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assist_suggestions_turn_id"))
        batch_op.drop_index(batch_op.f("ix_assist_suggestions_batch"))
        batch_op.drop_index("ix_assist_suggestions_conversation")
    op.drop_table("assist_suggestions")
