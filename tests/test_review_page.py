"""The review page at / in a real browser: make, review, edit, branch and finish a video.

The page speaks only GraphQL (HTTP and graphql-ws) to the server under test; each test
ends by checking that no request went anywhere else.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.async_api import Browser, FilePayload, Locator, Page, expect

from aivideo.providers.base import ProviderError
from tests import api
from tests.browser import BrowserPage, open_page, screenshot
from tests.conftest import Server
from tests.test_retry import fail_once

pytestmark = pytest.mark.parametrize("server", ["sqlite"], indirect=True)

OUTCOME = "#outcome"
# A phase that makes media waits this long at most (a loaded machine encodes slowly).
PHASE_SECONDS = 60
# Its own prompt: provider results are reused by their inputs, so a prompt another test
# rendered already would never reach the failing call.
RETRY_PROMPT = "A lantern-maker's apprentice chases a runaway paper lantern over the bay."


def node(page: Page, phase_name: str, *, branch: str = "main", version: int = 1) -> Locator:
    """The tree's button for one checkpoint."""
    label = f"branch {branch}, version {version}"
    return page.locator(f'button.node[aria-label*="{phase_name}"][aria-label*="{label},"]')


def png(name: str, colour: str) -> FilePayload:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 180), colour).save(buffer, "PNG")
    return {"name": name, "mimeType": "image/png", "buffer": buffer.getvalue()}


async def open_review(tab: BrowserPage, url: str) -> Page:
    await tab.page.goto(url)
    await expect(tab.page.locator("body")).to_have_attribute("data-ready", "true")
    return tab.page


async def test_make_review_edit_branch_and_finish_a_video(server: Server, tab: BrowserPage) -> None:
    page = await open_review(tab, server.url + "/")
    await screenshot(page, "1-empty-page")

    # a new video from the form: the tree shows phase 1 live, with the spec as a table
    await page.get_by_label("Prompt").fill(api.PROMPT)
    await page.get_by_label("Duration (s)").fill("10")
    await page.get_by_label("Title (optional)").fill("Lighthouse")
    await page.get_by_role("button", name="Create video").click()
    await expect(page.locator("#create-outcome")).to_contain_text("Created vid-")
    planning = node(page, "planning")
    await expect(planning).to_be_visible()
    await expect(planning).to_have_attribute(
        "aria-label", "Phase 1 planning, branch main, version 1, pending, current checkpoint"
    )
    await expect(page.locator(".spec-table")).to_contain_text("Lighthouse")
    await expect(page.locator(".beats-table tbody tr")).to_have_count(1)
    video_id = page.url.split("video=")[1].split("&")[0]
    await screenshot(page, "2-phase-1-spec")

    # an edit that breaks a rule is refused inline, with the error's code
    editor = page.get_by_label("Edit the spec (JSON)")
    await editor.fill('{"duration": 25}')
    await page.get_by_role("button", name="Save spec").click()
    await expect(page.locator("#spec-error")).to_contain_text("BAD_USER_INPUT")
    await expect(editor).to_have_attribute("aria-invalid", "true")
    await editor.fill("{not json")
    await page.get_by_role("button", name="Save spec").click()
    await expect(page.locator("#spec-error")).to_contain_text("This is not JSON")
    await screenshot(page, "3-spec-validation-error")

    # a valid edit becomes version 2, with its history
    await editor.fill('{"title": "The keeper and the storm"}')
    await page.get_by_label("What you changed (optional)").fill("a better title")
    await page.get_by_role("button", name="Save spec").click()
    await expect(page.locator(OUTCOME)).to_have_text("Saved spec version 2.")
    await expect(page.locator(".spec-table")).to_contain_text("The keeper and the storm")
    await expect(page.locator(".history summary").first).to_have_text("History of spec: 2 versions")

    # continue: the outcome names the branch, and the storyboard appears in the tree
    await page.get_by_role("button", name="Continue to phase 2").click()
    await expect(page.locator(OUTCOME)).to_have_text("Continued: phase 2 runs on branch main.")
    storyboard = node(page, "storyboard")
    await storyboard.click()
    beats = page.locator(".beat-grid > li")
    await expect(beats).to_have_count(1)

    # upload an image for beat 1, then regenerate it with a prompt of its own
    await page.get_by_label("Replace beat 1 with a PNG or JPEG").set_input_files(
        files=[png("red.png", "red")]
    )
    await page.get_by_role("button", name="Upload image for beat 1").click()
    await expect(page.locator(OUTCOME)).to_have_text("Uploaded: beat 1 is now version 2.")
    await page.get_by_label("Prompt for a new image").fill("The lighthouse beam cuts the rain")
    await page.get_by_role("button", name="Regenerate beat 1").click()
    await expect(page.locator(OUTCOME)).to_have_text("Regenerated: beat 1 is now version 3.")
    await expect(page.locator(".beat figcaption strong")).to_have_text("Beat 1 · v3")
    await expect(page.locator(".beat img")).to_have_js_property("complete", True)
    assert await page.locator(".beat img").evaluate("img => img.naturalWidth") == 1280
    await screenshot(page, "4-storyboard")

    # a branch from the storyboard: a new column whose first checkpoint copies it
    await page.get_by_label("New branch from this checkpoint").fill("moody")
    await page.get_by_role("button", name="Create branch").click()
    await expect(page.locator(OUTCOME)).to_contain_text("Created branch moody")
    await expect(page.locator('.branch-head[data-branch="moody"]')).to_be_visible()
    await expect(node(page, "storyboard", branch="moody")).to_have_attribute("aria-pressed", "true")

    # the tree grows live when the video moves on elsewhere (here: through the API)
    phase2 = api.newest((await api.video(server, video_id))["checkpoints"], phase=2)
    await server.gql(api.CONTINUE, {"id": phase2["id"], "branchName": None})
    clips = node(page, "chunks")
    await expect(clips).to_be_visible(timeout=PHASE_SECONDS * 1000)  # phase 3 encodes H.264
    await screenshot(page, "5-branches")

    # continue to the end from the page and play the final video
    await clips.click()
    await expect(page.locator('video[data-artifact-key="stitched"]')).to_be_visible()
    await page.get_by_role("button", name="Continue to phase 4").click()
    await expect(page.locator(OUTCOME)).to_have_text("Continued: phase 4 runs on branch main.")
    await node(page, "refinement").click()
    final = page.locator('video[data-artifact-key="final"]')
    await final.evaluate("video => { video.muted = true; return video.play(); }")
    await page.wait_for_function(
        "document.querySelector('video[data-artifact-key=\"final\"]').readyState >= 2"
    )
    await expect(page.locator("#video-status")).to_have_text("complete")
    await expect(page.locator('audio[data-artifact-key="music"]')).to_be_visible()
    await screenshot(page, "6-final-video")

    # the server agrees with what the page showed
    finished = await api.video(server, video_id)
    assert finished["status"] == "COMPLETE"
    assert {b["name"] for b in finished["branches"]} == {"main", "moody"}
    storyboard_checkpoint = api.newest(finished["checkpoints"], phase=2)
    assert api.artifact(storyboard_checkpoint, "beat_0")["version"] == 3
    tab.traffic.assert_only(server.url)


async def test_outcomes_of_a_refused_continue_cancel_and_delete(
    server: Server, tab: BrowserPage
) -> None:
    # given a video paused after phase 1, opened by its address
    video = await api.paused_video(server)
    page = await open_review(tab, f"{server.url}/#video={video['id']}")
    await expect(node(page, "planning")).to_be_visible()

    # a continue onto a branch name that is taken says why not: code and message
    await page.get_by_label("Branch for the next phase").fill("main")
    await page.get_by_role("button", name="Continue to phase 2").click()
    await expect(page.locator(OUTCOME)).to_contain_text("CONFLICT: ")
    await expect(page.locator(OUTCOME)).to_have_class("outcome error")

    # cancel abandons the pending checkpoint
    await page.get_by_role("button", name="Cancel video").click()
    await expect(page.locator(OUTCOME)).to_have_text("Cancelled: the video is cancelled.")
    await expect(node(page, "planning")).to_have_attribute(
        "aria-label", "Phase 1 planning, branch main, version 1, abandoned"
    )

    # delete removes it from the server and from the list
    await page.get_by_role("button", name="Delete video").click()
    await expect(page.locator("#detail")).to_contain_text("Deleted")
    assert (await server.gql_raw(api.VIDEO, {"id": video["id"]}))["data"]["video"] is None
    await expect(page.locator(f'[data-video-id="{video["id"]}"]')).to_have_count(0)
    tab.traffic.assert_only(server.url)


async def test_a_failed_branch_is_retried_from_the_page(
    server: Server, tab: BrowserPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a video whose planning failed once
    fail_once(monkeypatch, server, "plan", ProviderError("the planner is overloaded"))
    created = await api.create_video(server, prompt=RETRY_PROMPT)
    await server.settle()
    page = await open_review(tab, f"{server.url}/#video={created['id']}")
    await expect(page.locator('.branch-head[data-branch="main"]')).to_contain_text(
        "the planner is overloaded"
    )

    # when main is retried from its column
    await page.get_by_role("button", name="Retry main").click()

    # then the outcome says where it runs, and phase 1's checkpoint appears live
    await expect(page.locator(OUTCOME)).to_have_text("Retrying: phase 1 runs again on branch main.")
    await expect(node(page, "planning")).to_be_visible()
    await expect(page.get_by_role("button", name="Retry main")).to_have_count(0)
    tab.traffic.assert_only(server.url)


async def test_narrow_screen_and_keyboard_only(server: Server, browser: Browser) -> None:
    tab = await open_page(browser, width=380, height=800)
    try:
        page = await open_review(tab, server.url + "/")
        # nothing is wider than the phone
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

        # the form, by keyboard alone: focus moves in reading order and Enter submits
        await page.get_by_label("Prompt").focus()
        await page.keyboard.type(api.PROMPT)
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.id") == "title"
        await page.keyboard.press("Tab")
        await page.keyboard.press("Control+A")
        await page.keyboard.type("10")
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.id") == "budget"
        await page.keyboard.press("Tab")
        await page.keyboard.press("Space")
        assert await page.locator("#yolo").is_checked()
        await page.get_by_role("button", name="Create video").focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#video-status")).to_have_text("complete", timeout=120_000)

        # a checkpoint of the tree opens with Enter
        planning = node(page, "planning")
        await planning.focus()
        await page.keyboard.press("Enter")
        await expect(planning).to_have_attribute("aria-pressed", "true")
        await expect(page.locator(".spec-table")).to_be_visible()
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await screenshot(page, "7-narrow-screen")
        tab.traffic.assert_only(server.url)
    finally:
        await tab.page.context.close()
