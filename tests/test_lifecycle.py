"""YOLO mode, cancel and delete."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import api
from tests.conftest import Server
from tests.media_checks import probe
from tests.test_subscriptions import STATUS
from tests.ws_client import TRANSPORT_WS, Subscription


async def test_yolo_runs_to_complete_on_main(server: Server) -> None:
    # when
    created = await api.create_video(server, autoContinue=True, durationSeconds=15)
    await server.settle()

    # then four approved checkpoints, each the parent of the next, all on main
    video = await api.video(server, created["id"])
    assert (video["status"], video["progress"], video["currentPhase"]) == ("COMPLETE", 100.0, 4)
    checkpoints = video["checkpoints"]
    assert [(c["phase"], c["branchName"], c["status"]) for c in checkpoints] == [
        (p, "main", "APPROVED") for p in (1, 2, 3, 4)
    ]
    assert all(c["approvedAt"] for c in checkpoints)
    assert [c["parent"] for c in checkpoints] == [None] + [{"id": c["id"]} for c in checkpoints[:3]]
    assert [b["name"] for b in video["branches"]] == ["main"]
    assert video["activeBranches"] == []
    assert video["costUsd"] == 0.0
    final = await server.http.get(video["finalVideo"]["url"])
    assert final.headers["content-type"] == "video/mp4"
    media = probe(final.content)
    assert media.video_codecs == ["h264"] and media.audio_codecs == ["aac"]
    assert abs(media.duration - 15.0) < 0.15


async def test_cancel_abandons_pending_work(server: Server) -> None:
    # given one paused branch and one queued run
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)
    await server.gql(api.CREATE_BRANCH, {"id": phase1["id"], "name": "other"})
    queued = await api.create_video(server)

    # when
    cancelled = await server.gql(api.CANCEL, {"id": video["id"]})
    cancelled_queued = await server.gql(api.CANCEL, {"id": queued["id"]})
    await server.settle()

    # then
    assert cancelled["cancelVideo"]["status"] == "CANCELLED"
    after = await api.video(server, video["id"])
    assert after["status"] == "CANCELLED"
    assert {c["status"] for c in after["checkpoints"]} == {"ABANDONED"}
    assert {b["status"] for b in after["branches"]} == {"CANCELLED"}
    assert after["activeBranches"] == [] and after["currentCheckpoint"] is None
    assert api.artifact(after["checkpoints"][0], "spec")["data"]  # finished work stays
    assert cancelled_queued["cancelVideo"]["status"] == "CANCELLED"
    stopped = await api.video(server, queued["id"])
    assert stopped["status"] == "CANCELLED"
    assert {c["status"] for c in stopped["checkpoints"]} <= {"ABANDONED"}


async def test_delete_removes_rows_and_unshared_files(server: Server) -> None:
    # given two videos with identical prompts: their storyboards are the same files
    prompt = "A paper boat sails down a rainy gutter into the wide harbour."
    first, second = [await api.paused_video(server, prompt=prompt) for _ in range(2)]
    for video in (first, second):
        await api.continue_and_settle(server, api.newest(video["checkpoints"], phase=1)["id"])
    first = await api.video(server, first["id"])
    shared = api.artifact(api.newest(first["checkpoints"], phase=2), "beat_0")
    media_dir: Path = server.runtime.settings.media_dir
    path = media_dir / shared["sha256"][:2] / shared["sha256"]
    assert path.exists()

    # when the first is deleted
    assert (await server.gql(api.DELETE, {"id": first["id"]}))["deleteVideo"] is True

    # then it is gone, and the file the second still uses stays
    error = await server.gql_error(api.VIDEO, {"id": first["id"]})
    assert error["extensions"]["code"] == "NOT_FOUND"
    error = await server.gql_error(
        "query($id: ID!) { checkpoint(id: $id) { id } }", {"id": first["checkpoints"][0]["id"]}
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert path.exists()
    assert (await server.http.get(shared["url"])).status_code == 200

    # and once the second is deleted too, the file goes
    await server.gql(api.DELETE, {"id": second["id"]})
    assert not path.exists()
    assert (await server.http.get(shared["url"])).status_code == 404


async def test_cancel_stops_a_running_phase(server: Server) -> None:
    # given a YOLO video in the middle of phase 3
    created = await api.create_video(server, autoContinue=True, durationSeconds=30)
    variables = {"videoId": created["id"]}
    async with Subscription(server.ws_url, TRANSPORT_WS, STATUS, variables) as sub:
        while True:
            event = (await sub.next())["data"]["videoStatus"]
            if event["status"] == "GENERATING_CHUNKS" and event["progress"] > 40:
                break

        # when it is cancelled
        cancelled = await server.gql(api.CANCEL, {"id": created["id"]})
        await server.settle()

    # then phase 3 stopped without a checkpoint, and what was finished stays
    assert cancelled["cancelVideo"]["status"] == "CANCELLED"
    video = await api.video(server, created["id"])
    assert video["status"] == "CANCELLED"
    assert [(c["phase"], c["status"]) for c in video["checkpoints"]] == [
        (1, "APPROVED"),
        (2, "APPROVED"),
    ]
    assert [(b["name"], b["status"], b["canContinue"]) for b in video["branches"]] == [
        ("main", "CANCELLED", True)
    ]

    # and continuing picks the phase up again on the same branch
    resumed = await api.continue_and_settle(server, video["checkpoints"][1]["id"])
    assert (resumed["branch"]["name"], resumed["createdNewBranch"]) == ("main", False)
    assert (await api.video(server, created["id"]))["status"] == "COMPLETE"


FIELDS = """
query($id: ID!) {
  video(id: $id) {
    estimatedTimeRemaining
    branches { id finalVideo { key } checkpoints { phase } }
    last: checkpoints(branchName: "main", phase: 4) { id
      music: artifacts(type: MUSIC) { key type contentType }
      final: artifact(key: "final") { key type }
      missing: artifact(key: "beat_0") { key }
    }
    none: checkpoints(branchName: "nope") { id }
  }
}
"""
NODE = """query($id: ID!) { node(id: $id) { id __typename
  ... on Checkpoint { phase } ... on Artifact { key } ... on Branch { name } } }"""


async def test_filters_and_nodes_of_a_finished_video(server: Server) -> None:
    created = await api.create_video(server, autoContinue=True)
    await server.settle()

    video = (await server.gql(FIELDS, {"id": created["id"]}))["video"]

    assert video["estimatedTimeRemaining"] is None
    [main] = video["branches"]
    assert main["finalVideo"] == {"key": "final"}
    assert [c["phase"] for c in main["checkpoints"]] == [1, 2, 3, 4]
    [last] = video["last"]
    assert last["music"] == [{"key": "music", "type": "MUSIC", "contentType": "audio/mp4"}]
    assert last["final"] == {"key": "final", "type": "FINAL_VIDEO"}
    assert last["missing"] is None and video["none"] == []
    artifact_id = (await api.video(server, created["id"]))["finalVideo"]["id"]
    for node_id, typename, field in [
        (last["id"], "Checkpoint", ("phase", 4)),
        (artifact_id, "Artifact", ("key", "final")),
        (main["id"], "Branch", ("name", "main")),
    ]:
        node = (await server.gql(NODE, {"id": node_id}))["node"]
        assert (node["id"], node["__typename"], node[field[0]]) == (node_id, typename, field[1])


async def test_a_storage_outage_after_delete_does_not_fail_the_delete(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a video whose files cannot be removed right now
    video = await api.paused_video(server, prompt="An origami heron folds itself at dusk.")
    await api.continue_and_settle(server, api.newest(video["checkpoints"], phase=1)["id"])

    async def unreachable(sha256: str) -> None:
        raise OSError("storage is unreachable")

    monkeypatch.setattr(server.runtime.storage, "delete", unreachable)

    # when it is deleted, then the delete (already committed) is reported as done
    assert (await server.gql(api.DELETE, {"id": video["id"]}))["deleteVideo"] is True
    error = await server.gql_error(api.VIDEO, {"id": video["id"]})
    assert error["extensions"]["code"] == "NOT_FOUND"
