"""A Rasa lock store for several Rasa processes on one machine, with no server to run: file locks.

Loaded by Rasa itself (it runs in .venv-rasa, not in the bot service): `supportbot up` writes

    lock_store:
      type: rasa_plugins.lock_store.FileLockStore
      lock_dir: var/run/rasa-5005/locks

into the endpoints file it gives `rasa run` when `rasa_processes` or `rasa_workers` > 1 and no Redis
lock store is configured. Rasa's servers (and their Sanic workers) are separate processes; each message takes its conversation's lock
before its tracker is read and releases it after the tracker is saved, so two messages of one
conversation never interleave, whichever workers they reach.

How: the conversation id is hashed into one of `buckets` files under `lock_dir`, and the lock is an
exclusive `flock` on that file, taken without blocking the event loop (polled every `poll_s`).
`flock` belongs to the open file, so it excludes other coroutines of the same process as well as
other processes, and the kernel releases it when a process dies: a crashed worker never leaves a
conversation locked (Rasa's ticket locks need a lifetime for that). Inside one process the waiters
of one conversation queue on an `asyncio.Lock`, so they are served in arrival order. Two
conversations that share a bucket only wait for each other briefly. For Rasa servers on several
machines use the Redis lock store (`SUPPORTBOT_RASA_LOCK_STORE_URL`).
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import hashlib
import os
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncGenerator, Optional

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore

DEFAULT_BUCKETS = 1024


def bucket_of(conversation_id: str, buckets: int) -> int:
    """The same bucket in every process (Python's own hash() is salted per process)."""
    digest = hashlib.blake2b(conversation_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % buckets


class FileLockStore(LockStore):
    def __init__(self, endpoint_config: Any = None, lock_dir: Optional[str] = None,
                 buckets: Optional[int] = None, poll_s: Optional[float] = None) -> None:
        kwargs = dict(getattr(endpoint_config, "kwargs", None) or {})
        lock_dir = lock_dir or kwargs.get("lock_dir") or getattr(endpoint_config, "url", None)
        if not lock_dir:
            raise ValueError("FileLockStore needs `lock_dir` (a folder every Rasa process on this machine can "
                             "write), e.g. `lock_dir: var/run/rasa-5005/locks` under `lock_store` in endpoints.yml.")
        self.lock_dir = Path(lock_dir)
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        self.buckets = int(buckets or kwargs.get("buckets") or DEFAULT_BUCKETS)
        self.poll_s = float(poll_s or kwargs.get("poll_s") or 0.005)
        self._local: dict[str, tuple[asyncio.Lock, int]] = {}  # conversation -> (lock, waiters) in this process

    def path_for(self, conversation_id: str) -> Path:
        return self.lock_dir / f"{bucket_of(conversation_id, self.buckets):05d}.lock"

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncGenerator[TicketLock, None]:
        """Hold the conversation's lock; LockError after waiting `lock_lifetime` seconds for it."""
        local, waiters = self._local.get(conversation_id, (asyncio.Lock(), 0))
        self._local[conversation_id] = (local, waiters + 1)
        try:
            async with local:
                fd = await self._acquire(conversation_id, time.monotonic() + lock_lifetime)
                try:
                    yield TicketLock(conversation_id)
                finally:
                    os.close(fd)  # closing the file releases its flock
        finally:
            local, waiters = self._local[conversation_id]
            if waiters <= 1:
                del self._local[conversation_id]
            else:
                self._local[conversation_id] = (local, waiters - 1)

    async def _acquire(self, conversation_id: str, deadline: float) -> int:
        fd = os.open(self.path_for(conversation_id), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return fd
                except OSError as exc:
                    if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise
                if time.monotonic() > deadline:
                    raise LockError(f"Could not acquire the lock for conversation {conversation_id!r}: another "
                                    f"Rasa process has held {self.path_for(conversation_id)} for too long.")
                await asyncio.sleep(self.poll_s)
        except BaseException:
            os.close(fd)
            raise

    # Rasa's ticket-lock bookkeeping is not used: the lock above is the whole protocol.
    def get_lock(self, conversation_id: str) -> Optional[TicketLock]:
        return None

    def delete_lock(self, conversation_id: str) -> None:
        return None

    def save_lock(self, lock: TicketLock) -> None:
        return None
