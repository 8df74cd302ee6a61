"""createBranch and editSpec count against the owner's rate limit with the generation requests."""

from __future__ import annotations

from typing import Any

import pytest

from aivideo.rate_limits import GenerationLimiter
from aivideo.settings import Settings
from tests import api
from tests.conftest import Server

LIMIT = 2
VIDEO_OF = "query($id: ID!) { checkpoint(id: $id) { video { branches { name } } } }"
SPEC_VERSION = 'query($id: ID!) { checkpoint(id: $id) { artifact(key: "spec") { version } } }'


@pytest.fixture
async def phase1(server: Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A paused phase-1 checkpoint, then a limit of two requests a day from here on.

    A day, not a minute: the sliding window weighs the previous window's hits down as the
    next one begins, so a test that crossed a minute boundary would see room again.
    """
    video = await api.paused_video(server)
    limiter = GenerationLimiter(Settings(rate_limit=f"{LIMIT}/day", redis_url=""))
    monkeypatch.setattr(server.runtime, "limiter", limiter)
    return api.newest(video["checkpoints"], phase=1)


async def branch_names(server: Server, checkpoint: dict[str, Any]) -> list[str]:
    data = await server.gql(VIDEO_OF, {"id": checkpoint["id"]})
    return [b["name"] for b in data["checkpoint"]["video"]["branches"]]


async def test_create_branch_past_the_limit_is_rate_limited(
    server: Server, phase1: dict[str, Any]
) -> None:
    # given as many branches as the limit allows
    for _ in range(LIMIT):
        await server.gql(api.CREATE_BRANCH, {"id": phase1["id"]})

    # when one more is asked for
    error = await server.gql_error(api.CREATE_BRANCH, {"id": phase1["id"]})

    # then it is refused and nothing was created
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert "the limit is 2 per 1 day per owner; try again in" in error["message"]
    assert await branch_names(server, phase1) == ["main", "main-1", "main-2"]


async def test_edit_spec_past_the_limit_is_rate_limited(
    server: Server, phase1: dict[str, Any]
) -> None:
    # given as many spec edits as the limit allows
    for index in range(LIMIT):
        await server.gql(api.EDIT_SPEC, {"id": phase1["id"], "patch": {"title": f"T{index}"}})

    # when one more is made
    error = await server.gql_error(api.EDIT_SPEC, {"id": phase1["id"], "patch": {"title": "x"}})

    # then it is refused and the spec stays at the last allowed version
    assert error["extensions"]["code"] == "RATE_LIMITED"
    version = await server.gql(SPEC_VERSION, {"id": phase1["id"]})
    assert version["checkpoint"]["artifact"] == {"version": 1 + LIMIT}
