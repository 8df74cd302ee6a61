"""Each distinct query text is validated once, and a cached document meets every limit anew."""

from __future__ import annotations

from typing import Any

import pytest

from aivideo.schema import checked_documents
from tests import api
from tests.conftest import Server
from tests.test_query_breadth import PAGE

COUNT = "query Count { videos(first: 1) { totalCount } }"
DEEP = '{ video(id: "x") { checkpointTree {' + " children {" * 12 + " id" + " }" * 15


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every GraphQL validation run from here on (a call per document validated)."""
    runs: list[str] = []
    real = checked_documents.validate_document

    def counted(schema: Any, document: Any, rules: Any) -> Any:
        runs.append(document.loc.source.body if document.loc else "")
        return real(schema, document, rules)

    monkeypatch.setattr(checked_documents, "validate_document", counted)
    return runs


async def test_a_known_document_is_not_validated_again(
    server: Server, validations: list[str]
) -> None:
    # given a query text the server has not seen
    query = COUNT + f" # {server.backend}-{len(validations)}-{id(validations)}"

    # when it is sent three times
    answers = [await server.gql(query) for _ in range(3)]

    # then it was validated once, and answered the same each time
    assert validations == [query]
    assert answers[0] == answers[1] == answers[2]


async def test_a_cached_document_still_meets_the_breadth_limit(server: Server) -> None:
    # given a document that is fine for one video a page
    await api.create_video(server)
    small = await server.gql_raw(PAGE, {"first": 1})
    assert not small.get("errors"), small

    # when the same text asks for twenty (its breadth depends on the variables)
    broad = await server.gql_error(PAGE, {"first": 20})

    # then it is refused all the same, before it runs
    assert broad["extensions"]["code"] == "BAD_USER_INPUT"
    assert "query too broad" in broad["message"]


async def test_a_cached_document_over_the_depth_limit_is_refused_every_time(
    server: Server,
) -> None:
    for _ in range(2):
        error = await server.gql_error(DEEP)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "exceeds maximum operation depth" in error["message"]
