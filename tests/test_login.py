"""Sign-in, sign-out, the login wall, and session revocation, through the real Flask app."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import flask
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

import login
import throttle
from db import accounts
from db.seed import DEMO_PASSWORD
from db.tenancy import tenant_transaction
from tests.conftest import Hub
from tests.web import csrf_token, sign_in


def clear_throttle(hub: Hub) -> None:
    for key in hub.redis.scan_iter(f"{throttle.KEY_PREFIX}*"):
        hub.redis.delete(key)


@pytest.fixture
def client(flask_app: flask.Flask, hub: Hub) -> Iterator[FlaskClient]:
    clear_throttle(hub)
    with flask_app.test_client() as client:
        yield client
    clear_throttle(hub)


def is_signed_in(client: FlaskClient) -> bool:
    """GET /login sends a signed-in visitor on to the hub and shows the form otherwise."""
    return client.get("/login").status_code == 302


def logout_token(client: FlaskClient) -> str:
    page = client.get("/logout").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def sign_out(client: FlaskClient) -> TestResponse:
    """What the top bar's Sign out button does: POST /logout with the session's token."""
    return client.post("/logout", data={"csrf_token": logout_token(client)})


@dataclass(frozen=True)
class TempUser:
    tenant_id: int
    id: int
    email: str


@pytest.fixture
def temp_user(hub: Hub) -> Iterator[TempUser]:
    """A throwaway Acme user (demo password), so deactivating it disturbs no other test."""
    tenant_id = hub.tenant_id("acme")
    email = "temp.revoked@acme.example"
    with hub.cron.begin() as conn:
        user_id = accounts.create_user(
            conn, tenant_id=tenant_id, email=email, name="Temp", password=DEMO_PASSWORD
        )
    yield TempUser(tenant_id, user_id, email)
    with hub.cron.begin() as conn:
        conn.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": user_id})


def generation(hub: Hub, user: TempUser) -> int:
    with hub.cron.connect() as conn:
        return conn.scalar(
            sa.text("SELECT session_generation FROM users WHERE id = :id"), {"id": user.id}
        )


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
    assert sign_out(client).status_code == 302
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


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("", "", "Enter your email address and password."),
        ("  ", DEMO_PASSWORD, "Enter your email address."),
        ("admin@acme.example", "", "Enter your password."),
    ],
)
def test_an_empty_sign_in_says_what_is_missing(
    client: FlaskClient, hub: Hub, email: str, password: str, message: str
) -> None:
    """A sign-in without an email or a password names what to enter (400), signs nobody
    in, and is not counted as a failure by the throttle."""
    response = sign_in(client, email, password)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    error = re.search(r'<div class="alert alert-danger py-2" role="alert" id="login-error">'
                      r"([^<]*)</div>", page)  # fmt: skip
    assert error is not None and error.group(1) == message
    assert not is_signed_in(client)
    assert list(hub.redis.scan_iter(f"{throttle.KEY_PREFIX}*")) == []


@pytest.mark.parametrize(
    ("has_cookie", "token"),
    [
        (False, None),  # an attacker's page posting with no token at all
        (False, ""),  # … or an empty one, when the victim has no session yet
        (True, None),
        (True, ""),
        (True, "not-the-token"),
        (True, "tökén-non-ascii"),
    ],
)
def test_login_without_the_sessions_token_is_refused(
    client: FlaskClient, has_cookie: bool, token: str | None
) -> None:
    """Login CSRF: a POST whose token is missing, empty or not the session's signs in
    nobody, whether or not the browser has a session yet."""
    if has_cookie:
        csrf_token(client)
    data = {"email": "admin@acme.example", "password": DEMO_PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/login", data=data)
    assert response.status_code == 400
    assert "Your session expired. Please try again." in response.get_data(as_text=True)
    assert not is_signed_in(client)


def test_login_with_a_session_lacking_a_token_is_refused(client: FlaskClient) -> None:
    """A session cookie without a token (say, from another form) and an empty token is no
    match."""
    with client.session_transaction() as session:
        session["something"] = "else"
    response = client.post(
        "/login",
        data={"email": "admin@acme.example", "password": DEMO_PASSWORD, "csrf_token": ""},
    )
    assert response.status_code == 400
    assert not is_signed_in(client)


def test_a_few_wrong_passwords_delay_the_account_instead_of_locking_it(
    client: FlaskClient,
) -> None:
    """After 5 failures (the email in any case or spacing) the next attempt, even with the
    right password, waits 1 s with a 429 saying so; then the owner signs in. Other
    accounts are untouched."""
    variants = ["analyst@acme.example", " Analyst@ACME.example", "ANALYST@acme.example "]
    for attempt in range(throttle.DEFAULT_POLICY.free_failures):
        response = sign_in(client, variants[attempt % len(variants)], "nope-nope")
        assert response.status_code == 401
    blocked = sign_in(client, "analyst@acme.example", DEMO_PASSWORD)
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "1"
    assert "Too many failed sign-in attempts. Try again in 1 second." in blocked.get_data(
        as_text=True
    )
    assert sign_in(client, "viewer@acme.example", DEMO_PASSWORD).status_code == 302
    sign_out(client)

    deadline = time.monotonic() + 3
    while (response := sign_in(client, "analyst@acme.example", DEMO_PASSWORD)).status_code == 429:
        assert time.monotonic() < deadline, "the 1 s delay never ended"
        time.sleep(0.1)
    assert response.status_code == 302
    sign_out(client)
    # The success cleared the account's record: the next wrong password costs no wait.
    assert sign_in(client, "analyst@acme.example", "nope-nope").status_code == 401


def test_session_cookie_is_http_only_and_same_site(client: FlaskClient) -> None:
    """The session cookie cannot be read by scripts nor sent cross-site on POST."""
    response = sign_in(client, "admin@acme.example", DEMO_PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_sign_out_ends_the_session(client: FlaskClient) -> None:
    """POST /logout with the session's token signs out and says so on the sign-in page."""
    sign_in(client, "admin@acme.example", DEMO_PASSWORD)
    assert sign_out(client).headers["Location"] == "/login?signed_out=1"
    assert client.get("/admin/analytics").status_code == 302
    assert "You have been signed out." in client.get("/login?signed_out=1").get_data(as_text=True)


def test_get_logout_only_shows_a_sign_out_button(client: FlaskClient) -> None:
    """A cross-site link to /logout signs nobody out: GET shows a page whose form POSTs
    the session's token; signed out, it sends you to the sign-in page."""
    assert client.get("/logout").headers["Location"] == "/login"
    sign_in(client, "admin@acme.example", DEMO_PASSWORD)
    page = client.get("/logout")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<form method="post" action="/logout">' in html
    with client.session_transaction() as session:
        assert f'name="csrf_token" value="{session["csrf_token"]}"' in html
    assert is_signed_in(client)


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_logout_without_the_sessions_token_is_refused(
    client: FlaskClient, token: str | None
) -> None:
    """A cross-site POST /logout without the token is refused with 400 and signs no one
    out."""
    sign_in(client, "admin@acme.example", DEMO_PASSWORD)
    response = client.post("/logout", data={} if token is None else {"csrf_token": token})
    assert response.status_code == 400
    assert "Your session expired. Please try again." in response.get_data(as_text=True)
    assert is_signed_in(client)


def test_the_top_bars_sign_out_form_posts_the_sessions_token(client: FlaskClient) -> None:
    """The shell's Sign out control is a POST form to /logout carrying the token, styled
    like the old button, and submitting it signs out."""
    sign_in(client, "admin@acme.example", DEMO_PASSWORD)
    layout = client.get("/_dash-layout").get_json()

    def find(node: object) -> dict | None:
        if isinstance(node, dict):
            props = node.get("props", {})
            if node.get("type") == "Form" and props.get("action") == "/logout":
                return props
            return next((f for v in props.values() if (f := find(v)) is not None), None)
        if isinstance(node, list):
            return next((f for v in node if (f := find(v)) is not None), None)
        return None

    form = find(layout)
    assert form is not None and form["method"] == "post"
    hidden, button = (child["props"] for child in form["children"])
    assert (hidden["type"], hidden["name"]) == ("hidden", "csrf_token")
    assert (button["children"], button["type"], button["className"]) == (
        "Sign out", "submit", "btn btn-outline-light btn-sm"
    )  # fmt: skip
    response = client.post("/logout", data={"csrf_token": hidden["value"]})
    assert response.headers["Location"] == "/login?signed_out=1"
    assert not is_signed_in(client)


def test_a_copied_session_cookie_stops_working_after_sign_out(
    flask_app: flask.Flask, client: FlaskClient
) -> None:
    """Signing out revokes the session on the server: a copy of the cookie taken before
    (another tab, a stolen cookie) is signed out too."""
    sign_in(client, "viewer@acme.example", DEMO_PASSWORD)
    cookie = client.get_cookie("hub_session")
    assert cookie is not None
    thief = flask_app.test_client()  # not `with`: contexts of two clients cannot nest
    thief.set_cookie("hub_session", cookie.value)
    assert thief.get("/admin/analytics").status_code == 200
    sign_out(client)
    assert thief.get("/admin/analytics").status_code == 302
    assert thief.post("/_dash-update-component", json={}).status_code == 401


def test_a_session_without_a_generation_is_signed_out(client: FlaskClient) -> None:
    """A session lacking the generation (e.g. issued before revocation existed) does not
    load a user."""
    sign_in(client, "viewer@acme.example", DEMO_PASSWORD)
    with client.session_transaction() as session:
        del session[login.GENERATION_KEY]
    assert client.get("/admin/analytics").status_code == 302


def test_deactivation_ends_sessions_for_good(
    hub: Hub, flask_app: flask.Flask, temp_user: TempUser
) -> None:
    """Deactivating a user (as the platform does, with UPDATE) bumps their generation, so
    re-activating them does not revive a session issued before."""
    with flask_app.test_client() as client:
        assert sign_in(client, temp_user.email, DEMO_PASSWORD).status_code == 302
        assert is_signed_in(client)
        before = generation(hub, temp_user)
        for active in (False, True):
            with hub.cron.begin() as conn:
                conn.execute(
                    sa.text("UPDATE users SET is_active = :a WHERE id = :id"),
                    {"a": active, "id": temp_user.id},
                )
        assert generation(hub, temp_user) == before + 1
        assert not is_signed_in(client)
        assert sign_in(client, temp_user.email, DEMO_PASSWORD).status_code == 302


def test_a_password_change_ends_sessions(
    hub: Hub, flask_app: flask.Flask, temp_user: TempUser
) -> None:
    """A new password hash bumps the generation too; other updates do not."""
    with flask_app.test_client() as client:
        sign_in(client, temp_user.email, DEMO_PASSWORD)
        before = generation(hub, temp_user)
        with hub.cron.begin() as conn:
            conn.execute(
                sa.text("UPDATE users SET name = 'Renamed', is_active = true WHERE id = :id"),
                {"id": temp_user.id},
            )
        assert generation(hub, temp_user) == before
        assert is_signed_in(client)
        with hub.cron.begin() as conn:
            conn.execute(
                sa.text("UPDATE users SET password_hash = :h WHERE id = :id"),
                {"h": accounts.hash_password("a-new-password"), "id": temp_user.id},
            )
        assert generation(hub, temp_user) == before + 1
        assert not is_signed_in(client)


def test_web_role_may_bump_only_the_generation_in_its_own_tenant(
    hub: Hub, temp_user: TempUser
) -> None:
    """hub_web may change session_generation (and last_login_at) of its tenant's users and
    nothing else of the users table; another tenant's users are out of its reach."""
    before = generation(hub, temp_user)
    bump = "UPDATE users SET session_generation = session_generation + 1 WHERE id = :id"
    with tenant_transaction(hub.web, tenant_id=hub.tenant_id("globex")) as conn:
        assert conn.execute(sa.text(bump), {"id": temp_user.id}).rowcount == 0
    with tenant_transaction(hub.web, tenant_id=temp_user.tenant_id) as conn:
        assert conn.execute(sa.text(bump), {"id": temp_user.id}).rowcount == 1
    assert generation(hub, temp_user) == before + 1
    with (
        pytest.raises(sa.exc.ProgrammingError, match="permission denied for table users"),
        tenant_transaction(hub.web, tenant_id=temp_user.tenant_id) as conn,
    ):
        conn.execute(sa.text("UPDATE users SET name = 'x' WHERE id = :id"), {"id": temp_user.id})
