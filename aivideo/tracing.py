"""OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set.

Traced: each HTTP request (FastAPI), each GraphQL operation and resolver (Strawberry),
SQL statements, Redis commands, outgoing httpx calls, and each job, whose span is a child
of the span that queued it (a W3C `traceparent` label on the taskiq message), in the
API process or in a worker. Spans go over OTLP/HTTP through a batching processor.

opentelemetry is an optional extra (`aivideo[otel]`): nothing here imports it until
tracing is on, so the base install neither needs it nor pays for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from taskiq import TaskiqMessage, TaskiqMiddleware, TaskiqResult

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.context import Context as TraceContext
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import Sampler, SamplingResult
    from opentelemetry.trace import Link, Span, TraceState
    from opentelemetry.util.types import Attributes
    from sqlalchemy.ext.asyncio import AsyncEngine
    from strawberry.extensions import SchemaExtension

    from aivideo.settings import Settings

API_SERVICE = "aivideo-api"
WORKER_SERVICE = "aivideo-worker"
_provider: TracerProvider | None = None  # this process's, once configured


def enabled(config: Settings) -> bool:
    return bool(config.tracing_endpoint)


def traces_url(endpoint: str) -> str:
    """The traces URL under an OTLP/HTTP base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT means."""
    return endpoint.rstrip("/") + "/v1/traces"


def configure_tracing(config: Settings, service_name: str) -> bool:
    """Export this process's spans; instrument Redis and httpx. False when tracing is off.

    Once per process; later calls keep the first service name.
    """
    global _provider
    if not enabled(config):
        return False
    if _provider is not None:
        return True
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service_name}), sampler=_sampler()
    )
    exporter = OTLPSpanExporter(endpoint=traces_url(config.tracing_endpoint))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    RedisInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()
    _provider = provider
    return True


def shutdown_tracing() -> None:
    """Send the spans still batched: forked worker processes end without atexit handlers."""
    if _provider is not None:
        _provider.shutdown()


def _sampler() -> Sampler:
    """Every trace, except one made of a lone client call.

    Outside a request or a job, Redis and SQL calls are background polling (the job
    queue's blocking reads, the sweep for lost runs): each would be a trace of one span,
    every few seconds, burying the traces that matter.
    """
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, Sampler
    from opentelemetry.trace import SpanKind

    class NoLoneClientCalls(Sampler):
        def should_sample(
            self,
            parent_context: TraceContext | None,
            trace_id: int,
            name: str,
            kind: SpanKind | None = None,
            attributes: Attributes = None,
            links: Sequence[Link] | None = None,
            trace_state: TraceState | None = None,
        ) -> SamplingResult:
            sampler = ALWAYS_OFF if kind == SpanKind.CLIENT else ALWAYS_ON
            return sampler.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )

        def get_description(self) -> str:
            return "NoLoneClientCalls"

    return ParentBased(root=NoLoneClientCalls())


def instrument_app(app: FastAPI, config: Settings) -> None:
    """A span per HTTP request, health probes and /metrics left out."""
    if not enabled(config):
        return
    # A `serve --workers N` process is spawned and builds its app from the factory alone.
    configure_tracing(config, API_SERVICE)
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls="/healthz$,/readyz$,/metrics$",
        # Not a span per ASGI message: a subscription sends thousands over its life.
        exclude_spans=["receive", "send"],
    )


def instrument_engine(engine: AsyncEngine, config: Settings) -> None:
    """A span per SQL statement on the process's engine (there is one per process)."""
    if not enabled(config):
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    # The instrumentation declares SQLAlchemy < 2.1 and would otherwise skip itself, silently;
    # the engine events it listens to are the same in 2.1 (the tracing test checks SQL spans).
    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, skip_dep_check=True)


def schema_extensions(config: Settings) -> list[type[SchemaExtension]]:
    """Strawberry's own extension: a span per operation, and one per resolver inside it."""
    if not enabled(config):
        return []
    from strawberry.extensions.tracing import OpenTelemetryExtension

    return [OpenTelemetryExtension]


def job_middlewares(config: Settings) -> list[TaskiqMiddleware]:
    return [JobTracing()] if enabled(config) else []


class JobTracing(TaskiqMiddleware):
    """A job's span joins the trace that queued it, through a `traceparent` label.

    pre_execute, the job and post_execute run in one asyncio task (taskiq's receiver),
    so the span attached before the job is current inside it and detached after.
    """

    def __init__(self) -> None:
        super().__init__()
        self._running: dict[str, tuple[Span, object]] = {}

    def pre_send(self, message: TaskiqMessage) -> TaskiqMessage:
        from opentelemetry import propagate

        propagate.inject(message.labels)  # traceparent (and tracestate) of the current span
        return message

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        from opentelemetry import context, propagate, trace

        queued_by: TraceContext = propagate.extract(_text_labels(message.labels))
        span = trace.get_tracer(__name__).start_span(
            f"job {message.task_name}",
            context=queued_by,
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "taskiq",
                "messaging.operation.type": "process",
                "messaging.message.id": message.task_id,
                "taskiq.task_name": message.task_name,
            },
        )
        token = context.attach(trace.set_span_in_context(span, queued_by))
        self._running[message.task_id] = (span, token)
        return message

    def on_error(
        self, message: TaskiqMessage, result: TaskiqResult[Any], exception: BaseException
    ) -> None:
        from opentelemetry.trace import Status, StatusCode

        running = self._running.get(message.task_id)
        if running is not None:
            running[0].record_exception(exception)
            running[0].set_status(Status(StatusCode.ERROR, str(exception)))

    def post_execute(self, message: TaskiqMessage, result: TaskiqResult[Any]) -> None:
        from opentelemetry import context

        running = self._running.pop(message.task_id, None)
        if running is None:
            return
        span, token = running
        context.detach(token)  # type: ignore[arg-type]
        span.end()


def _text_labels(labels: dict[str, Any]) -> dict[str, str]:
    """The labels a propagator can read: taskiq's may be numbers, ours are strings."""
    return {name: value for name, value in labels.items() if isinstance(value, str)}
