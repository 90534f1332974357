"""Tags (AWS, Azure) and labels (Kubernetes) every platform resource carries, including the GDPR record keys."""

from __future__ import annotations

from typing import Literal

DataClassification = Literal["phi", "pii", "confidential", "internal", "public"]

MANAGED_BY = "pulumi-mlplatform"

# Keys of the GDPR Art. 30 record-of-processing tags (CONTROLS.md GDPR-REC-TAGS).
DATA_CLASSIFICATION_TAG = "data-classification"
DATA_OWNER_TAG = "data-owner"
PROCESSING_ACTIVITY_TAG = "processing-activity"
RETENTION_TAG = "retention"

TIER_LABEL = "mlplatform.io/tier"
"""Namespace label naming the platform tier (`serving`, `monitoring`, `logging`, `gpu`)."""


def platform_tags(
    *,
    environment: str,
    stack: str,
    data_owner: str,
    processing_activity: str,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """Tags for every cloud resource of one platform stack."""
    tags = {
        "environment": environment,
        "platform-stack": stack,
        "managed-by": MANAGED_BY,
        DATA_OWNER_TAG: data_owner,
        PROCESSING_ACTIVITY_TAG: processing_activity,
    }
    tags.update(extra or {})
    return tags


def data_tags(classification: DataClassification, retention_days: int | None) -> dict[str, str]:
    """Tags for a data store: its classification and retention ("365d", or "indefinite")."""
    return {
        DATA_CLASSIFICATION_TAG: classification,
        RETENTION_TAG: f"{retention_days}d" if retention_days else "indefinite",
    }
