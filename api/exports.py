"""Export routes: direct downloads, and export jobs run by RQ workers.

GET  /admin/analytics/reports/<id>/export/<csv|xlsx>       streams the file now
POST /admin/analytics/reports/<id>/export/<csv|xlsx>/jobs  enqueues an export job
GET  /admin/analytics/exports/<job_id>                     the job's status
GET  /admin/analytics/exports/<job_id>/download            the finished file

Each checks access (permissions.py) before any work.
"""

from __future__ import annotations

import flask

import permissions
import redis_client
from errors import NotFound
from export_formats import CONTENT_TYPES, csv_chunks
from jobs import exports

blueprint = flask.Blueprint("exports_api", __name__, url_prefix="/admin/analytics")


def attachment(body, fmt: str, name: str) -> flask.Response:  # type: ignore[no-untyped-def]
    response = flask.Response(body, content_type=CONTENT_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/reports/<int:report_id>/export/<fmt>")
def download_now(report_id: int, fmt: str) -> flask.Response:
    user, report = permissions.readable_report(report_id)
    export = exports.load_export(user.tenant_id, report.id, fmt)
    if fmt == "csv":
        chunks = (line.encode() for line in csv_chunks(export.result))
        return attachment(flask.stream_with_context(chunks), fmt, export.filename)
    return attachment(exports.render(export), fmt, export.filename)


@blueprint.post("/reports/<int:report_id>/export/<fmt>/jobs")
def enqueue(report_id: int, fmt: str) -> tuple[flask.Response, int]:
    user, report = permissions.readable_report(report_id)
    job = exports.start_export(user, report, leaf=permissions.report_leaf(report), fmt=fmt)
    return flask.jsonify(job_id=job.id, status_url=f"/admin/analytics/exports/{job.id}"), 202


def _job(job_id: str):  # type: ignore[no-untyped-def]
    user = permissions.signed_in()
    return permissions.readable_job(exports.find_job(redis_client.default(), job_id), user)


@blueprint.get("/exports/<job_id>")
def status(job_id: str) -> flask.Response:
    job = _job(job_id)
    view = exports.describe_job(job)
    body: dict[str, object] = {"job_id": job.id, "status": view.status, "stage": view.stage,
                               "rows": view.rows}  # fmt: skip
    if view.is_finished:
        body["download_url"] = f"/admin/analytics/exports/{job.id}/download"
        body["filename"] = view.filename
    if view.is_failed:
        body["error"] = view.error
    return flask.jsonify(body)


@blueprint.get("/exports/<job_id>/download")
def download_finished(job_id: str) -> flask.Response:
    job = _job(job_id)
    if not job.is_finished:
        raise NotFound("This export is not ready yet.")
    path = exports.job_file(job)
    fmt = str(job.meta["fmt"])
    return attachment(path.read_bytes(), fmt, str(job.meta.get("filename", path.name)))
