"""Rules hold under concurrent requests: the per-video lock and the unique constraints."""

from __future__ import annotations

import asyncio

from tests import api
from tests.conftest import Server


async def test_concurrent_continues_queue_one_run(server: Server) -> None:
    # given
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)

    # when five clients continue the same checkpoint at once
    results = await asyncio.gather(
        *(server.gql(api.CONTINUE, {"id": phase1["id"]}) for _ in range(5))
    )
    await server.settle()

    # then one phase-2 run happened, on main, and every caller was told so
    assert {r["continueCheckpoint"]["branch"]["name"] for r in results} == {"main"}
    assert not any(r["continueCheckpoint"]["createdNewBranch"] for r in results)
    after = await api.video(server, video["id"])
    assert [(c["phase"], c["branchName"]) for c in after["checkpoints"]] == [
        (1, "main"),
        (2, "main"),
    ]


async def test_concurrent_branches_get_distinct_names(server: Server) -> None:
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)

    results = await asyncio.gather(
        *(server.gql(api.CREATE_BRANCH, {"id": phase1["id"]}) for _ in range(5))
    )

    names = sorted(r["createBranch"]["name"] for r in results)
    assert names == [f"main-{n}" for n in range(1, 6)]
    after = await api.video(server, video["id"])
    assert len(after["checkpoints"]) == 6


async def test_query_limits_reject_before_running(server: Server) -> None:
    deep = "{ videos { edges { node { checkpointTree " + "{ children " * 12 + "{ id }" + " }" * 12
    deep += " } } } }"
    error = await server.gql_error(deep)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "exceeds maximum operation depth" in error["message"]

    aliases = "{ " + " ".join(f"a{i}: videos {{ totalCount }}" for i in range(40)) + " }"
    error = await server.gql_error(aliases)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_concurrent_spec_edits_each_build_on_the_last(server: Server) -> None:
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)
    style = api.artifact(phase1, "spec")["data"]["style"]

    await asyncio.gather(
        server.gql(api.EDIT_SPEC, {"id": phase1["id"], "patch": {"title": "New title"}}),
        server.gql(api.EDIT_SPEC, {"id": phase1["id"], "patch": {"style": {**style, "mood": "x"}}}),
    )

    latest = api.artifact(
        api.newest((await api.video(server, video["id"]))["checkpoints"], phase=1), "spec"
    )
    assert latest["version"] == 3
    assert latest["data"]["title"] == "New title" and latest["data"]["style"]["mood"] == "x"
