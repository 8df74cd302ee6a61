"""`/metrics`: Prometheus text whose counters follow what the service does."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from aivideo import metrics
from tests import api
from tests.conftest import Server
from tests.ws_client import TRANSPORT_WS, Subscription

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
STATUS = "subscription S($id: ID!) { videoStatus(videoId: $id) { status } }"


async def scrape(server: Server) -> Samples:
    response = await server.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


async def test_counters_move_when_a_video_runs(server: Server) -> None:
    # given the metrics now, and a prompt no other test made (so its files are new)
    before = await scrape(server)
    prompt = f"{api.PROMPT} Buoy {uuid.uuid4().hex[:6]} blinks."

    # when a YOLO video runs all four phases and is read back
    created = await api.create_video(server, prompt=prompt, autoContinue=True)
    await server.settle()
    video = await api.video(server, created["id"])
    after = await scrape(server)

    # then the operations, provider calls and stored bytes are counted
    assert video["status"] == "COMPLETE"
    ops = "aivideo_graphql_operations_total"
    assert moved(before, after, ops, operation="Create", type="mutation", outcome="ok") == 1
    assert moved(before, after, ops, operation="Video", type="query", outcome="ok") == 1
    latency = "aivideo_graphql_operation_duration_seconds_count"
    assert moved(before, after, latency, operation="Create", type="mutation") == 1
    calls = moved(before, after, "aivideo_provider_calls_total", model="local", outcome="made")
    files = {a["sha256"] for c in video["checkpoints"] for a in c["artifacts"] if a["sha256"]}
    assert calls >= 4  # a plan, images, clips and music at least
    stored = moved(before, after, "aivideo_media_stored_bytes_total", backend="local")
    sizes = {a["sha256"]: a["sizeBytes"] for c in video["checkpoints"] for a in c["artifacts"]}
    assert stored >= sum(sizes[sha] for sha in files)


async def test_errors_are_counted_by_code(server: Server) -> None:
    before = await scrape(server)
    error = await server.gql_error("query Broken { noSuchField }")
    after = await scrape(server)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert moved(before, after, "aivideo_graphql_errors_total", code="BAD_USER_INPUT") == 1
    ops = "aivideo_graphql_operations_total"
    assert moved(before, after, ops, operation="Broken", type="query", outcome="error") == 1


async def test_open_websockets_and_live_subscriptions_are_gauged(server: Server) -> None:
    created = await api.create_video(server)
    before = await scrape(server)
    async with Subscription(server.ws_url, TRANSPORT_WS, STATUS, {"id": created["id"]}) as sub:
        await sub.next()  # the first event: the subscription is running
        during = await scrape(server)
    assert moved(before, during, "aivideo_websockets_open") == 1
    assert moved(before, during, "aivideo_subscriptions_live") == 1
    # the server notices the close on its own schedule: wait for it, boundedly
    for _ in range(200):
        after = await scrape(server)
        if value(after, "aivideo_websockets_open") == value(before, "aivideo_websockets_open"):
            break
        await asyncio.sleep(0.05)
    assert moved(before, after, "aivideo_websockets_open") == 0
    assert moved(before, after, "aivideo_subscriptions_live") == 0
    assert (
        moved(
            before,
            after,
            "aivideo_graphql_operations_total",
            operation="S",
            type="subscription",
            outcome="ok",
        )
        == 1
    )
    await server.settle()


def test_client_operation_names_cannot_grow_the_metrics_without_bound() -> None:
    names = [f"Op{uuid.uuid4().hex}" for _ in range(metrics.MAX_OPERATION_NAMES + 5)]
    labels = {metrics.operation_label(name) for name in names}
    assert "other" in labels
    assert len(labels) <= metrics.MAX_OPERATION_NAMES + 1
    assert metrics.operation_label("not a name!") == "other"
    assert metrics.operation_label(None) == "anonymous"


MULTIPROCESS_SCRIPT = """
from aivideo import metrics
metrics.provider_call("local", "made", 0.25)
metrics.WEBSOCKETS_OPEN.inc()
print(metrics.exposition()[0].decode())
"""


def test_processes_sharing_a_multiprocess_dir_are_summed(tmp_path: Path) -> None:
    # given two processes that each count one call, as `--workers 2` would
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-c", MULTIPROCESS_SCRIPT], env=env, check=True, capture_output=True
        )
    # when a third one answers /metrics
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from aivideo import metrics; print(metrics.exposition()[0].decode())",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for f in text_string_to_metric_families(shown)
        for s in f.samples
    }
    # then it shows both processes' counts
    assert value(samples, "aivideo_provider_calls_total", model="local", outcome="made") == 2
    assert value(samples, "aivideo_provider_cost_usd_total", model="local") == 0.5
