"""Edit rules and their error codes; a rejected edit changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests import api
from tests.conftest import Server
from tests.test_manual_run import upload

LATEST = "query($id: ID!) { checkpoint(id: $id) { edited artifacts { id key version } } }"


@pytest.fixture
async def phase2(server: Server) -> dict[str, Any]:
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)
    await api.continue_and_settle(server, phase1["id"])
    return api.newest((await api.video(server, video["id"]))["checkpoints"], phase=2)


async def unchanged(server: Server, checkpoint: dict[str, Any]) -> None:
    latest = (await server.gql(LATEST, {"id": checkpoint["id"]}))["checkpoint"]
    assert [(a["id"], a["version"]) for a in latest["artifacts"]] == [
        (a["id"], a["version"]) for a in checkpoint["artifacts"]
    ]


async def test_edits_on_the_wrong_phase_are_phase_mismatch(
    server: Server, phase2: dict[str, Any]
) -> None:
    phase1_id = phase2["parent"]["id"]
    cases = [
        (api.EDIT_SPEC, {"id": phase2["id"], "patch": {"title": "x"}}, "editSpec works on phase 1"),
        (api.REGENERATE_BEAT, {"id": phase1_id, "index": 0}, "regenerateBeat works on phase 2"),
        (
            api.REGENERATE_CHUNK,
            {"id": phase2["id"], "index": 0},
            "regenerateChunk works on phase 3",
        ),
    ]
    for query, variables, message in cases:
        error = await server.gql_error(query, variables)
        assert error["extensions"]["code"] == "PHASE_MISMATCH", error
        assert message in error["message"]
    body = await upload(server, phase1_id, 0, b"\x89PNG")
    assert body["errors"][0]["extensions"]["code"] == "PHASE_MISMATCH"
    await unchanged(server, phase2)


async def test_out_of_range_index_says_the_range(server: Server, phase2: dict[str, Any]) -> None:
    count = len(phase2["artifacts"])
    error = await server.gql_error(api.REGENERATE_BEAT, {"id": phase2["id"], "index": 9})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == (
        f"beatIndex 9 is out of range: this checkpoint has beats 0–{count - 1}"
    )
    error = await server.gql_error(api.REGENERATE_BEAT, {"id": phase2["id"], "index": -1})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    await unchanged(server, phase2)


async def test_upload_must_be_an_image(server: Server, phase2: dict[str, Any]) -> None:
    body = await upload(server, phase2["id"], 0, b"just some text", "notes.png", "image/png")
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "PNG or JPEG" in error["message"]
    await unchanged(server, phase2)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"colour": "red"}, "unknown keys ['colour']"),
        ([], "patch must be a non-empty JSON object"),
        ({"fps": 24}, "fps must be 30"),
        ({"duration": 15}, "duration is the video's durationSeconds (10 s)"),
        ({"beats": [{"prompt": "one", "shot_type": "wide", "duration": 7}]}, "5, 10 or 15"),
        ({"style": {"mood": "calm"}}, "style must be an object with"),
    ],
)
async def test_invalid_spec_patches_are_rejected(server: Server, patch: Any, message: str) -> None:
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)
    error = await server.gql_error(api.EDIT_SPEC, {"id": phase1["id"], "patch": patch})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in error["message"]
    await unchanged(server, phase1)


async def test_spec_patch_fills_beat_ids_and_starts(server: Server) -> None:
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)
    beats = [
        {"prompt": "Close on the lamp", "shot_type": "close-up", "duration": 5},
        {"prompt": "Wide on the sea", "shot_type": "wide", "duration": 5},
    ]
    edited = (
        await server.gql(
            api.EDIT_SPEC,
            {
                "id": phase1["id"],
                "patch": {"beats": beats},
                "description": "two short beats",
            },
        )
    )["editSpec"]
    assert [(b["beat_id"], b["start"]) for b in edited["data"]["beats"]] == [
        ("beat_0", 0),
        ("beat_1", 5),
    ]
    assert edited["checkpoint"]["editDescription"] == "two short beats"


async def test_abandoned_checkpoints_cannot_be_edited_or_continued(server: Server) -> None:
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)
    await server.gql(api.CANCEL, {"id": video["id"]})
    error = await server.gql_error(api.EDIT_SPEC, {"id": phase1["id"], "patch": {"title": "x"}})
    assert error["extensions"]["code"] == "CONFLICT"
    error = await server.gql_error(api.CONTINUE, {"id": phase1["id"]})
    assert error["extensions"]["code"] == "CONFLICT"
    await unchanged(server, phase1)


async def test_continue_on_the_final_phase_is_bad_input(server: Server) -> None:
    created = await api.create_video(server, autoContinue=True)
    await server.settle()
    phase4 = api.newest((await api.video(server, created["id"]))["checkpoints"], phase=4)
    error = await server.gql_error(api.CONTINUE, {"id": phase4["id"]})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "final phase" in error["message"]


async def test_mutations_on_unknown_ids_are_not_found(server: Server) -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        (api.CONTINUE, {"id": "cp-missing"}),
        (api.EDIT_SPEC, {"id": "cp-missing", "patch": {"title": "x"}}),
        (api.CREATE_BRANCH, {"id": "cp-missing"}),
        (api.CANCEL, {"id": "vid-missing"}),
        (api.DELETE, {"id": "vid-missing"}),
    ]
    for query, variables in cases:
        error = await server.gql_error(query, variables)
        assert error["extensions"]["code"] == "NOT_FOUND", (query, error)
