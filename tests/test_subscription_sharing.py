"""Subscribers asking the same of one event share one execution; each still gets its own."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from tests import api
from tests.conftest import Server
from tests.test_query_cost import counting_statements
from tests.ws_client import LEGACY_WS, TRANSPORT_WS, Subscription

WITH_PHASE = """
subscription($videoId: ID, $after: ID) {
  checkpointCreated(videoId: $videoId, after: $after) { checkpointId checkpoint { id phase } }
}
"""

WITH_BRANCH = """
subscription($videoId: ID, $after: ID) {
  checkpointCreated(videoId: $videoId, after: $after) {
    checkpointId checkpoint { id branch { name } }
  }
}
"""


def checkpoint_reads(statements: list[str]) -> list[str]:
    """The loaders' reads of checkpoints by id (the events' nested `checkpoint` fields)."""
    return [s for s in statements if "FROM checkpoints" in s and "checkpoints.id IN" in s]


async def test_identical_subscribers_share_one_execution_per_event(server: Server) -> None:
    # given a paused video with one branch copy, and four live subscribers of its
    # checkpoints: three with one selection (over both protocols), one with another
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)
    first = await server.gql(api.CREATE_BRANCH, {"id": phase1["id"], "name": "first"})
    variables = {"videoId": video["id"], "after": phase1["id"]}
    queries = [
        (TRANSPORT_WS, WITH_PHASE),
        (TRANSPORT_WS, WITH_PHASE),
        (LEGACY_WS, WITH_PHASE),
        (TRANSPORT_WS, WITH_BRANCH),
    ]
    async with AsyncExitStack() as stack:
        subs = [
            await stack.enter_async_context(Subscription(server.ws_url, protocol, query, variables))
            for protocol, query in queries
        ]
        for sub in subs:  # the replay of the first copy: each subscription is live now
            replayed = (await sub.next())["data"]["checkpointCreated"]
            assert replayed["checkpointId"] == first["createBranch"]["head"]["id"]

        # when one more checkpoint is created
        with counting_statements(server) as statements:
            second = await server.gql(api.CREATE_BRANCH, {"id": phase1["id"], "name": "second"})
            events: list[dict[str, Any]] = [
                (await sub.next())["data"]["checkpointCreated"] for sub in subs
            ]

    # then every subscriber gets exactly its own selection
    head = second["createBranch"]["head"]["id"]
    with_phase = {"checkpointId": head, "checkpoint": {"id": head, "phase": 1}}
    with_branch = {"checkpointId": head, "checkpoint": {"id": head, "branch": {"name": "second"}}}
    assert events == [with_phase, with_phase, with_phase, with_branch]
    # and the event's checkpoint is read once per distinct selection, not once per subscriber
    assert len(checkpoint_reads(statements)) == 2, statements
