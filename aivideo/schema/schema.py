"""The Strawberry schema with its limits and error mapping."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from aivideo.schema.cached_answers import AnswerCache, CachedAnswers
from aivideo.schema.checked_documents import CheckedDocuments, DocumentChecks
from aivideo.schema.error_codes import ErrorCodes, log_unexpected
from aivideo.schema.event_execution import SharedEventExecutor
from aivideo.schema.mutation import Mutation
from aivideo.schema.operation_metrics import OperationMetrics
from aivideo.schema.query import Query
from aivideo.schema.query_cost import LIST_BOUNDS
from aivideo.schema.subscription import Subscription
from aivideo.settings import Settings
from aivideo.tracing import schema_extensions


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_unexpected(errors)


def build_schema(config: Settings) -> strawberry.Schema:
    """The schema with the query limits of `config`."""
    checks = DocumentChecks(
        max_depth=config.query_max_depth,
        max_aliases=config.query_max_aliases,
        max_tokens=config.query_max_tokens,
        max_objects=config.query_max_objects,
        list_bounds={**LIST_BOUNDS, "VideoConnection.edges": config.videos_max_page},
    )
    answers = AnswerCache(size=config.answer_cache_size, max_age=config.answer_cache_seconds)
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            *schema_extensions(config),  # when tracing: outermost, its span holds the rest
            OperationMetrics,  # first: it exits last, so it sees the coded errors
            # Bounded before execution (depth, aliases, tokens, and breadth: nested lists
            # multiply), each distinct document checked once.
            lambda: CheckedDocuments(checks),
            ErrorCodes,
            lambda: CachedAnswers(answers),  # last: a hit skips only the execution
        ],
        # Subscribers asking the same of one event share one execution (event_execution.py).
        execution_context_class=SharedEventExecutor,
    )
