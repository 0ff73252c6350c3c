"""Exports: run a saved report in export mode and render it as CSV or XLSX.

`load_export` is what both the HTTP download and the RQ job call, and `render` is
export_formats.file_bytes, which scheduled emails attach too, so all give the same
bytes. The job writes its file under HUB_HOME/exports, where it is kept for
FILE_TTL_SECONDS. Who may start, read and download a job is decided by permissions.py:
a job carries its tenant and the leaf of its report's dataset in its metadata.

A job whose worker dies is found abandoned once its heartbeat lapses (RQ's started-job
registry, swept whenever its status is read), re-queued once, and failed after that. A
user error (a deleted or invalid report, a timeout) fails at once, with its message kept
in the job's metadata for the route and the buttons.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from psycopg.errors import QueryCanceled
from redis import Redis
from rq import Queue, Retry, get_current_job
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from sqlalchemy.exc import InterfaceError, OperationalError

import config
import redis_client
from access import HubUser, Leaf
from datasets.cache import run_cached
from datasets.model import Mode
from datasets.run import Result
from datasets.validate import validate
from db import engines
from db.reports import SavedReport, get_report
from errors import NotFound, UserError
from export_formats import file_bytes, filename
from jobs import queues

FORMATS = ("csv", "xlsx")
# RQ settings, chosen deliberately:
JOB_TIMEOUT_SECONDS = 180  # a 5000-row export runs in seconds; 15 s per statement at most
RESULT_TTL_SECONDS = 3600  # the job (and its file) stays downloadable for an hour
FAILURE_TTL_SECONDS = 3600  # a failure stays visible to the UI for as long
FILE_TTL_SECONDS = 3600
# A job whose worker died is re-queued this many times before it is shown as failed.
ABANDONED_RETRIES = 1
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
    """Runs the tenant's saved report in export mode (5000 rows), or NotFound. It reads
    through the result cache, whose freshness rule holds for exports too (datasets.cache);
    the file says when its data was computed."""
    check_format(fmt)
    report = get_report(engines.default().web, tenant_id=tenant_id, report_id=report_id)
    if report is None:
        raise NotFound("There is no such report.")
    definition = validate(report.definition)
    result = run_cached(definition, tenant_id=tenant_id, mode=Mode.EXPORT)
    return Export(report, result, fmt)


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise NotFound(f"Unknown export format '{fmt}': use csv or xlsx.")


def render(export: Export) -> bytes:
    return file_bytes(export.result, export.fmt, title=export.report.name)


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
    try:
        export = _with_transient_retries(lambda: load_export(tenant_id, report_id, fmt))
    except UserError as error:  # final: shown as is, never retried
        job.meta.update(stage="failed", error=error.public_message)
        job.save_meta()
        job.retries_left = 0
        raise
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


def enqueue_export(
    redis: Redis, *, tenant_id: int, user_id: int, report_id: int, fmt: str, leaf: Leaf
) -> Job:
    return Queue(queues.EXPORTS, connection=redis).enqueue(
        export_report,
        tenant_id,
        report_id,
        fmt,
        job_timeout=JOB_TIMEOUT_SECONDS,
        result_ttl=RESULT_TTL_SECONDS,
        failure_ttl=FAILURE_TTL_SECONDS,
        retry=Retry(max=ABANDONED_RETRIES),
        meta={"tenant_id": tenant_id, "user_id": user_id, "report_id": report_id,
              "fmt": fmt, "leaf": leaf.value, "stage": "queued"},
    )  # fmt: skip


def start_export(user: HubUser, report: SavedReport, *, leaf: Leaf, fmt: str) -> Job:
    """Enqueues the export of a report the user may read (permissions.readable_report):
    the one path behind the export route and the buttons."""
    check_format(fmt)
    return enqueue_export(redis_client.default(), tenant_id=user.tenant_id, user_id=user.id,
                          report_id=report.id, fmt=fmt, leaf=leaf)  # fmt: skip


def find_job(redis: Redis, job_id: str) -> Job | None:
    """The export job named by `job_id`, or None (for a malformed id too). Whether the
    user may see it is permissions.readable_job's question."""
    if not JOB_ID.match(job_id):
        return None
    return Job.fetch(job_id, connection=redis) if Job.exists(job_id, connection=redis) else None


@dataclass(frozen=True)
class JobView:
    """An export job as the route and the buttons show it."""

    status: str  # queued, started, finished or failed (RQ's words)
    stage: str
    rows: int | None = None
    filename: str | None = None
    error: str | None = None

    @property
    def is_finished(self) -> bool:
        return self.status == JobStatus.FINISHED.value

    @property
    def is_failed(self) -> bool:
        return self.error is not None


GENERIC_FAILURE = "The export failed. Try again; if it keeps failing, contact support."
ABANDONED = "The export stopped because its worker went away. Try again."
FAILED_STATES = (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


def describe_job(job: Job) -> JobView:
    """The job's state now. A started job whose worker died is swept first (RQ re-queues
    it once, then fails it), so a dead worker shows within its heartbeat's lapse, not at
    the next maintenance pass."""
    status = job.get_status(refresh=True)
    if status is JobStatus.STARTED:
        StartedJobRegistry(job.origin, connection=job.connection).cleanup()
        status = job.get_status(refresh=True)
        job.refresh()
    meta = job.meta
    error = None
    if status in FAILED_STATES:
        result = job.latest_result()
        abandoned = result is not None and "AbandonedJobError" in (result.exc_string or "")
        error = str(meta.get("error") or (ABANDONED if abandoned else GENERIC_FAILURE))
    rows = meta.get("rows")
    return JobView(
        status=status.value if status else "unknown",
        stage=str(meta.get("stage") or ""),
        rows=rows if isinstance(rows, int) else None,
        filename=str(meta["filename"]) if status is JobStatus.FINISHED else None,
        error=error,
    )


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
