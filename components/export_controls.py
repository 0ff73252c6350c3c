"""Export buttons for a saved report: enqueue an RQ export, show progress, download.

One instance per report on a page, told apart by pattern-matching ids. A click enqueues
the job; an interval polls its status (queued, running, done) and, when the file is
ready, the browser downloads it. A failed job shows its error; clicking again retries.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, State, callback, ctx, dcc, html, no_update
from rq.job import JobStatus

import access
from access import Leaf
from components import ids
from jobs import connection, exports
from jobs.export_formats import CONTENT_TYPES

POLL_MS = 700
STAGES = {
    JobStatus.QUEUED: "Queued…",
    JobStatus.STARTED: "Preparing…",
    JobStatus.DEFERRED: "Queued…",
    JobStatus.SCHEDULED: "Queued…",
}


def export_controls(report_id: int) -> html.Div:
    return html.Div(
        [
            dbc.ButtonGroup(
                [
                    dbc.Button(
                        fmt.upper(),
                        id=ids.export_button(report_id, fmt),
                        size="sm",
                        color="secondary",
                        outline=True,
                        title=f"Export as {fmt.upper()} (up to 5000 rows)",
                    )
                    for fmt in exports.FORMATS
                ],
                size="sm",
            ),
            html.Span(id=ids.export_status(report_id), className="small ms-2", role="status"),
            dcc.Store(id=ids.export_job(report_id)),
            dcc.Interval(id=ids.export_poll(report_id), interval=POLL_MS, disabled=True),
            dcc.Download(id=ids.export_download(report_id)),
        ],
        className="d-flex align-items-center",
    )


@callback(
    Output(ids.export_job(MATCH), "data"),
    Output(ids.export_poll(MATCH), "disabled"),
    Output(ids.export_status(MATCH), "children"),
    Input(ids.export_button(MATCH, ALL), "n_clicks"),
    prevent_initial_call=True,
)
def start_export(clicks: list[int | None]) -> tuple[Any, bool, str]:
    user = access.require(Leaf.ANALYTICS)
    if not any(clicks):
        return no_update, True, no_update
    report_id, fmt = int(ctx.triggered_id["report"]), str(ctx.triggered_id["fmt"])
    job = exports.start_export(user, report_id=report_id, fmt=fmt)
    return job.id, False, STAGES[JobStatus.QUEUED]


@callback(
    Output(ids.export_download(MATCH), "data"),
    Output(ids.export_poll(MATCH), "disabled", allow_duplicate=True),
    Output(ids.export_status(MATCH), "children", allow_duplicate=True),
    Input(ids.export_poll(MATCH), "n_intervals"),
    State(ids.export_job(MATCH), "data"),
    prevent_initial_call=True,
)
def poll_export(_ticks: int, job_id: str | None) -> tuple[Any, bool, Any]:
    user = access.require(Leaf.ANALYTICS)
    if not job_id:
        return no_update, True, no_update
    job = exports.tenant_job(connection.default(), job_id=job_id, tenant_id=user.tenant_id)
    status = job.get_status(refresh=True)
    if status is JobStatus.FINISHED:
        path = exports.job_file(job)
        fmt = str(job.meta["fmt"])
        download = dcc.send_file(str(path), filename=str(job.meta.get("filename")),
                                 type=CONTENT_TYPES[fmt])  # fmt: skip
        return download, True, html.Span("Downloaded ✓", className="text-success")
    if status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
        result = job.latest_result()
        message = exports.failure_text(result.exc_string if result else None)
        return no_update, True, html.Span(f"{message} Click to retry.", className="text-danger")
    stage = str(job.meta.get("stage") or STAGES.get(status, "Working…"))
    return no_update, False, stage.capitalize() + ("…" if not stage.endswith("…") else "")
