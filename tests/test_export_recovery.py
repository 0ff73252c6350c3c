"""An export whose worker dies is found, re-queued once, and then shown as failed.

The worker is a real `rq worker` killed with SIGKILL mid-job (its query held up by a
table lock, so it is surely running). RQ notices a dead worker when the job's heartbeat
lapses — about 90 s after the last one; the test ages the registry entry instead of
waiting, and everything after that is the hub's own code: reading the job's status
sweeps RQ's started-job registry.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import flask
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from rq.registry import StartedJobRegistry

from jobs import exports, queues
from tests.conftest import ROOT, Hub
from tests.web import sign_in

RUNS = {"dataset": "flow_runs", "measures": ["total_runs", "p95_duration"], "viz": "table",
        "dimensions": [{"id": "status"}], "date_range": {"preset": "30d"}}  # fmt: skip


@pytest.fixture
def admin(flask_app: flask.Flask) -> FlaskClient:
    client = flask_app.test_client()
    assert sign_in(client, "admin@acme.example").status_code == 302
    return client


@pytest.fixture
def report(hub: Hub) -> Iterator[int]:
    with hub.saved_report("Recovered export", RUNS) as report_id:
        yield report_id


@contextmanager
def _runs_locked(hub: Hub) -> Iterator[None]:
    """Holds the flow runs table so any report reading it waits."""
    with hub.admin.connect() as conn:
        conn.execute(sa.text("LOCK TABLE fs_executions IN ACCESS EXCLUSIVE MODE"))
        yield
        conn.rollback()


def _status(admin: FlaskClient, job_id: str) -> dict:
    return admin.get(f"/admin/analytics/exports/{job_id}").get_json()


def _kill_worker_mid_job(hub: Hub, admin: FlaskClient, job_id: str) -> None:
    """A real worker takes the job and is killed (with its work horse) while running it."""
    with _runs_locked(hub):
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "rq"), "worker", "--url", hub.env["REDIS_URL"],
             queues.EXPORTS],
            cwd=ROOT, env={**os.environ, **hub.env}, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while _status(admin, job_id)["status"] != "started":
                assert time.monotonic() < deadline, "the worker never started the job"
                time.sleep(0.1)
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
    registry = StartedJobRegistry(queues.EXPORTS, connection=hub.redis)
    for member in hub.redis.zrange(registry.key, 0, -1):  # its heartbeat has lapsed
        hub.redis.zadd(registry.key, {member: time.time() - 1})


def test_an_abandoned_export_is_retried_once_then_fails(
    hub: Hub, admin: FlaskClient, report: int
) -> None:
    """First death: the status read finds it and re-queues it, and a worker finishes it
    with the same bytes as the direct download. A second death: it fails, saying why."""
    url = f"/admin/analytics/reports/{report}/export/csv"
    job_id = admin.post(f"{url}/jobs", json={}).get_json()["job_id"]
    _kill_worker_mid_job(hub, admin, job_id)
    assert _status(admin, job_id)["status"] == "queued"
    hub.work(queues.EXPORTS)
    done = _status(admin, job_id)
    assert done["status"] == "finished"
    assert admin.get(done["download_url"]).data == admin.get(url).data

    job_id = admin.post(f"{url}/jobs", json={}).get_json()["job_id"]
    _kill_worker_mid_job(hub, admin, job_id)
    assert _status(admin, job_id)["status"] == "queued"
    _kill_worker_mid_job(hub, admin, job_id)
    failed = _status(admin, job_id)
    assert (failed["status"], failed["error"]) == ("failed", exports.ABANDONED)
