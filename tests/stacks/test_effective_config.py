"""Every cross-field rule holds on the effective configuration: the values the stack deploys, whether the file
wrote them or left them to the defaults and presets (issue 16, Build 1)."""

from __future__ import annotations

from typing import Any

from stacks.config import LoggingConfig, StorageConfig
from stacks.load import validate_platform_config
from tests.stacks.test_config import VALID_AWS, VALID_AZURE, problems_of, with_change

GDPR_AWS_DEFAULT_SECTIONS: dict[str, Any] = {
    "environment": "dev",
    "target": {"cloud": "aws", "region": "eu-central-1"},
    "compliance": {"profiles": ["gdpr"]},
    "cluster": {"endpoint": {"publicAccess": True, "publicAccessCidrs": ["198.51.100.7/32"]}},
}
"""A GDPR stack that leaves `logging` and `storage` to their defaults."""


def test_the_baseline_with_default_logging_and_storage_is_valid() -> None:
    validate_platform_config(GDPR_AWS_DEFAULT_SECTIONS)


def test_a_gdpr_log_ceiling_below_the_default_log_retention_is_refused_at_logging_retention_days() -> None:
    data = with_change(GDPR_AWS_DEFAULT_SECTIONS, "compliance.maxLogRetentionDays", 100)
    default = LoggingConfig().retention_days
    assert problems_of(data) == [
        f"mlplatform:platform.logging.retentionDays: {default} (the default; set logging.retentionDays) exceeds "
        "compliance.maxLogRetentionDays (100)"
    ], "the default 365-day retention would have been deployed under a 100-day ceiling"


def test_a_gdpr_log_ceiling_below_the_default_elk_retention_is_refused_at_the_elk_key() -> None:
    data = with_change(GDPR_AWS_DEFAULT_SECTIONS, "compliance.maxLogRetentionDays", 14)
    data["logging"] = {"retentionDays": 14}
    data["compliance"]["minLogRetentionDays"] = 7
    assert problems_of(data) == [
        "mlplatform:platform.logging.elk.retentionDays: 30 (the default) exceeds compliance.maxLogRetentionDays (14)"
    ]


def test_a_gdpr_retention_ceiling_below_the_default_buckets_is_refused_at_each_default_bucket() -> None:
    data = with_change(GDPR_AWS_DEFAULT_SECTIONS, "compliance.maxRetentionDays", {"confidential": 300})
    buckets = StorageConfig().buckets
    assert [bucket.data_classification for bucket in buckets[:2]] == ["confidential", "confidential"]
    assert problems_of(data) == [
        f"mlplatform:platform.storage.buckets[{index}].retentionDays: {bucket.retention_days} (the default bucket "
        f"'{bucket.name}'; list your buckets under storage.buckets) exceeds the 300-day ceiling for confidential "
        "data (compliance.maxRetentionDays)"
        for index, bucket in enumerate(buckets[:2])
    ]


def test_a_gdpr_ceiling_is_refused_when_only_the_models_bucket_key_of_storage_is_written() -> None:
    data = with_change(GDPR_AWS_DEFAULT_SECTIONS, "compliance.maxRetentionDays", {"internal": 30})
    data["storage"] = {"modelsBucket": "models"}
    assert [problem.split(":")[1] for problem in problems_of(data)] == ["platform.storage.buckets[2].retentionDays"]


def test_a_written_bucket_over_its_ceiling_is_still_refused_once() -> None:
    data = with_change(
        GDPR_AWS_DEFAULT_SECTIONS,
        "storage",
        {"buckets": [{"name": "models", "dataClassification": "pii", "retentionDays": 1200}]},
    )
    assert problems_of(data) == [
        "mlplatform:platform.storage.buckets[0].retentionDays: 1200 exceeds the 1095-day ceiling for pii data "
        "(compliance.maxRetentionDays)"
    ]


def test_a_hipaa_log_floor_above_the_default_log_retention_is_refused_at_logging_retention_days() -> None:
    data = with_change(VALID_AZURE, "compliance", {"profiles": ["hipaa"], "minLogRetentionDays": 400})
    assert problems_of(data) == [
        "mlplatform:platform.logging.retentionDays: 365 (the default; set logging.retentionDays) is below "
        "compliance.minLogRetentionDays (400) for audit logs"
    ]


def test_a_log_floor_above_the_log_ceiling_is_refused_once_at_the_floor() -> None:
    data = with_change(VALID_AWS, "compliance.minLogRetentionDays", 500)
    data["compliance"]["maxLogRetentionDays"] = 400
    assert problems_of(data) == [
        "mlplatform:platform.compliance.minLogRetentionDays: 500 is above compliance.maxLogRetentionDays (400): "
        "no retention can satisfy both"
    ], "a floor above the ceiling is one mistake, not a retention problem on every log store"


def test_a_log_floor_above_the_log_ceiling_is_refused_without_any_profile() -> None:
    data = {**GDPR_AWS_DEFAULT_SECTIONS, "compliance": {"minLogRetentionDays": 10, "maxLogRetentionDays": 5}}
    assert [problem.split(":")[1] for problem in problems_of(data)] == ["platform.compliance.minLogRetentionDays"]


def test_a_gpu_pool_minimum_above_the_default_maximum_is_refused() -> None:
    data = with_change(VALID_AWS, "cluster.gpuPools", [{"name": "a10g", "instanceTypes": ["g5.xlarge"], "minSize": 3}])
    assert problems_of(data) == ["mlplatform:platform.cluster.gpuPools[0].maxSize: must be >= minSize (3)"]


def test_a_system_pool_minimum_above_the_default_maximum_is_refused() -> None:
    data = with_change(VALID_AZURE, "cluster.systemPool", {"minSize": 5})
    assert problems_of(data) == ["mlplatform:platform.cluster.systemPool.maxSize: must be >= minSize (5)"]


def test_a_platform_pool_maximum_below_the_preset_minimum_is_refused() -> None:
    data = with_change(VALID_AWS, "cluster.platformPool", {"minSizePerZone": 3, "maxSizePerZone": 2})
    assert problems_of(data) == [
        "mlplatform:platform.cluster.platformPool.maxSizePerZone: must be >= minSizePerZone (3)"
    ]


def test_a_ceiling_written_for_one_classification_keeps_the_default_ceilings_of_the_others() -> None:
    data = with_change(GDPR_AWS_DEFAULT_SECTIONS, "compliance.maxRetentionDays", {"confidential": 2000})
    data["storage"] = {"buckets": [{"name": "models", "dataClassification": "pii", "retentionDays": 3000}]}
    assert problems_of(data) == [
        "mlplatform:platform.storage.buckets[0].retentionDays: 3000 exceeds the 1095-day ceiling for pii data "
        "(compliance.maxRetentionDays)"
    ], "writing the confidential ceiling must not remove the pii one"
