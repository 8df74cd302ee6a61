"""`aivideo serve --workers N`: several API processes on one port, sharing events via Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from tests import api
from tests.conftest import postgres_database
from tests.test_cli import free_port
from tests.test_processes import REDIS_URL, _redis_or_skip
from tests.ws_client import TRANSPORT_WS, Subscription

AIVIDEO = [sys.executable, "-m", "aivideo.cli"]
# With `after`, a subscriber gets the checkpoint by replay or live: no start-up race.
CREATED = """subscription($id: ID!, $after: ID) {
  checkpointCreated(videoId: $id, after: $after) { branchName } }"""


def test_workers_need_redis_and_postgres(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    result = subprocess.run(
        [*AIVIDEO, "serve", "--port", str(free_port()), "--workers", "2"],
        env={**env, "AIVIDEO_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "aivideo: --workers needs REDIS_URL and a PostgreSQL DATABASE_URL: in the embedded "
        "default, events and jobs live inside one process"
    )


async def test_two_workers_serve_one_port_and_share_events(tmp_path: Path) -> None:
    # given `serve --workers 2` over PostgreSQL and Redis, and a paused video
    client = await _redis_or_skip("")
    await client.aclose()
    prefix = f"aivideo-workers-{uuid.uuid4().hex[:8]}:"
    async with postgres_database() as database_url:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "AIVIDEO_REDIS_PREFIX": prefix,
            "AIVIDEO_DATA_DIR": str(tmp_path),
            "AIVIDEO_RATE_LIMIT": "",
        }
        port = free_port()
        serve = await asyncio.create_subprocess_exec(
            *AIVIDEO, "serve", "--port", str(port), "--workers", "2", env=env
        )
        worker = await asyncio.create_subprocess_exec(*AIVIDEO, "worker", env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                for _ in range(600):
                    try:
                        if (await http.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
                created = (
                    await http.post(
                        "/graphql",
                        json={
                            "query": api.CREATE_VIDEO,
                            "variables": {"input": {"prompt": api.PROMPT, "durationSeconds": 10}},
                        },
                    )
                ).json()["data"]["createVideo"]
                video_id = created["id"]
                for _ in range(1200):
                    video = (
                        await http.post(
                            "/graphql", json={"query": api.VIDEO, "variables": {"id": video_id}}
                        )
                    ).json()["data"]["video"]
                    if video["status"] == "PAUSED_AT_PHASE1":
                        break
                    await asyncio.sleep(0.05)
                phase1 = video["checkpoints"][0]["id"]

                # when eight clients subscribe (on whichever process accepts them) and a
                # branch is made through yet another connection
                ws_url = url.replace("http://", "ws://") + "/graphql"
                subs = [
                    Subscription(ws_url, TRANSPORT_WS, CREATED, {"id": video_id, "after": phase1})
                    for _ in range(8)
                ]
                for sub in subs:
                    await sub.__aenter__()
                try:
                    await http.post(
                        "/graphql", json={"query": api.CREATE_BRANCH, "variables": {"id": phase1}}
                    )
                    events = [(await sub.next(seconds=60))["data"] for sub in subs]
                finally:
                    for sub in subs:
                        await sub.__aexit__(None, None, None)
        finally:
            for process in (serve, worker):
                process.terminate()
            for process in (serve, worker):
                await asyncio.wait_for(process.wait(), 30)

    # then every subscriber got the event, whichever process it was on
    assert events == [{"checkpointCreated": {"branchName": "main-1"}}] * 8
