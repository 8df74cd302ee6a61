"""HTTP to hosted model APIs: bounded retries with jitter, Retry-After, capped downloads."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from aivideo import metrics
from aivideo.providers.base import ProviderError
from aivideo.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER_SECONDS = 120.0


class TransientStatus(Exception):
    """An answer worth another try (429, 5xx); `retry_after` is the server's wish, if any."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(
            f"{response.request.method} {response.request.url.path} answered {response.status_code}"
        )
        self.status = response.status_code
        self.retry_after = _retry_after(response.headers.get("retry-after"))


def _retry_after(value: str | None) -> float | None:
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER_SECONDS) if value else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, TransientStatus | httpx.TransportError)


class Retrying:
    """One retry policy per service: `attempts` tries, exponential backoff with full jitter."""

    def __init__(self, config: Settings, service: str) -> None:
        self.service = service
        self.attempts = max(1, config.provider_max_attempts)
        self.backoff = wait_random_exponential(multiplier=config.provider_backoff_seconds, max=30.0)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, TransientStatus) and error.retry_after is not None:
            return error.retry_after
        return float(self.backoff(state))

    def _log(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        metrics.provider_retry(self.service)
        log.warning(
            "%s: %s; try %d of %d", self.service, error, state.attempt_number + 1, self.attempts
        )

    def policy(self) -> AsyncRetrying:
        return AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception(_transient),
            before_sleep=self._log,
            reraise=True,
        )

    async def request(
        self, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        """The response of the first try that is not transient; ProviderError after the last."""

        async def once() -> httpx.Response:
            response = await client.request(method, url, **kwargs)
            if response.status_code in RETRY_STATUSES:
                raise TransientStatus(response)
            return response

        return await self._retried(once, f"{method} {url.split('?')[0]}")

    async def download(self, client: httpx.AsyncClient, url: str, *, limit: int) -> bytes:
        """The file at `url`, read as a stream and refused once it passes `limit` bytes."""
        return await self._retried(
            lambda: _read_capped(client, url, limit, self.service), "downloading the output"
        )

    async def _retried(self, once: Callable[[], Awaitable[T]], what: str) -> T:
        try:
            async for attempt in self.policy():
                with attempt:
                    return await once()
        except TransientStatus as exc:
            raise ProviderError(f"{self.service}: {exc} {self.attempts} times; try later") from exc
        except httpx.TransportError as exc:
            raise ProviderError(
                f"{self.service}: {what} failed {self.attempts} times "
                f"({type(exc).__name__}); try later"
            ) from exc
        raise AssertionError("unreachable: tenacity returns or raises")


async def _read_capped(client: httpx.AsyncClient, url: str, limit: int, service: str) -> bytes:
    async with client.stream("GET", url) as response:
        if response.status_code in RETRY_STATUSES:
            raise TransientStatus(response)
        if response.status_code != 200:
            raise ProviderError(
                f"{service}: downloading the output answered {response.status_code}"
            )
        declared = int(response.headers.get("content-length") or 0)
        if declared > limit:
            raise ProviderError(
                f"{service}: the output is {declared} bytes, over the {limit}-byte limit"
            )
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise ProviderError(f"{service}: the output passed the {limit}-byte limit")
            chunks.append(chunk)
        return b"".join(chunks)


def mask(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret replaced, so a provider's message can be shown and logged."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
