"""RefreshInsightsCronJob through a real RQ worker, and the cron configuration."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from rq import Queue
from rq.cron import CronScheduler
from rq.job import JobStatus

from db import schema as s
from jobs import queues
from jobs.alerts import check_due_alerts
from jobs.analytics import refresh_analytics
from jobs.exports import remove_expired_files
from jobs.retention import expire_old_rows
from jobs.schedules import deliver_due_schedules
from tests.conftest import Hub

ROOT = Path(__file__).resolve().parent.parent


def _today_stats(hub: Hub, tenant_id: int) -> tuple[int, int]:
    today = dt.datetime.now(dt.UTC).date()
    with hub.cron.connect() as conn:
        conversations = conn.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(s.conversation_stats_daily.c.conversations), 0))
            .where(s.conversation_stats_daily.c.tenant_id == tenant_id)
            .where(s.conversation_stats_daily.c.day == today)
        )
        tokens = conn.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(s.token_usage_daily.c.total_tokens), 0))
            .where(s.token_usage_daily.c.tenant_id == tenant_id)
            .where(s.token_usage_daily.c.day == today)
        )
    return int(conversations), int(tokens)


def test_refresh_job_runs_on_a_real_worker(hub: Hub) -> None:
    """A new conversation shows up in both rollups only after the worker ran the refresh."""
    tenant_id = hub.tenant_id("globex")
    before = _today_stats(hub, tenant_id)
    now = dt.datetime.now(dt.UTC)
    with hub.cron.begin() as conn:
        conversation_id = conn.scalar(
            sa.insert(s.conversations)
            .values(tenant_id=tenant_id, channel="web", customer_id="cus_refresh", started_at=now)
            .returning(s.conversations.c.id)
        )
        conn.execute(
            sa.insert(s.messages),
            [
                {"tenant_id": tenant_id, "conversation_id": conversation_id, "role": "user",
                 "created_at": now, "prompt_tokens": None, "completion_tokens": None,
                 "total_tokens": None, "cost_usd": None},
                {"tenant_id": tenant_id, "conversation_id": conversation_id, "role": "agent",
                 "created_at": now, "prompt_tokens": 1000, "completion_tokens": 234,
                 "total_tokens": 1234, "cost_usd": 0.00484},
            ],
        )  # fmt: skip
    assert _today_stats(hub, tenant_id) == before

    job = Queue(queues.MAINTENANCE, connection=hub.redis).enqueue(refresh_analytics)
    hub.work(queues.MAINTENANCE)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert _today_stats(hub, tenant_id) == (before[0] + 1, before[1] + 1234)


def test_cron_config_registers_the_hub_jobs(hub: Hub) -> None:
    """RefreshInsightsCronJob runs at minute 0 of every hour; expired exports are swept
    every ten minutes; RetentionCronJob runs daily at 03:30; all on the maintenance queue.
    ReportScheduleCronJob emails at minute 5 of every hour and AlertCheckCronJob checks the
    alerts at minute 10, both from the email queue."""
    scheduler = CronScheduler(connection=hub.redis)
    scheduler.load_config_from_file("jobs.cron_config")
    jobs = {job.name: job for job in scheduler.get_jobs()}
    assert set(jobs) == {
        "RefreshInsightsCronJob", "RemoveExpiredExportsCronJob", "ReportScheduleCronJob",
        "RetentionCronJob", "AlertCheckCronJob",
    }  # fmt: skip
    alerts = jobs["AlertCheckCronJob"]
    assert (alerts.cron, alerts.queue_name, alerts.func) == (
        "10 * * * *", queues.EMAIL, check_due_alerts
    )  # fmt: skip
    retention = jobs["RetentionCronJob"]
    assert (retention.cron, retention.queue_name, retention.func) == (
        "30 3 * * *", queues.MAINTENANCE, expire_old_rows
    )  # fmt: skip
    schedules = jobs["ReportScheduleCronJob"]
    assert (schedules.cron, schedules.queue_name, schedules.func) == (
        "5 * * * *", queues.EMAIL, deliver_due_schedules
    )  # fmt: skip
    refresh, sweep = jobs["RefreshInsightsCronJob"], jobs["RemoveExpiredExportsCronJob"]
    assert (refresh.cron, refresh.queue_name, refresh.func) == (
        "0 * * * *", queues.MAINTENANCE, refresh_analytics
    )  # fmt: skip
    assert (sweep.interval, sweep.queue_name, sweep.func) == (
        600, queues.MAINTENANCE, remove_expired_files
    )  # fmt: skip
