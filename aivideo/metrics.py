"""Every Prometheus metric of the service, and the small functions that move them.

With several processes (`uvicorn --workers N`, taskiq's worker processes) set
`PROMETHEUS_MULTIPROC_DIR` to an empty directory shared by them, before they start:
prometheus-client then keeps each process's values in files there and `/metrics` sums them.
"""

from __future__ import annotations

import os
import re

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# GraphQL operation names come from clients: only this many distinct ones get a label of
# their own per process, so a client cannot grow the metrics without bound.
MAX_OPERATION_NAMES = 200
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_seen_names: set[str] = set()

GRAPHQL_OPERATIONS = Counter(
    "aivideo_graphql_operations",
    "GraphQL operations run, by operation name, type and outcome (ok or error).",
    ["operation", "type", "outcome"],
)
GRAPHQL_DURATION = Histogram(
    "aivideo_graphql_operation_duration_seconds",
    "Time to answer a query or mutation (subscriptions are not timed).",
    ["operation", "type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GRAPHQL_ERRORS = Counter(
    "aivideo_graphql_errors", "GraphQL errors sent to clients, by extensions.code.", ["code"]
)
ANSWERS_KEPT = Counter(
    "aivideo_answer_cache",
    "video(id:) queries answered from the kept answer (hit) or executed (miss).",
    ["outcome"],
)
WEBSOCKETS_OPEN = Gauge(
    "aivideo_websockets_open", "GraphQL websockets open now.", multiprocess_mode="livesum"
)
SUBSCRIPTIONS_LIVE = Gauge(
    "aivideo_subscriptions_live", "GraphQL subscriptions running now.", multiprocess_mode="livesum"
)
EVENTS = Counter(
    "aivideo_events",
    "Events published to the event broker, delivered to subscribers, or dropped.",
    ["outcome"],
)
JOBS_QUEUED = Counter("aivideo_jobs_queued", "Jobs put on the queue, by phase.", ["phase"])
JOBS_RUNNING = Gauge(
    "aivideo_jobs_running", "Jobs running now, by phase.", ["phase"], multiprocess_mode="livesum"
)
JOBS_FINISHED = Counter(
    "aivideo_jobs_finished",
    "Jobs ended, by phase and outcome (succeeded, failed, cancelled).",
    ["phase", "outcome"],
)
JOB_DURATION = Histogram(
    "aivideo_job_duration_seconds",
    "How long a job ran, by phase and outcome.",
    ["phase", "outcome"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600),
)
PROVIDER_CALLS = Counter(
    "aivideo_provider_calls",
    "Provider calls by model and outcome: made, reused (from the ledger) or failed.",
    ["model", "outcome"],
)
PROVIDER_RETRIES = Counter(
    "aivideo_provider_retries", "Hosted requests tried again (429, 5xx, timeouts).", ["service"]
)
PROVIDER_COST = Counter("aivideo_provider_cost_usd", "USD paid to providers, by model.", ["model"])
MEDIA_STORED_BYTES = Counter(
    "aivideo_media_stored_bytes",
    "Bytes of new media written to storage (content already stored is not counted).",
    ["backend"],
)
RATE_LIMIT_REFUSALS = Counter(
    "aivideo_rate_limit_refusals", "Generation and edit requests refused by the rate limit."
)


def operation_label(name: str | None) -> str:
    """The label of a client's operation name: "anonymous", the name, or "other"."""
    if not name:
        return "anonymous"
    if not _NAME.fullmatch(name):
        return "other"
    if name not in _seen_names:
        if len(_seen_names) >= MAX_OPERATION_NAMES:
            return "other"
        _seen_names.add(name)
    return name


def graphql_operation(name: str | None, kind: str, *, ok: bool, seconds: float | None) -> None:
    """One operation answered; `seconds` is None for subscriptions (their life is not latency)."""
    label = operation_label(name)
    GRAPHQL_OPERATIONS.labels(label, kind, "ok" if ok else "error").inc()
    if seconds is not None:
        GRAPHQL_DURATION.labels(label, kind).observe(seconds)


def graphql_error(code: str) -> None:
    GRAPHQL_ERRORS.labels(code).inc()


def answer_cache(outcome: str) -> None:
    ANSWERS_KEPT.labels(outcome).inc()


def event_published() -> None:
    EVENTS.labels("published").inc()


def events_delivered(count: int) -> None:
    """`count` subscribers of this process were handed one event."""
    if count:
        EVENTS.labels("delivered").inc(count)


def event_dropped() -> None:
    EVENTS.labels("dropped").inc()


def job_queued(phase: str) -> None:
    """A job was put on the queue; `phase` is "1".."4" or "regenerate"."""
    JOBS_QUEUED.labels(phase).inc()


def job_started(phase: str) -> None:
    JOBS_RUNNING.labels(phase).inc()


def job_finished(phase: str, outcome: str, seconds: float) -> None:
    """A started job ended: `outcome` is "succeeded", "failed" or "cancelled"."""
    JOBS_RUNNING.labels(phase).dec()
    JOBS_FINISHED.labels(phase, outcome).inc()
    JOB_DURATION.labels(phase, outcome).observe(seconds)


def provider_call(model: str, outcome: str, cost_usd: float = 0.0) -> None:
    PROVIDER_CALLS.labels(model, outcome).inc()
    if cost_usd > 0:
        PROVIDER_COST.labels(model).inc(cost_usd)


def provider_retry(service: str) -> None:
    PROVIDER_RETRIES.labels(service).inc()


def media_stored(backend: str, size_bytes: int) -> None:
    MEDIA_STORED_BYTES.labels(backend).inc(size_bytes)


def rate_limit_refused() -> None:
    RATE_LIMIT_REFUSALS.inc()


def exposition() -> tuple[bytes, str]:
    """The text `/metrics` answers: this process's metrics, or every process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
