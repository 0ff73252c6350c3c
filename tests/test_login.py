"""Sign-in, sign-out, the login wall, and throttling, through the real Flask app."""

from __future__ import annotations

from collections.abc import Iterator

import flask
import pytest
from flask.testing import FlaskClient

import throttle
from db.seed import DEMO_PASSWORD
from tests.conftest import Hub
from tests.web import csrf_token, sign_in


@pytest.fixture
def client(flask_app: flask.Flask, hub: Hub) -> Iterator[FlaskClient]:
    for key in hub.redis.scan_iter("hub:login-failures:*"):
        hub.redis.delete(key)
    with flask_app.test_client() as client:
        yield client


def test_admin_pages_redirect_to_login_when_signed_out(client: FlaskClient) -> None:
    """/admin/analytics sends a visitor without a session to the sign-in page."""
    response = client.get("/admin/analytics")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/analytics")


def test_dash_callbacks_refuse_signed_out_requests(client: FlaskClient) -> None:
    """The callback endpoint is behind the wall too: 401, not a page."""
    response = client.post("/_dash-update-component", json={})
    assert response.status_code == 401
    assert response.get_json()["error"] == "Please sign in to continue."


def test_correct_password_signs_in(client: FlaskClient) -> None:
    """The Acme admin signs in and lands on the hub, which now renders."""
    response = sign_in(client, "admin@acme.example", DEMO_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/analytics"
    assert client.get("/admin/analytics").status_code == 200
    layout = client.get("/_dash-layout").get_data(as_text=True)
    assert "Ada Admin" in layout and "Acme" in layout


def test_email_is_case_insensitive(client: FlaskClient) -> None:
    """Emails match whatever their case."""
    assert sign_in(client, "  Viewer@ACME.example ", DEMO_PASSWORD).status_code == 302


def test_sign_in_keeps_a_safe_next_path_only(client: FlaskClient) -> None:
    """A relative next path is honoured; an absolute URL elsewhere is not."""
    ok = sign_in(client, "viewer@acme.example", DEMO_PASSWORD, "/admin/analytics?x=1")
    assert ok.headers["Location"] == "/admin/analytics?x=1"
    client.get("/logout")
    evil = sign_in(client, "viewer@acme.example", DEMO_PASSWORD, "https://evil.example/")
    assert evil.headers["Location"] == "/admin/analytics"


@pytest.mark.parametrize(
    ("email", "password"),
    [("admin@acme.example", "wrong-password"), ("nobody@acme.example", DEMO_PASSWORD)],
)
def test_wrong_password_and_unknown_user_get_the_same_message(
    client: FlaskClient, email: str, password: str
) -> None:
    """No hint whether the account exists."""
    response = sign_in(client, email, password)
    assert response.status_code == 401
    assert "Incorrect email or password." in response.get_data(as_text=True)
    assert client.get("/admin/analytics").status_code == 302


def test_missing_csrf_token_is_refused(client: FlaskClient) -> None:
    """A POST without the form's token does not sign in."""
    csrf_token(client)
    response = client.post(
        "/login", data={"email": "admin@acme.example", "password": DEMO_PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/admin/analytics").status_code == 302


def test_repeated_failures_throttle_the_account(client: FlaskClient) -> None:
    """After the limit, even the right password is refused until the window passes."""
    for _ in range(throttle.MAX_FAILURES_PER_ACCOUNT):
        assert sign_in(client, "analyst@acme.example", "nope-nope").status_code == 401
    blocked = sign_in(client, "analyst@acme.example", DEMO_PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts. Try again in 15 minutes." in blocked.get_data(
        as_text=True
    )
    assert sign_in(client, "viewer@acme.example", DEMO_PASSWORD).status_code == 302


def test_session_cookie_is_http_only_and_same_site(client: FlaskClient) -> None:
    """The session cookie cannot be read by scripts nor sent cross-site on POST."""
    response = sign_in(client, "admin@acme.example", DEMO_PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sign_out_ends_the_session(client: FlaskClient) -> None:
    """After /logout the hub asks for a sign-in again."""
    sign_in(client, "admin@acme.example", DEMO_PASSWORD)
    assert client.get("/logout").headers["Location"] == "/login?signed_out=1"
    assert client.get("/admin/analytics").status_code == 302
