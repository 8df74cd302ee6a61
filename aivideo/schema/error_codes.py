"""Maps every error to SPEC's `extensions.code`, masking anything unexpected."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from aivideo.errors import AivideoError

log = logging.getLogger("aivideo.errors")

INTERNAL_MESSAGE = "Internal server error; it has been logged."


def coded(error: GraphQLError) -> GraphQLError:
    """The error as clients see it: with a code, and never with internals."""
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        # Parse, validation, coercion and limit errors: the request itself was wrong.
        code = (error.extensions or {}).get("code") or "BAD_USER_INPUT"
        return _with_code(error, error.message, code)
    if isinstance(original, AivideoError):
        return _with_code(error, str(original), original.code)
    return _with_code(error, INTERNAL_MESSAGE, "INTERNAL")


def log_unexpected(errors: list[GraphQLError]) -> None:
    """Server-side log of what clients only see masked; expected errors are not news."""
    for error in errors:
        original = error.original_error
        if original is not None and not isinstance(original, AivideoError | GraphQLError):
            log.error("unexpected error at %s", error.path, exc_info=original)


def _with_code(error: GraphQLError, message: str, code: str) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={**(error.extensions or {}), "code": code},
    )


class ErrorCodes(SchemaExtension):
    """Rewrite the operation's errors once it has run, and each subscription event's."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [coded(e) for e in result.errors]
        pre_errors = self.execution_context.pre_execution_errors
        if pre_errors:
            self.execution_context.pre_execution_errors = [coded(e) for e in pre_errors]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        if getattr(result, "errors", None):
            result.errors = [coded(e) for e in result.errors]
        yield
