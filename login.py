"""Sign-in and sign-out: a Flask blueprint plus the Flask-Login wiring.

`POST /login` takes the form fields `email`, `password` and `csrf_token` (from the
form served by `GET /login`), so a script can sign in with a cookie jar. `POST /logout`
takes the same `csrf_token` (the top bar's Sign out button sends it); `GET /logout`
only shows a page with that button, so a cross-site link or image cannot sign anyone
out. Throttling is throttle.py's policy.

A session holds the user's `session_generation` from sign-in; the user loader accepts
the session only while the database still has that generation, so signing out (or
being deactivated) ends every session of the user, including copies of the cookie.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from urllib.parse import urlsplit

import flask
import flask_login
from redis import Redis
from redis.exceptions import RedisError

import config
import redis_client
import throttle
from access import HubUser
from db import accounts, engines
from errors import ServiceUnavailable

log = logging.getLogger("hub.login")

blueprint = flask.Blueprint("login", __name__)
login_manager = flask_login.LoginManager()

HOME = "/admin/analytics"
BAD_CREDENTIALS = "Incorrect email or password."
SESSION_EXPIRED = "Your session expired. Please try again."
TOO_MANY_FOR_ACCOUNT = "Too many failed sign-in attempts."
TOO_MANY_FROM_ADDRESS = "Too many failed sign-ins from your network."
# Flask config key: the throttle.Policy to apply (tests use short delays); default
# throttle.DEFAULT_POLICY.
THROTTLE_POLICY = "HUB_THROTTLE_POLICY"
CSRF_KEY = "csrf_token"
GENERATION_KEY = "session_generation"

_HEAD = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{{ title }} · Analytics Hub</title>
  <link rel="stylesheet" href="/assets/00-bootstrap.min.css">
  <link rel="stylesheet" href="/assets/hub.css">
</head>
<body class="hub-login">
  <main class="hub-login-card card shadow-sm">
    <div class="card-body p-4">
      <h1 class="h4 mb-1">Analytics Hub</h1>
      <p class="text-body-secondary mb-4">{{ subtitle }}</p>
      {% if error %}
      <div class="alert alert-danger py-2" role="alert" id="login-error">{{ error }}</div>
      {% endif %}
      {% if notice %}
      <div class="alert alert-success py-2" role="status">{{ notice }}</div>
      {% endif %}
"""
_FOOT = """    </div>
  </main>
</body>
</html>"""
PAGE = (
    _HEAD
    + """      <form method="post" action="/login" novalidate>
        <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
        <input type="hidden" name="next" value="{{ next }}">
        <div class="mb-3">
          <label class="form-label" for="email">Email</label>
          <input class="form-control" type="email" id="email" name="email" value="{{ email }}"
                 autocomplete="username" required autofocus>
        </div>
        <div class="mb-4">
          <label class="form-label" for="password">Password</label>
          <input class="form-control" type="password" id="password" name="password"
                 autocomplete="current-password" required>
        </div>
        <button class="btn btn-primary w-100" type="submit" id="login-submit">Sign in</button>
      </form>
"""
    + _FOOT
)
LOGOUT_PAGE = (
    _HEAD
    + """      <form method="post" action="/logout">
        <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
        <button class="btn btn-primary w-100" type="submit" id="logout-submit">Sign out</button>
      </form>
      <p class="mt-3 mb-0 text-center"><a href="/admin/analytics">Back to Analytics</a></p>
"""
    + _FOOT
)


@login_manager.user_loader
def _load_user(user_key: str) -> HubUser | None:
    tenant_id, _, user_id = user_key.partition(":")
    generation = flask.session.get(GENERATION_KEY)
    if not (tenant_id.isdigit() and user_id.isdigit()) or type(generation) is not int:
        return None
    return accounts.load_user(
        engines.default().web,
        tenant_id=int(tenant_id),
        user_id=int(user_id),
        session_generation=generation,
    )


def csrf_token() -> str:
    """The session's CSRF token for the sign-in and sign-out forms, created if missing."""
    token = flask.session.get(CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = flask.session[CSRF_KEY] = secrets.token_urlsafe(32)
    return token


def _has_valid_token(sent: str | None) -> bool:
    """The form's token equals the session's; an empty or missing one never does."""
    expected = flask.session.get(CSRF_KEY)
    if not sent or not isinstance(expected, str) or not expected:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


def _safe_next(target: str | None) -> str:
    """Only same-site absolute paths; anything else goes to the hub."""
    if not target:
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return HOME
    return target


def _render(
    status: int = 200, *, page: str = PAGE, retry_after: str | None = None, **context: str
) -> flask.Response:
    context.setdefault("email", "")
    context.setdefault("next", "")
    context.setdefault("title", "Sign in")
    context.setdefault("subtitle", "Sign in to your workspace")
    html = flask.render_template_string(page, csrf_token=csrf_token(), **context)
    response = flask.make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response


def _policy() -> throttle.Policy:
    return flask.current_app.config.get(THROTTLE_POLICY, throttle.DEFAULT_POLICY)


def _client_address() -> str:
    request = flask.request
    return throttle.client_address(
        request.remote_addr or "unknown",
        request.headers.get("X-Forwarded-For"),
        trusted=config.load().trusted_proxies,
    )


def _throttle_redis() -> Redis:
    url = config.load().redis_url
    if url is None:
        raise RuntimeError("REDIS_URL is not set: sign-in throttling needs Redis.")
    return redis_client.fail_fast(url)


@blueprint.get("/login")
def login_form() -> flask.Response:
    if flask_login.current_user.is_authenticated:
        return flask.redirect(_safe_next(flask.request.args.get("next")))
    notice = "You have been signed out." if flask.request.args.get("signed_out") else ""
    return _render(next=flask.request.args.get("next", ""), notice=notice)


@blueprint.post("/login")
def login_submit() -> flask.Response:
    form = flask.request.form
    email = form.get("email", "").strip()
    password = form.get("password", "")
    next_path = _safe_next(form.get("next"))
    if not _has_valid_token(form.get(CSRF_KEY)):
        return _render(400, error=SESSION_EXPIRED, email=email)
    if missing := _missing(email=email, password=password):
        # Not a guess at any password, so not counted by the throttle.
        return _render(400, error=missing, email=email, next=next_path)
    policy, redis = _policy(), _throttle_redis()
    try:
        attempt = throttle.reserve(redis, email=email, policy=policy)
    except ServiceUnavailable as exc:
        log.warning("sign-in refused: Redis is unavailable (%s)", exc.__cause__)
        retry = str(throttle.UNAVAILABLE_RETRY_AFTER)
        return _render(503, error=str(exc), email=email, next=next_path, retry_after=retry)
    if not attempt.is_granted:
        error = f"{TOO_MANY_FOR_ACCOUNT} {throttle.try_again_in(attempt.retry_after)}"
        retry = throttle.retry_after_header(attempt.retry_after)
        return _render(429, error=error, email=email, next=next_path, retry_after=retry)
    signed_in = accounts.sign_in(engines.default().web, email=email, password=password)
    if signed_in is None:
        return _refuse_wrong_password(redis, policy, email=email, next_path=next_path)
    try:
        throttle.clear_account(redis, email=email)
    except RedisError:
        log.warning("could not clear the sign-in failures of a user", exc_info=True)
    flask.session.clear()  # a new session on sign-in: no fixation
    flask.session[GENERATION_KEY] = signed_in.session_generation
    csrf_token()  # a fresh token for the sign-out form
    flask_login.login_user(signed_in.user)
    return flask.redirect(next_path)


def _missing(*, email: str, password: str) -> str | None:
    """What an empty sign-in lacks, in words ("Enter your password."); None if nothing."""
    given = (("email address", email), ("password", password))
    missing = [words for words, value in given if not value]
    return f"Enter your {' and '.join(missing)}." if missing else None


def _refuse_wrong_password(
    redis: Redis, policy: throttle.Policy, *, email: str, next_path: str
) -> flask.Response:
    """401, or past the address's limit 429 after a pause (the account's failure is
    already counted by its reservation)."""
    try:
        is_over = throttle.record_address_failure(redis, address=_client_address(), policy=policy)
    except RedisError:
        log.warning("could not count a failed sign-in of an address", exc_info=True)
        is_over = False
    if not is_over:
        return _render(401, error=BAD_CREDENTIALS, email=email, next=next_path)
    time.sleep(policy.address_penalty)
    wait = policy.address_penalty
    error = f"{BAD_CREDENTIALS} {TOO_MANY_FROM_ADDRESS} {throttle.try_again_in(wait)}"
    retry = throttle.retry_after_header(wait)
    return _render(429, error=error, email=email, next=next_path, retry_after=retry)


def _render_logout(status: int = 200, error: str = "") -> flask.Response:
    return _render(
        status,
        page=LOGOUT_PAGE,
        title="Sign out",
        subtitle="Sign out of your workspace?",
        error=error,
    )


@blueprint.get("/logout")
def logout_form() -> flask.Response:
    """A page with a Sign out button; following a link signs nobody out."""
    if not flask_login.current_user.is_authenticated:
        return flask.redirect("/login")
    return _render_logout()


@blueprint.post("/logout")
def logout() -> flask.Response:
    if not _has_valid_token(flask.request.form.get(CSRF_KEY)):
        return _render_logout(400, error=SESSION_EXPIRED)
    user = flask_login.current_user
    if isinstance(user, HubUser):
        accounts.end_sessions(engines.default().web, tenant_id=user.tenant_id, user_id=user.id)
    flask_login.logout_user()
    flask.session.clear()
    return flask.redirect("/login?signed_out=1")
