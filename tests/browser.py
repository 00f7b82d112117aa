"""Playwright driving Debian's chromium (Playwright's own browser download cannot work here)."""
from __future__ import annotations

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
