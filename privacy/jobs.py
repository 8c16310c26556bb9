"""The privacy jobs the bot service runs itself: the storage-policy redaction, then retention.

`PrivacyJobs.run_once()` runs both synchronously (also `supportbot customers jobs`, for cron).
`start()` launches an asyncio task (the app's lifespan calls it) that runs them every
`privacy_job_interval_s` seconds, the first time one interval after start-up, each run in a worker
thread so the event loop keeps serving; `stop()` cancels it. A failed run is logged (its error
class and message, no customer text) and retried at the next interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from privacy import redaction_job, retention
from privacy.subject import PrivacyStores

log = logging.getLogger(__name__)


class PrivacyJobs:
    def __init__(self, settings, db=None, engine=None):
        self.settings = settings
        self.stores = PrivacyStores.from_settings(settings, db)
        self.engine = engine
        self.interval_s = float(settings.privacy_job_interval_s)
        self._task: asyncio.Task | None = None
        self.runs = 0

    def run_once(self) -> dict:
        s = self.settings
        out = {"redaction": redaction_job.run(self.stores, s.pii_redact_after_days, self.engine),
               "retention": retention.run(self.stores, s.retention_days)}
        self.runs += 1
        log.info("privacy jobs: %d conversation(s) redacted, %d deleted", out["redaction"]["redacted_conversations"],
                 out["retention"]["deleted_conversations"])
        return out

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await asyncio.to_thread(self.run_once)
            except Exception as exc:  # noqa: BLE001 - keep the schedule; the next run retries
                log.error("privacy jobs failed (%s: %s); retrying in %.0f s", exc.__class__.__name__,
                          str(exc).splitlines()[0][:200] if str(exc) else "",
                          self.interval_s)

    def start(self) -> None:
        if self.interval_s > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="privacy-jobs")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.stores.events.dispose()
