"""Export routes: direct downloads, and export jobs run by RQ workers.

GET  /admin/analytics/reports/<id>/export/<csv|xlsx>       streams the file now
POST /admin/analytics/reports/<id>/export/<csv|xlsx>/jobs  enqueues an export job
GET  /admin/analytics/exports/<job_id>                     the job's status
GET  /admin/analytics/exports/<job_id>/download            the finished file
"""

from __future__ import annotations

import flask

import access
from access import Leaf
from errors import NotFound
from jobs import connection, exports
from jobs.export_formats import CONTENT_TYPES, csv_chunks

blueprint = flask.Blueprint("exports_api", __name__, url_prefix="/admin/analytics")


def _attachment(body, fmt: str, name: str) -> flask.Response:  # type: ignore[no-untyped-def]
    response = flask.Response(body, content_type=CONTENT_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/reports/<int:report_id>/export/<fmt>")
def download_now(report_id: int, fmt: str) -> flask.Response:
    user = access.require(Leaf.ANALYTICS)
    export = exports.load_export(user.tenant_id, report_id, fmt)
    access.require(Leaf(exports.dataset_leaf(export.report)))
    if fmt == "csv":
        chunks = (line.encode() for line in csv_chunks(export.result))
        return _attachment(flask.stream_with_context(chunks), fmt, export.filename)
    return _attachment(exports.render(export), fmt, export.filename)


@blueprint.post("/reports/<int:report_id>/export/<fmt>/jobs")
def enqueue(report_id: int, fmt: str) -> tuple[flask.Response, int]:
    user = access.require(Leaf.ANALYTICS)
    job = exports.start_export(user, report_id=report_id, fmt=fmt)
    return flask.jsonify(job_id=job.id, status_url=f"/admin/analytics/exports/{job.id}"), 202


@blueprint.get("/exports/<job_id>")
def status(job_id: str) -> flask.Response:
    user = access.require(Leaf.ANALYTICS)
    job = exports.tenant_job(connection.default(), job_id=job_id, tenant_id=user.tenant_id)
    state = job.get_status(refresh=True)
    body: dict[str, object] = {
        "job_id": job.id,
        "status": str(state.value if state else "unknown"),
        "stage": job.meta.get("stage"),
        "rows": job.meta.get("rows"),
    }
    if job.is_finished:
        body["download_url"] = f"/admin/analytics/exports/{job.id}/download"
        body["filename"] = job.meta.get("filename")
    if job.is_failed:
        result = job.latest_result()
        body["error"] = exports.failure_text(result.exc_string if result else None)
    return flask.jsonify(body)


@blueprint.get("/exports/<job_id>/download")
def download_finished(job_id: str) -> flask.Response:
    user = access.require(Leaf.ANALYTICS)
    job = exports.tenant_job(connection.default(), job_id=job_id, tenant_id=user.tenant_id)
    if not job.is_finished:
        raise NotFound("This export is not ready yet.")
    path = exports.job_file(job)
    fmt = str(job.meta["fmt"])
    return _attachment(path.read_bytes(), fmt, str(job.meta.get("filename", path.name)))
