"""Every failure has a retry path, and canContinue offers exactly what continue then does."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from aivideo.providers.base import ProviderError
from tests import api
from tests.conftest import Server

RETRY = """
mutation Retry($id: ID!) {
  retryBranch(branchId: $id) { id name status canContinue canRetry error }
}
"""

BRANCHES = """
query($id: ID!) {
  video(id: $id) {
    status error
    branches { id name status canContinue canRetry error head { phase } }
    checkpoints(phase: 2) { branchName parent { id } inputs { key version } }
  }
}
"""

# Each test has its own prompt: provider results are reused by their inputs (idempotency
# keys), so a prompt another test already rendered would never reach the failing call.
FORK_PROMPT = "A paper boat sails down a rainy gutter and into a sleeping city's river."
ALT_PROMPT = "An old clockmaker repairs the town's tower clock during a midnight storm."
PLAN_PROMPT = "A girl teaches a lonely robot to fly a kite above the windy dunes."
INTERNAL_PROMPT = "Fireflies spell a secret message over a pond at the end of summer."
REFUSED_PROMPT = "A baker's sourdough starter escapes the jar and explores the kitchen."
RUNNING_PROMPT = "A snowman wakes up in spring and goes looking for the last patch of ice."


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


def summary(branch: dict[str, Any]) -> tuple[Any, ...]:
    """name, status, canContinue, canRetry, error, head."""
    return tuple(branch[k] for k in ("name", "status", "canContinue", "canRetry", "error", "head"))


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
    assert [summary(b) for b in failed["branches"]] == [
        ("main", "PAUSED", True, False, None, {"phase": 2}),
        ("main-1", "FAILED", False, True, error, None),
    ]

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


async def test_a_failed_phase_1_is_retried_with_retry_branch(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a video whose planning fails: no checkpoint to continue from
    fail_once(monkeypatch, server, "plan", ProviderError("the planner is overloaded"))
    created = await api.create_video(server, prompt=PLAN_PROMPT)
    await server.settle()
    failed = await branches(server, created["id"])
    error = "phase 1 (PLANNING) failed: the planner is overloaded"
    assert (failed["status"], failed["error"]) == ("FAILED", error)
    [main] = failed["branches"]
    assert summary(main) == ("main", "FAILED", False, True, error, None)

    # when main is retried
    retried = (await server.gql(RETRY, {"id": main["id"]}))["retryBranch"]
    await server.settle()

    # then phase 1 ran again on main, and there is nothing left to retry
    assert retried == {
        "id": main["id"],
        "name": "main",
        "status": "QUEUED",
        "canContinue": False,
        "canRetry": False,
        "error": None,
    }
    video = await api.video(server, created["id"])
    assert (video["status"], video["error"]) == ("PAUSED_AT_PHASE1", None)
    assert [(c["phase"], c["version"], c["branchName"]) for c in video["checkpoints"]] == [
        (1, 1, "main")
    ]
    assert [(b["name"], b["canContinue"]) for b in video["branches"]] == [("main", True)]


async def test_retry_branch_reruns_the_same_inputs_after_an_internal_error(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given phase 2 failing with an internal error, and phase 1 edited after that
    video = await api.paused_video(server, prompt=INTERNAL_PROMPT)
    phase1 = api.newest(video["checkpoints"], phase=1)
    fail_once(monkeypatch, server, "image", RuntimeError("connection reset by peer"))
    await api.continue_and_settle(server, phase1["id"])
    failed = await branches(server, video["id"])
    error = "phase 2 (STORYBOARD) failed with an internal error; retryBranch retries it"
    assert [summary(b) for b in failed["branches"]] == [
        ("main", "FAILED", True, True, error, {"phase": 1}),
    ]
    await server.gql(api.EDIT_SPEC, {"id": phase1["id"], "patch": {"title": "Edited later"}})

    # when main is retried
    await server.gql(RETRY, {"id": failed["branches"][0]["id"]})
    await server.settle()

    # then the failed run ran again on main with the versions it was given (spec v1)
    done = await branches(server, video["id"])
    assert [summary(b) for b in done["branches"]] == [
        ("main", "PAUSED", True, False, None, {"phase": 2}),
    ]
    assert [(c["branchName"], c["inputs"]) for c in done["checkpoints"]] == [
        ("main", [{"key": "spec", "version": 1}]),
    ]


async def test_retry_branch_is_refused_when_nothing_failed(server: Server) -> None:
    # given a video paused after phase 1
    video = await api.paused_video(server, prompt=REFUSED_PROMPT)
    [main] = video["branches"]

    # when its branch is retried, or a branch that does not exist
    error = await server.gql_error(RETRY, {"id": main["id"]})
    missing = await server.gql_error(RETRY, {"id": "br-missing"})

    # then both are refused and nothing changed
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"] == (
        "branch main has nothing to retry: its last run, phase 1 (PLANNING), SUCCEEDED; "
        "continue its head checkpoint to go on"
    )
    assert missing["extensions"]["code"] == "NOT_FOUND"
    await server.settle()
    assert await api.video(server, video["id"]) == video


async def test_retry_branch_is_refused_while_its_phase_runs(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given phase 2 held open inside the provider
    video = await api.paused_video(server, prompt=RUNNING_PROMPT)
    phase1 = api.newest(video["checkpoints"], phase=1)
    provider = server.runtime.provider
    real, entered, release = provider.image, asyncio.Event(), asyncio.Event()

    async def held(**kwargs: Any) -> Any:
        entered.set()
        await release.wait()
        return await real(**kwargs)

    monkeypatch.setattr(provider, "image", held)
    await server.gql(api.CONTINUE, {"id": phase1["id"]})
    await asyncio.wait_for(entered.wait(), timeout=60)  # a bound against hanging, not a timing

    # when main is retried while it runs
    running = await branches(server, video["id"])
    error = await server.gql_error(RETRY, {"id": running["branches"][0]["id"]})
    release.set()
    await server.settle()

    # then it is refused, and phase 2 ran once
    assert [summary(b) for b in running["branches"]] == [
        ("main", "RUNNING", False, False, None, {"phase": 1}),
    ]
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["message"] == (
        "branch main has nothing to retry: phase 2 (STORYBOARD) is running on it; "
        "wait for it to finish or fail"
    )
    done = await branches(server, video["id"])
    assert [c["branchName"] for c in done["checkpoints"]] == ["main"]
    assert [summary(b) for b in done["branches"]] == [
        ("main", "PAUSED", True, False, None, {"phase": 2}),
    ]
