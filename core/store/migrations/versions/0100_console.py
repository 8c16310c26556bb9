"""console: sessions, login attempts, turn reviews, list-filter indexes and full-text search on turns

Full-text search is dialect-specific and therefore lives only here, not in the models:
PostgreSQL gets a GIN index on to_tsvector('simple', text); SQLite an FTS5 table kept in step
with `turns` by triggers (external content, so the text is stored once).

Revision ID: 0100_console
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0100_console"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE turns_fts USING fts5(text, content='turns', content_rowid='id')",
    "CREATE TRIGGER turns_fts_ai AFTER INSERT ON turns BEGIN "
    "INSERT INTO turns_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER turns_fts_ad AFTER DELETE ON turns BEGIN "
    "INSERT INTO turns_fts(turns_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER turns_fts_au AFTER UPDATE OF text ON turns BEGIN "
    "INSERT INTO turns_fts(turns_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO turns_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO turns_fts(turns_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_console_sessions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_console_sessions")),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_sessions_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_console_sessions_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_username_at", ["username", "created_at"], unique=False)
        batch_op.create_index("ix_login_attempts_ip_at", ["ip", "created_at"], unique=False)

    op.create_table(
        "turn_reviews",
        sa.Column("turn_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["turn_id"], ["turns.id"], name=op.f("fk_turn_reviews_turn_id_turns"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_turn_reviews_user_id_users")),
        sa.PrimaryKeyConstraint("turn_id", name=op.f("pk_turn_reviews")),
    )

    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index("ix_conversations_status_activity", ["status", "last_activity_at"], unique=False)
        batch_op.create_index("ix_conversations_min_confidence", ["min_confidence"], unique=False)
        batch_op.create_index("ix_conversations_negative", ["has_negative_feedback", "started_at"], unique=False)
        batch_op.create_index("ix_conversations_csat", ["csat"], unique=False)
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.create_index("ix_turns_intent_conversation", ["intent", "conversation_id"], unique=False)
        batch_op.create_index("ix_turns_speaker_confidence", ["speaker", "confidence"], unique=False)

    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("CREATE INDEX ix_turns_text_fts ON turns USING gin (to_tsvector('simple', text))")
    elif dialect == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_turns_text_fts")
    elif dialect == "sqlite":
        for trigger in ("turns_fts_ai", "turns_fts_ad", "turns_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS turns_fts")
    with op.batch_alter_table("turns", schema=None) as batch_op:
        batch_op.drop_index("ix_turns_speaker_confidence")
        batch_op.drop_index("ix_turns_intent_conversation")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_csat")
        batch_op.drop_index("ix_conversations_negative")
        batch_op.drop_index("ix_conversations_min_confidence")
        batch_op.drop_index("ix_conversations_status_activity")
    op.drop_table("turn_reviews")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_ip_at")
        batch_op.drop_index("ix_login_attempts_username_at")
    op.drop_table("login_attempts")
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_sessions_expires_at"))
        batch_op.drop_index(batch_op.f("ix_console_sessions_user_id"))
    op.drop_table("console_sessions")
