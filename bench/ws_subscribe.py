"""Websocket connect + subscribe rate against the bare Strawberry app, in one run.

Row of issue 8: N clients each open a graphql-transport-ws socket, initialise, subscribe
and receive the first event; aivideo's clients per second / the bare app's (goal >= 0.8).
aivideo's clients subscribe to `videoStatus` of a video (its first event is the current
status); the bare app's to a subscription that yields once.
Run: .venv/bin/python bench/ws_subscribe.py [--clients 800]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.servers import aivideo_server, bare_server
from bench.ws_clients import Subscriber, start_all

STATUS = "subscription($id: ID!) { videoStatus(videoId: $id) { status progress } }"
TICKS = "subscription { ticks }"
CREATE = """mutation { createVideo(input: {prompt: "A lighthouse keeper befriends a storm",
  durationSeconds: 10}) { id } }"""


async def rate(url: str, query: str, variables: dict[str, str], clients: int) -> float:
    ws_url = url.replace("http://", "ws://") + "/graphql"
    subscribers = [Subscriber(ws_url, query, variables) for _ in range(clients)]
    try:
        seconds = await start_all(subscribers)
    finally:
        await asyncio.gather(*(s.close() for s in subscribers))
    return clients / seconds


async def main(clients: int) -> None:
    with aivideo_server() as aivideo, bare_server() as bare:
        async with httpx.AsyncClient(base_url=aivideo) as http:
            body = (await http.post("/graphql", json={"query": CREATE})).json()
            video_id = body["data"]["createVideo"]["id"]
        ours, theirs = [], []
        for _ in range(3):  # interleaved rounds: the machine's drift hits both alike
            ours.append(await rate(aivideo, STATUS, {"id": video_id}, clients))
            theirs.append(await rate(bare, TICKS, {}, clients))
        mine, base = statistics.median(ours), statistics.median(theirs)
        print(
            f"{clients} websocket clients connect + subscribe: aivideo {mine:.0f}/s, "
            f"bare Strawberry {base:.0f}/s; ratio {mine / base:.2f} (goal >= 0.8)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=800, help="clients per round (800)")
    asyncio.run(main(parser.parse_args().clients))
