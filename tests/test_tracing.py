"""Tracing: spans reach an OTLP/HTTP collector, and a job's span joins the trace of the
mutation that queued it, in the embedded default and through Redis to a worker."""

from __future__ import annotations

import asyncio
import gzip
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from tests.service_process import Client, serving
from tests.test_processes import deployed

PROMPT = "a lighthouse keeper's last night, told in four beats"
JOB = "job aivideo.run_phase"
MUTATION = "GraphQL Query: Create"  # Strawberry names every operation's span "GraphQL Query"
# Spans leave in batches every 100 ms, not every 5 seconds.
QUICK_EXPORT = "100"


@dataclass(frozen=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    service: str
    attributes: dict[str, Any]


class Collector:
    """An OTLP/HTTP collector on a loopback port: it keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self._lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                ok = self.path == "/v1/traces"
                if ok:
                    collector.record(ExportTraceServiceRequest.FromString(body))
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if ok else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # one line per export would drown pytest's output

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def record(self, request: ExportTraceServiceRequest) -> None:
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    attributes = {a.key: _value(a.value) for a in span.attributes}
                    with self._lock:
                        self.spans.append(
                            Span(
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_id=span.parent_span_id.hex(),
                                name=span.name,
                                service=resource["service.name"],
                                attributes=attributes,
                            )
                        )

    def snapshot(self) -> list[Span]:
        with self._lock:
            return list(self.spans)

    async def wait_until(self, done: Callable[[list[Span]], bool], what: str) -> list[Span]:
        for _ in range(300):
            spans = self.snapshot()
            if done(spans):
                return spans
            await asyncio.sleep(0.1)
        names = sorted({span.name for span in self.snapshot()})
        raise AssertionError(f"the collector never received {what}; it has: {names}")

    def __enter__(self) -> Collector:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _value(value: Any) -> Any:
    return getattr(value, value.WhichOneof("value")) if value.WhichOneof("value") else None


def ancestors(span: Span, spans: list[Span]) -> list[Span]:
    """The span's parent, its parent's parent, … as far as the collector has them."""
    by_id = {s.span_id: s for s in spans}
    chain = []
    while span.parent_id in by_id:
        span = by_id[span.parent_id]
        chain.append(span)
    return chain


def job_joined_mutation(spans: list[Span]) -> bool:
    """A phase job's span whose parent chain reaches the createVideo mutation's span."""
    return any(
        any(a.name == MUTATION for a in ancestors(span, spans))
        for span in spans
        if span.name == JOB
    )


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as running:
        yield running


def assert_one_trace_from_mutation_to_job(spans: list[Span]) -> tuple[Span, Span]:
    """The mutation's and the job's spans, after checking what joins them."""
    [job] = [
        s for s in spans if s.name == JOB and any(a.name == MUTATION for a in ancestors(s, spans))
    ]
    chain = ancestors(job, spans)
    [mutation] = [s for s in chain if s.name == MUTATION]
    assert job.trace_id == mutation.trace_id
    assert "createVideo" in mutation.attributes["query"]
    # The request's own span (FastAPI) is the trace's root, above the operation's.
    assert chain[-1].name == "POST /graphql"
    assert chain[-1].parent_id == ""
    # The job's SQL statements are inside its span.
    sql = [s for s in spans if job in ancestors(s, spans) and "db.statement" in s.attributes]
    assert any("UPDATE" in s.attributes["db.statement"] for s in sql), [s.name for s in sql]
    return mutation, job


async def test_the_phase_one_job_joins_the_trace_of_create_video(
    tmp_path: Path, collector: Collector
) -> None:
    # given the embedded default exporting to the collector
    async with (
        serving(
            tmp_path,
            OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
            OTEL_BSP_SCHEDULE_DELAY=QUICK_EXPORT,
        ) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        client = Client(url=url, http=http, key=None)
        # when a video is created and its phase-1 job finishes
        video = await client.create_video(PROMPT)
        await client.wait_for(video["id"], "PAUSED_AT_PHASE1")
        spans = await collector.wait_until(job_joined_mutation, "the job's span under createVideo")

    # then one trace holds the request, the mutation, the job and the job's SQL
    mutation, job = assert_one_trace_from_mutation_to_job(spans)
    assert mutation.service == job.service == "aivideo-api"
    # and the probes the client polled with are left out
    assert not [s for s in spans if s.name.startswith("GET /healthz")]


async def test_a_worker_job_joins_the_trace_of_the_api_mutation(
    tmp_path: Path, collector: Collector
) -> None:
    # given an API process and a worker, over PostgreSQL and Redis, exporting to the collector
    async with deployed(
        tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=collector.url, OTEL_BSP_SCHEDULE_DELAY=QUICK_EXPORT
    ) as api:
        # when a video is created and the worker finishes its phase-1 job
        video = await api.create_video(PROMPT)
        await api.wait_for(video["id"], "PAUSED_AT_PHASE1")
        spans = await collector.wait_until(job_joined_mutation, "the job's span under createVideo")

    # then the job's span, sent by the worker, continues the API's trace
    mutation, job = assert_one_trace_from_mutation_to_job(spans)
    assert (mutation.service, job.service) == ("aivideo-api", "aivideo-worker")
    # and a Redis command of the queueing is in it too
    assert any(
        s.trace_id == job.trace_id and s.attributes.get("db.system") == "redis" for s in spans
    )


NOTHING_TRACED = """
import sys, tempfile
from fastapi.testclient import TestClient
from aivideo.app import create_app
from aivideo.settings import Settings

app = create_app(Settings(data_dir=tempfile.mkdtemp()))
with TestClient(app, base_url="http://127.0.0.1") as client:
    response = client.post("/graphql", json={"query": "mutation { createVideo(input: "
                           "{prompt: \\"a quiet harbour\\", durationSeconds: 10}) { id } }"})
    assert response.status_code == 200 and "errors" not in response.json(), response.text
from opentelemetry import trace
print(type(trace.get_tracer_provider()).__name__)
print(*sorted(m for m in sys.modules if m.startswith(OURS)))
"""
# What tracing would import. FastAPI and redis-py import the OpenTelemetry API (and redis-py
# the metrics SDK) on their own whenever it is installed: those are not ours to avoid.
OURS = (
    "opentelemetry.sdk.trace",
    "opentelemetry.exporter",
    "opentelemetry.instrumentation",
    "strawberry.extensions.tracing",
)


def test_without_an_endpoint_nothing_is_traced(tmp_path: Path) -> None:
    # given no OTEL_EXPORTER_OTLP_ENDPOINT
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    # when the app serves a mutation that queues a job
    result = subprocess.run(
        [sys.executable, "-c", f"OURS = {OURS!r}\n" + NOTHING_TRACED],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # then no tracer provider is set and nothing of the otel extra was imported
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["ProxyTracerProvider", ""], result.stdout
