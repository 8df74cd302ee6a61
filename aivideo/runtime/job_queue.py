"""The job queue as the rest of the process sees it (taskiq's lives in `pipeline/`)."""

from __future__ import annotations

from typing import Any, Protocol


class JobQueue(Protocol):
    """Where jobs go: phase runs, and regenerations whose result the caller waits for."""

    async def enqueue_run(self, run_id: str) -> None: ...

    async def regenerate(
        self, edit: str, *, owner: str, checkpoint_id: str, index: int, override: str | None
    ) -> dict[str, Any]: ...
