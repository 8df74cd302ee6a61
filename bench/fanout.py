"""Subscriptions at scale: 2,000 subscribers, 5 events, delivery, latency and memory.

Rows of issue 8:
- one embedded process, 2,000 `checkpointCreated` subscribers of one video, 5 `createBranch`
  mutations: every event delivered to every subscriber, p99 from the mutation's answer to
  arrival (goal < 500 ms), and server memory per idle subscription (goal < 50 KB): the
  growth of the server's RSS over the 2,000, after 100 warm-up subscribers of another video;
- with `--redis`: two API processes over PostgreSQL and Redis, 1,000 subscribers each, the
  same events made through one of them.
Run: .venv/bin/python bench/fanout.py [--subscribers 2000] [--redis]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Coroutine
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.servers import aivideo_server
from bench.ws_clients import Subscriber, start_all

CREATED = """subscription($id: ID!) { checkpointCreated(videoId: $id) {
  checkpointId branchName phase } }"""
CREATE = """mutation { createVideo(input: {prompt: "A lighthouse keeper befriends a storm",
  durationSeconds: 10}) { id } }"""
HEAD = "query($id: ID!) { video(id: $id) { status checkpoints { id } } }"
BRANCH = "mutation($id: ID!) { createBranch(checkpointId: $id) { name } }"
EVENTS = 5
WARM_UP = 100  # subscribers per process opened before the memory baseline
LIVE = r"^aivideo_subscriptions_live(?:\{[^}]*\})? ([0-9.e+]+)$"


def rss_kb(url: str) -> int:
    """Resident memory of the server listening at `url` (Linux /proc)."""
    port = url.rsplit(":", 1)[1]
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"serve" in cmdline and port.encode() in cmdline:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            continue
    raise RuntimeError(f"no server process found for {url}")


async def paused_video(url: str) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        video_id = (await http.post("/graphql", json={"query": CREATE})).json()
        video_id = video_id["data"]["createVideo"]["id"]
        while True:
            body = (
                await http.post("/graphql", json={"query": HEAD, "variables": {"id": video_id}})
            ).json()
            video = body["data"]["video"]
            if video["status"].startswith("PAUSED"):
                return video_id, video["checkpoints"][0]["id"]
            await asyncio.sleep(0.05)


async def all_live(urls: list[str], each: int) -> None:
    """Wait until every server runs `each` subscriptions: a client that has sent its
    subscribe is ready, but its server may still be setting the subscription up."""
    async with httpx.AsyncClient(timeout=30) as http:
        for url in urls:
            while True:
                text = (await http.get(f"{url}/metrics")).text
                live = re.search(LIVE, text, re.M)
                if live and float(live[1]) >= each:
                    break
                await asyncio.sleep(0.1)


def clients_of(urls: list[str], video_id: str, count: int) -> list[Subscriber]:
    return [
        Subscriber(
            urls[i % len(urls)].replace("http://", "ws://") + "/graphql",
            CREATED,
            {"id": video_id},
            expect_first=False,
        )
        for i in range(count)
    ]


async def run(urls: list[str], subscribers: int) -> None:
    video_id, checkpoint_id = await paused_video(urls[0])
    # The memory figure is each subscription's own: what the first websockets of a process
    # set up once (imports, caches, pools) is paid by warm-up subscribers of another video,
    # which stay open (closing them would leave free memory for the measured ones to reuse).
    other_video, _ = await paused_video(urls[0])
    warm_up = clients_of(urls, other_video, WARM_UP * len(urls))
    await start_all(warm_up, at_once=50)
    await all_live(urls, WARM_UP)
    before = [rss_kb(url) for url in urls]
    clients = clients_of(urls, video_id, subscribers)
    # Fewer handshakes at once than the default: each one still asks the database (pool of 15).
    seconds = await start_all(clients, at_once=50)
    await all_live(urls, WARM_UP + subscribers // len(urls))
    # A running subscription joins its channel a moment later, and checkpointCreated sends
    # nothing at once: one event that every client receives says that all have joined.
    async with httpx.AsyncClient(base_url=urls[0], timeout=60) as http:
        await http.post("/graphql", json={"query": BRANCH, "variables": {"id": checkpoint_id}})
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        if all(c.arrivals for c in clients):
            break
        await asyncio.sleep(0.05)
    for client in clients:
        client.arrivals.clear()
    after = [rss_kb(url) for url in urls]
    per_subscription = (sum(after) - sum(before)) / subscribers
    print(
        f"{subscribers} subscribers over {len(urls)} process(es) ready in {seconds:.1f} s; "
        f"server memory per idle subscription {per_subscription:.1f} KB (goal < 50 KB)"
    )
    delays: list[float] = []
    async with httpx.AsyncClient(base_url=urls[0], timeout=60) as http:
        for _ in range(EVENTS):
            await http.post("/graphql", json={"query": BRANCH, "variables": {"id": checkpoint_id}})
            answered = time.perf_counter()
            deadline = answered + 60
            while time.perf_counter() < deadline:
                if all(len(c.arrivals) >= len(delays) // subscribers + 1 for c in clients):
                    break
                await asyncio.sleep(0.005)
            delays += [max(0.0, c.arrivals[-1][0] - answered) for c in clients if c.arrivals]
    received = sum(len(c.arrivals) for c in clients)
    await asyncio.gather(*(c.close() for c in clients + warm_up))
    delays.sort()
    p99 = delays[int(0.99 * (len(delays) - 1))] * 1000 if delays else float("nan")
    print(
        f"{EVENTS} events: {received} of {EVENTS * subscribers} delivered; from the mutation's "
        f"answer: median {statistics.median(delays) * 1000:.0f} ms, p99 {p99:.0f} ms "
        f"(goal < 500 ms)"
    )


def measure(benchmark: Coroutine[Any, Any, None]) -> None:
    """Run the clients on uvloop: the client's own overhead shares the cores with the server."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(benchmark)


def main(subscribers: int, redis: bool) -> None:
    if not redis:
        with aivideo_server() as url:
            measure(run([url], subscribers))
        return
    database = os.environ.get(
        "AIVIDEO_BENCH_DATABASE_URL",
        f"postgresql://postgres@127.0.0.1:5432/bench_{uuid.uuid4().hex[:8]}",
    )
    redis_url = os.environ.get("AIVIDEO_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    name = database.rsplit("/", 1)[1]
    os.system(f"createdb -h 127.0.0.1 -U postgres {name} 2>/dev/null")
    env = {
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "AIVIDEO_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:6]}:",
    }
    try:
        os.system(f"DATABASE_URL={database} {sys.executable} -m aivideo.cli migrate >/dev/null")
        with ExitStack() as stack:
            shared = tempfile.mkdtemp()
            urls = [
                stack.enter_context(aivideo_server(**env, AIVIDEO_DATA_DIR=shared))
                for _ in range(2)
            ]
            # A worker runs the phase-1 job of the video the events are made on.
            worker = stack.enter_context(_worker(env, shared))
            assert worker
            measure(run(urls, subscribers))
    finally:
        os.system(f"dropdb -h 127.0.0.1 -U postgres --force {name} 2>/dev/null")


class _worker:
    def __init__(self, env: dict[str, str], data_dir: str) -> None:
        import subprocess

        self.process = subprocess.Popen(
            [sys.executable, "-m", "aivideo.cli", "worker"],
            env={**os.environ, **env, "AIVIDEO_DATA_DIR": data_dir},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def __enter__(self) -> bool:
        return True

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        self.process.wait(30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--redis", action="store_true", help="two API processes over Redis")
    args = parser.parse_args()
    main(args.subscribers, args.redis)
