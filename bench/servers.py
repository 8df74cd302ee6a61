"""Start `aivideo serve` and the bare baseline app as processes for a benchmark run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from aivideo.cli import WEBSOCKETS

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_up(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {process.returncode}")
        try:
            httpx.post(f"{url}/graphql", json={"query": "{ __typename }"}, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not start")


@contextmanager
def running(command: list[str], url: str, env: dict[str, str] | None = None) -> Iterator[str]:
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(30)


@contextmanager
def aivideo_server(**env: str) -> Iterator[str]:
    """`aivideo serve` on the embedded default (a fresh data directory), without rate limits."""
    port = free_port()
    settings = {"AIVIDEO_DATA_DIR": tempfile.mkdtemp(), "AIVIDEO_RATE_LIMIT": "", **env}
    with running(
        [sys.executable, "-m", "aivideo.cli", "serve", "--port", str(port)],
        f"http://127.0.0.1:{port}",
        settings,
    ) as url:
        yield url


@contextmanager
def bare_server() -> Iterator[str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare_app:app",
        "--port",
        str(port),
        "--log-level",
        "warning",
        # The same websocket implementation and options as `aivideo serve`.
        "--ws",
        WEBSOCKETS["ws"],
        "--ws-per-message-deflate",
        str(WEBSOCKETS["ws_per_message_deflate"]).lower(),
    ]
    with running(command, f"http://127.0.0.1:{port}") as url:
        yield url
