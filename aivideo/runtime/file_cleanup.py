"""Removal of stored files that no artifact references any more, safe against reuse.

Storage is content-addressed, so a job may be about to reference a file that a cleanup
has just found unreferenced (identical content is stored once): the job stored it, or
found it stored, minutes before it commits the artifact that references it. Deletion is
therefore a decision made under a per-file lock:

- a cleanup takes the file's lock, checks that no artifact references the file, and
  deletes it while still holding the lock;
- every transaction that commits artifacts referencing files first takes their locks
  (`FileCleanup.hold`) and checks that each file is still stored; if one was removed,
  it raises `StoredFileGone` and the work is redone (the provider-call ledger only
  reuses results whose file exists, so the file is made again).

Either the commit goes first, and the cleanup then sees the reference and keeps the
file, or the cleanup goes first, and the commit sees the file gone and never points at
it. No artifact ever references a deleted file. On PostgreSQL the lock is a
transaction-scoped advisory lock per file; SQLite has one writer, so there it is the
database's write lock, taken by a write as the transaction's first statement.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import false, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from aivideo.db import SessionMaker
from aivideo.models import Artifact, Video
from aivideo.storage.base import Storage

log = logging.getLogger(__name__)


class StoredFileGone(Exception):
    """A file that work was about to reference was removed meanwhile: redo the work."""

    def __init__(self, sha256: str) -> None:
        super().__init__(f"stored file {sha256} was removed before it could be used")
        self.sha256 = sha256


def redo_if_file_gone(what: str) -> AsyncRetrying:
    """Retries of work whose commit found one of its files removed (a rare race: 3 tries)."""

    def report(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("%s: %s; doing it again", what, error)

    return AsyncRetrying(
        retry=retry_if_exception_type(StoredFileGone),
        stop=stop_after_attempt(3),
        before_sleep=report,
        reraise=True,
    )


def _lock_key(sha256: str) -> int:
    """A signed 64-bit advisory lock key from the file's hash."""
    return int.from_bytes(bytes.fromhex(sha256[:16]), "big", signed=True)


async def lock_files(session: AsyncSession, shas: Iterable[str]) -> None:
    """Hold the files' locks until the transaction ends (in one order, so no deadlock)."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        for sha in sorted(set(shas)):
            await session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(sha)}
            )
    else:
        # A write that matches no row still takes SQLite's write lock.
        await session.execute(update(Video).where(false()).values(title=Video.title))


@dataclass(frozen=True)
class FileCleanup:
    """Deletes content-addressed files once no artifact uses them (see the module doc)."""

    sessions: SessionMaker
    storage: Storage

    async def drop_unreferenced(self, shas: set[str]) -> None:
        """Delete each unreferenced file on its own; a failure is logged and leaves the file."""
        for sha in sorted(shas):
            try:
                await self._drop_if_unreferenced(sha)
            except Exception as exc:  # storage or database outage: the file stays, harmlessly
                log.warning("unused file %s not removed: %s: %s", sha, type(exc).__name__, exc)

    async def _drop_if_unreferenced(self, sha: str) -> None:
        async with self.sessions() as session, session.begin():
            await lock_files(session, [sha])
            used = await session.scalar(
                select(col(Artifact.id)).where(col(Artifact.sha256) == sha).limit(1)
            )
            if used is None:
                await self.storage.delete(sha)  # under the lock: see the module doc

    async def hold(self, session: AsyncSession, shas: Iterable[str]) -> None:
        """In a transaction about to reference `shas`: keep cleanups off them until it ends,
        and raise `StoredFileGone` if one was removed before."""
        wanted = sorted({sha for sha in shas if sha})
        if not wanted:
            return
        await lock_files(session, wanted)
        for sha in wanted:
            if not await self.storage.exists(sha):
                raise StoredFileGone(sha)
