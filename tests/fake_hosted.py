"""A local fake of the OpenAI chat and Replicate prediction HTTP APIs, for adapter and e2e tests.

It runs uvicorn on a free loopback port in a thread of its own, so the test's event
loop, blocking clients and separate `aivideo worker` processes all reach it by URL:

    async with running_fake_hosted(token="r8_test", openai_key="sk-test") as fake:
        AsyncOpenAI(base_url=fake.url + "/v1", api_key="sk-test")   # OpenAI
        AIVIDEO_REPLICATE_BASE_URL=fake.url, REPLICATE_API_TOKEN=r8_test  # Replicate

Request and response shapes follow the real APIs (the `openai` and `replicate` SDKs'
models; Replicate errors are RFC 7807 problem JSON, OpenAI's `{"error": {...}}`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import math
import re
import secrets
import socket
import string
import threading
import time
import wave
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import av
import numpy as np
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aivideo.media.images import png_bytes

DEFAULT_MODEL_KINDS = {
    "black-forest-labs/flux-dev": "image",
    "black-forest-labs/flux-schnell": "image",
    "minimax/hailuo-02": "video",
    "minimax/video-01": "video",
    "meta/musicgen": "audio",
}
_ID_ALPHABET = string.ascii_lowercase + string.digits
_MEDIA_TYPES = {"png": "image/png", "mp4": "video/mp4", "wav": "audio/wav"}
_TERMINAL = frozenset({"succeeded", "failed", "canceled"})


@dataclass(frozen=True)
class Recorded:
    """One request the fake received (faulted ones included)."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    json: Any  # the parsed body, or None when it is not JSON
    at: float  # time.time() on arrival


@dataclass
class _Fault:
    """A scripted answer for the next `times` requests matching `method` and `pattern`."""

    method: str
    pattern: re.Pattern[str]
    times: int
    status: int = 0  # 0: hang instead of failing
    headers: dict[str, str] | None = None
    body: Any = None
    seconds: float = 0.0


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _seed(value: Any) -> int:
    """A stable number from any JSON value (colours and tones follow the request)."""
    text = json.dumps(value, sort_keys=True, default=str)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _color(value: Any) -> tuple[int, int, int]:
    seed = _seed(value)
    return (40 + seed % 176, 40 + (seed >> 8) % 176, 40 + (seed >> 16) % 176)


def _text_of(content: Any) -> str:
    """A chat message's text, from a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def default_plan_reply(request: dict[str, Any]) -> str:
    """A valid spec JSON for the duration named in the last user message ("30 seconds").

    Durations are 10 s beats and a 5 s one where needed; a duration that is not a
    multiple of 5 is rounded to one (the planner's validation then has work to do).
    """
    users = [m for m in request.get("messages", []) if m.get("role") == "user"]
    text = _text_of(users[-1].get("content")) if users else ""
    match = re.search(r"(\d+) seconds", text)
    total = max(5, round(int(match.group(1)) / 5) * 5) if match else 30
    durations = [10] * (total // 10) + ([5] if total % 10 else [])
    subject = " ".join(text.split()[:8]) or "a quiet scene"
    spec = {
        "title": f"Fake plan: {subject}"[:80],
        "style": {
            "aesthetic": "cinematic",
            "color_palette": ["#112233", "#445566", "#778899"],
            "mood": "calm",
            "lighting": "golden hour",
        },
        "beats": [
            {"prompt": f"Beat {i + 1} of {subject}", "shot_type": "wide shot", "duration": d}
            for i, d in enumerate(durations)
        ],
    }
    return json.dumps(spec)


@dataclass
class FakeOpenAI:
    """The chat completions side: what it answers, and with what usage."""

    key: str
    reply: Callable[[dict[str, Any]], str] = default_plan_reply
    usage: tuple[int, int] = (1200, 400)  # (prompt_tokens, completion_tokens)


@dataclass
class FakeReplicate:
    """The predictions side: state of every prediction and the knobs tests turn."""

    token: str
    lock: threading.Lock
    polls_to_finish: int = 2
    fail_predictions_with: str | None = None  # read when a prediction would succeed
    model_kinds: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MODEL_KINDS))
    versions: dict[str, str] = field(default_factory=dict)  # version id -> "owner/name"
    predictions: dict[str, dict[str, Any]] = field(default_factory=dict)
    _polls: dict[str, int] = field(default_factory=dict)
    _held: set[str] = field(default_factory=set)
    _holding: bool = False

    def version_of(self, model: str) -> str:
        """The fake's 64-hex version id of `model` (also accepted by POST /v1/predictions)."""
        version = hashlib.sha256(model.encode()).hexdigest()
        with self.lock:
            self.versions[version] = model
        return version

    def hold(self) -> None:
        """Keep predictions created from now on `processing` until `release()`."""
        with self.lock:
            self._holding = True

    def release(self) -> None:
        """Let held predictions finish on their next poll; new ones are not held."""
        with self.lock:
            self._holding = False
            self._held.clear()

    def get(self, prediction_id: str) -> dict[str, Any]:
        """A copy of a prediction's current JSON, without polling it."""
        with self.lock:
            return json.loads(json.dumps(self.predictions[prediction_id]))


class FakeHosted:
    """The running fake: its base URL, both APIs' state, scripted faults and the request log."""

    def __init__(self, *, token: str, openai_key: str) -> None:
        self.url = ""
        self.lock = threading.Lock()
        self.openai = FakeOpenAI(key=openai_key)
        self.replicate = FakeReplicate(token=token, lock=self.lock)
        self.requests: list[Recorded] = []
        self.corrupt_outputs = False
        self._faults: list[_Fault] = []
        self._files: dict[str, bytes] = {}
        self._outputs: dict[str, tuple[str, dict[str, Any]]] = {}  # file name -> (kind, input)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next `times` matching requests with `status` (body: the API's error JSON)."""
        with self.lock:
            self._faults.append(
                _Fault(
                    method.upper(),
                    re.compile(path_regex),
                    times,
                    status=status,
                    headers=headers,
                    body=body,
                )
            )

    def hang_next(self, method: str, path_regex: str, seconds: float, times: int = 1) -> None:
        """Delay the next `times` matching requests by `seconds`, then answer them normally.

        A client that times out meanwhile does not see the answer, but the work is done
        (a prediction is still created), as with a real API.
        """
        with self.lock:
            self._faults.append(
                _Fault(method.upper(), re.compile(path_regex), times, seconds=seconds)
            )

    def requests_to(self, method: str, path_regex: str) -> list[Recorded]:
        """The recorded requests with `method` whose path matches `path_regex` (re.search)."""
        pattern = re.compile(path_regex)
        with self.lock:
            return [
                r for r in self.requests if r.method == method.upper() and pattern.search(r.path)
            ]

    # --- the ASGI app -------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route(
                    "/v1/models/{owner}/{name}/predictions", self._create_official, methods=["POST"]
                ),
                Route("/v1/predictions", self._create_by_version, methods=["POST"]),
                Route("/v1/predictions/{id}", self._get_prediction, methods=["GET"]),
                Route("/v1/predictions/{id}/cancel", self._cancel_prediction, methods=["POST"]),
                Route("/files/{name}", self._file, methods=["GET"]),
                Route(
                    "/{path:path}",
                    self._not_found,
                    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                ),
            ]
        )

    async def _enter(self, request: Request) -> tuple[Any, Response | None]:
        """Record the request and play any scripted fault; (parsed JSON, fault response)."""
        raw = await request.body()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        headers = {k.lower(): v for k, v in request.headers.items()}
        path = request.url.path
        with self.lock:
            self.requests.append(Recorded(request.method, path, headers, parsed, time.time()))
            fault = next(
                (f for f in self._faults if f.method == request.method and f.pattern.search(path)),
                None,
            )
            if fault is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
        if fault is None:
            return parsed, None
        if not fault.status:
            await asyncio.sleep(fault.seconds)
            return parsed, None
        body = fault.body if fault.body is not None else self._error_body(path, fault.status)
        if isinstance(body, bytes | str):
            return parsed, Response(body, fault.status, headers=fault.headers)
        return parsed, JSONResponse(body, fault.status, headers=fault.headers)

    @staticmethod
    def _error_body(path: str, status: int) -> dict[str, Any]:
        """The API's own error shape for `status`."""
        if path.startswith("/v1/chat/"):
            kinds = {429: "rate_limit_exceeded", 401: "invalid_api_key"}
            return {
                "error": {
                    "message": f"fake error {status}",
                    "type": "server_error" if status >= 500 else "invalid_request_error",
                    "param": None,
                    "code": kinds.get(status),
                }
            }
        titles = {429: "Too Many Requests", 401: "Unauthenticated", 404: "Not found"}
        return {
            "title": titles.get(
                status, "Internal Server Error" if status >= 500 else "Bad Request"
            ),
            "detail": f"fake error {status}",
            "status": status,
        }

    def _replicate_refusal(self, request: Request) -> Response | None:
        if request.headers.get("authorization") == f"Bearer {self.replicate.token}":
            return None
        return JSONResponse(
            {
                "title": "Unauthenticated",
                "detail": "You did not pass a valid authentication token",
                "status": 401,
            },
            401,
        )

    async def _not_found(self, request: Request) -> Response:
        _, fault = await self._enter(request)
        return fault or JSONResponse(
            {
                "title": "Not found",
                "status": 404,
                "detail": "The requested resource could not be found.",
            },
            404,
        )

    # --- OpenAI -------------------------------------------------------------------------

    async def _chat(self, request: Request) -> Response:
        body, fault = await self._enter(request)
        if fault:
            return fault
        if request.headers.get("authorization") != f"Bearer {self.openai.key}":
            return JSONResponse(
                {
                    "error": {
                        "message": "Incorrect API key provided. You can find your API key at "
                        "https://platform.openai.com/account/api-keys.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
                401,
            )
        if not isinstance(body, dict) or not body.get("messages") or body.get("stream"):
            return JSONResponse(
                {
                    "error": {
                        "message": "the fake answers non-streamed requests with messages only",
                        "type": "invalid_request_error",
                        "param": "messages",
                        "code": None,
                    }
                },
                400,
            )
        content = self.openai.reply(body)
        prompt_tokens, completion_tokens = self.openai.usage
        return JSONResponse(
            {
                "id": "chatcmpl-" + secrets.token_hex(12),
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "gpt-4o-mini"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
                "system_fingerprint": "fp_fake",
            }
        )

    # --- Replicate ----------------------------------------------------------------------

    async def _create_official(self, request: Request) -> Response:
        body, fault = await self._enter(request)
        model = f"{request.path_params['owner']}/{request.path_params['name']}"
        if fault or (fault := self._replicate_refusal(request)):
            return fault
        if model not in self.replicate.model_kinds:
            return JSONResponse(
                {"title": "Not found", "status": 404, "detail": f"Model {model} not found."}, 404
            )
        return self._create(request, model, self.replicate.version_of(model), body)

    async def _create_by_version(self, request: Request) -> Response:
        body, fault = await self._enter(request)
        if fault or (fault := self._replicate_refusal(request)):
            return fault
        version = str(body.get("version", "")) if isinstance(body, dict) else ""
        # Replicate takes "owner/name:version" as well as a bare version id.
        model, _, version_id = version.rpartition(":") if ":" in version else ("", "", version)
        with self.lock:
            model = model or self.replicate.versions.get(version_id, "")
        if model not in self.replicate.model_kinds or not version_id:
            return JSONResponse(
                {
                    "title": "Invalid version or not permitted",
                    "status": 422,
                    "detail": "The specified version does not exist (or "
                    "perhaps you don't have permission to use it?)",
                },
                422,
            )
        return self._create(request, model, version_id, body)

    def _create(self, request: Request, model: str, version: str, body: Any) -> Response:
        if not isinstance(body, dict) or not isinstance(body.get("input"), dict):
            return JSONResponse(
                {
                    "title": "Input validation failed",
                    "status": 422,
                    "detail": "input is required and must be an object",
                },
                422,
            )
        prediction_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(26))
        base = f"{self.url}/v1/predictions/{prediction_id}"
        prediction = {
            "id": prediction_id,
            "model": model,
            "version": version,
            "status": "starting",
            "input": body["input"],
            "output": None,
            "error": None,
            "logs": "",
            "metrics": {},
            "created_at": _now(),
            "started_at": None,
            "completed_at": None,
            "data_removed": False,
            "source": "api",
            "urls": {"get": base, "cancel": base + "/cancel", "stream": base + "/stream"},
        }
        with self.lock:
            self.replicate.predictions[prediction_id] = prediction
            self.replicate._polls[prediction_id] = 0
            if self.replicate._holding:
                self.replicate._held.add(prediction_id)
            answer = json.loads(json.dumps(prediction))
        return JSONResponse(answer, 201)

    async def _get_prediction(self, request: Request) -> Response:
        _, fault = await self._enter(request)
        if fault or (fault := self._replicate_refusal(request)):
            return fault
        prediction_id = request.path_params["id"]
        with self.lock:
            prediction = self.replicate.predictions.get(prediction_id)
            if prediction is None:
                return JSONResponse(
                    {
                        "title": "Not found",
                        "status": 404,
                        "detail": "The requested resource could not be found.",
                    },
                    404,
                )
            if prediction["status"] not in _TERMINAL:
                self._advance(prediction)
            return JSONResponse(json.loads(json.dumps(prediction)))

    def _advance(self, prediction: dict[str, Any]) -> None:
        """One poll's worth of progress: processing with a tqdm line, then the outcome."""
        replicate, prediction_id = self.replicate, prediction["id"]
        replicate._polls[prediction_id] += 1
        polls, needed = replicate._polls[prediction_id], max(1, replicate.polls_to_finish)
        prediction["started_at"] = prediction["started_at"] or _now()
        if prediction_id in replicate._held or polls < needed:
            done = (
                min(9, 10 * polls // needed)
                if prediction_id in replicate._held
                else 10 * polls // needed
            )
            bar = "#" * (done * 5) + " " * ((10 - done) * 5)
            prediction["status"] = "processing"
            prediction["logs"] = f"Running the model\n{done * 10:3d}%|{bar}| {done}/10"
            return
        prediction["completed_at"] = _now()
        prediction["metrics"] = {"predict_time": 1.5, "total_time": 2.0}
        if replicate.fail_predictions_with is not None:
            prediction["status"], prediction["error"] = "failed", replicate.fail_predictions_with
            return
        prediction["status"] = "succeeded"
        prediction["logs"] += "\n100%|" + "#" * 50 + "| 10/10"
        prediction["output"] = self._output(prediction)

    def _output(self, prediction: dict[str, Any]) -> Any:
        """Output URLs by the model's kind; the files are made when first downloaded."""
        kind = self.replicate.model_kinds[prediction["model"]]
        extension = {"image": "png", "video": "mp4", "audio": "wav"}[kind]
        name = f"{prediction['id']}.{extension}"
        self._outputs[name] = (kind, prediction["input"])
        url = f"{self.url}/files/{name}"
        return [url] if kind == "image" else url

    async def _cancel_prediction(self, request: Request) -> Response:
        _, fault = await self._enter(request)
        if fault or (fault := self._replicate_refusal(request)):
            return fault
        with self.lock:
            prediction = self.replicate.predictions.get(request.path_params["id"])
            if prediction is None:
                return JSONResponse(
                    {
                        "title": "Not found",
                        "status": 404,
                        "detail": "The requested resource could not be found.",
                    },
                    404,
                )
            if prediction["status"] not in _TERMINAL:
                prediction["status"], prediction["completed_at"] = "canceled", _now()
            return JSONResponse(json.loads(json.dumps(prediction)))

    async def _file(self, request: Request) -> Response:
        _, fault = await self._enter(request)
        if fault:
            return fault
        name = request.path_params["name"]
        with self.lock:
            output, cached = self._outputs.get(name), self._files.get(name)
        if output is None:
            return Response(b"not found", 404, media_type="text/plain")
        if cached is None:
            # Encoding is CPU work: off the server's loop, so polls keep being answered.
            cached = await asyncio.to_thread(make_output, *output)
            with self.lock:
                self._files[name] = cached
        content = bytes(len(cached)) if self.corrupt_outputs else cached
        return Response(content, media_type=_MEDIA_TYPES[name.rsplit(".", 1)[1]])


def make_output(kind: str, model_input: dict[str, Any]) -> bytes:
    """A real, decodable output file of `kind` for a prediction's input."""
    if kind == "image":
        return png_bytes(Image.new("RGB", (1344, 768), _color(model_input.get("prompt", ""))))
    if kind == "video":
        return _video(float(model_input.get("duration", 6)), _color(model_input))
    return _wav(float(model_input.get("duration", 8)), _seed(model_input))


def _video(seconds: float, color: tuple[int, int, int], fps: int = 24) -> bytes:
    """A 480x270 H.264 MP4 of one colour with a bar that sweeps across (frames differ)."""
    width, height = 480, 270
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=fps, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        frames = max(1, round(seconds * fps))
        for index in range(frames):
            pixels = np.full((height, width, 3), color, dtype=np.uint8)
            left = index * (width - 16) // frames
            pixels[:, left : left + 16] = 255
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return buffer.getvalue()


def _wav(seconds: float, seed: int, rate: int = 32000) -> bytes:
    """A mono 16-bit tone (MusicGen's 32 kHz) of `seconds`."""
    frequency = 220 + seed % 440
    tone = 0.3 * np.sin(2 * math.pi * frequency * np.arange(round(seconds * rate)) / rate)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((tone * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


@contextlib.asynccontextmanager
async def running_fake_hosted(
    *, token: str = "r8_test", openai_key: str = "sk-test"
) -> AsyncIterator[FakeHosted]:
    """Serve a `FakeHosted` on a free loopback port (in its own thread) for the block."""
    fake = FakeHosted(token=token, openai_key=openai_key)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        fake.app(), log_level="warning", lifespan="off", ws="none", access_log=False
    )
    server = uvicorn.Server(config)
    # A thread of its own: blocking clients in the test's thread still get answers.
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="fake-hosted", daemon=True
    )
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the fake hosted API server did not start")
            await asyncio.sleep(0.01)
        yield fake
    finally:
        # force_exit: a request hung by hang_next must not hold up the test's teardown.
        server.should_exit = server.force_exit = True
        await asyncio.to_thread(thread.join, 10)
        sock.close()
