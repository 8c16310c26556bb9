"""hardening: what Rasa received for a customer turn, verified customer identities, login back-off index

- `turns.rasa_text`: the text Rasa was given when it differs from what the customer saw (the payload
  of the offered button that was clicked, a message starting with `/` escaped as text).
- `customer_sessions.verified_user_id`, `conversations.verified_user_id`: the host site's user id,
  set only when its HMAC verified (bot/identity.py).
- an index on login_attempts (username, ip, created_at) for the per-(username, address) back-off.
- `console_sessions.last_used_at`: the console's idle timeout.

Revision ID: 0300_hardening
Revises: 0200_privacy
"""
import sqlalchemy as sa
from alembic import op

revision = "0300_hardening"
down_revision = "0200_privacy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rasa_text", sa.Text(), nullable=True))
    with op.batch_alter_table("customer_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_user_id", sa.String(length=128), nullable=True))
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_user_id", sa.String(length=128), nullable=True))
        batch_op.create_index("ix_conversations_verified_user", ["verified_user_id"], unique=False)
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_username_ip_at", ["username", "ip", "created_at"], unique=False)
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_column("last_used_at")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_username_ip_at")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_verified_user")
        batch_op.drop_column("verified_user_id")
    with op.batch_alter_table("customer_sessions", schema=None) as batch_op:
        batch_op.drop_column("verified_user_id")
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_column("rasa_text")
