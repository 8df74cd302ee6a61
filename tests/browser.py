"""Headless Chromium (Debian's, through Playwright) for the page and GraphiQL tests.

No browser is downloaded: Playwright launches the system's chromium. Without one the
tests skip, unless AIVIDEO_REQUIRE_SERVICES=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

try:
    from playwright.async_api import Browser, Page, Request, async_playwright
except ImportError:  # the test extra not installed: the browser tests skip (or fail in CI)
    async_playwright = None  # type: ignore[assignment]


REQUIRE_SERVICES = os.environ.get("AIVIDEO_REQUIRE_SERVICES") == "1"


def chromium_path() -> str | None:
    for candidate in (os.environ.get("AIVIDEO_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot_dir() -> Path | None:
    """Where to save the README's screenshots: AIVIDEO_SCREENSHOTS, when set."""
    target = os.environ.get("AIVIDEO_SCREENSHOTS")
    return Path(target) if target else None


async def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    target = screenshot_dir()
    if target is not None:
        target.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(target / f"{name}.png"), full_page=full_page)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    if executable is None or async_playwright is None:
        missing = "chromium" if executable is None else "playwright"
        message = f"{missing} is not installed (apt-get install chromium; pip install -e '.[test]')"
        if REQUIRE_SERVICES:
            pytest.fail(message + " and AIVIDEO_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(message)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, args=["--autoplay-policy=no-user-gesture-required"]
        )
        yield launched
        await launched.close()


@dataclass
class Traffic:
    """Every request a page made, and the errors it raised."""

    urls: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def hosts(self) -> set[str]:
        return {urlsplit(url).netloc for url in self.urls if not url.startswith("data:")}

    def assert_only(self, base_url: str) -> None:
        """Nothing left the server: every request went to its host, no script failed."""
        assert self.urls, "the page made no request at all"
        assert self.hosts() == {urlsplit(base_url).netloc}, self.hosts()
        assert not self.page_errors, self.page_errors


@dataclass
class BrowserPage:
    page: Page
    traffic: Traffic


async def open_page(browser: Browser, *, width: int = 1280, height: int = 900) -> BrowserPage:
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    traffic = Traffic()

    def on_request(request: Request) -> None:
        traffic.urls.append(request.url)

    page.on("request", on_request)
    page.on("websocket", lambda ws: traffic.urls.append(ws.url))
    page.on("pageerror", lambda error: traffic.page_errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.set_default_timeout(60_000)
    return BrowserPage(page, traffic)


@pytest.fixture
async def tab(browser: Browser) -> AsyncIterator[BrowserPage]:
    opened = await open_page(browser)
    yield opened
    await opened.page.context.close()
