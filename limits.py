"""Input limits every request passes before any route, page or callback sees it.

- A body is at most MAX_BODY_BYTES (Flask's MAX_CONTENT_LENGTH: 413 past it). A report
  definition, a layout or a callback is a few kB; the largest honest body, a builder
  callback carrying its filter rows, stays far below.
- A JSON body is at most MAX_JSON_DEPTH deep (definitions nest four levels), so no
  parser or validator recurses without bound.
- A Dash callback body has the renderer's shape, and names a callback the app has.
- A value echoed in an error message is cut short (errors.echo).
"""

from __future__ import annotations

from typing import Any

import dash
import flask

from errors import BadRequest

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
DASH_CALLBACK_PATH = "/_dash-update-component"


def json_depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `value` nests deeper than `limit` (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _json_body() -> Any:
    try:
        return flask.request.get_json(silent=True)
    except RecursionError:
        raise BadRequest(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels") from None


def _check_callback(body: Any) -> None:
    """The shape dash's dispatcher reads, so a malformed body is a 400, not a KeyError."""
    if not (
        isinstance(body, dict)
        and isinstance(body.get("output"), str)
        and isinstance(body.get("outputs"), dict | list)
        and isinstance(body.get("inputs"), list)
        and isinstance(body.get("state", []), list)
        and isinstance(body.get("changedPropIds", []), list)
        and all(isinstance(x, str) for x in body.get("changedPropIds", []))
    ):
        raise BadRequest("malformed callback request")
    if body["output"] not in dash.get_app().callback_map:
        raise BadRequest("unknown callback")


def check_request() -> None:
    """Before every request: a JSON body is parseable and shallow; a callback well formed."""
    request = flask.request
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.is_json:
        return
    body = _json_body()
    if body is None and request.content_length:
        raise BadRequest("the body is not valid JSON")
    if json_depth_exceeds(body):
        raise BadRequest(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
    if request.path == DASH_CALLBACK_PATH:
        _check_callback(body)
