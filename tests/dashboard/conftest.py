"""Fixtures for the dashboard tests: real campaigns stored once per session (a GP
campaign with a MAP-Elites grid, an LLM campaign through the scripted server, and a
campaign of hostile programs), a live server on 127.0.0.1, and Debian's chromium
driven by Playwright (required under CI=true, where a skip would hide a broken setup).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dashboard.campaigns import store_gp, store_hostile, store_llm
from tests.needs import need_chromium, need_module

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


@pytest.fixture(scope="session")
def archive_url(tmp_path_factory) -> str:
    """A SQLite archive holding the three test campaigns (gp, llm, hostile)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('dash')}/dash.db"
    in_thread(lambda: (store_gp(url), store_llm(url), store_hostile(url)))
    return url


def in_thread(fn) -> None:
    """Run ``fn`` on its own thread (campaigns run an asyncio loop; under the browser
    tests Playwright's loop owns the main thread) and re-raise what it raised."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the caller
            failure.append(e)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The dashboard app under uvicorn on a background thread."""

    def __init__(self, url: str, token: str | None = None):
        import uvicorn

        from evolve.archive.views import ArchiveReader
        from evolve.dashboard.data import Dashboard
        from evolve.dashboard.server import build_app

        self.reader = ArchiveReader(url)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        app = build_app(Dashboard(self.reader), token)
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the dashboard server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.reader.close()


@pytest.fixture(scope="session")
def live_server(archive_url) -> Iterator[LiveServer]:
    with LiveServer(archive_url) as server:
        yield server


@pytest.fixture(scope="module")
def chromium():
    """A headless chromium (Playwright over Debian's build). Module-scoped: Playwright's
    sync API keeps an event loop running while it is open, and asyncio.run() in any later
    test of the session (every campaign) would fail."""
    path = need_chromium()
    sync_playwright = need_module("playwright.sync_api", extra="test").sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=["--no-sandbox"], headless=True)
        yield browser
        browser.close()


class Watched:
    """A page that records console errors, page errors, dialogs and every request."""

    def __init__(self, browser, allowed_origin: str | None):
        self.context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("request", lambda r: self.requests.append(r.url))

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(chromium):
    pages: list[Watched] = []

    def make(origin: str | None = None) -> Watched:
        w = Watched(chromium, origin)
        pages.append(w)
        return w

    yield make
    for w in pages:
        w.close()


def screenshot(page, name: str) -> None:
    """Save a screenshot for the docs (docs/images/dashboard-NAME.png)."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / f"dashboard-{name}.png"), full_page=False)
