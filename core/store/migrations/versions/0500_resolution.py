"""resolution: which source answered each bot turn, and traffic kept out of the analytics

- `turns.answer_source`: `rule`, `kb`, `learnt`, `fallback` or `agent` (bot/answer_source.py).
- `turns.answer_template`: the learnt reply's template as the dialogue model's bank holds it.
- `conversations.excluded`: why a conversation is not customer traffic (`rate_limited`,
  `invalid_frames`, `load_generator`); NULL for customers. Every analytics query skips the others.

Revision ID: 0500_resolution
Revises: 0410_stepup_secret_input
"""
import sqlalchemy as sa
from alembic import op

revision = "0500_resolution"
down_revision = "0410_stepup_secret_input"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer_source", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("answer_template", sa.Text(), nullable=True))
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("excluded", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("excluded")
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_column("answer_template")
        batch_op.drop_column("answer_source")
