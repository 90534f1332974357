"""Scaled stack configurations are valid platform configs; the report's statistics are the textbook ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.report import Fit, Spread
from benchmarks.scaling import BASE_STACK, GPU_INSTANCE_TYPES, scaled_platform, write_scaled_project
from stacks.load import FULL_KEY, platform_config_from_stack_file, stack_config_from_file, validate_platform_config
from stacks.synth import PROJECT_ROOT


def test_the_largest_scaled_stack_is_a_valid_configuration_with_unique_names() -> None:
    base = stack_config_from_file(PROJECT_ROOT / f"Pulumi.{BASE_STACK}.yaml")[FULL_KEY]
    config = validate_platform_config(scaled_platform(base, 500, 16))

    names = [namespace.name for namespace in config.serving.namespaces]
    groups = [namespace.team_group for namespace in config.serving.namespaces]
    pools = [pool.name for pool in config.cluster.gpu_pools]
    assert len(set(names)) == len(names) == 500
    assert len(set(groups)) == 500, "one team group per namespace"
    assert len(set(pools)) == len(pools) == 16
    assert {pool.instance_types[0] for pool in config.cluster.gpu_pools} == set(GPU_INSTANCE_TYPES)


def test_scaling_keeps_everything_else_of_the_base_stack() -> None:
    base = stack_config_from_file(PROJECT_ROOT / f"Pulumi.{BASE_STACK}.yaml")[FULL_KEY]
    scaled = scaled_platform(base, 10, 1)
    assert {key: value for key, value in scaled.items() if key not in ("cluster", "serving")} == {
        key: value for key, value in base.items() if key not in ("cluster", "serving")
    }
    assert scaled["cluster"]["adminPrincipals"] == base["cluster"]["adminPrincipals"]


def test_a_least_squares_fit_of_a_line_is_exact() -> None:
    fit = Fit.of([1, 2, 3, 4], [3.0, 5.0, 7.0, 9.0])
    assert (fit.slope, fit.intercept, fit.r_squared) == pytest.approx((2.0, 1.0, 1.0))


def test_a_spread_shows_median_and_range() -> None:
    assert Spread.of([3.0, 1.0, 2.0, 10.0, 4.0]).show(1) == "3.0 (1.0–10.0)"


@pytest.mark.parametrize(("namespaces", "gpu_pools"), [(10, 1), (10, 4)])
def test_the_scaled_whole_platform_keeps_the_pools_its_training_queues_use(
    tmp_path: Path, namespaces: int, gpu_pools: int
) -> None:
    directory, stack = write_scaled_project(tmp_path, namespaces, gpu_pools)  # validates, as `make bench` does
    config = platform_config_from_stack_file(directory / f"Pulumi.{stack}.yaml")
    pools = {pool.name for pool in config.cluster.gpu_pools}
    quotas = {quota.pool for namespace in config.training.namespaces for quota in namespace.quotas}
    assert quotas and quotas <= pools, "prod's training quotas name its H100 pool, which the scaled stack keeps"
    assert len(pools) == gpu_pools, "the kept pools count towards the requested number of GPU pools"
    assert len(config.serving.namespaces) == namespaces
