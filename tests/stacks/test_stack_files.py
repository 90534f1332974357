"""Every shipped stack file validates, and each one says what its environment promises."""

from __future__ import annotations

import pytest

from stacks.load import platform_config_from_stack_file
from stacks.synth import PROJECT_ROOT, stack_names

STACKS = stack_names(PROJECT_ROOT)


def test_the_shipped_stacks_are_dev_prod_azure_and_local() -> None:
    assert {"dev", "prod", "azure-prod", "local"} <= set(STACKS), f"a documented stack file is missing: {STACKS}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_file_validates(stack: str) -> None:
    config = platform_config_from_stack_file(PROJECT_ROOT / f"Pulumi.{stack}.yaml")
    assert config.environment in ("dev", "staging", "prod")


def test_dev_is_aws_in_the_eu_with_a_spot_gpu_pool_that_scales_to_zero() -> None:
    config = platform_config_from_stack_file(PROJECT_ROOT / "Pulumi.dev.yaml")
    assert config.cloud == "aws" and config.target.region.startswith("eu-"), "dev runs in an EU AWS region"
    pools = config.cluster.gpu_pools
    assert len(pools) == 1, "dev has one small GPU pool"
    assert pools[0].capacity_type == "spot", "the dev preset makes GPU pools spot"
    assert pools[0].min_size == 0, "the dev GPU pool scales to zero"
    assert config.network.nat_gateways == "single", "dev uses one NAT gateway"


def test_prod_is_private_protected_on_demand_and_under_gdpr_and_hipaa() -> None:
    config = platform_config_from_stack_file(PROJECT_ROOT / "Pulumi.prod.yaml")
    assert set(config.compliance.profiles) == {"gdpr", "hipaa"}
    assert config.cluster.endpoint.public_access is False, "prod API endpoint is private"
    assert config.protect is True, "prod protects stateful resources"
    assert all(pool.capacity_type == "on-demand" for pool in config.cluster.gpu_pools), "prod GPU pools are on-demand"
    assert len(config.target.zones) >= 2, "prod spans at least two zones"
    assert config.network.nat_gateways == "perZone", "prod survives a zone outage"


def test_the_azure_stack_targets_an_allow_listed_location() -> None:
    config = platform_config_from_stack_file(PROJECT_ROOT / "Pulumi.azure-prod.yaml")
    assert config.cloud == "azure"
    assert config.target.location in config.compliance.allowed_locations


def test_the_local_stack_uses_an_existing_cluster_by_context() -> None:
    config = platform_config_from_stack_file(PROJECT_ROOT / "Pulumi.local.yaml")
    assert config.cloud == "kubernetes" and config.target.kubeconfig_context, "local points at a kubeconfig context"
