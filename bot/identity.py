"""Identity verification for customers who are logged in on the embedding site.

The host site's server computes `user_hash = hex(HMAC-SHA256(site secret, user_id))` and the page
passes both to the widget (`data-user-id`, `data-user-hash`), which sends them in `hello`. The
service trusts the id only when the signature verifies against the secret configured for the
page's origin (`identity_secrets`, with `*` as the fallback), compared in constant time; it then
links the session and its conversation to the id and tells Rasa (message metadata
`verified_user_id`), so account actions such as the card block can require it. A visitor without
an id stays anonymous and keeps everything else; a bad signature is refused and nothing is linked.

The secret never leaves the host site's server; rotating it: configure the new one, deploy the host
site signing with it (old signatures then fail, so customers reconnect anonymously until reloaded).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from bot.errors import IdentityInvalid
from bot.text_rules import bad_character

MAX_USER_ID = 128


def sign(secret: str, user_id: str) -> str:
    """What the host site's server computes (documented in docs/security.md)."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


class Identity:
    def __init__(self, secrets: dict[str, str]):
        self._secrets = {origin.rstrip("/").lower(): secret for origin, secret in secrets.items() if secret}

    @property
    def enabled(self) -> bool:
        return bool(self._secrets)

    def _secret_for(self, origin: str | None) -> str | None:
        return self._secrets.get((origin or "").rstrip("/").lower()) or self._secrets.get("*")

    def verify(self, origin: str | None, user_id: Any, user_hash: Any) -> str:
        """The verified user id; raises IdentityInvalid (nothing is trusted) otherwise."""
        if not isinstance(user_id, str) or not 1 <= len(user_id) <= MAX_USER_ID or bad_character(user_id):
            raise IdentityInvalid(f"`user_id` must be a string of 1 to {MAX_USER_ID} printable characters.")
        secret = self._secret_for(origin)
        if secret is None:
            raise IdentityInvalid("This site cannot identify its users to the chat (no identity secret is "
                                  "configured for it); the chat continues without your account.")
        given = user_hash.encode("utf-8", "surrogateescape") if isinstance(user_hash, str) else b""
        if not hmac.compare_digest(sign(secret, user_id).encode(), given.lower()):
            raise IdentityInvalid("Your account could not be verified, so the chat continues without it; "
                                  "reload the page, and if this persists the site's user signature is wrong.")
        return user_id
