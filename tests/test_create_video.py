"""createVideo, phase 1, the video queries and their input errors."""

from __future__ import annotations

import pytest

from tests import api
from tests.conftest import Server

COUNT = "query { videos(first: 100) { totalCount } }"


async def test_create_video_runs_phase_one_and_pauses(server: Server) -> None:
    # given / when
    created = await api.create_video(server, durationSeconds=30, title="  Storm  friends ")

    # then: queued at once, paused after phase 1 with a valid spec
    assert created["status"] == "QUEUED"
    assert created["currentPhase"] is None
    assert created["title"] == "Storm friends"
    await server.settle()
    video = await api.video(server, created["id"])
    assert video["status"] == "PAUSED_AT_PHASE1"
    assert video["progress"] == 20.0
    assert video["currentPhase"] == 1
    assert [b["name"] for b in video["branches"]] == ["main"]
    assert video["branches"][0]["status"] == "PAUSED"
    assert video["branches"][0]["canContinue"] is True
    [checkpoint] = video["checkpoints"]
    assert video["currentCheckpoint"] == {"id": checkpoint["id"]}
    assert (checkpoint["phase"], checkpoint["phaseName"], checkpoint["version"]) == (
        1,
        "PLANNING",
        1,
    )
    assert checkpoint["status"] == "PENDING"
    assert checkpoint["edited"] is False
    assert checkpoint["parent"] is None and checkpoint["inputs"] == []
    [spec] = checkpoint["artifacts"]
    assert (spec["type"], spec["key"], spec["version"], spec["url"]) == ("SPEC", "spec", 1, None)
    body = spec["data"]
    assert body["duration"] == 30 and body["fps"] == 30 and body["resolution"] == "1280x720"
    assert set(body["style"]) == {"aesthetic", "color_palette", "mood", "lighting"}
    assert sum(beat["duration"] for beat in body["beats"]) == 30
    assert all(beat["duration"] in (5, 10, 15) for beat in body["beats"])
    assert len({beat["prompt"] for beat in body["beats"]}) == len(body["beats"])


async def test_title_defaults_from_prompt(server: Server) -> None:
    created = await api.create_video(server)
    assert created["title"] == api.PROMPT[:60].rsplit(" ", 1)[0] + "…"
    await server.settle()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"prompt": "   too short   "}, "prompt must be 10 to 1000 characters"),
        ({"prompt": "x" * 1001}, "prompt must be 10 to 1000 characters"),
        ({"durationSeconds": 12}, "multiple of 5"),
        ({"durationSeconds": 5}, "durationSeconds must be 10 to 120"),
        ({"durationSeconds": 125}, "durationSeconds must be 10 to 120"),
        ({"title": "t" * 201}, "title must be at most 200 characters"),
    ],
)
async def test_create_video_rejects_bad_input(
    server: Server, fields: dict[str, object], message: str
) -> None:
    # given
    before = (await server.gql(COUNT))["videos"]["totalCount"]

    # when
    error = await server.gql_error(
        api.CREATE_VIDEO, {"input": {"prompt": api.PROMPT, "durationSeconds": 10, **fields}}
    )

    # then
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in error["message"]
    assert (await server.gql(COUNT))["videos"]["totalCount"] == before


async def test_videos_pagination_and_node(server: Server) -> None:
    # given three new videos
    made = [(await api.create_video(server, title=f"page {i}"))["id"] for i in range(3)]
    await server.settle()
    query = """query($after: String) { videos(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id title } } } }"""

    # when paging two at a time
    first = (await server.gql(query))["videos"]
    second = (await server.gql(query, {"after": first["pageInfo"]["endCursor"]}))["videos"]

    # then newest first, no overlap
    assert [e["node"]["id"] for e in first["edges"]] == made[::-1][:2]
    assert first["pageInfo"]["hasNextPage"] is True
    assert second["edges"][0]["node"]["id"] == made[0]
    assert first["totalCount"] == second["totalCount"] >= 3
    node = await server.gql(
        "query($id: ID!) { node(id: $id) { id ... on Video { title } } }", {"id": made[0]}
    )
    assert node["node"] == {"id": made[0], "title": "page 0"}


async def test_status_filter_and_bad_cursor(server: Server) -> None:
    created = await api.create_video(server)
    await server.settle()
    paused = await server.gql(
        "{ videos(first: 100, status: PAUSED_AT_PHASE1) { edges { node { id status } } } }"
    )
    assert {"id": created["id"], "status": "PAUSED_AT_PHASE1"} in [
        e["node"] for e in paused["videos"]["edges"]
    ]
    error = await server.gql_error('{ videos(after: "nonsense!") { totalCount } }')
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    error = await server.gql_error("{ videos(first: 1000) { totalCount } }")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("field", ["video", "checkpoint", "artifact", "node"])
async def test_unknown_ids_are_not_found(server: Server, field: str) -> None:
    error = await server.gql_error(f'{{ {field}(id: "vid-doesnotexist") {{ id }} }}')
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert error["path"] == [field]


async def test_invalid_query_gets_bad_user_input_without_internals(server: Server) -> None:
    error = await server.gql_error("{ videos { nope } }")
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Traceback" not in error["message"]
