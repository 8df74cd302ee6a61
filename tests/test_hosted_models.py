"""Hosted models end to end: `aivideo serve` talking to local fakes of OpenAI and Replicate.

The fakes record every request, so the tests pin the real request shapes, retries, costs
from the price table, the budget stop and cancellation reaching the provider.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import api
from tests.conftest import Server, postgres_database
from tests.fake_hosted import FakeHosted, running_fake_hosted
from tests.media_checks import probe
from tests.service_process import Client, serving
from tests.test_processes import deployed

TOKEN, OPENAI_KEY = "r8_secret_token", "sk-secret-key"
PLANNER, IMAGES = "openai:gpt-4o-mini", "replicate:black-forest-labs/flux-dev"
CLIPS, MUSIC = "replicate:minimax/hailuo-02", "replicate:meta/musicgen"
HOSTED = {"planner": PLANNER, "imageModel": IMAGES, "videoModel": CLIPS, "musicModel": MUSIC}

VIDEO = """query($id: ID!) { video(id: $id) {
  id status progress error costUsd budgetUsd
  generation { planner imageModel videoModel musicModel }
  branches { name status canContinue canRetry error }
  finalVideo { url model costUsd }
  checkpoints { id phase branchName costUsd
    artifacts { key type model costUsd url data metadata sizeBytes } }
} }"""
MODELS = "{ models { id kind available price } }"
SET_BUDGET = """mutation($id: ID!, $usd: Float) {
  setBudget(videoId: $id, budgetUsd: $usd) { id budgetUsd costUsd } }"""


class Service(Client):
    """The API of one `aivideo serve` process wired to the fakes."""

    fake: FakeHosted

    async def video(self, video_id: str) -> dict[str, Any]:
        return (await self.gql(VIDEO, {"id": video_id}))["video"]

    async def settled(self, video_id: str, *statuses: str) -> dict[str, Any]:
        """Poll until the video shows one of `statuses` (the jobs run in the server)."""
        for _ in range(1200):
            video = await self.video(video_id)
            if video["status"] in statuses:
                return video
            await asyncio.sleep(0.05)
        raise AssertionError(f"video {video_id} never reached {statuses}: {video}")

    async def create(self, prompt: str, **fields: Any) -> str:
        fields.setdefault("generation", HOSTED)
        return str((await self.create_video(prompt, **fields))["id"])


def hosted_env(fake: FakeHosted, **extra: str) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": f"{fake.url}/v1",
        "REPLICATE_API_TOKEN": TOKEN,
        "AIVIDEO_REPLICATE_BASE_URL": fake.url,
        "AIVIDEO_PROVIDER_POLL_SECONDS": "0.02",
        "AIVIDEO_PROVIDER_BACKOFF_SECONDS": "0.01",
        "AIVIDEO_PROVIDER_REQUEST_TIMEOUT_SECONDS": "3",
        "AIVIDEO_RATE_LIMIT": "",
        **extra,
    }


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def hosted(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    data_dir: Path = tmp_path_factory.mktemp(f"hosted-{request.param}")
    async with running_fake_hosted(token=TOKEN, openai_key=OPENAI_KEY) as fake:
        if request.param == "sqlite":
            async with serving(data_dir, env=hosted_env(fake)) as url:
                async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                    service = Service(url=url, http=http, key=None)
                    service.fake = fake
                    yield service
            return
        async with postgres_database() as database_url:
            env = hosted_env(fake, DATABASE_URL=database_url)
            async with serving(data_dir, env=env) as url:
                async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                    service = Service(url=url, http=http, key=None)
                    service.fake = fake
                    yield service


def creates(fake: FakeHosted, model: str) -> list[dict[str, Any]]:
    """The inputs of every prediction created for `model` (by name)."""
    return [r.json["input"] for r in fake.requests_to("POST", f"^/v1/models/{model}/predictions$")]


async def test_a_yolo_video_through_all_four_hosted_phases(hosted: Service) -> None:
    # given a 15-second YOLO video on the hosted reference models
    fake = hosted.fake
    before = len(fake.requests)
    prompt = "A paper crane unfolds into a map of the harbour at dawn."
    video_id = await hosted.create(prompt, durationSeconds=15, autoContinue=True)

    # when it runs through
    video = await hosted.settled(video_id, "COMPLETE", "FAILED")

    # then every phase was made by its model and priced from the table
    assert video["status"] == "COMPLETE", video["error"]
    assert video["generation"] == HOSTED
    phases = {c["phase"]: c for c in video["checkpoints"]}
    spec = api.artifact(phases[1], "spec")
    assert (spec["model"], spec["costUsd"]) == (PLANNER, 0.00042)  # 1200 in, 400 out tokens
    beats = spec["data"]["beats"]
    assert [b["duration"] for b in beats] == [10, 5]  # the fake's plan for 15 s
    images = [a for a in phases[2]["artifacts"] if a["type"] == "BEAT_IMAGE"]
    assert [(a["model"], a["costUsd"]) for a in images] == [(IMAGES, 0.025)] * 2
    chunks = [a for a in phases[3]["artifacts"] if a["type"] == "VIDEO_CHUNK"]
    # hailuo-02 makes 6 or 10 s: a 10 s beat costs 10 s, a 5 s beat a 6 s clip
    assert [(a["model"], a["costUsd"]) for a in chunks] == [(CLIPS, 0.45), (CLIPS, 0.27)]
    music = api.artifact(phases[4], "music")
    assert (music["model"], music["costUsd"]) == (MUSIC, 0.03)
    assert video["finalVideo"]["model"] == "local"  # muxed here, for free
    assert [c["costUsd"] for c in video["checkpoints"]] == [0.00042, 0.05, 0.72, 0.03]
    assert video["costUsd"] == pytest.approx(0.00042 + 0.05 + 0.72 + 0.03)

    # and the media were normalised to each phase's format
    final = probe((await hosted.http.get(video["finalVideo"]["url"])).content)
    assert (final.video_codecs, final.audio_codecs) == (["h264"], ["aac"])
    assert (final.width, final.height) == (1280, 720)
    assert final.duration == pytest.approx(15.0, abs=0.15)

    # and the requests had the real shapes and credentials
    [chat, *_] = [r for r in fake.requests[before:] if r.path == "/v1/chat/completions"]
    assert chat.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert chat.json["model"] == "gpt-4o-mini"
    assert chat.json["response_format"]["type"] == "json_schema"
    assert chat.json["response_format"]["json_schema"]["strict"] is True
    assert "15 seconds" in chat.json["messages"][-1]["content"]
    replicate = [
        r
        for r in fake.requests[before:]
        if r.path.startswith("/v1/") and r.path != "/v1/chat/completions"
    ]
    assert {r.headers["authorization"] for r in replicate} == {f"Bearer {TOKEN}"}
    flux = creates(fake, "black-forest-labs/flux-dev")[-2:]
    assert [(i["aspect_ratio"], i["output_format"]) for i in flux] == [("16:9", "png")] * 2
    # beats are made side by side, so their requests may come in either order
    assert all(any(b["prompt"] in i["prompt"] for i in flux) for b in beats)
    hailuo = creates(fake, "minimax/hailuo-02")[-2:]
    assert sorted(i["duration"] for i in hailuo) == [6, 10]
    assert all(i["first_frame_image"].startswith("data:image/jpeg;base64,") for i in hailuo)
    [musicgen] = creates(fake, "meta/musicgen")[-1:]
    assert musicgen["duration"] == 15


async def test_models_lists_known_ids_with_prices_and_availability(hosted: Service) -> None:
    models = (await hosted.gql(MODELS))["models"]
    by_id = {(m["id"], m["kind"]): m for m in models}
    assert by_id[(IMAGES, "IMAGE")] == {
        "id": IMAGES,
        "kind": "IMAGE",
        "available": True,
        "price": {"unit": "image", "usd": 0.025},
    }
    assert by_id[(PLANNER, "PLANNER")]["price"] == {
        "unit": "tokens",
        "inputUsdPerMillion": 0.15,
        "outputUsdPerMillion": 0.6,
    }
    assert {kind for (model, kind) in by_id if model == "local"} == {
        "PLANNER",
        "IMAGE",
        "VIDEO",
        "MUSIC",
    }


@pytest.mark.parametrize(
    ("generation", "message"),
    [
        ({"imageModel": "replicate:someone/unknown-model"}, "is not a IMAGE model this server"),
        ({"planner": "replicate:black-forest-labs/flux-dev"}, "is not a PLANNER model"),
        ({"videoModel": "hailuo"}, "is not a model id"),
    ],
)
async def test_an_unknown_model_is_refused_at_create(
    hosted: Service, generation: dict[str, str], message: str
) -> None:
    before = (await hosted.gql("{ videos { totalCount } }"))["videos"]["totalCount"]
    body = await hosted.raw(
        api.CREATE_VIDEO,
        {"input": {"prompt": api.PROMPT, "durationSeconds": 10, "generation": generation}},
    )
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert message in error["message"]
    after = (await hosted.gql("{ videos { totalCount } }"))["videos"]["totalCount"]
    assert after == before


async def test_429_and_5xx_are_retried_and_paid_once(hosted: Service) -> None:
    # given flux answering 429 (Retry-After: 0) and then 503 to the next two creations
    fake = hosted.fake
    fake.fail_next(
        "POST",
        "^/v1/models/black-forest-labs/flux-dev/predictions$",
        429,
        headers={"Retry-After": "0"},
    )
    fake.fail_next("POST", "^/v1/models/black-forest-labs/flux-dev/predictions$", 503)
    fake.fail_next("GET", "^/v1/predictions/", 500)
    before = len(creates(fake, "black-forest-labs/flux-dev"))
    generation = {**HOSTED, "videoModel": "local", "musicModel": "local"}

    # when a video's storyboard is made
    video_id = await hosted.create(
        "Snow falls upward over a sleeping city.", durationSeconds=10, generation=generation
    )
    paused = await hosted.settled(video_id, "PAUSED_AT_PHASE1", "FAILED")
    await hosted.gql(api.CONTINUE, {"id": paused["checkpoints"][0]["id"]})
    video = await hosted.settled(video_id, "PAUSED_AT_PHASE2", "FAILED")

    # then it went through, with one prediction per image (the refused tries made none)
    assert video["status"] == "PAUSED_AT_PHASE2", video["error"]
    assert len(creates(fake, "black-forest-labs/flux-dev")) - before == 2 + 1  # 2 refusals
    assert video["checkpoints"][1]["costUsd"] == 0.025


async def test_a_download_that_does_not_decode_fails_the_phase(hosted: Service) -> None:
    fake = hosted.fake
    generation = {**HOSTED, "planner": "local", "videoModel": "local", "musicModel": "local"}
    video_id = await hosted.create(
        "A lighthouse made of ice melts into song.", durationSeconds=10, generation=generation
    )
    paused = await hosted.settled(video_id, "PAUSED_AT_PHASE1")
    fake.corrupt_outputs = True
    try:
        await hosted.gql(api.CONTINUE, {"id": paused["checkpoints"][0]["id"]})
        failed = await hosted.settled(video_id, "FAILED")
    finally:
        fake.corrupt_outputs = False
    assert failed["error"].startswith("phase 2 (STORYBOARD) failed: ")
    assert "does not decode" in failed["error"]
    assert [c["phase"] for c in failed["checkpoints"]] == [1]  # nothing half-stored
    assert failed["costUsd"] == 0.0  # a failed call pays nothing


async def test_a_failed_prediction_fails_the_branch_with_the_providers_message(
    hosted: Service,
) -> None:
    fake = hosted.fake
    fake.replicate.fail_predictions_with = f"NSFW content detected (token {TOKEN})"
    try:
        generation = {**HOSTED, "planner": "local"}
        video_id = await hosted.create(
            "A cathedral of kelp sways in a slow current.",
            durationSeconds=10,
            generation=generation,
        )
        paused = await hosted.settled(video_id, "PAUSED_AT_PHASE1")
        await hosted.gql(api.CONTINUE, {"id": paused["checkpoints"][0]["id"]})
        failed = await hosted.settled(video_id, "FAILED")
    finally:
        fake.replicate.fail_predictions_with = None
    assert re.fullmatch(
        r"phase 2 \(STORYBOARD\) failed: replicate:black-forest-labs/flux-dev: prediction "
        r"\w+ failed: NSFW content detected \(token \*\*\*\)",
        failed["error"],
    ), failed["error"]
    assert TOKEN not in json.dumps(failed)


async def test_the_budget_stops_a_paid_call_until_set_budget_makes_room(hosted: Service) -> None:
    # given a 20 s video (two 10 s beats) whose budget fits the plan and one image only
    fake = hosted.fake
    generation = {**HOSTED, "videoModel": "local", "musicModel": "local"}
    images_before = len(creates(fake, "black-forest-labs/flux-dev"))
    video_id = await hosted.create(
        "A fox paints the aurora with its tail.",
        durationSeconds=20,
        generation=generation,
        budgetUsd=0.03,
    )
    paused = await hosted.settled(video_id, "PAUSED_AT_PHASE1")
    phase1 = paused["checkpoints"][0]
    assert paused["budgetUsd"] == 0.03

    # when phase 2 runs
    await hosted.gql(api.CONTINUE, {"id": phase1["id"]})
    failed = await hosted.settled(video_id, "FAILED")

    # then the second image was not paid for, and the branch says why
    assert len(creates(fake, "black-forest-labs/flux-dev")) - images_before == 1
    assert "budget exceeded" in failed["error"]
    assert "has spent $0.0254 of its $0.0300 budget" in failed["error"]
    assert "needs $0.0250 more" in failed["error"]
    assert failed["costUsd"] == pytest.approx(0.02542)

    # and continuing answers BUDGET_EXCEEDED at once, with nothing queued
    error = await hosted.raw(api.CONTINUE, {"id": phase1["id"]})
    assert error["errors"][0]["extensions"]["code"] == "BUDGET_EXCEEDED"
    assert (await hosted.video(video_id))["branches"] == failed["branches"]

    # when the budget is raised, the retry pays only for the image it lacks
    raised = (await hosted.gql(SET_BUDGET, {"id": video_id, "usd": 1.0}))["setBudget"]
    assert raised["budgetUsd"] == 1.0
    await hosted.gql(api.CONTINUE, {"id": phase1["id"]})
    done = await hosted.settled(video_id, "PAUSED_AT_PHASE2")
    assert len(creates(fake, "black-forest-labs/flux-dev")) - images_before == 2
    assert done["costUsd"] == pytest.approx(0.00042 + 0.05)
    assert done["checkpoints"][1]["costUsd"] == 0.05


async def test_cancel_reaches_the_provider(hosted: Service) -> None:
    # given a storyboard image held mid-prediction
    fake = hosted.fake
    generation = {**HOSTED, "planner": "local"}
    video_id = await hosted.create(
        "A train of lanterns crosses a frozen sea.", durationSeconds=10, generation=generation
    )
    paused = await hosted.settled(video_id, "PAUSED_AT_PHASE1")
    before = len(creates(fake, "black-forest-labs/flux-dev"))
    fake.replicate.hold()
    try:
        await hosted.gql(api.CONTINUE, {"id": paused["checkpoints"][0]["id"]})
        prediction_id = await _first_polled_prediction(fake, before)

        # when the video is cancelled
        await hosted.gql(api.CANCEL, {"id": video_id})
    finally:
        fake.replicate.release()

    # then the prediction was cancelled at Replicate
    assert fake.requests_to("POST", f"^/v1/predictions/{prediction_id}/cancel$")
    assert fake.replicate.get(prediction_id)["status"] == "canceled"
    assert (await hosted.video(video_id))["status"] == "CANCELLED"


async def test_a_poll_that_times_out_is_retried(hosted: Service) -> None:
    # given the next poll of any prediction hanging past the client's 3 s timeout
    fake = hosted.fake
    generation = {**HOSTED, "planner": "local", "videoModel": "local", "musicModel": "local"}
    video_id = await hosted.create(
        "A kettle whistles a lullaby to a sleepy kitchen.",
        durationSeconds=10,
        generation=generation,
    )
    paused = await hosted.settled(video_id, "PAUSED_AT_PHASE1")
    fake.hang_next("GET", "^/v1/predictions/", 6)
    before = len(creates(fake, "black-forest-labs/flux-dev"))

    # when phase 2 runs
    await hosted.gql(api.CONTINUE, {"id": paused["checkpoints"][0]["id"]})
    video = await hosted.settled(video_id, "PAUSED_AT_PHASE2", "FAILED")

    # then the poll was tried again and the phase finished, one prediction per beat
    assert video["status"] == "PAUSED_AT_PHASE2", video["error"]
    beats = len(api.artifact(paused["checkpoints"][0], "spec")["data"]["beats"])
    assert len(creates(fake, "black-forest-labs/flux-dev")) - before == beats


async def test_progress_moves_while_a_prediction_runs(hosted: Service) -> None:
    # given a storyboard image whose prediction is held, reporting 90 % (9/10) while held
    fake = hosted.fake
    generation = {**HOSTED, "planner": "local", "videoModel": "local", "musicModel": "local"}
    video_id = await hosted.create(
        "Rain taps Morse code on a tin roof at night.", durationSeconds=10, generation=generation
    )
    paused = await hosted.settled(video_id, "PAUSED_AT_PHASE1")
    beats = len(api.artifact(paused["checkpoints"][0], "spec")["data"]["beats"])
    fake.replicate.hold()
    try:
        await hosted.gql(api.CONTINUE, {"id": paused["checkpoints"][0]["id"]})
        # then the video's progress shows 90 % of the first image while it is held
        expected = round(20 + 20 * 0.9 / beats, 2)
        for _ in range(1200):
            video = await hosted.video(video_id)
            if video["progress"] == expected:
                break
            await asyncio.sleep(0.02)
        assert (video["status"], video["progress"]) == ("GENERATING_STORYBOARD", expected)
    finally:
        fake.replicate.release()
    assert (await hosted.settled(video_id, "PAUSED_AT_PHASE2"))["progress"] == 40.0


REGENERATE = """mutation($id: ID!, $index: Int!, $model: String) {
  regenerateChunk(checkpointId: $id, chunkIndex: $index, modelOverride: $model) {
    id version model costUsd metadata } }"""


async def test_regenerate_chunk_with_a_hosted_model_override(hosted: Service) -> None:
    # given a video made locally up to its clips
    local = {
        "planner": "local",
        "imageModel": "local",
        "videoModel": "local",
        "musicModel": "local",
    }
    video_id = await hosted.create(
        "A snail crosses a garden path in one heroic day.", durationSeconds=10, generation=local
    )
    paused = await hosted.settled(video_id, "PAUSED_AT_PHASE1")
    await hosted.gql(api.CONTINUE, {"id": paused["checkpoints"][0]["id"]})
    phase2 = (await hosted.settled(video_id, "PAUSED_AT_PHASE2"))["checkpoints"][1]
    await hosted.gql(api.CONTINUE, {"id": phase2["id"]})
    phase3 = (await hosted.settled(video_id, "PAUSED_AT_PHASE3"))["checkpoints"][2]
    first_beat = api.artifact(paused["checkpoints"][0], "spec")["data"]["beats"][0]

    # when chunk 0 is regenerated with hailuo-02, and with a model the server does not know
    body = await hosted.raw(REGENERATE, {"id": phase3["id"], "index": 0, "model": "runway"})
    regenerated = await hosted.gql(REGENERATE, {"id": phase3["id"], "index": 0, "model": CLIPS})

    # then the unknown one is refused, and the new version is hailuo's, priced per second made
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    chunk = regenerated["regenerateChunk"]
    seconds = 6 if first_beat["duration"] == 5 else first_beat["duration"]
    assert (chunk["version"], chunk["model"]) == (2, CLIPS)
    assert chunk["costUsd"] == pytest.approx(0.045 * seconds)
    assert (await hosted.video(video_id))["costUsd"] == pytest.approx(0.045 * seconds)


async def test_a_pinned_version_is_called_by_version(hosted: Service) -> None:
    # given a video whose image model is pinned to a version of flux-dev
    fake = hosted.fake
    version = fake.replicate.version_of("black-forest-labs/flux-dev")
    pinned = f"{IMAGES}:{version}"
    generation = {
        **HOSTED,
        "planner": "local",
        "imageModel": pinned,
        "videoModel": "local",
        "musicModel": "local",
    }
    before = len(fake.requests_to("POST", "^/v1/predictions$"))
    video_id = await hosted.create(
        "Clockwork bees tend a brass sunflower.", durationSeconds=10, generation=generation
    )
    paused = await hosted.settled(video_id, "PAUSED_AT_PHASE1")
    await hosted.gql(api.CONTINUE, {"id": paused["checkpoints"][0]["id"]})
    video = await hosted.settled(video_id, "PAUSED_AT_PHASE2", "FAILED")

    # then its predictions went to /v1/predictions with the version, priced as flux-dev
    assert video["status"] == "PAUSED_AT_PHASE2", video["error"]
    calls = fake.requests_to("POST", "^/v1/predictions$")[before:]
    assert calls and {c.json["version"] for c in calls} == {version}
    assert "16:9" == calls[0].json["input"]["aspect_ratio"]
    images = [a for a in video["checkpoints"][1]["artifacts"] if a["type"] == "BEAT_IMAGE"]
    assert {(a["model"], a["costUsd"]) for a in images} == {(pinned, 0.025)}


async def _first_polled_prediction(fake: FakeHosted, flux_before: int) -> str:
    """The id of the next flux prediction once it is polled (so its id is on record)."""
    for _ in range(1200):
        if len(creates(fake, "black-forest-labs/flux-dev")) > flux_before:
            live = [
                p["id"]
                for p in fake.replicate.predictions.values()
                if p["status"] in ("starting", "processing")
            ]
            polled = [i for i in live if fake.requests_to("GET", f"^/v1/predictions/{i}$")]
            if polled:
                return str(polled[0])
        await asyncio.sleep(0.02)
    raise AssertionError("no flux prediction was polled")


async def test_an_invalid_plan_gets_one_repair_round_trip(hosted: Service) -> None:
    # given a planner whose first answer's beats do not add up
    fake = hosted.fake
    answers = [
        json.dumps(
            {
                "title": "T",
                "style": {
                    "aesthetic": "ink",
                    "color_palette": ["#000000"],
                    "mood": "calm",
                    "lighting": "soft",
                },
                "beats": [{"prompt": "a", "shot_type": "wide shot", "duration": 5}],
            }
        ),
    ]
    default = fake.openai.reply
    fake.openai.reply = lambda request: answers.pop() if answers else default(request)
    before = len(fake.requests_to("POST", "^/v1/chat/completions$"))
    try:
        video_id = await hosted.create(
            "An owl keeps the accounts of a moonlit forest.", durationSeconds=10
        )
        video = await hosted.settled(video_id, "PAUSED_AT_PHASE1", "FAILED")
    finally:
        fake.openai.reply = default

    # then the second answer was used, and both were paid for
    assert video["status"] == "PAUSED_AT_PHASE1", video["error"]
    chats = fake.requests_to("POST", "^/v1/chat/completions$")[before:]
    assert len(chats) == 2
    assert "invalid" in chats[1].json["messages"][-1]["content"]
    spec = api.artifact(video["checkpoints"][0], "spec")
    assert sum(b["duration"] for b in spec["data"]["beats"]) == 10
    assert spec["metadata"]["repaired"] is True
    assert spec["costUsd"] == pytest.approx(2 * 0.00042)


async def test_a_worker_killed_mid_prediction_is_taken_over_without_paying_twice(
    tmp_path: Path,
) -> None:
    # given the production shape (API and a worker over PostgreSQL and Redis) on the fakes
    async with (
        running_fake_hosted(token=TOKEN, openai_key=OPENAI_KEY) as fake,
        deployed(tmp_path, **hosted_env(fake)) as deployment,
    ):
        service = Service(url=deployment.url, http=deployment.http, key=None)
        service.fake = fake
        [worker] = deployment.processes[1:]
        generation = {**HOSTED, "planner": "local", "videoModel": "local", "musicModel": "local"}
        video_id = await service.create(
            "Two moths waltz around a streetlamp.", durationSeconds=10, generation=generation
        )
        paused = await service.settled(video_id, "PAUSED_AT_PHASE1")
        beats = len(api.artifact(paused["checkpoints"][0], "spec")["data"]["beats"])
        fake.replicate.hold()
        await service.gql(api.CONTINUE, {"id": paused["checkpoints"][0]["id"]})
        held = await _first_polled_prediction(fake, 0)

        # when the worker dies mid-prediction and another takes the phase over
        await deployment.crash(worker)
        await deployment.start_worker()
        fake.replicate.release()
        done = await service.settled(video_id, "PAUSED_AT_PHASE2", "FAILED")

    # then the held prediction was polled to the end, not made again: one per beat
    assert done["status"] == "PAUSED_AT_PHASE2", done["error"]
    assert len(creates(fake, "black-forest-labs/flux-dev")) == beats
    assert fake.replicate.get(held)["status"] == "succeeded"
    assert done["costUsd"] == pytest.approx(0.025 * beats)


async def test_the_same_plan_is_answered_from_the_ledger(hosted: Service) -> None:
    # given a video planned by gpt-4o-mini
    fake = hosted.fake
    prompt = "A tortoise wins a race against the tide, slowly."
    first = await hosted.settled(
        await hosted.create(prompt, durationSeconds=10), "PAUSED_AT_PHASE1"
    )
    chats = len(fake.requests_to("POST", "^/v1/chat/completions$"))

    # when the same plan is asked for again
    second = await hosted.settled(
        await hosted.create(prompt, durationSeconds=10), "PAUSED_AT_PHASE1"
    )

    # then the planner was not called again and nobody paid twice
    assert len(fake.requests_to("POST", "^/v1/chat/completions$")) == chats
    spec1, spec2 = (api.artifact(v["checkpoints"][0], "spec") for v in (first, second))
    assert spec2["data"] == spec1["data"]
    assert (spec1["costUsd"], spec2["costUsd"]) == (0.00042, 0.0)
    assert second["costUsd"] == 0.0


async def test_models_need_their_credentials(server: Server) -> None:
    # given a server with no OpenAI or Replicate credentials
    models = (await server.gql(MODELS))["models"]
    available = {m["id"]: m["available"] for m in models}
    assert available["local"] is True
    assert (available[IMAGES], available[PLANNER]) == (False, False)

    # when a video asks for a Replicate model
    error = await server.gql_error(
        api.CREATE_VIDEO,
        {
            "input": {
                "prompt": api.PROMPT,
                "durationSeconds": 10,
                "generation": {"imageModel": IMAGES},
            }
        },
    )

    # then it is refused at once, saying what is missing
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "needs REPLICATE_API_TOKEN" in error["message"]
