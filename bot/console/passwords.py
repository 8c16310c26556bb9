"""Password hashing for console accounts: argon2id through argon2-cffi (a maintained library).

Hashes carry their own parameters, so raising the cost later only needs `needs_rehash` at the
next successful login. A dummy hash is verified when the username does not exist, so a login
takes the same time whether or not the account is real.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.errors import Unprocessable

MIN_LENGTH = 10
MAX_LENGTH = 1024  # argon2 hashes anything, but a megabyte "password" is a denial of service


class WeakPassword(Unprocessable, ValueError):
    code = "weak_password"


@functools.lru_cache(maxsize=1)
def hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, RFC 9106 low-memory profile


@functools.lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hasher().hash("not-a-real-password-only-for-timing")


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Passwords need at least {MIN_LENGTH} characters; a short sentence works well.")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"Passwords are limited to {MAX_LENGTH} characters.")


def hash_password(password: str) -> str:
    check_strength(password)
    return hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing or corrupt hash is simply a mismatch."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return hasher().verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return hasher().check_needs_rehash(stored_hash)
