"""Planning with an OpenAI-compatible chat model: structured output, validated, one repair."""

from __future__ import annotations

import json
from typing import Any

import openai
from openai import AsyncOpenAI

from aivideo.domain.spec_rules import BEAT_DURATIONS, FPS, RESOLUTION, validate_spec
from aivideo.errors import BadUserInput
from aivideo.providers.base import CallContext, Plan, Planner, ProviderError
from aivideo.providers.hosted_http import mask
from aivideo.providers.model_ids import ModelId
from aivideo.providers.prices import Price
from aivideo.settings import Settings

SYSTEM = (
    "You are a film director planning a short video from a prompt. Answer with the plan as "
    "JSON only: a title, a visual style (aesthetic, color_palette as CSS colour names or "
    "#rrggbb, mood, lighting) and the beats in order, each a vivid, self-contained visual "
    "prompt for one shot with its shot type and duration."
)
_STRING = {"type": "string"}
# Strict structured output: every property required, nothing else allowed.
PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["title", "style", "beats"],
    "properties": {
        "title": _STRING,
        "style": {
            "type": "object",
            "additionalProperties": False,
            "required": ["aesthetic", "color_palette", "mood", "lighting"],
            "properties": {
                "aesthetic": _STRING,
                "color_palette": {"type": "array", "items": _STRING},
                "mood": _STRING,
                "lighting": _STRING,
            },
        },
        "beats": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["prompt", "shot_type", "duration"],
                "properties": {
                    "prompt": _STRING,
                    "shot_type": _STRING,
                    "duration": {"type": "integer", "enum": list(BEAT_DURATIONS)},
                },
            },
        },
    },
}


def openai_client(config: Settings) -> AsyncOpenAI:
    """The official client: it retries 429 (honouring Retry-After), 5xx and timeouts itself."""
    key = config.openai_api_key.get_secret_value() if config.openai_api_key else "unused"
    return AsyncOpenAI(
        api_key=key,
        base_url=config.openai_base_url or None,
        max_retries=max(0, config.provider_max_attempts - 1),
        timeout=config.provider_request_timeout_seconds,
    )


class OpenAIPlanner(Planner):
    """Phase 1 with a chat model; its token usage is priced from the price table."""

    def __init__(self, client: AsyncOpenAI, model: ModelId, price: Price, secret: str) -> None:
        self.client, self.model, self.price, self._secret = client, model, price, secret

    async def plan(
        self, *, prompt: str, title: str, duration_seconds: int, call: CallContext
    ) -> Plan:
        messages: list[dict[str, str]] = [
            {"role": "system", "content": SYSTEM},
            {
                "role": "user",
                "content": (
                    f"The video lasts exactly {duration_seconds} seconds; each beat lasts 5, 10 or "
                    f"15 s and the beats' durations add up to the video's length.\n"
                    f"Working title: {title}\nPrompt: {prompt}"
                ),
            },
        ]
        tokens = [0, 0]
        answer = await self._ask(messages, call, tokens)
        try:
            spec = assemble_spec(answer, duration_seconds)
            repaired = False
        except ValueError as problem:
            # One repair round-trip: show the model what was wrong with its answer.
            messages += [
                {"role": "assistant", "content": answer},
                {
                    "role": "user",
                    "content": (
                        f"The video must last exactly {duration_seconds} seconds, but that plan is "
                        f"invalid: {problem}. Answer with the corrected plan as JSON only."
                    ),
                },
            ]
            answer = await self._ask(messages, call, tokens)
            try:
                spec = assemble_spec(answer, duration_seconds)
            except ValueError as again:
                raise ProviderError(
                    f"{self.model.raw} planned an invalid spec twice: {again}"
                ) from again
            repaired = True
        cost = self.price.for_tokens(*tokens)
        meta = {"inputTokens": tokens[0], "outputTokens": tokens[1], "repaired": repaired}
        return Plan(spec=spec, cost_usd=cost, metadata=meta)

    async def _ask(
        self, messages: list[dict[str, str]], call: CallContext, tokens: list[int]
    ) -> str:
        try:
            response = await self.client.chat.completions.create(  # type: ignore[call-overload]
                model=self.model.name,
                messages=messages,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "video_plan", "strict": True, "schema": PLAN_SCHEMA},
                },
                extra_headers={"Idempotency-Key": f"{call.idempotency_key}-{len(messages)}"},
            )
        except openai.APIError as exc:
            raise ProviderError(f"{self.model.raw}: {mask(str(exc), [self._secret])}") from exc
        if response.usage is not None:
            tokens[0] += response.usage.prompt_tokens
            tokens[1] += response.usage.completion_tokens
        message = response.choices[0].message if response.choices else None
        if message is None or not message.content:
            refusal = getattr(message, "refusal", None) or "an empty answer"
            raise ProviderError(f"{self.model.raw} gave no plan: {refusal}")
        return message.content


def assemble_spec(answer: str, duration_seconds: int) -> dict[str, Any]:
    """The full spec from the model's plan (ids, starts and fixed fields filled in), validated."""
    try:
        plan = json.loads(answer)
    except ValueError as exc:
        raise ValueError(f"the answer is not JSON ({exc})") from exc
    if not isinstance(plan, dict) or not isinstance(plan.get("beats"), list):
        raise ValueError("the answer is not an object with a list of beats")
    beats, start = [], 0
    for index, beat in enumerate(plan["beats"]):
        if not isinstance(beat, dict):
            raise ValueError(f"beats[{index}] is not an object")
        beats.append({"beat_id": f"beat_{index}", "start": start, **beat})
        duration = beat.get("duration")
        start += duration if isinstance(duration, int) else 0
    spec = {
        "title": plan.get("title"),
        "duration": duration_seconds,
        "fps": FPS,
        "resolution": RESOLUTION,
        "style": plan.get("style"),
        "beats": beats,
    }
    try:
        return validate_spec(spec)
    except BadUserInput as exc:
        raise ValueError(str(exc)) from exc
