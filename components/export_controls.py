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

import permissions
import redis_client
from components import ids
from export_formats import CONTENT_TYPES
from jobs import exports

POLL_MS = 700
STAGES = {
    JobStatus.QUEUED.value: "Queued…",
    JobStatus.STARTED.value: "Preparing…",
    JobStatus.DEFERRED.value: "Queued…",
    JobStatus.SCHEDULED.value: "Queued…",
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
    user = permissions.signed_in()
    if not any(clicks):
        return no_update, True, no_update
    user, report = permissions.readable_report(ctx.triggered_id["report"])
    leaf = permissions.report_leaf(report)
    job = exports.start_export(user, report, leaf=leaf, fmt=str(ctx.triggered_id["fmt"]))
    return job.id, False, STAGES[JobStatus.QUEUED.value]


@callback(
    Output(ids.export_download(MATCH), "data"),
    Output(ids.export_poll(MATCH), "disabled", allow_duplicate=True),
    Output(ids.export_status(MATCH), "children", allow_duplicate=True),
    Input(ids.export_poll(MATCH), "n_intervals"),
    State(ids.export_job(MATCH), "data"),
    prevent_initial_call=True,
)
def poll_export(_ticks: int, job_id: Any) -> tuple[Any, bool, Any]:
    user = permissions.signed_in()
    if not job_id:
        return no_update, True, no_update
    found = exports.find_job(redis_client.default(), str(job_id))
    job = permissions.readable_job(found, user)
    view = exports.describe_job(job)
    if view.is_finished:
        path = exports.job_file(job)
        download = dcc.send_file(str(path), filename=view.filename,
                                 type=CONTENT_TYPES[str(job.meta["fmt"])])  # fmt: skip
        return download, True, html.Span("Downloaded ✓", className="text-success")
    if view.is_failed:
        return no_update, True, html.Span(f"{view.error} Click to retry.", className="text-danger")
    stage = view.stage if view.stage not in ("", "queued") else STAGES.get(view.status, "Working…")
    return no_update, False, stage.capitalize() + ("…" if not stage.endswith("…") else "")
