"""GraphiQL at /graphql in a real browser, from the package's own files: no other host."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from playwright.async_api import Page, expect

from tests import api
from tests.browser import BrowserPage, screenshot
from tests.conftest import Server

pytestmark = pytest.mark.parametrize("server", ["sqlite"], indirect=True)

RESULT = ".graphiql-response .result-window"
STATUS = "subscription($id: ID!) { videoStatus(videoId: $id) { status progress } }"


async def run(page: Page) -> None:
    await page.locator(".graphiql-execute-button").click()


async def test_the_default_tab_runs_an_example_of_this_api(
    server: Server, tab: BrowserPage
) -> None:
    # given a video
    created = await api.create_video(server)
    await server.settle()

    # when GraphiQL opens and its default tab is run
    await tab.page.goto(server.url + "/graphql")
    editor = tab.page.locator(".graphiql-query-editor")
    await expect(editor).to_contain_text("query RecentVideos")
    await run(tab.page)

    # then the answer lists the video, and every file came from this server
    await expect(tab.page.locator(RESULT)).to_contain_text(created["id"])
    await expect(tab.page.locator(RESULT)).to_contain_text('"totalCount"')
    assert "Welcome to GraphiQL" not in await editor.inner_text()
    await screenshot(tab.page, "graphiql", full_page=False)
    tab.traffic.assert_only(server.url)
    vendored = "/ui/vendor/graphiql-3.8.3/graphiql.min.js"
    assert any(url.endswith(vendored) for url in tab.traffic.urls)


async def test_a_subscription_runs_over_the_websocket(server: Server, tab: BrowserPage) -> None:
    # given a video paused after phase 1
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)

    # when GraphiQL subscribes to its status
    variables = json.dumps({"id": video["id"]})
    query = urlencode({"query": STATUS, "variables": variables})
    await tab.page.goto(f"{server.url}/graphql#{query}")
    await expect(tab.page.locator(".graphiql-query-editor")).to_contain_text("videoStatus")
    await run(tab.page)

    # then the current status shows at once, and a change follows live
    result = tab.page.locator(RESULT)
    await expect(result).to_contain_text("PAUSED_AT_PHASE1")
    await server.gql(api.CONTINUE, {"id": phase1["id"], "branchName": None})
    await expect(result).to_contain_text("PAUSED_AT_PHASE2")
    await server.settle()
    tab.traffic.assert_only(server.url)
    assert any(url.startswith("ws://") for url in tab.traffic.urls)
