"""Each distinct query text is parsed and validated once; every limit still applies to it.

Parsing and validating the same document again on every request (and every websocket
subscribe) was most of the cost of a small query. Here the parsed document and the errors
of the variable-independent rules (GraphQL's own, depth, aliases) are kept in an LRU cache
keyed by the query text, exactly as a fresh request would compute them. The token limit
applies when a text is first parsed (a text over it never enters the cache), and the
breadth estimate, which depends on the request's variables, runs for every request.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from graphql import DocumentNode, GraphQLError, specified_rules
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as alias_limit
from strawberry.extensions.query_depth_limiter import create_validator as depth_limit
from strawberry.schema.schema import validate_document

from aivideo.schema.lru_map import LRUMap
from aivideo.schema.query_cost import breadth_errors


class DocumentChecks:
    """The schema's query limits and its cache of checked documents (one per schema)."""

    def __init__(
        self,
        *,
        max_depth: int,
        max_aliases: int,
        max_tokens: int,
        max_objects: int,
        list_bounds: Mapping[str, int],
        size: int = 512,
    ) -> None:
        # Rule classes made once: a new class per request would defeat any caching.
        self.rules: tuple[type[ASTValidationRule], ...] = (
            *specified_rules,
            depth_limit(max_depth, should_ignore=None),
            alias_limit(max_aliases),
        )
        self.max_tokens, self.max_objects, self.list_bounds = max_tokens, max_objects, list_bounds
        self.documents: LRUMap[str, DocumentNode] = LRUMap(size)
        self.errors: LRUMap[str, list[GraphQLError]] = LRUMap(size)
        self.hits = 0  # documents served from the cache, for tests and benchmarks


class CheckedDocuments(SchemaExtension):
    """Parse from the cache when the text is known; validate once per text, breadth always."""

    def __init__(self, checks: DocumentChecks) -> None:
        self.checks = checks

    def on_parse(self) -> Iterator[None]:
        context, checks = self.execution_context, self.checks
        known = checks.documents.get(context.query) if context.query else None
        if known is not None:
            context.graphql_document = known  # Strawberry parses only when this is unset
            checks.hits += 1
        else:
            context.parse_options["max_tokens"] = checks.max_tokens
        yield
        if known is None and context.query and context.graphql_document is not None:
            checks.documents.put(context.query, context.graphql_document)

    def on_validate(self) -> Iterator[None]:
        context, checks = self.execution_context, self.checks
        document, schema = context.graphql_document, context.schema._schema
        assert document is not None and context.query is not None
        errors = checks.errors.get(context.query)
        if errors is None:
            errors = validate_document(schema, document, checks.rules)
            checks.errors.put(context.query, errors)
        if not errors:
            # Only a valid document is estimated (its fragments have no cycles then).
            errors = breadth_errors(
                schema,
                document,
                context.operation_name,
                context.variables or {},
                max_objects=checks.max_objects,
                list_bounds=checks.list_bounds,
            )
        # Set before Strawberry's own validation step, which then does not run again.
        context.pre_execution_errors = list(errors)
        yield
