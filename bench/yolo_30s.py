"""A 30-second YOLO video end to end on the embedded default, with the local provider.

Prints the wall time of each phase and in total, and the whole run's figures.
Run: .venv/bin/python bench/yolo_30s.py [--duration 30]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from sqlalchemy import select
from sqlmodel import col

from aivideo.bootstrap import build_jobs, start_runtime, stop_runtime
from aivideo.domain import videos
from aivideo.models import Run, Video
from aivideo.settings import Settings

PROMPT = "A lighthouse keeper befriends a storm. Waves climb the cliffs. Dawn finally breaks."


async def main(duration: int) -> None:
    config = Settings(data_dir=Path(tempfile.mkdtemp()), database_url="")
    jobs = build_jobs(config)
    runtime = await start_runtime(config, jobs)
    broker = jobs.broker
    await broker.startup()
    started = time.perf_counter()
    async with runtime.transaction() as session:
        video = await videos.create_video(
            session,
            owner="bench",
            prompt=PROMPT,
            title=None,
            duration_seconds=duration,
            auto_continue=True,
            generation=runtime.catalog.generation({}),
            budget_usd=None,
        )
    while True:
        await broker.wait_all()  # type: ignore[attr-defined]
        if not broker._running_tasks:  # type: ignore[attr-defined]
            break
    total = time.perf_counter() - started
    async with runtime.sessions() as session:
        done = await session.get(Video, video.id)
        runs = list(await session.scalars(select(Run).order_by(col(Run.created_at))))
    assert done is not None
    print(f"{duration}-second YOLO video: status {done.status}")
    for run in runs:
        assert run.started_at and run.finished_at
        print(f"  phase {run.phase}: {(run.finished_at - run.started_at).total_seconds():6.2f} s")
    print(f"  total (create to COMPLETE): {total:.2f} s; goal <= 10 s")
    await broker.shutdown()
    await stop_runtime(runtime, jobs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=30)
    asyncio.run(main(parser.parse_args().duration))
