"""A `video(id:)` answer is kept until the video changes; a kept answer costs one statement."""

from __future__ import annotations

import asyncio
from typing import Any

from aivideo.providers.base import Media
from tests import api
from tests.conftest import Server
from tests.sql_statements import counting_statements
from tests.test_branching import FailingProvider

STATUS = """
query Status($id: ID!) {
  video(id: $id) {
    id status progress estimatedTimeRemaining costUsd
    branches { name status canContinue head { id } }
    checkpointTree { id phase edited artifacts { key version url } children { id phase } }
  }
}
"""
TITLE = "query($id: ID!) { video(id: $id) { title branches { name } } }"


async def asked(server: Server, video_id: str, query: str = STATUS) -> tuple[int, dict[str, Any]]:
    """The answer, and how many SQL statements it cost."""
    with counting_statements(server) as statements:
        data = await server.gql(query, {"id": video_id})
    return len(statements), data["video"]


async def test_an_unchanged_video_is_answered_with_one_statement(server: Server) -> None:
    # given a paused video, asked about once
    video = await api.paused_video(server, prompt="A lamplighter counts the stars twice.")
    first_count, first = await asked(server, video["id"])

    # when it is asked again, and with another query text
    again_count, again = await asked(server, video["id"])
    title_count, _ = await asked(server, video["id"], TITLE)

    # then the same answer costs one statement (the video's revision; SQLite reads it
    # outside the engine), while a new text executes
    assert again == first
    revision_reads = 0 if server.backend == "sqlite" else 1
    assert (first_count > 1, again_count, title_count > 1) == (True, revision_reads, True)


async def test_every_change_of_the_video_is_seen_at_once(server: Server) -> None:
    # given a paused video whose answer is kept
    video = await api.paused_video(server, prompt="A ferryman paints his boat every dawn.")
    phase1 = api.newest(video["checkpoints"], phase=1)
    await asked(server, video["id"])
    _, kept = await asked(server, video["id"])

    # when it gets a branch, an edit, and a new phase
    await server.gql(api.CREATE_BRANCH, {"id": phase1["id"]})
    count, branched = await asked(server, video["id"])
    await server.gql(api.EDIT_SPEC, {"id": phase1["id"], "patch": {"title": "Dawn paint"}})
    _, edited = await asked(server, video["id"])
    await api.continue_and_settle(server, phase1["id"])
    _, continued = await asked(server, video["id"])

    # then each answer after a change shows it
    assert [b["name"] for b in kept["branches"]] == ["main"]
    assert count > 1 and [b["name"] for b in branched["branches"]] == ["main", "main-1"]
    assert (kept["checkpointTree"][0]["edited"], edited["checkpointTree"][0]["edited"]) == (
        False,
        True,
    )
    assert (edited["status"], continued["status"]) == ("PAUSED_AT_PHASE1", "PAUSED_AT_PHASE2")
    assert [c["phase"] for c in continued["checkpointTree"][0]["children"]] == [2]


class HeldAfterFirstImage(FailingProvider):
    """The real provider, except that images after the first wait for `release`."""

    name = "local"  # same idempotency keys as the real provider

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.calls, self.release = 0, asyncio.Event()

    async def image(self, **kwargs: Any) -> Media:
        self.calls += 1
        if self.calls > 1:
            await self.release.wait()
        return await self.real.image(**kwargs)


async def test_an_answer_that_depends_on_the_clock_is_not_kept(server: Server) -> None:
    # given phase 2 held after its first image, so that it has progress and runs on
    video = await api.paused_video(
        server, prompt="A beekeeper hums to a winter hive.", durationSeconds=30
    )
    real = server.runtime.provider
    held = HeldAfterFirstImage(real)
    server.runtime.provider = held
    try:
        await server.gql(api.CONTINUE, {"id": api.newest(video["checkpoints"], phase=1)["id"]})
        running: dict[str, Any] = {}
        while running.get("estimatedTimeRemaining") is None:
            _, running = await asked(server, video["id"])
            await asyncio.sleep(0.01)

        # when it is asked again while the phase runs
        count, again = await asked(server, video["id"])
    finally:
        held.release.set()
        server.runtime.provider = real
        await server.settle()

    # then it executed again: its estimate is the clock's, not a kept one
    assert running["status"] == again["status"] == "GENERATING_STORYBOARD"
    assert again["estimatedTimeRemaining"] is not None
    assert count > 1
