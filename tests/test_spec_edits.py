"""editSpec rules: the spec keeps the video's duration; palettes take CSS names or #rrggbb."""

from __future__ import annotations

from typing import Any

import pytest

from aivideo.providers.local_render import _parse_palette
from tests import api
from tests.conftest import Server

SPEC = 'query($id: ID!) { checkpoint(id: $id) { artifact(key: "spec") { version data } } }'


@pytest.fixture
async def phase1(server: Server) -> dict[str, Any]:
    """The phase-1 checkpoint of a new 10-second video."""
    video = await api.paused_video(server)
    return api.newest(video["checkpoints"], phase=1)


async def latest_spec(server: Server, checkpoint: dict[str, Any]) -> dict[str, Any]:
    return (await server.gql(SPEC, {"id": checkpoint["id"]}))["checkpoint"]["artifact"]


async def test_the_duration_cannot_change(server: Server, phase1: dict[str, Any]) -> None:
    # given a 10-second video, and beats that fill 300 seconds
    beats = [{"prompt": f"Beat {i}", "shot_type": "wide", "duration": 15} for i in range(20)]

    # when the spec's duration is patched to match them
    error = await server.gql_error(
        api.EDIT_SPEC, {"id": phase1["id"], "patch": {"duration": 300, "beats": beats}}
    )

    # then it is refused, and the spec is as it was
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == (
        "duration is the video's durationSeconds (10 s) and cannot change to 300: fit the "
        "beats to 10 s, or create a new video for another length"
    )
    assert await latest_spec(server, phase1) == {
        "version": 1,
        "data": api.artifact(phase1, "spec")["data"],
    }


async def test_beats_must_still_fill_the_duration(server: Server, phase1: dict[str, Any]) -> None:
    beats = [{"prompt": "One long beat", "shot_type": "wide", "duration": 15}]
    error = await server.gql_error(api.EDIT_SPEC, {"id": phase1["id"], "patch": {"beats": beats}})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == "invalid spec: beat durations sum to 15 s but duration is 10 s"


async def test_the_same_duration_may_be_given(server: Server, phase1: dict[str, Any]) -> None:
    edited = await server.gql(api.EDIT_SPEC, {"id": phase1["id"], "patch": {"duration": 10}})
    assert (edited["editSpec"]["version"], edited["editSpec"]["data"]["duration"]) == (2, 10)


async def test_css_colour_names_are_colours(server: Server, phase1: dict[str, Any]) -> None:
    # given a palette of CSS names (any case) and #rrggbb
    style = api.artifact(phase1, "spec")["data"]["style"]
    palette = ["navy", "Goldenrod", "#1D3557"]

    # when it is patched in
    edited = await server.gql(
        api.EDIT_SPEC, {"id": phase1["id"], "patch": {"style": {**style, "color_palette": palette}}}
    )

    # then it is kept as given
    assert edited["editSpec"]["data"]["style"]["color_palette"] == palette


@pytest.mark.parametrize("wrong", ["notacolour", "#12345g", "#fff", 7])
async def test_other_colours_are_refused(
    server: Server, phase1: dict[str, Any], wrong: Any
) -> None:
    style = api.artifact(phase1, "spec")["data"]["style"]
    patch = {"style": {**style, "color_palette": ["navy", wrong]}}
    error = await server.gql_error(api.EDIT_SPEC, {"id": phase1["id"], "patch": patch})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == (
        f"invalid spec: style.color_palette has {wrong!r}, which is not a colour: use CSS "
        'colour names ("navy", "goldenrod") or \'#rrggbb\''
    )
    assert (await latest_spec(server, phase1))["version"] == 1


def test_the_local_renderer_draws_named_colours() -> None:
    assert _parse_palette(["navy", "Goldenrod", "#1d3557"]) == [
        (0, 0, 128),
        (218, 165, 32),
        (29, 53, 87),
    ]
