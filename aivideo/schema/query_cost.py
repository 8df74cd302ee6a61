"""Query breadth: estimate how many objects an operation can return, and refuse it before it runs.

Depth, aliases and tokens do not bound breadth: nested lists multiply
(`checkpoints { artifacts { versions { checkpoint { video { checkpoints … } } } } }`).
Each list field counts as its `first` argument where it takes one, otherwise as the
bound below; an object field counts as one. Scalars are free: tokens bound them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_input_type,
    is_list_type,
    type_from_ast,
    value_from_ast,
)
from graphql.pyutils import Undefined

from aivideo.errors import BadUserInput

# How many items each list field is assumed to hold: the one place these bounds live.
LIST_BOUNDS: dict[str, int] = {
    "Video.checkpoints": 100,
    "Video.checkpointTree": 5,  # phase-1 checkpoints: main's, its retries, sibling branches
    "Video.branches": 50,
    "Video.activeBranches": 50,
    "Branch.checkpoints": 10,  # four phases and their retries
    "Branch.childBranches": 20,
    "Checkpoint.children": 5,
    "Checkpoint.artifacts": 30,  # 120 s of 5 s beats is 24 beats or chunks, plus stitched
    "Checkpoint.inputs": 30,
    "Artifact.versions": 20,
    "VideoConnection.edges": 100,
}
DEFAULT_LIST_BOUND = 100  # a list field added without a bound is not free
# Relay lists: the `first` of the connection field above them sets their length.
PAGE_LISTS = frozenset({"edges", "nodes"})


def estimate_objects(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    list_bounds: Mapping[str, int] = LIST_BOUNDS,
) -> int:
    """The most objects `operation` can return under `list_bounds` (fragments included)."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    estimator = _Estimator(
        schema, fragments, _with_defaults(schema, operation, variables), list_bounds
    )
    return estimator.per_parent(operation.selection_set, root, page=None)


def _with_defaults(
    schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Mapping[str, Any]
) -> dict[str, Any]:
    """The request's variables, plus the operation's defaults for those it left out."""
    values = dict(variables)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in values and definition.default_value is not None:
            type_ = type_from_ast(schema, definition.type)  # type: ignore[call-overload]
            if is_input_type(type_):
                values[name] = value_from_ast(definition.default_value, type_)
    return values


class _Estimator:
    """Counts objects per parent object; a fragment is counted once per page size."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        list_bounds: Mapping[str, int],
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, dict(variables)
        self.list_bounds = list_bounds
        # Memoised, so fragments spread many times inside each other cost linear work.
        self.fragment_costs: dict[tuple[str, int | None], int] = {}

    def per_parent(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType, page: int | None
    ) -> int:
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                if target is not None:
                    total += self.per_parent(selection.selection_set, target, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, page)
        return total

    def fragment(self, name: str, page: int | None) -> int:
        key = (name, page)
        if key not in self.fragment_costs:
            self.fragment_costs[key] = 0  # a cycle (refused by validation) adds nothing
            fragment = self.fragments.get(name)
            if fragment is not None:
                target = self.schema.get_type(fragment.type_condition.name.value)
                if target is not None:
                    cost = self.per_parent(fragment.selection_set, target, page)
                    self.fragment_costs[key] = cost
        return self.fragment_costs[key]

    def field(self, node: FieldNode, parent: GraphQLNamedType, page: int | None) -> int:
        if node.selection_set is None or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0
        # Introspection fields (__schema, __type) are not in `fields`: the schema is small.
        definition = parent.fields.get(node.name.value)
        if definition is None:
            return 0
        first = self.first(node, definition)
        count, type_ = 1, get_nullable_type(definition.type)  # type: ignore[arg-type]
        lists = 0
        while is_list_type(type_):
            count *= self.list_length(f"{parent.name}.{node.name.value}", first, page)
            type_, lists = get_nullable_type(type_.of_type), lists + 1
        # A connection's `first` reaches its edges one level down.
        child_page = first if lists == 0 else None
        child = get_named_type(definition.type)
        return count * (1 + self.per_parent(node.selection_set, child, child_page))

    def list_length(self, coordinate: str, first: int | None, page: int | None) -> int:
        bound = self.list_bounds.get(coordinate, DEFAULT_LIST_BOUND)
        wanted = page if coordinate.rsplit(".", 1)[1] in PAGE_LISTS else first
        # Past the bound, `first` is the resolver's to refuse, with its own clearer message.
        return bound if wanted is None else max(0, min(wanted, bound))

    def first(self, node: FieldNode, definition: GraphQLField) -> int | None:
        """The `first` argument as the resolver sees it: given, from a variable, or default."""
        argument = definition.args.get("first")
        if argument is None:
            return None
        given = next((a for a in node.arguments or () if a.name.value == "first"), None)
        value = value_from_ast(given.value, argument.type, self.variables) if given else Undefined
        if value is None or value is Undefined:
            value = argument.default_value
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def breadth_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any],
    *,
    max_objects: int,
    list_bounds: Mapping[str, int],
) -> list[GraphQLError]:
    """The error for an otherwise valid document that could return over `max_objects`."""
    for operation in _operations(document, operation_name):
        estimate = estimate_objects(schema, operation, _fragments(document), variables, list_bounds)
        if estimate > max_objects:
            return [_too_broad(operation, estimate, max_objects)]
    return []


def _operations(document: DocumentNode, name: str | None) -> Iterator[OperationDefinitionNode]:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            name is None or (definition.name is not None and definition.name.value == name)
        ):
            yield definition


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _too_broad(operation: OperationDefinitionNode, estimate: int, limit: int) -> GraphQLError:
    message = (
        f"query too broad: it could return {estimate:,} objects and the limit is {limit:,}. "
        "Nested lists multiply (each list counts as its `first`, or as the most items it "
        "can hold): select fewer nested lists, or split the query into several"
    )
    return GraphQLError(message, nodes=operation, original_error=BadUserInput(message))
