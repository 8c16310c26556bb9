"""language: each customer message's detected language and the conversation's (their majority)

Revision ID: 0510_language
Revises: 0500_resolution
"""
import sqlalchemy as sa
from alembic import op

revision = "0510_language"
down_revision = "0500_resolution"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f("ix_conversations_language"), ["language"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_language"))
        batch_op.drop_column("language")
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_column("language")
