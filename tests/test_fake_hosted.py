"""The fake OpenAI and Replicate APIs answer with the real shapes and play scripted faults."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openai
import pytest
from PIL import Image

from aivideo.media.audio import fit_audio
from aivideo.media.clips import clip_seconds, fit_clip
from tests.fake_hosted import FakeHosted, running_fake_hosted

AUTH = {"Authorization": "Bearer r8_test"}
PROGRESS = re.compile(r"^\s*(?P<percentage>\d+)%\s*\|.+?\|\s*(?P<current>\d+)\/(?P<total>\d+)")


@pytest.fixture
async def fake() -> AsyncIterator[FakeHosted]:
    async with running_fake_hosted(token="r8_test", openai_key="sk-test") as running:
        yield running


@pytest.fixture
async def client(fake: FakeHosted) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake.url, headers=AUTH) as http:
        yield http


async def create(client: httpx.AsyncClient, model: str, model_input: dict[str, Any]) -> Any:
    response = await client.post(f"/v1/models/{model}/predictions", json={"input": model_input})
    assert response.status_code == 201, response.text
    return response.json()


async def poll(client: httpx.AsyncClient, prediction: dict[str, Any]) -> Any:
    response = await client.get(prediction["urls"]["get"])
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_prediction_starts_processes_with_progress_and_succeeds(
    fake: FakeHosted, client: httpx.AsyncClient
) -> None:
    # given a FLUX prediction
    created = await create(
        client, "black-forest-labs/flux-dev", {"prompt": "a lighthouse", "aspect_ratio": "16:9"}
    )
    assert re.fullmatch(r"[a-z0-9]{26}", created["id"])
    assert created["status"] == "starting" and created["output"] is None
    assert created["model"] == "black-forest-labs/flux-dev"
    assert re.fullmatch(r"[0-9a-f]{64}", created["version"])
    assert created["urls"] == {
        "get": f"{fake.url}/v1/predictions/{created['id']}",
        "cancel": f"{fake.url}/v1/predictions/{created['id']}/cancel",
        "stream": f"{fake.url}/v1/predictions/{created['id']}/stream",
    }
    assert {
        "input",
        "error",
        "logs",
        "metrics",
        "created_at",
        "started_at",
        "completed_at",
    } <= created.keys()

    # when it is polled twice
    first = await poll(client, created)
    second = await poll(client, created)

    # then processing at 50% (tqdm line in the logs), then succeeded with one PNG URL
    assert first["status"] == "processing"
    progress = PROGRESS.match(first["logs"].splitlines()[-1])
    assert progress and progress.groups() == ("50", "5", "10")
    assert second["status"] == "succeeded" and second["completed_at"] and not second["error"]
    [url] = second["output"]
    assert url == f"{fake.url}/files/{created['id']}.png"
    download = await client.get(url)
    assert download.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(download.content)) as image:
        image.load()
        assert (image.format, image.size) == ("PNG", (1344, 768))
    # and every request was recorded with its auth header and body
    [posted] = fake.requests_to("POST", r"/predictions$")
    assert posted.headers["authorization"] == "Bearer r8_test"
    assert posted.json == {"input": {"prompt": "a lighthouse", "aspect_ratio": "16:9"}}
    assert len(fake.requests_to("GET", rf"/v1/predictions/{created['id']}$")) == 2


async def test_video_and_music_outputs_decode_at_the_asked_length(
    fake: FakeHosted, client: httpx.AsyncClient
) -> None:
    # given a clip by version ("owner/name:version") and music by official model name
    fake.replicate.polls_to_finish = 1
    version = fake.replicate.version_of("minimax/hailuo-02")
    response = await client.post(
        "/v1/predictions",
        json={
            "version": f"minimax/hailuo-02:{version}",
            "input": {"prompt": "waves", "first_frame_image": "data:,", "duration": 3},
        },
    )
    assert response.status_code == 201, response.text
    clip = response.json()
    music = await create(client, "meta/musicgen", {"prompt": "calm", "duration": 5})

    # when they finish
    clip, music = await poll(client, clip), await poll(client, music)

    # then the clip is a single MP4 URL of 3 s and the music a WAV URL of 5 s
    assert clip["version"] == version and clip["output"].endswith(".mp4")
    video = (await client.get(clip["output"])).content
    assert abs(clip_seconds(video) - 3.0) < 1 / 24
    assert music["output"].endswith(".wav")
    wav = (await client.get(music["output"])).content
    assert wav[:4] == b"RIFF" and len(fit_audio(wav, seconds=5.0)) > 0
    # and a bare version id the fake does not know is refused as Replicate does
    unknown = await client.post("/v1/predictions", json={"version": "0" * 64, "input": {}})
    assert unknown.status_code == 422 and unknown.json()["status"] == 422


async def test_held_predictions_stay_processing_until_released(
    fake: FakeHosted, client: httpx.AsyncClient
) -> None:
    # given a held prediction
    fake.replicate.hold()
    held = await create(client, "minimax/video-01", {"prompt": "a fox"})

    # when it is polled past polls_to_finish, then released
    statuses = [(await poll(client, held))["status"] for _ in range(4)]
    fake.replicate.release()
    after = await poll(client, held)

    # then it stayed processing, and finished on the poll after release
    assert statuses == ["processing"] * 4
    assert after["status"] == "succeeded" and after["output"].endswith(".mp4")


async def test_cancel_makes_a_prediction_canceled_for_good(
    fake: FakeHosted, client: httpx.AsyncClient
) -> None:
    created = await create(client, "black-forest-labs/flux-schnell", {"prompt": "x"})

    response = await client.post(created["urls"]["cancel"])

    assert response.status_code == 200 and response.json()["status"] == "canceled"
    later = [await poll(client, created) for _ in range(3)]
    assert [p["status"] for p in later] == ["canceled"] * 3
    assert later[-1]["output"] is None
    assert fake.replicate.get(created["id"])["status"] == "canceled"


async def test_failing_predictions_report_the_error(
    fake: FakeHosted, client: httpx.AsyncClient
) -> None:
    fake.replicate.fail_predictions_with = "NSFW content detected"
    created = await create(client, "black-forest-labs/flux-dev", {"prompt": "x"})

    finished = [await poll(client, created) for _ in range(2)][-1]

    assert (finished["status"], finished["error"], finished["output"]) == (
        "failed",
        "NSFW content detected",
        None,
    )


async def test_scripted_429_then_success(fake: FakeHosted, client: httpx.AsyncClient) -> None:
    # given two 429s scripted for prediction creation
    fake.fail_next("POST", r"/predictions$", 429, times=2, headers={"Retry-After": "0"})

    # when the client posts three times
    answers = [
        await client.post("/v1/models/meta/musicgen/predictions", json={"input": {"prompt": "x"}})
        for _ in range(3)
    ]

    # then two problem-JSON 429s with Retry-After, then a created prediction
    assert [a.status_code for a in answers] == [429, 429, 201]
    assert answers[0].headers["retry-after"] == "0"
    assert answers[0].json() == {
        "title": "Too Many Requests",
        "detail": "fake error 429",
        "status": 429,
    }
    assert len(fake.requests_to("POST", r"/predictions$")) == 3
    assert len(fake.replicate.predictions) == 1


async def test_scripted_5xx_hang_and_corrupt_download(
    fake: FakeHosted, client: httpx.AsyncClient
) -> None:
    fake.replicate.polls_to_finish = 1
    created = await create(client, "minimax/hailuo-02", {"prompt": "x", "duration": 2})
    fake.fail_next("GET", r"^/v1/predictions/", 503, body="upstream down")
    fake.hang_next("GET", r"^/v1/predictions/", 30)

    unavailable = await client.get(created["urls"]["get"])
    with pytest.raises(httpx.ReadTimeout):
        await client.get(created["urls"]["get"], timeout=0.2)
    finished = await poll(client, created)
    fake.corrupt_outputs = True
    corrupt = (await client.get(finished["output"])).content

    assert (unavailable.status_code, unavailable.text) == (503, "upstream down")
    assert finished["status"] == "succeeded"
    with pytest.raises(ValueError):
        fit_clip([corrupt], seconds=2.0)


async def test_wrong_credentials_are_refused_and_nothing_is_created(fake: FakeHosted) -> None:
    async with httpx.AsyncClient(base_url=fake.url) as anonymous:
        missing = await anonymous.post("/v1/models/meta/musicgen/predictions", json={"input": {}})
        wrong = await anonymous.post(
            "/v1/models/meta/musicgen/predictions",
            json={"input": {}},
            headers={"Authorization": "Bearer r8_other"},
        )

    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert wrong.json()["title"] == "Unauthenticated"
    assert fake.replicate.predictions == {}
    assert fake.requests_to("POST", "musicgen")[1].headers["authorization"] == "Bearer r8_other"


async def test_openai_sdk_gets_the_default_plan_with_usage(fake: FakeHosted) -> None:
    # given the official SDK pointed at the fake
    sdk = openai.AsyncOpenAI(base_url=fake.url + "/v1", api_key="sk-test", max_retries=0)

    # when it asks for a 30 s plan
    completion = await sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "You plan videos."},
            {"role": "user", "content": "A lighthouse at dusk, 30 seconds long."},
        ],
        response_format={"type": "json_object"},
    )

    # then the reply parses into a spec whose beats sum to 30 s, with the usage
    spec = json.loads(completion.choices[0].message.content or "")
    assert sum(beat["duration"] for beat in spec["beats"]) == 30
    assert {beat["duration"] for beat in spec["beats"]} <= {5, 10, 15}
    assert spec["style"]["color_palette"] == ["#112233", "#445566", "#778899"]
    assert completion.model == "gpt-4o-mini"
    assert completion.usage is not None
    assert (
        completion.usage.prompt_tokens,
        completion.usage.completion_tokens,
        completion.usage.total_tokens,
    ) == (1200, 400, 1600)
    [request] = fake.requests_to("POST", r"^/v1/chat/completions$")
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.json["response_format"] == {"type": "json_object"}


async def test_openai_sdk_sees_custom_replies_retries_429_and_refuses_a_bad_key(
    fake: FakeHosted,
) -> None:
    fake.openai.reply = lambda request: "not json " + request["model"]
    fake.openai.usage = (10, 5)
    fake.fail_next("POST", r"/chat/completions$", 429, headers={"Retry-After": "0"})
    sdk = openai.AsyncOpenAI(base_url=fake.url + "/v1", api_key="sk-test", max_retries=1)

    completion = await sdk.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "hi"}]
    )
    with pytest.raises(openai.AuthenticationError):
        await openai.AsyncOpenAI(
            base_url=fake.url + "/v1", api_key="sk-wrong", max_retries=0
        ).chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hi"}])

    assert completion.choices[0].message.content == "not json gpt-test"
    assert completion.usage is not None and completion.usage.total_tokens == 15
    assert len(fake.requests_to("POST", r"/chat/completions$")) == 3


async def test_a_blocking_client_on_the_tests_thread_is_answered(fake: FakeHosted) -> None:
    # The server has a thread of its own: a sync client (as in a worker's thread) never deadlocks.
    with httpx.Client(base_url=fake.url, headers=AUTH, timeout=10) as blocking:
        created = blocking.post(  # noqa: ASYNC212 - blocking the loop is the point
            "/v1/models/meta/musicgen/predictions", json={"input": {"duration": 1}}
        )
        polled = blocking.get(created.json()["urls"]["get"])  # noqa: ASYNC212

    assert (created.status_code, polled.json()["status"]) == (201, "processing")
