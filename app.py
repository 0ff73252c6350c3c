"""Builds the Analytics Hub: a Flask server with sign-in, and the Dash pages on it.

`python app.py` runs the whole hub locally (see runtime.py); production serves
`app:create_server()` with gunicorn.
"""

from __future__ import annotations

import logging
import threading
import uuid
from urllib.parse import urlsplit

import dash
import flask
import flask_login
from dash.exceptions import DependencyException
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

import config
import headers
import limits
import login
from api import dashboard as dashboard_api
from api import events as events_api
from api import exports as exports_api
from api import reports as reports_api
from api import unsubscribe as unsubscribe_api
from components import ids, shell
from errors import BadRequest, Forbidden, HubError, NotFound, Unauthorized, UserError

log = logging.getLogger("hub")

# Paths served without a session: the sign-in page and static files Dash needs.
PUBLIC_PREFIXES = ("/login", "/logout", "/assets/", "/_dash-component-suites/", "/healthz",
                   "/unsubscribe")  # fmt: skip
PUBLIC_PATHS = ("/_favicon.ico", "/favicon.ico")
# Form posts that carry their own proof: the sign-in form's token, an unsubscribe link's
# signed token (api/unsubscribe.py).
UNGUARDED_POSTS = ("/login", "/logout", "/unsubscribe")
# GET routes that answer JSON: signed out, they say 401 rather than redirect.
JSON_ROUTES = (
    "/admin/analytics/reports/suggest",
    "/admin/analytics/exports/",
    "/admin/analytics/dashboard/layout",
)


def _is_page_request() -> bool:
    """A browser navigating to a page (sent to the sign-in form when signed out), as
    opposed to Dash's own requests and the JSON routes (answered with 401)."""
    request = flask.request
    return request.method == "GET" and not request.path.startswith(("/_dash", *JSON_ROUTES))


def _require_login() -> flask.Response | None:
    path = flask.request.path
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return None
    if flask_login.current_user.is_authenticated:
        return None
    if _is_page_request():
        return flask.redirect(f"/login?next={flask.request.full_path.rstrip('?')}")
    raise Unauthorized()


def _check_request_origin() -> None:
    """CSRF defence for every state-changing request except the sign-in form and the
    unsubscribe link (UNGUARDED_POSTS, each with its own token): the body must be JSON —
    a cross-site form cannot send that without a CORS preflight, which we never grant —
    and a browser's Origin must be this site. Session cookies are SameSite=Lax on top.
    Scripts with a cookie jar send JSON and no Origin, so they keep working."""
    request = flask.request
    if request.method in ("GET", "HEAD", "OPTIONS") or request.path in UNGUARDED_POSTS:
        return
    if not request.is_json:
        raise BadRequest("send the request body as JSON (Content-Type: application/json)")
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise Forbidden("cross-site requests are not accepted")


def _http_error(error: HTTPException) -> flask.Response | HTTPException:
    """Werkzeug's own refusals (404, 405, 413…): JSON for everything but page requests."""
    if isinstance(error, RequestEntityTooLarge):
        megabytes = limits.MAX_BODY_BYTES // (1024 * 1024)
        message = f"The request is too large: send at most {megabytes} MB."
    elif _is_page_request():
        return error
    else:
        message = str(error.description or error.name)
    status = error.code or 500
    return flask.make_response(flask.jsonify(error=message, status=status), status)


def _internal(error: Exception) -> flask.Response | HTTPException:
    """An unexpected failure: logged with a request id, shown as a generic message."""
    if isinstance(error, HTTPException):
        return _http_error(error)
    if isinstance(error, DependencyException):  # a Dash asset that does not exist
        return _error_response(NotFound("There is no such file."))
    request_id = uuid.uuid4().hex[:12]
    log.error("request %s failed", request_id, exc_info=error)
    message = f"{HubError.public_message} (request {request_id})"
    return flask.make_response(flask.jsonify(error=message, status=500), 500)


def _error_response(error: HubError) -> flask.Response:
    """Every HubError becomes a response here, and only here."""
    if not isinstance(error, UserError):
        return _internal(error)
    if isinstance(error, Unauthorized) and _is_page_request():
        return flask.redirect("/login")
    if isinstance(error, BadRequest):  # a malformed request: worth one line, no traceback
        request = flask.request
        log.warning("%s %s refused (%d): %s", request.method, request.path, error.status,
                    error.public_message)  # fmt: skip
    body = {"error": error.public_message, "status": error.status, **error.details()}
    return flask.make_response(flask.jsonify(body), error.status)


def _callback_error(error: Exception) -> None:
    """Dash callbacks raise; the user sees a toast, never a traceback."""
    if isinstance(error, UserError):
        message = error.public_message
    else:
        request_id = uuid.uuid4().hex[:12]
        log.error("callback %s failed", request_id, exc_info=error)
        message = f"{HubError.public_message} (request {request_id})"
    dash.set_props(ids.ERROR_TOAST, {"is_open": True, "children": message})


def create_app(settings: config.Settings | None = None) -> dash.Dash:
    settings = settings or config.load()
    server = flask.Flask(__name__)
    server.config.update(
        SECRET_KEY=settings.secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        SESSION_COOKIE_NAME="hub_session",
        MAX_CONTENT_LENGTH=limits.MAX_BODY_BYTES,
    )
    login.login_manager.init_app(server)
    server.register_blueprint(login.blueprint)
    server.before_request(_require_login)
    server.before_request(_check_request_origin)
    server.before_request(limits.check_request)
    server.register_blueprint(reports_api.blueprint)
    server.register_blueprint(exports_api.blueprint)
    server.register_blueprint(dashboard_api.blueprint)
    server.register_blueprint(events_api.blueprint)
    server.register_blueprint(unsubscribe_api.blueprint)
    server.register_error_handler(HubError, _error_response)
    server.register_error_handler(Exception, _internal)
    server.add_url_rule("/healthz", "healthz", lambda: {"ok": True})
    server.add_url_rule("/", "home", lambda: flask.redirect(login.HOME))

    app = dash.Dash(
        __name__,
        server=server,
        use_pages=True,
        title="Analytics Hub",
        update_title=None,
        suppress_callback_exceptions=True,
        on_error=_callback_error,
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    app.layout = shell.layout
    headers.install(app)
    _serialize_dash_setup(app)
    return app


def _serialize_dash_setup(app: dash.Dash) -> None:
    """Dash registers its JS bundles on a process's first request, but marks itself set up
    before it has finished: with several threads, a concurrent first request for a bundle
    is refused with a 500. Finish the setup under a lock, before any request is served."""
    ready = threading.Event()
    lock = threading.Lock()

    def set_up() -> None:
        if ready.is_set():
            return
        with lock:
            if not ready.is_set():
                app._setup_server()  # idempotent: Dash skips it once it has run
                ready.set()

    app.server.before_request_funcs.setdefault(None, []).insert(0, set_up)


def create_server() -> flask.Flask:
    return create_app().server


if __name__ == "__main__":
    import runtime

    runtime.main()
