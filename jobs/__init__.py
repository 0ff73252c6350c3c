"""RQ jobs, the cron configuration, and the Redis connection they share."""
