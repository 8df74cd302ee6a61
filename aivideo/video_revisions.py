"""Videos' owners and revisions read inline from SQLite, for checks made on every request.

Cached answers (schema/cached_answers.py) check the revision of their videos on every
request. Through the async engine, a read on SQLite is a session and several hops to
aiosqlite's thread, which cost more than the rest of a cached request. A primary-key
read takes microseconds, so it is made here on the event loop's thread, on a read-only
connection of its own: in WAL mode a reader never waits for the writer, and each
statement (autocommit) sees the last committed state.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import make_url

log = logging.getLogger(__name__)


class SqliteRevisions:
    """`{video id: (owner, revision)}` of existing videos, from the SQLite file at `url`."""

    def __init__(self, url: str) -> None:
        self.path = Path(make_url(url).database or "")
        self._connection: sqlite3.Connection | None = None

    def read(self, ids: Sequence[str]) -> dict[str, tuple[str, int]] | None:
        """None when the database cannot answer at once (the caller then does without)."""
        marks = ",".join("?" * len(ids))
        try:
            rows = self._connect().execute(
                f"SELECT id, owner, revision FROM videos WHERE id IN ({marks})", tuple(ids)
            )
            return {row[0]: (row[1], row[2]) for row in rows}
        except sqlite3.Error as exc:
            log.warning("video revisions not read: %s", exc)
            self.close()
            return None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            self._connection = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro",
                uri=True,
                timeout=0.05,  # never hold the event loop waiting for a lock
                isolation_level=None,
                check_same_thread=False,
            )
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
