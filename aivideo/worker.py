"""The `aivideo worker` process: its taskiq broker, and the runtime each worker starts."""

from __future__ import annotations

import asyncio
from contextlib import suppress

from taskiq import AsyncBroker, TaskiqEvents, TaskiqState

from aivideo.bootstrap import build_jobs, start_runtime, stop_runtime
from aivideo.pipeline.run_watch import start_sweeper
from aivideo.settings import settings
from aivideo.tracing import shutdown_tracing


def build_worker_broker() -> AsyncBroker:
    """The broker for taskiq's worker CLI (`aivideo.worker:build_worker_broker`).

    Each worker process builds its own, from the process settings, with every job
    registered; its startup starts the runtime and the sweep for lost runs. `aivideo
    worker` starts them once Redis answers, and their listener waits out a later outage
    (`PatientRedisStreamBroker`), so they do not die and restart while Redis is away.
    """
    config = settings
    jobs = build_jobs(config)

    async def start(state: TaskiqState) -> None:
        state.runtime = await start_runtime(config, jobs)
        state.sweeper = start_sweeper(state.runtime)

    async def stop(state: TaskiqState) -> None:
        sweeper = getattr(state, "sweeper", None)
        if sweeper is not None:
            sweeper.cancel()
            with suppress(asyncio.CancelledError):
                await sweeper
        runtime = getattr(state, "runtime", None)
        if runtime is not None:
            await stop_runtime(runtime, jobs)
        shutdown_tracing()

    jobs.broker.add_event_handler(TaskiqEvents.WORKER_STARTUP, start)
    jobs.broker.add_event_handler(TaskiqEvents.WORKER_SHUTDOWN, stop)
    return jobs.broker
