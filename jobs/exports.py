"""Exports: run a saved report in export mode and render it as CSV or XLSX.

`build_export` is what both the HTTP download and the RQ job call, so the two give the
same bytes. The job writes its file under HUB_HOME/exports, where it is kept for
FILE_TTL_SECONDS and served only to users of the same tenant with the analytics leaf.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from psycopg.errors import QueryCanceled
from redis import Redis
from rq import Queue, get_current_job
from rq.job import Job
from sqlalchemy.exc import InterfaceError, OperationalError

import access
import config
from access import HubUser, Leaf
from datasets.model import Mode
from datasets.registry import DATASETS
from datasets.run import Result, run_report
from datasets.validate import validate
from db import engines
from db.reports import SavedReport, get_report
from errors import NotFound
from jobs import connection, queues
from jobs.export_formats import csv_chunks, filename, xlsx_bytes

FORMATS = ("csv", "xlsx")
# RQ settings, chosen deliberately:
JOB_TIMEOUT_SECONDS = 180  # a 5000-row export runs in seconds; 15 s per statement at most
RESULT_TTL_SECONDS = 3600  # the job (and its file) stays downloadable for an hour
FAILURE_TTL_SECONDS = 3600  # a failure stays visible to the UI for as long
FILE_TTL_SECONDS = 3600
# Transient database errors (a restart, a failover) are retried inside the job, with
# these pauses; a user error (an invalid or deleted report) fails at once, so the UI can
# show it without waiting for retries.
TRANSIENT_RETRY_PAUSES_SECONDS = (1.0, 4.0)
JOB_ID = re.compile(r"^[0-9a-f-]{32,36}$")


@dataclass(frozen=True)
class Export:
    report: SavedReport
    result: Result
    fmt: str

    @property
    def filename(self) -> str:
        return filename(self.report.name, self.fmt, self.result.end)


def load_export(tenant_id: int, report_id: int, fmt: str) -> Export:
    """Runs the tenant's saved report in export mode (5000 rows), or NotFound."""
    if fmt not in FORMATS:
        raise NotFound(f"Unknown export format '{fmt}': use csv or xlsx.")
    report = get_report(engines.default().web, tenant_id=tenant_id, report_id=report_id)
    if report is None:
        raise NotFound("There is no such report.")
    definition = validate(report.definition)
    result = run_report(definition, tenant_id=tenant_id, mode=Mode.EXPORT)
    return Export(report, result, fmt)


def dataset_leaf(report: SavedReport) -> str:
    return DATASETS[str(report.definition.get("dataset"))].leaf


def report_for(user: HubUser, leaf: Leaf, report_id: int) -> SavedReport:
    """The user's tenant's report when they hold `leaf` and the report's dataset leaf;
    Forbidden or NotFound otherwise. The one check behind export, pin and schedule."""
    access.require(leaf)
    report = get_report(engines.default().web, tenant_id=user.tenant_id, report_id=report_id)
    if report is None:
        raise NotFound("There is no such report.")
    access.require(Leaf(dataset_leaf(report)))
    return report


def render(export: Export) -> bytes:
    if export.fmt == "csv":
        return "".join(csv_chunks(export.result)).encode()
    return xlsx_bytes(export.result, title=export.report.name, generated_at=dt.datetime.now(dt.UTC))


def exports_dir() -> Path:
    path = config.load().hub_home / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def export_report(tenant_id: int, report_id: int, fmt: str) -> str:
    """RQ entry point: writes the export file and returns its download name."""
    job = get_current_job()
    assert job is not None
    job.meta["stage"] = "running report"
    job.save_meta()
    export = _with_transient_retries(lambda: load_export(tenant_id, report_id, fmt))
    job.meta.update(stage="writing file", rows=len(export.result.frame))
    job.save_meta()
    target = exports_dir() / f"{job.id}.{fmt}"
    partial = target.with_suffix(".part")
    partial.write_bytes(render(export))
    partial.replace(target)  # appears whole or not at all
    job.meta.update(stage="done", filename=export.filename)
    job.save_meta()
    return export.filename


def _with_transient_retries(action: Callable[[], Export]) -> Export:
    for pause in TRANSIENT_RETRY_PAUSES_SECONDS:
        try:
            return action()
        except (OperationalError, InterfaceError) as exc:
            if isinstance(exc.orig, QueryCanceled):  # a timeout, not a transient fault
                raise
            time.sleep(pause)
    return action()


def enqueue_export(redis: Redis, *, tenant_id: int, user_id: int, report_id: int, fmt: str) -> Job:
    return Queue(queues.EXPORTS, connection=redis).enqueue(
        export_report,
        tenant_id,
        report_id,
        fmt,
        job_timeout=JOB_TIMEOUT_SECONDS,
        result_ttl=RESULT_TTL_SECONDS,
        failure_ttl=FAILURE_TTL_SECONDS,
        meta={"tenant_id": tenant_id, "user_id": user_id, "report_id": report_id,
              "fmt": fmt, "stage": "queued"},
    )  # fmt: skip


def start_export(user: HubUser, *, report_id: int, fmt: str) -> Job:
    """Checks that the user may export this report (tenant, analytics and the dataset's
    leaf) and enqueues the job: the one path behind the export route and buttons."""
    access.require(Leaf.ANALYTICS)
    if fmt not in FORMATS:
        raise NotFound(f"Unknown export format '{fmt}': use csv or xlsx.")
    report_for(user, Leaf.ANALYTICS, report_id)
    return enqueue_export(connection.default(), tenant_id=user.tenant_id, user_id=user.id,
                          report_id=report_id, fmt=fmt)  # fmt: skip


def tenant_job(redis: Redis, *, job_id: str, tenant_id: int) -> Job:
    """The export job if it belongs to `tenant_id`; NotFound otherwise (never 403, so
    other tenants' job ids reveal nothing)."""
    if not JOB_ID.match(job_id):
        raise NotFound("There is no such export.")
    job = Job.fetch(job_id, connection=redis) if Job.exists(job_id, connection=redis) else None
    if job is None or job.meta.get("tenant_id") != tenant_id:
        raise NotFound("There is no such export.")
    return job


def job_file(job: Job) -> Path:
    path = exports_dir() / f"{job.id}.{job.meta['fmt']}"
    if not path.exists():
        raise NotFound("This export's file has expired. Export the report again.")
    return path


def remove_expired_files(now: float | None = None) -> int:
    """Cron: deletes export files older than FILE_TTL_SECONDS; returns how many."""
    cutoff = (now if now is not None else time.time()) - FILE_TTL_SECONDS
    removed = 0
    for path in exports_dir().glob("*.*"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def failure_text(trace: str | None) -> str:
    """The user-facing line of a failed job: its UserError message, or a generic one."""
    last = (trace or "").strip().splitlines()[-1:] or [""]
    name, _, message = last[0].partition(": ")
    if name.rsplit(".", 1)[-1] in {"NotFound", "BadDefinition", "ReportTimeout", "Forbidden"}:
        return message
    return "The export failed. Try again; if it keeps failing, contact support."
