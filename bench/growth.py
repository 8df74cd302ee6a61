"""Growth: the status query on a video of 20 to 2,000 checkpoints, and `videos(first: 50)`.

Rows of issue 8, in one run on the embedded default (SQLite), executed in-process:
- the status query's SQL statement count for a video of 2 branches / 20 checkpoints,
  20 / 200 and 200 / 2,000 (goal: the same count), and its time per checkpoint at each
  size relative to the smallest (goal: at most linear, i.e. ratios <= ~1);
- `videos(first: 50)` over 10,000 videos against over 100 (goal: ratio <= 2).
Run: .venv/bin/python bench/growth.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aivideo import ids
from aivideo.access import Caller
from aivideo.bootstrap import build_jobs, start_runtime, stop_runtime
from aivideo.models import Artifact, Branch, Checkpoint, Run, Video
from aivideo.runtime import Runtime
from aivideo.schema.context import Context
from aivideo.schema.loaders import Loaders
from aivideo.schema.schema import build_schema
from aivideo.settings import Settings
from bench.http_overhead import STATUS

VIDEOS = """query($status: VideoStatus) { videos(first: 50, status: $status) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { node { id title status progress costUsd createdAt } } } }"""
OWNER = "bench"


def tree_rows(owner: str, branches: int, per_branch: int) -> list[Any]:
    """A video whose `branches` branches each hold `per_branch` checkpoints (phases 1–4 and
    retries), forked from main's phase-1 checkpoint, each checkpoint with 3 artifacts."""
    video = Video(
        id=ids.new_id(ids.VIDEO),
        owner=owner,
        title="growth",
        prompt="growth test",
        duration_seconds=30,
        status="PAUSED_AT_PHASE3",
        generation={},
    )
    rows: list[Any] = [video]
    seq = 0
    root: Checkpoint | None = None
    for b in range(branches):
        branch = Branch(
            id=ids.new_id(ids.BRANCH),
            video_id=video.id,
            name="main" if b == 0 else f"main-{b}",
            status="PAUSED",
            phase=3,
            parent_branch_id=None if b == 0 else rows[1].id,
            forked_from_id=root.id if root else None,
        )
        rows.append(branch)
        parent = None if b == 0 else root
        for c in range(per_branch):
            seq += 1
            phase = min(c + (1 if b == 0 else 2), 4)
            checkpoint = Checkpoint(
                id=ids.new_id(ids.CHECKPOINT),
                video_id=video.id,
                branch_id=branch.id,
                parent_id=parent.id if parent else None,
                seq=seq,
                phase=phase,
                version=c + 1,
                status="APPROVED" if c < per_branch - 1 else "PENDING",
                input_ids=[],
            )
            run = Run(
                id=ids.new_id(ids.RUN),
                video_id=video.id,
                branch_id=branch.id,
                parent_checkpoint_id=parent.id if parent else None,
                phase=phase,
                status="SUCCEEDED",
                checkpoint_id=checkpoint.id,
            )
            rows += [checkpoint, run]
            rows += [
                Artifact(
                    id=ids.new_id(ids.ARTIFACT),
                    video_id=video.id,
                    checkpoint_id=checkpoint.id,
                    type="BEAT_IMAGE",
                    key=f"beat_{k}",
                    version=1,
                    sha256="0" * 64,
                    content_type="image/png",
                )
                for k in range(3)
            ]
            root = root or checkpoint
            parent = checkpoint
    return rows


async def seed(runtime: Runtime, rows: list[Any]) -> None:
    async with runtime.transaction() as session:
        # Parents before children, so foreign keys hold on SQLite too.
        for kind in (Video, Branch, Checkpoint, Run, Artifact):
            session.add_all(r for r in rows if isinstance(r, kind))
            await session.flush()


async def timed(
    runtime: Runtime,
    schema: Any,
    query: str,
    variables: dict[str, Any],
    rounds: int,
    owner: str = OWNER,
) -> tuple[float, int]:
    """Median seconds of the query, and the SQL statements one run of it sends."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    times = []
    for index in range(rounds):
        context = Context(
            runtime=runtime,
            caller=Caller(owner),
            base_url="http://bench",
            loaders=Loaders(runtime.sessions),
        )
        if index == 0:
            event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
        started = time.perf_counter()
        result = await schema.execute(query, variable_values=variables, context_value=context)
        times.append(time.perf_counter() - started)
        if index == 0:
            event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)
        assert not result.errors, result.errors
    return statistics.median(times), len(statements)


async def main() -> None:
    # Without kept answers: this measures how execution grows with the tree (a kept answer
    # costs the same at every size; http_overhead.py measures that).
    config = Settings(
        data_dir=Path(tempfile.mkdtemp()), database_url="", rate_limit="", answer_cache_size=0
    )
    jobs = build_jobs(config)
    runtime = await start_runtime(config, jobs)
    schema = build_schema(config)
    try:
        base: float | None = None
        for branches, per_branch in ((2, 10), (20, 10), (200, 10)):
            rows = tree_rows(OWNER, branches, per_branch)
            await seed(runtime, rows)
            seconds, statements = await timed(runtime, schema, STATUS, {"id": rows[0].id}, 5)
            per_checkpoint = seconds / (branches * per_branch)
            base = base or per_checkpoint
            print(
                f"status query, {branches:>3} branches / {branches * per_branch:>4} checkpoints:"
                f" {seconds * 1000:8.1f} ms, {statements} SQL statements, time per checkpoint"
                f" {per_checkpoint / base:.2f}x the smallest's (goal <= ~1)"
            )
        figures = {}
        for total in (100, 10_000):
            owner = f"list-{total}"
            videos = [
                Video(
                    id=ids.new_id(ids.VIDEO),
                    owner=owner,
                    title=f"v{i}",
                    prompt="p" * 10,
                    duration_seconds=30,
                    status="COMPLETE",
                    generation={},
                )
                for i in range(total)
            ]
            await seed(runtime, videos)
            figures[total], statements = await timed(runtime, schema, VIDEOS, {}, 20, owner)
            print(
                f"videos(first: 50) over {total:>6} videos: {figures[total] * 1000:6.2f} ms, "
                f"{statements} SQL statements"
            )
        print(
            f"videos(first: 50): 10,000 / 100 videos time ratio "
            f"{figures[10_000] / figures[100]:.2f} (goal <= 2)"
        )
    finally:
        await stop_runtime(runtime, jobs)


if __name__ == "__main__":
    asyncio.run(main())
