"""The hub's cron entries, loaded by `rq cron jobs.cron_config` (RQ's cron scheduler).

Times are UTC. Each entry is data: function, queue, cron string, timeout.
"""

from rq import cron

from jobs.alerts import check_due_alerts
from jobs.analytics import refresh_analytics
from jobs.exports import remove_expired_files
from jobs.queues import EMAIL, MAINTENANCE
from jobs.retention import expire_old_rows
from jobs.schedules import deliver_due_schedules

# RefreshInsightsCronJob: hourly, so rollup-backed series lag by at most an hour.
cron.register(
    refresh_analytics,
    queue_name=MAINTENANCE,
    cron="0 * * * *",
    job_timeout=600,
    name="RefreshInsightsCronJob",
)

# Export files are kept for an hour; sweep the expired ones every ten minutes.
cron.register(
    remove_expired_files,
    queue_name=MAINTENANCE,
    interval=600,
    job_timeout=120,
    name="RemoveExpiredExportsCronJob",
)

# RetentionCronJob: daily at 03:30, delete raw telemetry past each tenant's retention.
cron.register(
    expire_old_rows,
    queue_name=MAINTENANCE,
    cron="30 3 * * *",
    job_timeout=3600,
    name="RetentionCronJob",
)

# ReportScheduleCronJob: at five past every hour, enqueue a delivery job per slot due by
# then (and retries); it sends nothing itself, so two minutes are ample.
cron.register(
    deliver_due_schedules,
    queue_name=EMAIL,
    cron="5 * * * *",
    job_timeout=120,
    name="ReportScheduleCronJob",
)

# AlertCheckCronJob: at ten past every hour, once the hourly refresh has landed, enqueue a
# check of each active alert outside its cooldown; the checks run on the workers.
cron.register(
    check_due_alerts,
    queue_name=EMAIL,
    cron="10 * * * *",
    job_timeout=120,
    name="AlertCheckCronJob",
)
