"""step-up: a turn's `secret_input`

- on a bot turn: the kind of secret its question asks for (`one_time_code`: the step-up before a
  card block), so the customer's next message is stored masked;
- on a customer turn: the kind of secret its text stands for (the text is the placeholder, never
  the secret).

Revision ID: 0410_stepup_secret_input
Revises: 0400_assist
"""
import sqlalchemy as sa
from alembic import op

revision = "0410_stepup_secret_input"
down_revision = "0400_assist"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secret_input", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_column("secret_input")
