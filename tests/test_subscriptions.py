"""Subscriptions over both websocket protocols: live events, replay with `after`, status."""

from __future__ import annotations

from typing import Any

import pytest

from tests import api
from tests.conftest import Server
from tests.test_query_cost import counting_statements
from tests.ws_client import LEGACY_WS, TRANSPORT_WS, Subscription

CHECKPOINTS = """
subscription($videoId: ID, $after: ID) {
  checkpointCreated(videoId: $videoId, after: $after) {
    videoId checkpointId phase branchName
    checkpoint { id phase status branch { name } artifacts { key version } parent { id } }
  }
}
"""

STATUS = """
subscription($videoId: ID!) {
  videoStatus(videoId: $videoId) {
    videoId status progress currentPhase branchName video { id status }
  }
}
"""

STATUS_FIELDS = """
subscription($videoId: ID!) { videoStatus(videoId: $videoId) { status branchName } }
"""

PROTOCOLS = pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])


@PROTOCOLS
async def test_checkpoint_created_is_live(server: Server, protocol: str) -> None:
    # given a subscriber of the caller's checkpoints (open before the video exists)
    async with Subscription(server.ws_url, protocol, CHECKPOINTS, {}) as sub:
        # when a YOLO video runs all four phases
        video = await api.create_video(server, autoContinue=True)
        events: list[dict[str, Any]] = []
        while len(events) < 4:
            event = (await sub.next())["data"]["checkpointCreated"]
            if event["videoId"] == video["id"]:
                events.append(event)
        await server.settle()

    # then one event per checkpoint, in order, resolvable with nested fields
    assert [e["phase"] for e in events] == [1, 2, 3, 4]
    assert {e["videoId"] for e in events} == {video["id"]}
    assert [e["checkpoint"]["id"] for e in events] == [e["checkpointId"] for e in events]
    assert events[1]["checkpoint"]["parent"] == {"id": events[0]["checkpointId"]}
    assert events[3]["checkpoint"]["branch"] == {"name": "main"}
    assert {a["key"] for a in events[3]["checkpoint"]["artifacts"]} == {"music", "final"}


@PROTOCOLS
async def test_after_replays_then_goes_live_without_gap_or_duplicate(
    server: Server, protocol: str
) -> None:
    # given a video at phase 2 and a checkpoint created by createBranch
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)
    await api.continue_and_settle(server, phase1["id"])
    copy = await server.gql(api.CREATE_BRANCH, {"id": phase1["id"], "name": "copy"})

    # when subscribing after phase 1
    variables = {"videoId": video["id"], "after": phase1["id"]}
    async with Subscription(server.ws_url, protocol, CHECKPOINTS, variables) as sub:
        replayed = [(await sub.next())["data"]["checkpointCreated"] for _ in range(2)]
        # and something new happens while subscribed
        await api.continue_and_settle(server, replayed[0]["checkpointId"])
        live = (await sub.next())["data"]["checkpointCreated"]
        assert await sub.nothing_within(0.3)

    # then the replay is in creation order and the live event follows it once
    assert [(e["phase"], e["branchName"]) for e in replayed] == [(2, "main"), (1, "copy")]
    assert replayed[1]["checkpointId"] == copy["createBranch"]["head"]["id"]
    assert (live["phase"], live["branchName"]) == (3, "main")


async def test_video_status_follows_progress(server: Server) -> None:
    video = await api.paused_video(server, durationSeconds=30)
    phase1 = api.newest(video["checkpoints"], phase=1)
    async with Subscription(server.ws_url, TRANSPORT_WS, STATUS, {"videoId": video["id"]}) as sub:
        # the current status comes first, before anything changes
        current = (await sub.next())["data"]["videoStatus"]
        await api.continue_and_settle(server, phase1["id"])
        events: list[dict[str, Any]] = []
        while not events or events[-1]["status"] != "PAUSED_AT_PHASE2":
            events.append((await sub.next())["data"]["videoStatus"])

    assert (current["status"], current["progress"]) == ("PAUSED_AT_PHASE1", 20.0)
    statuses = [e["status"] for e in events]
    assert statuses[0] == "GENERATING_STORYBOARD" and statuses[-1] == "PAUSED_AT_PHASE2"
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress) and progress[0] == 20.0 and progress[-1] == 40.0
    assert len(set(progress)) >= 3  # it advanced per beat, not only at the ends
    assert events[-1]["video"] == {"id": video["id"], "status": "PAUSED_AT_PHASE2"}
    assert {e["branchName"] for e in events} == {"main"}


@PROTOCOLS
async def test_video_status_sends_a_finished_videos_status_at_once(
    server: Server, protocol: str
) -> None:
    # given a YOLO video that has finished
    created = await api.create_video(server, autoContinue=True)
    await server.settle()

    # when a client subscribes only now
    async with Subscription(server.ws_url, protocol, STATUS, {"videoId": created["id"]}) as sub:
        event = (await sub.next())["data"]["videoStatus"]
        # then it gets the final status at once, and nothing more since nothing changes
        assert await sub.nothing_within(0.3)

    assert event == {
        "videoId": created["id"],
        "status": "COMPLETE",
        "progress": 100.0,
        "currentPhase": 4,
        "branchName": "main",
        "video": {"id": created["id"], "status": "COMPLETE"},
    }


async def test_video_status_of_a_paused_video_starts_with_its_pause(server: Server) -> None:
    video = await api.paused_video(server)
    async with Subscription(server.ws_url, TRANSPORT_WS, STATUS, {"videoId": video["id"]}) as sub:
        event = (await sub.next())["data"]["videoStatus"]
    assert (event["status"], event["progress"], event["currentPhase"]) == (
        "PAUSED_AT_PHASE1",
        20.0,
        1,
    )


async def test_subscribing_to_video_status_reads_the_database_once(server: Server) -> None:
    # given a paused video (no job running)
    video = await api.paused_video(server)
    await server.settle()

    # when a client subscribes to its status and gets the first event
    with counting_statements(server) as statements:
        async with Subscription(
            server.ws_url, TRANSPORT_WS, STATUS_FIELDS, {"videoId": video["id"]}
        ) as sub:
            event = (await sub.next())["data"]["videoStatus"]

    # then one statement checked the owner and read the status with its branch's name
    assert event == {"status": "PAUSED_AT_PHASE1", "branchName": "main"}
    assert len(statements) == 1, statements


async def test_subscribing_to_an_unknown_video_is_not_found(server: Server) -> None:
    async with Subscription(server.ws_url, TRANSPORT_WS, STATUS, {"videoId": "vid-nope"}) as sub:
        result = await sub.next()
    assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_checkpoint_created_without_a_video_sees_all_of_the_callers(server: Server) -> None:
    async with Subscription(server.ws_url, TRANSPORT_WS, CHECKPOINTS, {}) as sub:
        created = await api.create_video(server)
        event = (await sub.next())["data"]["checkpointCreated"]
        await server.settle()
    assert (event["videoId"], event["phase"], event["branchName"]) == (created["id"], 1, "main")
