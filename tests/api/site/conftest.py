"""Fixtures for the website tests: the site store, a Flask client, a live `civic serve`, and
headless Chromium (Debian's) driven by Playwright, with a screenshot saved on failure."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from api.app import create_app
from opendata.settings import Settings
from tests.api.site.site_data import build_site_store
from tests.conftest import ROOT
from tests.live import civic_server

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CIVIC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
#: A 1x1 transparent PNG served in place of basemap tiles (no network in tests).
TILE_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


@pytest.fixture(scope="session")
def site_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The bundled municipality + a scenario + hostile and 20,000-feature layers."""
    return build_site_store(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="session")
def site_app(site_settings: Settings):
    app = create_app(site_settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture()
def client(site_app):
    return site_app.test_client()


@pytest.fixture(scope="session")
def live_site(site_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`civic serve` on a free port over the site store; yields its base URL."""
    log = tmp_path_factory.mktemp("site-server") / "server.log"
    env = {"CIVIC_DATASETS_DIR": str(site_settings.datasets_dir)}
    with civic_server(site_settings, log, env=env) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    from playwright import sync_api

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make sysdeps` (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


class Recorder:
    """What a page did: console errors, uncaught errors, dialogs and every requested host."""

    def __init__(self, base: str) -> None:
        self.own = urlsplit(base).netloc
        self.console: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.foreign: list[str] = []
        self.tiles: list[str] = []

    def on_request(self, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.netloc == self.own:
            if parts.path == "/tiles/basemap.pmtiles":  # our own basemap (HTTP Range reads)
                self.tiles.append(request.url)
            return
        if re.search(r"tile\.openstreetmap\.org$", parts.netloc):
            self.tiles.append(request.url)
            return
        self.foreign.append(request.url)

    def on_console(self, message) -> None:
        if message.type == "error":
            self.console.append(f"{message.text} @ {message.location.get('url', '')}")


def _tiles(mode: str):
    def handle(route) -> None:
        if mode == "abort":
            route.abort()
        else:
            route.fulfill(status=200, content_type="image/png", body=TILE_PNG)

    return handle


def open_page(browser, base: str, request, *, width: int = 1280, tiles: str = "serve"):
    """A fresh context + page with a recorder; `tiles` is "serve" (blank PNG) or "abort"."""
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    page = context.new_page()
    recorder = Recorder(base)
    page.on("request", recorder.on_request)
    page.on("console", recorder.on_console)
    page.on("pageerror", lambda err: recorder.errors.append(str(err)))
    page.on("dialog", lambda d: (recorder.dialogs.append(d.message), d.dismiss()))
    page.route(re.compile(r"^https?://([a-z0-9-]+\.)*tile\.openstreetmap\.org/"), _tiles(tiles))
    if tiles == "abort":
        page.route(re.compile(r"/tiles/basemap\.pmtiles$"), lambda route: route.abort())
    page.set_default_timeout(15_000)
    page.recorder = recorder
    return context, page


def _finish(request, context, page) -> None:
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        except Exception:  # noqa: BLE001 - a screenshot must never hide the real failure
            pass
    context.close()


@pytest.fixture()
def page(browser, live_site, request):
    """A desktop-sized page (1280 px) whose basemap tiles are served blank."""
    context, page = open_page(browser, live_site, request)
    yield page
    _finish(request, context, page)


@pytest.fixture()
def phone(browser, live_site, request):
    """A 360 px wide page."""
    context, page = open_page(browser, live_site, request, width=360)
    yield page
    _finish(request, context, page)


@pytest.fixture()
def offline_tiles(browser, live_site, request):
    """A page whose basemap tile requests all fail."""
    context, page = open_page(browser, live_site, request, tiles="abort")
    yield page
    _finish(request, context, page)
