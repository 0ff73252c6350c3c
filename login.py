"""Sign-in and sign-out: a Flask blueprint plus the Flask-Login wiring.

`POST /login` takes the form fields `email`, `password` and `csrf_token` (from the
form served by `GET /login`), so a script can sign in with a cookie jar.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

import flask
import flask_login

import throttle
from access import HubUser
from db import accounts, engines
from errors import TooManyRequests
from jobs import connection

blueprint = flask.Blueprint("login", __name__)
login_manager = flask_login.LoginManager()

HOME = "/admin/analytics"
BAD_CREDENTIALS = "Incorrect email or password."

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in · Analytics Hub</title>
  <link rel="stylesheet" href="/assets/00-bootstrap.min.css">
  <link rel="stylesheet" href="/assets/hub.css">
</head>
<body class="hub-login">
  <main class="hub-login-card card shadow-sm">
    <div class="card-body p-4">
      <h1 class="h4 mb-1">Analytics Hub</h1>
      <p class="text-body-secondary mb-4">Sign in to your workspace</p>
      {% if error %}
      <div class="alert alert-danger py-2" role="alert" id="login-error">{{ error }}</div>
      {% endif %}
      {% if notice %}
      <div class="alert alert-success py-2" role="status">{{ notice }}</div>
      {% endif %}
      <form method="post" action="/login" novalidate>
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
    </div>
  </main>
</body>
</html>"""


@login_manager.user_loader
def _load_user(user_key: str) -> HubUser | None:
    tenant_id, _, user_id = user_key.partition(":")
    if not (tenant_id.isdigit() and user_id.isdigit()):
        return None
    return accounts.load_user(engines.default().web, tenant_id=int(tenant_id), user_id=int(user_id))


def _csrf_token() -> str:
    token = flask.session.get("csrf_token")
    if not token:
        token = flask.session["csrf_token"] = secrets.token_urlsafe(32)
    return token


def _safe_next(target: str | None) -> str:
    """Only same-site absolute paths; anything else goes to the hub."""
    if not target:
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return HOME
    return target


def _render(status: int = 200, **context: str) -> flask.Response:
    context.setdefault("email", "")
    context.setdefault("next", "")
    html = flask.render_template_string(PAGE, csrf_token=_csrf_token(), **context)
    response = flask.make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response


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
    sent_token = form.get("csrf_token", "")
    if not hmac.compare_digest(sent_token, flask.session.get("csrf_token", "")):
        return _render(400, error="Your session expired. Please sign in again.", email=email)
    address = flask.request.remote_addr or "unknown"
    redis = connection.default()
    try:
        throttle.check(redis, email=email, address=address)
    except TooManyRequests as exc:
        return _render(429, error=str(exc), email=email)
    user = accounts.authenticate(engines.default().web, email=email, password=password)
    if user is None:
        throttle.record_failure(redis, email=email, address=address)
        return _render(401, error=BAD_CREDENTIALS, email=email, next=next_path)
    throttle.clear_account(redis, email=email)
    flask.session.clear()  # a new session on sign-in: no fixation
    flask_login.login_user(user)
    return flask.redirect(next_path)


@blueprint.route("/logout", methods=["GET", "POST"])
def logout() -> flask.Response:
    flask_login.logout_user()
    flask.session.clear()
    return flask.redirect("/login?signed_out=1")
