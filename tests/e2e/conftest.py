"""Browser tests: a live ASGI server in this process, driven by Debian's Chromium through Playwright.

The server runs in a thread of the test process on purpose: the test shares the locmem mail outbox,
the in-memory channel layer and the cache with it, so a test reads the code an email carried
straight from ``mailoutbox``. Tests that use the browser need ``transactional_db`` (the server's
threads only see committed rows).

Playwright's sync API keeps an event loop marked as running in the main thread between calls, so:
- Django's ORM in the test body would refuse to run ("cannot call this from an async context"):
  the ``browser`` fixture sets DJANGO_ALLOW_ASYNC_UNSAFE while the browser lives. It is safe here:
  the test body is plain sync code. Only then: in the other tests the check still catches ORM calls
  made from inside an event loop.
- ``async_to_sync`` (e.g. a service publishing an event) and asyncio tests cannot run in the main
  thread while the browser lives: call such code through ``off_loop``. Browser tests run last
  (``pytest_collection_modifyitems`` below), so the session-long browser never meets an asyncio test.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
# Git-ignored. Files are overwritten, never cleared: two runs in one tree must not wipe each other's.
SCREENSHOTS = Path(os.environ.get("E2E_SCREENSHOT_DIR") or Path(__file__).resolve().parent / "screenshots")
# Playwright's default of 30 s hides a hang for too long; a local page answers in well under 1 s.
TIMEOUT_MS = 10_000


def pytest_configure(config):
    for line in (
        # uvicorn's "websockets" (legacy) protocol is the one chosen for the live server.
        "ignore:websockets.legacy is deprecated:DeprecationWarning",
        "ignore:The `websockets` implementation is deprecated",
        "ignore:remove second argument of ws_handler:DeprecationWarning",
        # WhiteNoise streams static files with a sync iterator; harmless at test scale.
        "ignore:StreamingHttpResponse must consume synchronous iterators",
    ):
        config.addinivalue_line("filterwarnings", line)


@pytest.hookimpl(trylast=True)  # after pytest-django's own reordering (db, transactional, the rest)
def pytest_collection_modifyitems(session, config, items):
    # Once the browser has started, the main thread has a "running" event loop (see the module
    # docstring): every other test must run before it. A stable sort keeps every other order.
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


# --- The live server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_LIVE_SERVERS: list = []  # the session's uvicorn server (for _wait_until_served)


def _wait_until_served(timeout: float = 5.0) -> None:
    """Until the live server has finished every request and socket of the test's pages. A closed
    page's socket still runs its disconnect (which writes: presence, a call's end) after the browser
    is gone; the test database's flush must not race it (on PostgreSQL the two deadlock)."""
    deadline = time.monotonic() + timeout
    for server in _LIVE_SERVERS:
        while server.server_state.tasks and time.monotonic() < deadline:
            time.sleep(0.02)


@pytest.fixture(scope="session")
def _asgi_server(django_db_setup):
    """uvicorn serving chatsite.asgi in a daemon thread for the whole session."""
    import uvicorn

    from chatsite.asgi import application

    port = _free_port()
    config = uvicorn.Config(
        app=application, host="127.0.0.1", port=port, ws="websockets-sansio", lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="e2e-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive():
            pytest.fail(f"the live ASGI server did not start on 127.0.0.1:{port} (see the log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            pytest.fail(f"the live ASGI server did not start on 127.0.0.1:{port} within 15 s")
        time.sleep(0.02)
    _LIVE_SERVERS.append(server)
    yield f"http://127.0.0.1:{port}"
    _LIVE_SERVERS.remove(server)
    server.should_exit = True
    thread.join(timeout=10)
    # The sockets' database thread may still hold a connection (a last disconnect): close it, or
    # PostgreSQL refuses to drop the test database while it is open.
    from chatsite.realtime import stop_database_threads

    stop_database_threads()


@pytest.fixture
def live_url(_asgi_server, transactional_db) -> str:
    """The live server's base URL, e.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
    return _asgi_server


@pytest.fixture(scope="session")
def _off_loop_executor():
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="e2e-off-loop") as executor:
        yield executor


@pytest.fixture
def off_loop(_off_loop_executor):
    """Run ``fn(*args, **kwargs)`` in a thread without an event loop; returns its result.

    For code that uses ``async_to_sync`` (services publishing events) called from a browser test.
    """
    from django.db import close_old_connections

    def run(fn, /, *args, **kwargs):
        def call():
            try:
                return fn(*args, **kwargs)
            finally:
                close_old_connections()

        return _off_loop_executor.submit(call).result(timeout=30)

    return run


# --- The browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium (Playwright never downloads a browser here)."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: browser tests need Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # From here on the main thread has a "running" loop (see the module docstring).
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


# What Chromium and htmx log when a connection fails (not the page's own errors).
_NETWORK_FAILURE = re.compile(
    r"^WebSocket connection to '[^']*' failed|^Failed to load resource: net::ERR_|net::ERR_[A-Z_]+$"
    r"|^htmx:(sendError|afterRequest), ")


@pytest.fixture
def new_page(browser, live_url):
    """Factory: ``new_page(viewport=PHONE, color_scheme="dark")`` opens a page in a fresh context.

    Each page gets ``base_url`` (so ``page.goto("/accounts/login/")`` works; pass ``base_url`` to
    reach the server another way, e.g. through tests/e2e/relay.py) and records console
    errors (failed loads and CSP violations included) and uncaught exceptions; the test fails if
    any page had one. ``network_cuts=True`` lets the browser's own reports of a connection that
    failed pass (the test cuts the network on purpose); the page's errors still count.
    ``expected_errors``: a pattern of console errors the test causes on purpose (a refused upload's
    status, which Chromium always logs).
    """
    contexts = []
    problems: list[tuple[str, str]] = []

    def make(viewport: dict | None = None, color_scheme: str = "light", base_url: str | None = None,
             network_cuts: bool = False, expected_errors: re.Pattern | None = None):
        context = browser.new_context(
            base_url=base_url or live_url,
            viewport=viewport or DESKTOP,
            color_scheme=color_scheme,
            reduced_motion="reduce",
            locale="en-US",
            timezone_id="UTC",
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        def console(msg):
            if msg.type != "error" or (network_cuts and _NETWORK_FAILURE.search(msg.text)):
                return
            if expected_errors and expected_errors.search(msg.text):
                return
            problems.append((page.url, msg.text))

        page.on("console", console)
        page.on("pageerror", lambda error: problems.append((page.url, str(error))))
        return page

    yield make
    for context in contexts:
        context.close()
    _wait_until_served()
    assert not problems, "the browser reported errors:\n" + "\n".join(f"{url}: {text}" for url, text in problems)


@pytest.fixture
def page(new_page):
    """A desktop-sized page (1280x800) in a fresh browser context."""
    return new_page()


# --- Screenshots ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _screenshot_dir():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def shoot(_screenshot_dir):
    """``shoot(page, "login")`` saves login-desktop.png and login-phone.png (suffix -dark in dark).

    Both are full-page captures of the current page; the viewport is restored afterwards. Before
    capturing it also checks that every visible control has an accessible name.
    """

    def capture(page, name: str, *, widths=(("desktop", DESKTOP), ("phone", PHONE))):
        assert_controls_named(page)
        scheme = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") and "-dark" or ""
        original = page.viewport_size
        slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
        for label, size in widths:
            page.set_viewport_size(size)
            # The app shell scrolls inside <main>, which a full-page capture does not unroll: make
            # the viewport as tall as the main pane's content instead.
            height = page.evaluate(_MAIN_PANE_HEIGHT_JS)
            if height > size["height"]:
                page.set_viewport_size({**size, "height": min(height, 4000)})
            page.screenshot(path=_screenshot_dir / f"{slug}-{label}{scheme}.png", full_page=True, animations="disabled")
        page.set_viewport_size(original)

    capture.dir = _screenshot_dir
    return capture


_MAIN_PANE_HEIGHT_JS = """
() => {
  const main = document.getElementById('main');
  main?.scrollTo(0, 0);  // a resize may have scrolled it (scroll anchoring)
  return main && getComputedStyle(main).overflowY !== 'visible'
    ? Math.ceil(main.scrollHeight + main.getBoundingClientRect().top) : 0;
}
"""

_UNNAMED_CONTROLS_JS = """
() => [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [tabindex]:not([tabindex="-1"])'
  )].filter((el) => el.checkVisibility({visibilityProperty: true}))
   .filter((el) => {
     const visible = el.cloneNode(true);  // its text, less what screen readers are told to skip
     visible.querySelectorAll('[aria-hidden=true]').forEach((hidden) => hidden.remove());
     const text = (visible.textContent || el.value || '').trim();
     const labelled = el.labels && [...el.labels].some((l) => l.innerText.trim());
     const ref = (el.getAttribute('aria-labelledby') || '').split(/\\s+/)
       .some((id) => id && document.getElementById(id)?.textContent.trim());
     const named = el.getAttribute('aria-label') || el.getAttribute('title') || ref || labelled;
     const isField = el.matches('input, select, textarea');
     return !(named || (!isField && text));
   })
   .map((el) => el.outerHTML.slice(0, 160))
"""


def assert_controls_named(page) -> None:
    """Every visible link, button and form field has a label, an aria-label or visible text."""
    unnamed = page.evaluate(_UNNAMED_CONTROLS_JS)
    assert not unnamed, f"controls without an accessible name on {page.url}:\n" + "\n".join(unnamed)
