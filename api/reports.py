"""/admin/analytics/reports/run and /suggest: the semantic layer over HTTP.

Both work from the builder and from scripts holding a session cookie. POST bodies must
be JSON (see app.py for the CSRF rule that relies on it).
"""

from __future__ import annotations

import flask

import permissions
from access import Leaf
from datasets.cache import run_cached
from datasets.model import Mode
from datasets.suggest import suggest, suggestable
from datasets.validate import validate
from errors import BadRequest

blueprint = flask.Blueprint("reports_api", __name__, url_prefix="/admin/analytics/reports")


def _mode(raw: str | None) -> Mode:
    try:
        return Mode(raw or Mode.PREVIEW)
    except ValueError:
        raise BadRequest(f"mode: one of {', '.join(m.value for m in Mode)}") from None


@blueprint.post("/run")
def run() -> flask.Response:
    user = permissions.require(Leaf.ANALYTICS)
    mode = _mode(flask.request.args.get("mode"))
    body = flask.request.get_json(silent=True)
    if body is None:
        raise BadRequest("the body must be a JSON report definition")
    definition = validate(body)
    permissions.require_dataset(user, definition.dataset)
    result = run_cached(definition, tenant_id=user.tenant_id, mode=mode)
    return flask.jsonify(result.to_json())


@blueprint.get("/suggest")
def suggestions() -> flask.Response:
    user = permissions.require(Leaf.ANALYTICS)
    args = flask.request.args
    dataset, spec = suggestable(args.get("dataset", ""), args.get("field", ""))
    permissions.require_dataset(user, dataset.id)
    values = suggest(dataset, spec, args.get("q", ""), tenant_id=user.tenant_id)
    return flask.jsonify({"dataset": dataset.id, "field": spec.field, "values": values})
