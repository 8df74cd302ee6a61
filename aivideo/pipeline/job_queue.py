"""The jobs as taskiq tasks on one broker built from the settings; their runtime is bound later."""

from __future__ import annotations

import time
import uuid
from typing import Any

from taskiq import AsyncBroker, AsyncTaskiqDecoratedTask

from aivideo import metrics
from aivideo.pipeline import phase_jobs, regeneration_jobs
from aivideo.pipeline.broker import build_broker
from aivideo.runtime import Runtime
from aivideo.settings import Settings
from aivideo.tracing import job_middlewares


class TaskiqJobs:
    """The job queue over a taskiq broker: phase runs and regenerations.

    The tasks are registered on the broker when it is built; the runtime they run with is
    bound once it is started (`bind`), in the API process and in each worker process.
    """

    def __init__(self, config: Settings) -> None:
        self.broker: AsyncBroker = build_broker(config)
        self.broker.add_middlewares(*job_middlewares(config))
        self._timeout = config.regenerate_timeout_seconds
        self._runtime: Runtime | None = None

        async def run_phase(run_id: str) -> None:
            await phase_jobs.run_phase(self.runtime, run_id)

        async def regenerate_beat(
            owner: str,
            checkpoint_id: str,
            beat_index: int,
            prompt_override: str | None,
            job_id: str,
        ) -> dict[str, Any]:
            return await regeneration_jobs.regenerate_beat(
                self.runtime, owner, checkpoint_id, beat_index, prompt_override, job_id
            )

        async def regenerate_chunk(
            owner: str,
            checkpoint_id: str,
            chunk_index: int,
            model_override: str | None,
            job_id: str,
        ) -> dict[str, Any]:
            return await regeneration_jobs.regenerate_chunk(
                self.runtime, owner, checkpoint_id, chunk_index, model_override, job_id
            )

        self._run_phase = self.broker.register_task(run_phase, task_name="aivideo.run_phase")
        self._regenerations: dict[str, AsyncTaskiqDecoratedTask[..., Any]] = {
            "regenerateBeat": self.broker.register_task(
                regenerate_beat, task_name="aivideo.regenerate_beat"
            ),
            "regenerateChunk": self.broker.register_task(
                regenerate_chunk, task_name="aivideo.regenerate_chunk"
            ),
        }

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("a job arrived before the process's runtime was started")
        return self._runtime

    def bind(self, runtime: Runtime | None) -> None:
        """The runtime jobs run with (None once it is stopped)."""
        self._runtime = runtime

    async def enqueue_run(self, run_id: str) -> None:
        await self._run_phase.kiq(run_id)
        metrics.job_queued("run")

    async def regenerate(
        self, edit: str, *, owner: str, checkpoint_id: str, index: int, override: str | None
    ) -> dict[str, Any]:
        """Run a regeneration as a job and wait for its outcome (`artifactId` or `error`)."""
        job_id = f"regen-{uuid.uuid4().hex}"
        task = self._regenerations[edit]
        job = await task.kiq(owner, checkpoint_id, index, override, job_id)
        metrics.job_queued("regenerate")
        metrics.job_started("regenerate")  # as this process sees it: queued until answered
        started = time.monotonic()
        result = await job.wait_result(timeout=self._timeout)
        outcome_label = (
            "failed" if result.is_err or "error" in (result.return_value or {}) else "succeeded"
        )
        metrics.job_finished("regenerate", outcome_label, time.monotonic() - started)
        if result.is_err:
            raise RuntimeError(f"{edit} job failed: {result.error!r}")
        outcome: dict[str, Any] = result.return_value
        return outcome
