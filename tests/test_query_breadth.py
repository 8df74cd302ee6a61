"""Query breadth (SPEC Access): nested lists multiply, and a query over the limit never runs."""

from __future__ import annotations

from typing import Any

import pytest

from aivideo.resolvers import lookups, videos
from tests import api
from tests.conftest import Server
from tests.ws_client import LEGACY_WS, TRANSPORT_WS, Subscription

# 1 video + 100 checkpoints × (1 + 30 artifacts × (1 + 20 versions × (1 + checkpoint
# (1 + video (1 + 100 checkpoints)))))
NESTED = """
query($id: ID!) {
  video(id: $id) {
    checkpoints { artifacts { versions { checkpoint { video { checkpoints { id } } } } } }
  }
}
"""

# Per video: 1 + 100 checkpoints × (1 + 30 artifacts × (1 + 20 versions)) = 63,101;
# the page: 1 connection + first × (1 edge + 63,101).
PAGE = """
query Page($first: Int) {
  videos(first: $first) { edges { node { ...Versions } } }
}
fragment Versions on Video {
  id
  ... on Video { checkpoints { artifacts { versions { id } } } }
}
"""

# 1 event + 1 checkpoint + 1 video + 100 checkpoints × (1 + 5 children × (1 + 30 × 21))
SUBSCRIPTION = """
subscription {
  checkpointCreated {
    checkpoint { video { checkpoints { children { artifacts { versions { id } } } } } }
  }
}
"""


def too_broad(estimate: str) -> str:
    return (
        f"query too broad: it could return {estimate} objects and the limit is 100,000. "
        "Nested lists multiply (each list counts as its `first`, or as the most items it "
        "can hold): select fewer nested lists, or split the query into several"
    )


@pytest.fixture
def resolver_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every call of the root resolvers these queries start from."""
    calls: list[str] = []
    owned_video, list_videos = lookups.owned_video, videos.list_videos

    async def recording_owned_video(*args: Any, **kwargs: Any) -> Any:
        calls.append("video")
        return await owned_video(*args, **kwargs)

    async def recording_list_videos(*args: Any, **kwargs: Any) -> Any:
        calls.append("videos")
        return await list_videos(*args, **kwargs)

    monkeypatch.setattr(lookups, "owned_video", recording_owned_video)
    monkeypatch.setattr(videos, "list_videos", recording_list_videos)
    return calls


async def test_nested_lists_over_the_limit_are_refused_before_running(
    server: Server, resolver_calls: list[str]
) -> None:
    # given a video with a few branches
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)
    for _ in range(3):
        await server.gql(api.CREATE_BRANCH, {"id": phase1["id"]})
    resolver_calls.clear()

    # when lists are nested six deep
    error = await server.gql_error(NESTED, {"id": video["id"]})

    # then the estimate and the limit are named, and no resolver ran
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == too_broad("6,183,101")
    assert resolver_calls == []


async def test_first_from_a_variable_sets_the_page_through_fragments(
    server: Server, resolver_calls: list[str]
) -> None:
    # given two videos
    for _ in range(2):
        await api.create_video(server)
    await server.settle()

    # when the same query asks for one video, then for two and for the default page
    one = await server.gql(PAGE, {"first": 1})
    two = await server.gql_error(PAGE, {"first": 2})
    default = await server.gql_error(PAGE, {})

    # then one fits (63,103 objects), two and the default 20 do not
    assert len(one["videos"]["edges"]) == 1
    assert (two["extensions"]["code"], two["message"]) == ("BAD_USER_INPUT", too_broad("126,205"))
    assert default["message"] == too_broad("1,262,041")
    assert resolver_calls == ["videos"]


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_subscriptions_are_bounded_too(server: Server, protocol: str) -> None:
    # given a subscriber whose events would carry a whole tree each
    async with Subscription(server.ws_url, protocol, SUBSCRIPTION, {}) as sub:
        # when it subscribes
        result = await sub.next()

    # then it is refused before any event
    [error] = result["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == too_broad("315,603")


async def test_introspection_is_not_counted(server: Server) -> None:
    # GraphiQL's schema query nests lists too, but the schema is small and fixed.
    query = "{ __schema { types { fields { args { type { fields { type { name } } } } } } } }"
    data = await server.gql(query)
    assert len(data["__schema"]["types"]) > 10
