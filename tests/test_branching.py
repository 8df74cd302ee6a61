"""Continue and branch rules: idempotency, forks after the branch moved on, copies, retries."""

from __future__ import annotations

from typing import Any

from aivideo.providers.base import Media, Plan, Provider
from tests import api
from tests.conftest import Server

RUN_COUNT = "query($id: ID!) { video(id: $id) { checkpoints(phase: 2) { id branchName } } }"


async def checkpoints(server: Server, video_id: str) -> list[dict[str, Any]]:
    return (await api.video(server, video_id))["checkpoints"]


async def test_continue_is_idempotent(server: Server) -> None:
    # given a phase-1 checkpoint continued once
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)
    first = await api.continue_and_settle(server, phase1["id"])

    # when continued again without changes
    again = await api.continue_and_settle(server, phase1["id"])

    # then nothing new ran and the same branch is answered
    assert first["branch"]["id"] == again["branch"]["id"]
    assert again["branch"]["name"] == "main"
    assert (again["createdNewBranch"], again["nextPhase"]) == (False, 2)
    assert again["checkpoint"]["approvedAt"] == first["checkpoint"]["approvedAt"]
    phase2 = (await server.gql(RUN_COUNT, {"id": video["id"]}))["video"]["checkpoints"]
    assert [c["branchName"] for c in phase2] == ["main"]


async def test_continue_forks_when_the_branch_moved_on(server: Server) -> None:
    # given main at phase 2
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)
    await api.continue_and_settle(server, phase1["id"])
    spec = api.artifact(phase1, "spec")["data"]

    # when phase 1 is edited and continued again: a new branch main-1
    await server.gql(api.EDIT_SPEC, {"id": phase1["id"], "patch": {"title": "Second take"}})
    forked = await api.continue_and_settle(server, phase1["id"])
    assert (forked["branch"]["name"], forked["createdNewBranch"]) == ("main-1", True)
    again = await api.continue_and_settle(server, phase1["id"])
    assert (again["branch"]["name"], again["createdNewBranch"]) == ("main-1", False)

    # and on main-1: phase 2 continued, then a regenerated beat forks main-1-1
    main1_phase2 = api.newest(await checkpoints(server, video["id"]), phase=2, branch="main-1")
    assert main1_phase2["parent"] == {"id": phase1["id"]}
    await api.continue_and_settle(server, main1_phase2["id"])
    await server.gql(api.REGENERATE_BEAT, {"id": main1_phase2["id"], "index": 0})
    nested = await api.continue_and_settle(server, main1_phase2["id"])
    assert (nested["branch"]["name"], nested["createdNewBranch"]) == ("main-1-1", True)

    # and a further edit of phase 1 forks main-2
    await server.gql(api.EDIT_SPEC, {"id": phase1["id"], "patch": {"title": spec["title"]}})
    third = await api.continue_and_settle(server, phase1["id"])
    assert (third["branch"]["name"], third["createdNewBranch"]) == ("main-2", True)

    # then the tree has them all, each with its parent branch and fork point
    final = await api.video(server, video["id"])
    by_name = {b["name"]: b for b in final["branches"]}
    assert list(by_name) == ["main", "main-1", "main-1-1", "main-2"]
    assert by_name["main-1"]["parentBranch"] == {"name": "main"}
    assert by_name["main-1-1"]["parentBranch"] == {"name": "main-1"}
    assert by_name["main-1-1"]["forkedFrom"] == {"id": main1_phase2["id"]}
    assert by_name["main-2"]["forkedFrom"] == {"id": phase1["id"]}
    assert by_name["main-1-1"]["head"]["phase"] == 3
    titles = {
        c["branchName"]: c["inputs"][0]["version"] for c in final["checkpoints"] if c["phase"] == 2
    }
    assert titles == {"main": 1, "main-1": 2, "main-2": 3}


async def test_continue_to_a_chosen_branch_name(server: Server) -> None:
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)

    chosen = await api.continue_and_settle(server, phase1["id"], branch_name="wide.shots_v2")
    assert (chosen["branch"]["name"], chosen["createdNewBranch"]) == ("wide.shots_v2", True)

    taken = await server.gql_error(api.CONTINUE, {"id": phase1["id"], "branchName": "main"})
    assert taken["extensions"]["code"] == "CONFLICT"
    invalid = await server.gql_error(api.CONTINUE, {"id": phase1["id"], "branchName": "no spaces"})
    assert invalid["extensions"]["code"] == "BAD_USER_INPUT"
    names = [b["name"] for b in (await api.video(server, video["id"]))["branches"]]
    assert names == ["main", "wide.shots_v2"]


async def test_create_branch_copies_the_checkpoint_as_a_sibling(server: Server) -> None:
    # given a phase-2 checkpoint with an edited beat
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)
    await api.continue_and_settle(server, phase1["id"])
    phase2 = api.newest(await checkpoints(server, video["id"]), phase=2)
    regenerated = await server.gql(api.REGENERATE_BEAT, {"id": phase2["id"], "index": 0})
    source_latest = {
        a["key"]: a
        for a in api.newest(await checkpoints(server, video["id"]), phase=2)["artifacts"]
    }
    assert source_latest["beat_0"]["id"] == regenerated["regenerateBeat"]["id"]

    # when
    branch = (await server.gql(api.CREATE_BRANCH, {"id": phase2["id"]}))["createBranch"]

    # then
    assert branch["name"] == "main-1"
    assert branch["status"] == "PAUSED" and branch["phase"] == 2 and branch["canContinue"] is True
    assert branch["parentBranch"] == {"name": "main"}
    assert branch["forkedFrom"] == {"id": phase2["id"]}
    head = branch["head"]
    assert head["id"] != phase2["id"] and head["parent"] == {"id": phase1["id"]}
    assert (head["phase"], head["version"], head["status"]) == (2, 1, "PENDING")
    assert phase2["id"] in head["editDescription"] and "main" in head["editDescription"]
    for copy in head["artifacts"]:
        assert copy["version"] == 1
        assert copy["previousVersion"] == {"id": source_latest[copy["key"]]["id"]}
        assert copy["sha256"] == source_latest[copy["key"]]["sha256"]

    named = await server.gql(api.CREATE_BRANCH, {"id": phase2["id"], "name": "keep"})
    assert named["createBranch"]["name"] == "keep"
    taken = await server.gql_error(api.CREATE_BRANCH, {"id": phase2["id"], "name": "keep"})
    assert taken["extensions"]["code"] == "CONFLICT"
    bad = await server.gql_error(api.CREATE_BRANCH, {"id": phase2["id"], "name": "x" * 65})
    assert bad["extensions"]["code"] == "BAD_USER_INPUT"

    # and the copy continues on its own branch
    result = await api.continue_and_settle(server, head["id"])
    assert (result["branch"]["name"], result["createdNewBranch"]) == ("main-1", False)
    phase3 = api.newest(await checkpoints(server, video["id"]), phase=3, branch="main-1")
    assert phase3["parent"] == {"id": head["id"]}


class FailingProvider(Provider):
    """Delegates to the real provider but fails every image."""

    name = "failing"

    def __init__(self, real: Provider) -> None:
        self.real = real

    async def plan(self, **kwargs: Any) -> Plan:
        return await self.real.plan(**kwargs)

    async def image(self, **kwargs: Any) -> Media:
        from aivideo.providers.base import ProviderError

        raise ProviderError("the image service is unavailable")

    async def clip(self, **kwargs: Any) -> Media:
        return await self.real.clip(**kwargs)

    async def stitch(self, **kwargs: Any) -> Media:
        return await self.real.stitch(**kwargs)

    async def music(self, **kwargs: Any) -> Media:
        return await self.real.music(**kwargs)

    async def mux(self, **kwargs: Any) -> Media:
        return await self.real.mux(**kwargs)


async def test_failed_phase_is_retried_on_the_same_branch(server: Server) -> None:
    # given phase 2 failing (a prompt of its own: no earlier result can answer from the ledger)
    video = await api.paused_video(
        server, prompt="A glass harbour at dusk where paper boats refuse to sink."
    )
    phase1 = api.newest(video["checkpoints"], phase=1)
    real = server.runtime.provider
    server.runtime.provider = FailingProvider(real)
    try:
        await api.continue_and_settle(server, phase1["id"])
    finally:
        server.runtime.provider = real
    failed = await api.video(server, video["id"])
    assert failed["status"] == "FAILED"
    assert failed["error"] == "phase 2 (STORYBOARD) failed: the image service is unavailable"
    [main] = failed["branches"]
    assert (main["status"], main["canContinue"], main["error"]) == ("FAILED", True, failed["error"])
    assert len(failed["checkpoints"]) == 1  # what was stored stays

    # when continued again
    retried = await api.continue_and_settle(server, phase1["id"])

    # then it re-ran on the same branch
    assert (retried["branch"]["name"], retried["createdNewBranch"]) == ("main", False)
    done = await api.video(server, video["id"])
    assert done["status"] == "PAUSED_AT_PHASE2" and done["error"] is None
    assert [c["phase"] for c in done["checkpoints"]] == [1, 2]


class FlakyImages(FailingProvider):
    """Counts image calls per beat; fails beat `fail_at` once."""

    name = "local"  # same idempotency keys as the real provider

    def __init__(self, real: Provider, fail_at: int) -> None:
        super().__init__(real)
        self.fail_at = fail_at
        self.calls: dict[int, int] = {}

    async def image(self, **kwargs: Any) -> Media:
        from aivideo.providers.base import ProviderError

        index = kwargs["beat_index"]
        self.calls[index] = self.calls.get(index, 0) + 1
        if index == self.fail_at and self.calls[index] == 1:
            raise ProviderError(f"beat {index} timed out")
        return await self.real.image(**kwargs)


async def test_a_retried_phase_does_not_pay_twice_for_finished_items(server: Server) -> None:
    # given a storyboard of three beats whose second image fails once
    video = await api.paused_video(
        server, durationSeconds=30, prompt="Three foxes race the first snow over a frozen lake."
    )
    phase1 = api.newest(video["checkpoints"], phase=1)
    assert len(api.artifact(phase1, "spec")["data"]["beats"]) == 3
    real = server.runtime.provider
    flaky = FlakyImages(real, fail_at=1)
    server.runtime.provider = flaky
    try:
        await api.continue_and_settle(server, phase1["id"])
        assert (await api.video(server, video["id"]))["status"] == "FAILED"

        # when the phase is retried
        await api.continue_and_settle(server, phase1["id"])
    finally:
        server.runtime.provider = real

    # then the first image was generated once, not again
    assert flaky.calls == {0: 1, 1: 2, 2: 1}
    assert (await api.video(server, video["id"]))["status"] == "PAUSED_AT_PHASE2"


BRANCHES = "query($id: ID!) { video(id: $id) { branches { name status canContinue } } }"


async def can_continue(server: Server, video_id: str) -> dict[str, bool]:
    data = await server.gql(BRANCHES, {"id": video_id})
    return {b["name"]: b["canContinue"] for b in data["video"]["branches"]}


async def test_can_continue_follows_rule_eight(server: Server) -> None:
    # given a pending phase-1 head: continuable
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)
    assert await can_continue(server, video["id"]) == {"main": True}

    # when it is continued onto another branch, main's head has nothing new
    await api.continue_and_settle(server, phase1["id"], branch_name="alt")
    assert await can_continue(server, video["id"]) == {"main": False, "alt": True}

    # and an edit gives main's head versions no run consumed
    await server.gql(api.EDIT_SPEC, {"id": phase1["id"], "patch": {"title": "Edited"}})
    assert await can_continue(server, video["id"]) == {"main": True, "alt": True}

    # and nothing can continue while a phase runs on the branch
    alt_phase2 = api.newest(
        (await api.video(server, video["id"]))["checkpoints"], phase=2, branch="alt"
    )
    result = await server.gql(api.CONTINUE, {"id": alt_phase2["id"]})
    assert result["continueCheckpoint"]["branch"]["name"] == "alt"
    running = await can_continue(server, video["id"])
    await server.settle()
    assert running["alt"] is False
    assert await can_continue(server, video["id"]) == {"main": True, "alt": True}
