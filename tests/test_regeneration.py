"""Regenerations: each is a variation of its own, and the re-stitch holds no lock while it works."""

from __future__ import annotations

import asyncio
from typing import Any

from aivideo.providers.base import Media, Provider
from tests import api
from tests.conftest import Server
from tests.test_branching import FailingProvider


async def storyboard(server: Server, prompt: str) -> tuple[str, dict[str, Any]]:
    """A new video paused at phase 2: its id and its phase-2 checkpoint."""
    video = await api.paused_video(server, prompt=prompt)
    await api.continue_and_settle(server, api.newest(video["checkpoints"], phase=1)["id"])
    return video["id"], api.newest((await api.video(server, video["id"]))["checkpoints"], phase=2)


async def test_concurrent_regenerations_are_different_variations(server: Server) -> None:
    # given a storyboard
    _, phase2 = await storyboard(server, "Twin comets draw a ribbon across the winter sky.")

    # when beat 0 is regenerated twice at once
    first, second = await asyncio.gather(
        server.gql(api.REGENERATE_BEAT, {"id": phase2["id"], "index": 0}),
        server.gql(api.REGENERATE_BEAT, {"id": phase2["id"], "index": 0}),
    )

    # then both are new versions, each drawn from a seed of its own
    made = [first["regenerateBeat"], second["regenerateBeat"]]
    assert sorted(a["version"] for a in made) == [2, 3]
    assert made[0]["metadata"]["seed"] != made[1]["metadata"]["seed"]
    assert made[0]["sha256"] != made[1]["sha256"]


class HeldStitch(FailingProvider):
    """The real provider, but stitching waits until the test lets it go."""

    def __init__(self, real: Provider) -> None:
        super().__init__(real)
        self.started = asyncio.Event()
        self.go = asyncio.Event()

    async def image(self, **kwargs: Any) -> Media:
        return await self.real.image(**kwargs)

    async def stitch(self, **kwargs: Any) -> Media:
        self.started.set()
        await self.go.wait()
        return await self.real.stitch(**kwargs)


async def test_the_restitch_after_a_chunk_regeneration_blocks_no_writer(server: Server) -> None:
    # given a phase-3 checkpoint whose chunk regeneration is held while it re-stitches
    video_id, phase2 = await storyboard(
        server, "A moth follows a lantern through a sleeping market."
    )
    await api.continue_and_settle(server, phase2["id"])
    phase3 = api.newest((await api.video(server, video_id))["checkpoints"], phase=3)
    real = server.runtime.provider
    held = HeldStitch(real)
    server.runtime.provider = held
    try:
        regeneration = asyncio.create_task(
            server.gql(api.REGENERATE_CHUNK, {"id": phase3["id"], "index": 0})
        )
        await asyncio.wait_for(held.started.wait(), 60)

        # when another video is created meanwhile
        created = await asyncio.wait_for(api.create_video(server), 10)
    finally:
        held.go.set()
        server.runtime.provider = real

    # then that write went through at once, and the regeneration finished with its stitch
    assert created["status"] == "QUEUED"
    chunk = (await regeneration)["regenerateChunk"]
    assert chunk["version"] == 2
    latest = (await api.video(server, video_id))["checkpoints"]
    assert api.artifact(api.newest(latest, phase=3), "stitched")["version"] == 2
    await server.settle()
