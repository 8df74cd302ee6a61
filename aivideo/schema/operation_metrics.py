"""Counts and times GraphQL operations, their error codes and live subscriptions."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from aivideo import metrics


def _count_codes(errors: Iterable[GraphQLError] | None) -> None:
    for error in errors or ():
        metrics.graphql_error(str((error.extensions or {}).get("code", "INTERNAL")))


class OperationMetrics(SchemaExtension):
    """Listed first, so it sees the errors after ErrorCodes has given them their codes."""

    def __init__(self) -> None:
        self.live = False  # a subscription that got past validation and now streams

    def _kind(self) -> str:
        try:
            return self.execution_context.operation_type.value
        except Exception:  # no document (a parse error) or an unknown operation name
            return "unknown"

    def on_execute(self) -> Iterator[None]:
        if self._kind() == OperationType.SUBSCRIPTION.value:
            self.live = True
            metrics.SUBSCRIPTIONS_LIVE.inc()
        yield

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self._finish(time.perf_counter() - started)

    def _finish(self, seconds: float) -> None:
        context, kind = self.execution_context, self._kind()
        name = context.operation_name
        if kind == OperationType.SUBSCRIPTION.value:
            if self.live:
                metrics.SUBSCRIPTIONS_LIVE.dec()
            metrics.graphql_operation(name, kind, ok=self.live, seconds=None)
            if not self.live:
                _count_codes(context.pre_execution_errors)
            return
        result = context.result
        errors = result.errors if result is not None else context.pre_execution_errors
        metrics.graphql_operation(name, kind, ok=not errors, seconds=seconds)
        _count_codes(errors)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        yield
        # A subscription's events: their errors are coded (by ErrorCodes) by now.
        if self.live:
            _count_codes(getattr(result, "errors", None))
