"""Every failure has a retry path, and canContinue offers exactly what continue then does."""

from __future__ import annotations

from typing import Any

import pytest

from aivideo.providers.base import ProviderError
from tests import api
from tests.conftest import Server

BRANCHES = """
query($id: ID!) {
  video(id: $id) {
    status
    branches { name status canContinue error head { phase } }
    checkpoints(phase: 2) { branchName parent { id } inputs { key version } }
  }
}
"""

# Each test has its own prompt: provider results are reused by their inputs (idempotency
# keys), so a prompt another test already rendered would never reach the failing call.
FORK_PROMPT = "A paper boat sails down a rainy gutter and into a sleeping city's river."
ALT_PROMPT = "An old clockmaker repairs the town's tower clock during a midnight storm."


def fail_once(
    monkeypatch: pytest.MonkeyPatch, server: Server, method: str, error: Exception
) -> None:
    """The runtime's provider raises `error` on its next `method` call, then works again."""
    provider = server.runtime.provider
    real = getattr(provider, method)
    failed: list[Exception] = []

    async def failing(**kwargs: Any) -> Any:
        if not failed:
            failed.append(error)
            raise error
        return await real(**kwargs)

    monkeypatch.setattr(provider, method, failing)


async def branches(server: Server, video_id: str) -> dict[str, Any]:
    return (await server.gql(BRANCHES, {"id": video_id}))["video"]


async def test_continue_retries_a_fork_whose_first_run_failed(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given main at phase 2, then phase 1 edited and continued onto main-1, whose run fails
    video = await api.paused_video(server, prompt=FORK_PROMPT)
    phase1 = api.newest(video["checkpoints"], phase=1)
    await api.continue_and_settle(server, phase1["id"])
    style = {**api.artifact(phase1, "spec")["data"]["style"], "mood": "wistful"}
    await server.gql(api.EDIT_SPEC, {"id": phase1["id"], "patch": {"style": style}})
    fail_once(monkeypatch, server, "image", ProviderError("the image service is unavailable"))
    forked = await api.continue_and_settle(server, phase1["id"])
    assert (forked["branch"]["name"], forked["createdNewBranch"]) == ("main-1", True)
    failed = await branches(server, video["id"])
    error = "phase 2 (STORYBOARD) failed: the image service is unavailable"
    assert failed["branches"] == [
        {"name": "main", "status": "PAUSED", "canContinue": True, "error": None,
         "head": {"phase": 2}},
        {"name": "main-1", "status": "FAILED", "canContinue": False, "error": error,
         "head": None},
    ]  # fmt: skip

    # when phase 1 is continued again, with no new versions
    retried = await api.continue_and_settle(server, phase1["id"])

    # then main-1 ran again: no third branch
    assert (retried["branch"]["name"], retried["createdNewBranch"]) == ("main-1", False)
    done = await branches(server, video["id"])
    assert [(b["name"], b["status"], b["error"]) for b in done["branches"]] == [
        ("main", "PAUSED", None),
        ("main-1", "PAUSED", None),
    ]
    assert [(c["branchName"], c["parent"], c["inputs"]) for c in done["checkpoints"]] == [
        ("main", {"id": phase1["id"]}, [{"key": "spec", "version": 1}]),
        ("main-1", {"id": phase1["id"]}, [{"key": "spec", "version": 2}]),
    ]


async def test_can_continue_and_continue_agree_on_a_failed_fork(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given phase 1 continued onto `alt`, whose phase 2 fails
    video = await api.paused_video(server, prompt=ALT_PROMPT)
    phase1 = api.newest(video["checkpoints"], phase=1)
    fail_once(monkeypatch, server, "image", ProviderError("the image service is unavailable"))
    await api.continue_and_settle(server, phase1["id"], branch_name="alt")

    # then main offers to continue: its head's versions were not consumed by a finished run
    failed = await branches(server, video["id"])
    assert [(b["name"], b["status"], b["canContinue"]) for b in failed["branches"]] == [
        ("main", "PAUSED", True),
        ("alt", "FAILED", False),
    ]

    # when main's head is continued
    result = await api.continue_and_settle(server, phase1["id"])

    # then that continue retries alt (the same versions, already given to it), not a new run
    assert (result["branch"]["name"], result["createdNewBranch"]) == ("alt", False)
    done = await branches(server, video["id"])
    assert [(b["name"], b["status"], b["canContinue"]) for b in done["branches"]] == [
        ("main", "PAUSED", False),
        ("alt", "PAUSED", True),
    ]
    assert [c["branchName"] for c in done["checkpoints"]] == ["alt"]
