"""RQ entry points (exports, scheduled emails, the rollup refresh), their queues and the cron
configuration. What they use lives in modules named for it (mailer, export_formats, ...)."""
