"""Input limits every request passes before any route, page or callback sees it.

- A body is at most MAX_BODY_BYTES (Flask's MAX_CONTENT_LENGTH: 413 past it). A report
  definition, a layout or a callback is a few kB; the largest honest body, a builder
  callback carrying its filter rows, stays far below.
- A JSON body is at most MAX_JSON_DEPTH deep (definitions nest four levels), so no
  parser or validator recurses without bound.
- A Dash callback body has the renderer's shape, names a callback the app has, and its
  values fit the callback's type hints (a hand-made request with a list where an id
  belongs is a 400, before the callback runs).
- A value echoed in an error message is cut short (errors.echo).
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
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


def _is_item(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and isinstance(item.get("id"), str | dict)
        and isinstance(item.get("property"), str)
    )


def _is_argument(arg: Any) -> bool:
    """An input or state: one {id, property, value}, or a list of them (a wildcard)."""
    return _is_item(arg) or (isinstance(arg, list) and all(_is_item(i) for i in arg))


def _fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value fits a callback parameter's type hint (checked one level deep;
    hints other than JSON types are not checked)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, arg) for arg in args)
    if hint is None or hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if hint is list or origin is list:
        return isinstance(value, list) and all(_fits(v, args[0]) for v in value if args)
    if hint is dict or origin is dict:
        return isinstance(value, dict)
    return True


# Properties that are text on every component that has them: dcc.Location's, which Dash's
# own page router reads without type hints (a browser always has a path).
TEXT_PROPERTIES: dict[str, typing.Callable[[Any], bool]] = {
    "pathname": lambda v: isinstance(v, str) and v.startswith("/"),
    "search": lambda v: v is None or isinstance(v, str),
    "hash": lambda v: v is None or isinstance(v, str),
    "href": lambda v: v is None or isinstance(v, str),
}


@functools.cache
def _signature(function: Any) -> tuple[dict[str, Any], list[inspect.Parameter]]:
    """A callback's type hints and parameters, read once per callback."""
    return typing.get_type_hints(function), list(inspect.signature(function).parameters.values())


def _check_arguments(spec: dict[str, Any], arguments: list[Any]) -> None:
    for argument in arguments:
        for item in argument if isinstance(argument, list) else [argument]:
            fits = TEXT_PROPERTIES.get(item["property"])
            if fits is not None and not fits(item.get("value")):
                raise BadRequest(f"malformed callback request: {item['property']}")
    hints, parameters = _signature(inspect.unwrap(spec["callback"]))
    values = [[i.get("value") for i in a] if isinstance(a, list) else a.get("value")
              for a in arguments]  # fmt: skip
    for at, value in enumerate(values):
        parameter = parameters[min(at, len(parameters) - 1)] if parameters else None
        if parameter is None or (
            at >= len(parameters) and parameter.kind is not parameter.VAR_POSITIONAL
        ):
            raise BadRequest("malformed callback request")
        if not _fits(value, hints.get(parameter.name, Any)):
            raise BadRequest(f"malformed callback request: {parameter.name}")


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
        and all(_is_argument(a) for a in body["inputs"] + body.get("state", []))
    ):
        raise BadRequest("malformed callback request")
    spec = dash.get_app().callback_map.get(body["output"])
    if spec is None or "callback" not in spec:
        raise BadRequest("unknown callback")
    arguments = body["inputs"] + body.get("state", [])
    if len(body["inputs"]) != len(spec["inputs"]) or len(body.get("state", [])) != len(
        spec.get("state", [])
    ):
        raise BadRequest("malformed callback request")
    _check_arguments(spec, arguments)


def check_request() -> None:
    """Before every request: a JSON body is parseable and shallow; a callback well formed."""
    request = flask.request
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.is_json:
        return
    body = _json_body()  # None for JSON null and for a body that is not JSON: routes say
    if json_depth_exceeds(body):
        raise BadRequest(f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
    if request.path == DASH_CALLBACK_PATH:
        _check_callback(body)
