"""Batching: a deep tree query's SQL statement count does not grow with the tree."""

from __future__ import annotations

from typing import Any

from tests import api
from tests.conftest import Server
from tests.sql_statements import counting_statements

TREE = """
query($id: ID!) {
  video(id: $id) {
    id costUsd currentCheckpoint { id } finalVideo { id }
    branches { name head { id } canContinue forkedFrom { id } parentBranch { name }
               childBranches { name } checkpoints { id } }
    checkpointTree {
      id branch { name } edited costUsd inputs { id } artifacts { key url versions { id } }
      children {
        id branch { name } edited inputs { id } artifacts { key previousVersion { id } }
        children {
          id parent { id parent { id } } artifacts { key }
          children { id artifacts { key } }
        }
      }
    }
  }
}
"""


async def tree_statements(server: Server, video_id: str) -> tuple[int, dict[str, Any]]:
    with counting_statements(server) as statements:
        data = await server.gql(TREE, {"id": video_id})
    return len(statements), data


def count_nodes(checkpoints: list[dict[str, Any]]) -> int:
    return sum(1 + count_nodes(c.get("children", [])) for c in checkpoints)


async def test_tree_query_statement_count_is_constant(server: Server) -> None:
    # given a small tree (one checkpoint) and a bigger one (YOLO plus branches)
    small = await api.paused_video(server)
    big = await api.create_video(server, autoContinue=True)
    await server.settle()
    big_video = await api.video(server, big["id"])
    for checkpoint in big_video["checkpoints"][:3]:
        await server.gql(api.CREATE_BRANCH, {"id": checkpoint["id"]})

    # when the same deep query runs on both
    small_count, small_data = await tree_statements(server, small["id"])
    big_count, big_data = await tree_statements(server, big["id"])

    # then the answers differ in size but not in statements
    assert count_nodes(small_data["video"]["checkpointTree"]) == 1
    assert count_nodes(big_data["video"]["checkpointTree"]) == 7
    assert len(big_data["video"]["branches"]) == 4
    assert big_count == small_count
    assert big_count <= 7  # video, then one statement each for the tree's four tables


LIST = """
query($first: Int!) {
  videos(first: $first) {
    edges { node { id costUsd branches { name canContinue }
                   checkpointTree { id artifacts { key } children { id video { id } } } } }
  }
}
"""


async def list_statements(server: Server, first: int) -> tuple[int, int]:
    with counting_statements(server) as statements:
        data = await server.gql(LIST, {"first": first})
    return len(statements), len(data["videos"]["edges"])


async def test_video_list_statement_count_does_not_grow_with_the_page(server: Server) -> None:
    # given at least six videos with trees
    for _ in range(6):
        await api.create_video(server)
    await server.settle()

    # when one and then six are listed with their trees
    one, one_count = await list_statements(server, 1)
    six, six_count = await list_statements(server, 6)

    # then the six cost the same statements as the one: every loader batched all videos
    assert (one_count, six_count) == (1, 6)
    assert six == one
