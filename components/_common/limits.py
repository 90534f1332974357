"""Fixed limits of cloud services that both the config schema and the components check against."""

CLOUDWATCH_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
"""The only `retentionInDays` values CloudWatch Logs accepts (0 means never expire and is never used here)."""

LOG_ANALYTICS_RETENTION_DAYS = (30, 730)
"""The interactive retention range of a Log Analytics workspace, in days (inclusive)."""
