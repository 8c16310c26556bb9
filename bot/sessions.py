"""Customer sessions: unguessable bearer tokens, of which the store keeps only a hash.

A widget session is created on the first `hello` without a token: the server draws 256 random
bits, hands the token to the browser (localStorage) once and stores its SHA-256. Every later
connection proves ownership by presenting the token, so a customer can only ever reach the
conversations of their own session. Sessions of the server-to-server API are scoped to the API
key: the same `session_id` under two keys names two different customers.

A widget token expires after `session_idle_days` without use (a shared or lost device should not
reopen a month-old chat); the conversations stay stored for agents and retraining.
"""

from __future__ import annotations

import hashlib
import secrets

from bot.conversations import ConversationStore
from bot.errors import UnknownSession

TOKEN_BYTES = 32  # 256 bits, well above the 128 the threat model asks for


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def api_session_hash(api_key_id: int, session_id: str) -> str:
    """The stored id of an API customer: derived from the key, so keys cannot reach each other's sessions."""
    return hashlib.sha256(f"api:{api_key_id}:{session_id}".encode()).hexdigest()


class Sessions:
    """Issues and resolves customer sessions on top of the conversation store."""

    def __init__(self, store: ConversationStore, idle_days: float | None = None):
        self.store = store
        self.idle_days = idle_days

    def create_widget_session(self, origin: str | None) -> tuple[str, dict]:
        """(token, session): the token leaves the server exactly once, here."""
        token = new_token()
        return token, self.store.create_session(token_hash(token), channel="widget", origin=origin)

    def resolve_widget_token(self, token: str) -> dict:
        if not isinstance(token, str) or not 20 <= len(token) <= 200:
            raise UnknownSession("This chat session is unknown or has expired; a new one will be started.")
        session = self.store.session_by_token_hash(token_hash(token), self.idle_days)
        if session is None:
            raise UnknownSession("This chat session is unknown or has expired; a new one will be started.")
        return session

    def create_api_session(self, api_key_id: int) -> tuple[str, dict]:
        """A new server-issued session id for an API caller (also unguessable)."""
        session_id = new_token()
        h = api_session_hash(api_key_id, session_id)
        return session_id, self.store.create_session(h, channel="api", session_id=h[:64])

    def resolve_api_session(self, api_key_id: int, session_id: str) -> dict:
        session = self.store.session_by_token_hash(api_session_hash(api_key_id, session_id))
        if session is None:
            raise UnknownSession(
                "Unknown session_id for this API key. Omit session_id to start a new session; "
                "the response tells you the new id."
            )
        return session
