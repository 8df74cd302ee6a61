"""estimatedTimeRemaining: extrapolated from the running phase's progress, else unknown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aivideo.domain.video_graph import VideoGraph
from aivideo.models import Branch, Run, RunStatus

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def graph_with(run: Run) -> VideoGraph:
    branch = Branch(id="br-1", video_id="vid-1", name="main", status="RUNNING", phase=3)
    return VideoGraph(checkpoints=[], artifacts=[], branches=[branch], runs=[run])


def run(status: RunStatus, progress: float, started_seconds_ago: float | None) -> Run:
    started = NOW - timedelta(seconds=started_seconds_ago) if started_seconds_ago else None
    return Run(
        id="run-1",
        video_id="vid-1",
        branch_id="br-1",
        phase=3,
        status=status.value,
        progress=progress,
        started_at=started,
    )


def test_a_quarter_done_in_ten_seconds_leaves_thirty() -> None:
    graph = graph_with(run(RunStatus.RUNNING, 0.25, 10))
    assert graph.seconds_remaining("br-1", NOW) == 30


def test_unknown_before_progress_or_when_nothing_runs() -> None:
    assert graph_with(run(RunStatus.RUNNING, 0.0, 10)).seconds_remaining("br-1", NOW) is None
    assert graph_with(run(RunStatus.QUEUED, 0.0, None)).seconds_remaining("br-1", NOW) is None
    assert graph_with(run(RunStatus.SUCCEEDED, 1.0, 10)).seconds_remaining("br-1", NOW) is None
    assert graph_with(run(RunStatus.RUNNING, 0.5, 10)).seconds_remaining(None, NOW) is None
