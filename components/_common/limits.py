"""Fixed limits of cloud services that both the config schema and the components check against."""

CLOUDWATCH_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
"""The only `retentionInDays` values CloudWatch Logs accepts (0 means never expire and is never used here)."""

LOG_ANALYTICS_RETENTION_DAYS = (30, 730)
"""The interactive retention range of a Log Analytics workspace, in days (inclusive)."""

DEFAULT_MAX_RETENTION_DAYS: dict[str, int] = {
    "phi": 2190,
    "pii": 1095,
    "confidential": 1825,
    "internal": 1825,
    "public": 3650,
}
"""Retention ceilings per data classification in days (GDPR storage limitation); config and policies share them."""

DEFAULT_MIN_LOG_RETENTION_DAYS = 90
"""Shortest retention of audit logs in days."""

DEFAULT_MAX_LOG_RETENTION_DAYS = 2192
"""Longest retention of logs in days: six years (the HIPAA documentation period), a CloudWatch value."""

PLATFORM_SYSTEM_NAMESPACES: tuple[str, ...] = (
    "kube-system",
    "gpu-operator",
    "nvidia-device-plugin",
    "monitoring",
    "node-exporter",
    "logging",
    "elastic-system",
    "fluent-bit",
    "secrets-store-csi",
)
"""Namespaces the platform's node agents run in (device plugin, DCGM, node exporter, log shipper, the Secrets Store
CSI driver and its provider): the only ones allowed host access and a privileged Pod Security level."""
