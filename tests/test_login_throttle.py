"""Sign-in rate limiting: per user name and per address, on the API token call and the login form."""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from engine.clock import TestClock
from tests.test_ui_pages import Session

pytest_plugins = ["tests.web_fixtures"]


def _token(client, username: str, password: str, address: str = "10.0.0.1"):  # noqa: ANN001, ANN202
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_a_user_name_is_refused_after_five_failures_until_the_window_passes(
        client, make_user: Callable[..., str], clock: TestClock) -> None:  # noqa: ANN001
    make_user("li", ["intake"], password="right-password")
    for _ in range(5):
        assert _token(client, "li", "wrong").status_code == 401
    refused = _token(client, "li", "right-password")  # even the right password: it is not tried
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    assert _token(client, "li", "right-password", address="10.9.9.9").status_code == 429  # any address
    clock.advance(15 * 60 + 1)
    assert _token(client, "li", "right-password").status_code == 200


def test_a_success_clears_the_failures(client, make_user: Callable[..., str]) -> None:  # noqa: ANN001
    make_user("li", ["intake"], password="right-password")
    for _ in range(4):
        assert _token(client, "li", "wrong").status_code == 401
    assert _token(client, "li", "right-password").status_code == 200
    for _ in range(4):
        assert _token(client, "li", "wrong").status_code == 401
    assert _token(client, "li", "right-password").status_code == 200


def test_one_address_cannot_try_many_user_names(client, make_user: Callable[..., str]) -> None:  # noqa: ANN001
    make_user("li", ["intake"], password="right-password")
    for n in range(20):
        assert _token(client, f"guess{n}", "wrong").status_code == 401
    assert _token(client, "li", "right-password").status_code == 429
    assert _token(client, "li", "right-password", address="10.0.0.2").status_code == 200


def test_the_login_form_is_throttled_too(make_app: Callable[..., Flask], make_user: Callable[..., str]) -> None:
    app = make_app()
    make_user("li", ["intake"], password="right-password")
    for _ in range(5):
        assert Session(app).login("li", "wrong").status_code == 401
    page = Session(app).login("li", "right-password")
    assert page.status_code == 429 and "Retry-After" in page.headers
    assert 'name="username"' in page.get_data(as_text=True)  # the form again, with the message
