"""Running `aivideo` as separate processes, and a client for their API."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.api import CREATE_VIDEO
from tests.test_cli import free_port

AIVIDEO = [sys.executable, "-m", "aivideo.cli"]
STATUS_QUERY = """query($id: ID!) {
  video(id: $id) {
    status progress checkpoints { id phase branchName artifacts { key url sha256 } }
  }
}"""


@dataclass
class Client:
    """The API as one caller sees it."""

    url: str
    http: httpx.AsyncClient
    key: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.headers
        )
        return response.json()

    async def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self.raw(query, variables)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def create_video(self, prompt: str, **fields: Any) -> dict[str, Any]:
        """createVideo of a 10-second video unless `fields` say otherwise."""
        variables = {"input": {"prompt": prompt, "durationSeconds": 10, **fields}}
        return (await self.gql(CREATE_VIDEO, variables))["createVideo"]

    async def error_code(self, query: str, variables: dict[str, Any] | None = None) -> str:
        body = await self.raw(query, variables)
        [error] = body["errors"]
        return str(error["extensions"]["code"])

    async def wait_for(
        self, video_id: str, status: str, *, progress_above: float = -1.0
    ) -> dict[str, Any]:
        """Poll until the video shows `status` (and more than `progress_above` progress)."""
        for _ in range(600):
            video = (await self.gql(STATUS_QUERY, {"id": video_id}))["video"]
            if video["status"] == status and video["progress"] > progress_above:
                return video
            await asyncio.sleep(0.05)
        raise AssertionError(f"video {video_id} never reached {status}")


def process_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return {**env, "AIVIDEO_DATA_DIR": str(data_dir), **extra}


async def run_command(data_dir: Path, *args: str) -> tuple[str, str]:
    """Run `aivideo ARGS` on the data directory; it must succeed. Its stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        *AIVIDEO,
        *args,
        env=process_env(data_dir),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err
    return out.decode().strip(), err.decode()


async def create_key(data_dir: Path, owner: str) -> str:
    key, notice = await run_command(data_dir, "create-api-key", "--owner", owner)
    assert "shown only this once" in notice
    return key


async def revoke_key(data_dir: Path, key: str) -> str:
    return (await run_command(data_dir, "revoke-api-key", key))[0]


@asynccontextmanager
async def serving(
    data_dir: Path,
    *args: str,
    kill: bool = False,
    env: Mapping[str, str] | None = None,
    **more_env: str,
) -> AsyncIterator[str]:
    """An `aivideo serve` process on its own data directory; yields its URL.

    Its environment is this one with `env` and `more_env` on top. With `kill`, it is
    ended by SIGKILL, as a crash would end it.
    """
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *AIVIDEO,
        "serve",
        "--port",
        str(port),
        *args,
        env=process_env(data_dir, **{**(env or {}), **more_env}),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as probe:
            for _ in range(400):
                try:
                    if (await probe.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("aivideo serve did not start")
        yield url
    finally:
        if kill:
            process.kill()
        else:
            process.terminate()
        await asyncio.wait_for(process.wait(), 30)
