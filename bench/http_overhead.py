"""Per-request overhead: `{ __typename }` against a bare Strawberry app, and the status query.

Rows of issue 8, each measured in one run so that the machine's noise cancels:
- `{ __typename }`, one client in sequence: aivideo's time per request / the bare app's
  (goal <= 1.15);
- the status query (a video with its tree, 8 branches, current checkpoint, active
  branches) and `{ __typename }` at concurrency 32 (wrk): status / typename throughput
  (goal >= 0.5).
Run: .venv/bin/python bench/http_overhead.py [--seconds 10] [--requests 2000]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.servers import aivideo_server, bare_server

TYPENAME = "{ __typename }"
STATUS = """query Status($id: ID!) { video(id: $id) {
  id title status progress currentPhase error estimatedTimeRemaining costUsd
  currentCheckpoint { id phase branchName status artifacts { key version url } }
  activeBranches { id name status phase progress canContinue }
  branches { id name status phase progress canContinue error head { id phase }
             forkedFrom { id } parentBranch { name } }
  checkpointTree { id phase branchName status edited costUsd
    artifacts { key version url } children { id phase branchName status
      artifacts { key version url } children { id phase branchName status } } }
} }"""
CREATE = """mutation { createVideo(input: {prompt: "A lighthouse keeper befriends a storm at sea",
  durationSeconds: 10}) { id } }"""
CONTINUE = "mutation($id: ID!) { continueCheckpoint(checkpointId: $id) { branch { name } } }"
BRANCH = "mutation($id: ID!) { createBranch(checkpointId: $id) { name } }"
HEAD = "query($id: ID!) { video(id: $id) { status checkpoints { id phase } } }"


def gql(client: httpx.Client, query: str, variables: dict[str, object] | None = None) -> dict:
    body = client.post("/graphql", json={"query": query, "variables": variables}).json()
    assert not body.get("errors"), body["errors"]
    return body["data"]


def wait_paused(client: httpx.Client, video_id: str) -> list[dict]:
    while True:
        video = gql(client, HEAD, {"id": video_id})["video"]
        if video["status"].startswith("PAUSED"):
            return video["checkpoints"]
        time.sleep(0.05)


def seed_status_video(url: str) -> str:
    """A video paused at phase 2 with 8 branches (main and seven copies of its checkpoints)."""
    with httpx.Client(base_url=url, timeout=60) as client:
        video_id = gql(client, CREATE)["createVideo"]["id"]
        phase1 = wait_paused(client, video_id)[-1]
        gql(client, CONTINUE, {"id": phase1["id"]})
        checkpoints = wait_paused(client, video_id)
        for index in range(7):
            gql(client, BRANCH, {"id": checkpoints[index % len(checkpoints)]["id"]})
        size = len(json.dumps(gql(client, STATUS, {"id": video_id})))
    print(f"status query answer: {size / 1024:.1f} KB")
    return video_id


def sequential_ms(url: str, requests: int) -> float:
    """Median milliseconds of `{ __typename }` from one keep-alive client, after a warm-up."""
    with httpx.Client(base_url=url, timeout=30) as client:
        for _ in range(100):
            client.post("/graphql", json={"query": TYPENAME})
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            client.post("/graphql", json={"query": TYPENAME})
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def throughput(url: str, query: str, variables: dict[str, object], seconds: int) -> float:
    """Requests per second at concurrency 32 (wrk, 2 threads)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("this benchmark needs wrk (apt-get install wrk)")
    body = json.dumps({"query": query, "variables": variables})
    script = Path(tempfile.mkdtemp()) / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body)}\n"
    )
    out = subprocess.run(
        [wrk, "-t2", "-c32", f"-d{seconds}s", "-s", str(script), f"{url}/graphql"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert match, out
    return float(match[1])


def main(seconds: int, requests: int) -> None:
    with aivideo_server() as aivideo, bare_server() as bare:
        video_id = seed_status_video(aivideo)
        # Interleaved rounds: drift in the machine's load hits both sides alike.
        ours, theirs = [], []
        for _ in range(3):
            ours.append(sequential_ms(aivideo, requests))
            theirs.append(sequential_ms(bare, requests))
        mine, base = statistics.median(ours), statistics.median(theirs)
        print(
            f"{{ __typename }} one client: aivideo {mine:.2f} ms, bare Strawberry {base:.2f} ms; "
            f"ratio {mine / base:.2f} (goal <= 1.15)"
        )
        typename = throughput(aivideo, TYPENAME, {}, seconds)
        status = throughput(aivideo, STATUS, {"id": video_id}, seconds)
        print(
            f"concurrency 32: __typename {typename:.0f} req/s, status query {status:.0f} req/s; "
            f"ratio {status / typename:.2f} (goal >= 0.5)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="wrk run length (default 10)")
    parser.add_argument(
        "--requests", type=int, default=2000, help="sequential requests per round (default 2000)"
    )
    args = parser.parse_args()
    main(args.seconds, args.requests)
