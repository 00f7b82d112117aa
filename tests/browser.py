"""Playwright driving Debian's chromium (Playwright's own browser download cannot work here)."""
from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


# Each test module that imports the fixture gets its own fixture definition; Playwright's sync API
# runs only one instance per thread, so the first one launched is shared by all of them.
_launched: list = []


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium is not installed (make test installs it when run as root)")
    if _launched:
        yield _launched[0]
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        _launched.append(launched)
        try:
            yield launched
        finally:
            _launched.clear()
            launched.close()


class Browsers:
    """One browser context (own cookies) per user, signed in on first use with the demo password, in
    Chinese at Shanghai time. ``errors`` collects the pages' uncaught errors and console errors; dialogs
    ("leave with changes not deployed?") are accepted."""

    VIEWPORT = {"width": 1440, "height": 900}

    def __init__(self, launched, base_url: str, timeout_ms: int = 15_000) -> None:  # noqa: ANN001 - a Playwright Browser
        self.browser = launched
        self.base_url = base_url
        self.timeout_ms = timeout_ms
        self.pages: dict = {}
        self.contexts: list = []
        self.errors: list[str] = []

    def page(self, username: str):  # noqa: ANN201
        if username not in self.pages:
            context = self.browser.new_context(locale="zh-CN", viewport=self.VIEWPORT, timezone_id="Asia/Shanghai")
            context.set_default_timeout(self.timeout_ms)
            self.contexts.append(context)
            page = context.new_page()
            page.on("pageerror", lambda error: self.errors.append(str(error)))
            page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
            page.on("dialog", lambda dialog: dialog.accept())
            page.goto(f"{self.base_url}/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", "demo")
            page.click("form.stack button[type=submit]")
            page.wait_for_url(re.compile(r".*/inbox.*"))
            self.pages[username] = page
        return self.pages[username]

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@contextmanager
def live_server(app, name: str = "ui-test-server") -> Iterator[str]:  # noqa: ANN001 - a Flask app
    """Serve ``app`` on a free local port in a thread; yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
