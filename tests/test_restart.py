"""The embedded default survives a crash: a phase cut off mid-run resumes on restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from tests import api
from tests.service_process import Client, serving


async def test_a_killed_server_resumes_the_interrupted_phase(tmp_path: Path) -> None:
    # given a YOLO video killed in the middle of phase 3
    async with serving(tmp_path, kill=True) as url, httpx.AsyncClient(base_url=url) as http:
        client = Client(url, http, None)
        created = await client.create_video(api.PROMPT, durationSeconds=30, autoContinue=True)
        # past 40 %: phase 3 is running and has made a clip, not merely queued
        await client.wait_for(created["id"], "GENERATING_CHUNKS", progress_above=40)
    with sqlite3.connect(tmp_path / "aivideo.db") as db:
        stranded = db.execute(
            "SELECT phase, status FROM runs WHERE status != 'SUCCEEDED'"
        ).fetchall()
    assert stranded == [(3, "RUNNING")]

    # when the server starts again
    async with serving(tmp_path) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        video = await Client(url, http, None).wait_for(created["id"], "COMPLETE")

    # then the video finished, each phase once, on main
    assert [(c["phase"], c["branchName"]) for c in video["checkpoints"]] == [
        (phase, "main") for phase in (1, 2, 3, 4)
    ]
    chunks = [a["key"] for a in video["checkpoints"][2]["artifacts"]]
    assert chunks == ["chunk_0", "chunk_1", "chunk_2", "stitched"]
