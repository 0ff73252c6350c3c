"""Posting a Dash callback by hand, the way the browser's renderer does.

The request is built from the app's own callback map, so a test names a callback by one
of its inputs and gives values; ids may be strings or pattern-matching dicts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import dash
from flask.testing import FlaskClient
from werkzeug.test import TestResponse


def id_text(component_id: str | dict[str, Any]) -> str:
    """A component id as Dash writes it in `changedPropIds`."""
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return component_id


def find(input_id: str, input_property: str) -> tuple[str, dict[str, Any]]:
    """The callback (its output key and spec) that has this input; the input id is a
    string, or a pattern id's `type`."""
    for key, spec in dash.get_app().callback_map.items():
        for item in spec["inputs"]:
            raw = item["id"]
            name = json.loads(raw)["type"] if raw.startswith("{") else raw
            if name == input_id and item["property"] == input_property:
                return key, spec
    raise LookupError(f"no callback has the input {input_id}.{input_property}")


def outputs_of(key: str, match: dict[str, Any] | None = None) -> list[dict[str, Any]] | dict:
    """The `outputs` field for an output key; `match` fills MATCH wildcards."""
    parts = []
    for part in key.strip(".").split("..."):
        raw, prop = part.rsplit(".", 1)
        prop = prop.split("@")[0]
        if raw.startswith("{"):
            pattern = json.loads(raw)
            raw_id: Any = {k: (match or {}).get(k, v) if isinstance(v, list) else v
                           for k, v in pattern.items()}  # fmt: skip
        else:
            raw_id = raw
        parts.append({"id": raw_id, "property": prop})
    return parts if key.startswith("..") else parts[0]


def post(
    client: FlaskClient,
    key: str,
    *,
    inputs: list[Any],
    state: list[Any] = (),  # type: ignore[assignment]
    changed: list[str],
    match: dict[str, Any] | None = None,
) -> TestResponse:
    """Posts the callback `key` with these inputs and state (each {"id", "property",
    "value"}, or a list of them for an ALL wildcard)."""
    return client.post(
        "/_dash-update-component",
        json={"output": key, "outputs": outputs_of(key, match), "inputs": inputs,
              "state": list(state), "changedPropIds": changed},
    )  # fmt: skip


def value(component_id: str | dict[str, Any], prop: str, val: Any) -> dict[str, Any]:
    return {"id": component_id, "property": prop, "value": val}


def arguments_of(key: str) -> list[dict[str, str]]:
    """A callback's declared inputs, then its state (each {"id", "property"})."""
    spec = dash.get_app().callback_map[key]
    return [*spec["inputs"], *spec.get("state", [])]


def build(
    key: str,
    fill: Callable[[str | dict[str, Any], str], Any],
    *,
    match: dict[str, Any],
    trigger: int = 0,
) -> dict[str, Any]:
    """A whole callback request: every input and state filled by `fill(id, property)`,
    wildcard ids given `match`'s values (an ALL wildcard gets one item), and the input at
    `trigger` as the one that changed."""
    spec = dash.get_app().callback_map[key]

    def item(declared: dict[str, str]) -> Any:
        raw, prop = declared["id"], declared["property"]
        if not raw.startswith("{"):
            return value(raw, prop, fill(raw, prop))
        pattern = json.loads(raw)
        concrete = {k: match.get(k, 0) if isinstance(v, list) else v for k, v in pattern.items()}
        one = value(concrete, prop, fill(concrete, prop))
        return [one] if ["ALL"] in pattern.values() else one

    inputs = [item(i) for i in spec["inputs"]]
    first = inputs[trigger] if inputs else None
    changed = first[0] if isinstance(first, list) else first
    return {
        "output": key,
        "outputs": outputs_of(key, match),
        "inputs": inputs,
        "state": [item(i) for i in spec.get("state", [])],
        "changedPropIds": [f"{id_text(changed['id'])}.{changed['property']}"] if changed else [],
    }


def server_side(app: dash.Dash) -> list[str]:
    """The keys of every callback that runs on the server, once the app is set up."""
    with app.server.test_request_context():
        app._setup_server()
    return sorted(k for k, spec in app.callback_map.items() if "callback" in spec)


def page(client: FlaskClient, pathname: str, search: str = "") -> TestResponse:
    """Posts Dash pages' routing callback for `pathname`, as the renderer does on a visit:
    the answer holds the page's first drawn layout."""
    key = next(k for k in dash.get_app().callback_map if "_pages_content.children" in k)
    return post(client, key, inputs=[value("_pages_location", "pathname", pathname),
                                     value("_pages_location", "search", search)],
                changed=["_pages_location.pathname"])  # fmt: skip


def components(tree: Any) -> list[dict[str, Any]]:
    """Every component ({"type", "namespace", "props"}) in a layout as JSON, depth first."""
    found: list[dict[str, Any]] = []
    if isinstance(tree, list):
        for item in tree:
            found += components(item)
    elif isinstance(tree, dict):
        if "props" in tree and "type" in tree:
            found.append(tree)
            for prop in tree["props"].values():
                found += components(prop)
        else:
            for item in tree.values():
                found += components(item)
    return found
