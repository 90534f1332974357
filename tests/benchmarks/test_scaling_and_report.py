"""Scaled stack configurations are valid platform configs; the report's statistics are the textbook ones and it
decomposes each shipped stack's time into the untyped floor, the SDK classes and our program."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.report import Fit, Spread, render
from benchmarks.scaling import BASE_STACK, GPU_INSTANCE_TYPES, scaled_platform, write_scaled_project
from benchmarks.suite import Case, Cold, Measure, Results
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


def _measure(*seconds: float) -> Measure:
    return Measure(
        import_seconds=1.0,
        warm_up_stack="prod",
        warm_up_seconds=1.0,
        seconds=list(seconds),
        peak_rss_mib=[200.0] * len(seconds),
    )


def _cold(*seconds: float) -> Cold:
    return Cold(
        seconds=list(seconds),
        peak_rss_mib=[150.0] * len(seconds),
        harness_import_seconds=[0.2] * len(seconds),
        sdks=["pulumi_aws"],
    )


def _case(stack: str, nodes: int, namespaces: int | None = None, *, typed: bool = True) -> Case:
    """Untyped 0.2 s, typed 0.3 s, ours 0.4 s with imports preloaded; 1.0 / 1.2 / 1.5 s in a fresh process."""
    return Case(
        stack=stack,
        gc="off",
        namespaces=namespaces,
        gpu_pools=1 if namespaces else None,
        registrations=nodes + 10,
        nodes=nodes,
        floor_rss_mib=150.0,
        ours=_measure(0.4, 0.4, 0.4),
        baseline=_measure(0.2, 0.2, 0.2),
        environment="prod",
        cold_ours=None if namespaces else _cold(1.5, 1.5, 1.5),
        cold_baseline=None if namespaces else _cold(1.0, 1.0, 1.0),
        typed=_measure(0.3, 0.3, 0.3) if typed else None,
        cold_typed=_cold(1.2, 1.2, 1.2) if typed and not namespaces else None,
    )


def test_the_report_decomposes_each_shipped_stack_into_the_sdk_classes_and_our_program() -> None:
    results = Results(
        runs=3, cases=[_case("prod", 100), _case("ns10", 500, 10), _case("ns500", 7000, 500, typed=False)]
    )
    machine = dict.fromkeys(("date", "commit", "cpu", "cores", "memory", "os", "python", "packages"), "x")
    document = render(results, machine, {"other_cores": 0.0, "steal_cores": 0.0, "wall_seconds": 60.0})

    assert "| prod | 100 | imports preloaded | 200 | 300 | 400 | 100 | 1.00 | 100 | 1.00 |" in document, (
        "SDK classes = typed - untyped and our program = ours - typed, in ms and per resource, imports preloaded"
    )
    assert "| prod | 100 | fresh process | 1000 | 1200 | 1500 | 200 | 2.00 | 300 | 3.00 |" in document, (
        "the same decomposition in a fresh process"
    )
    assert (
        "| Own time ≤ 1.5x the baseline's on every prod stack (imports preloaded) | prod 2.00x | missed on prod |"
        in (document)
    ), "the issue's target row still compares with the untyped baseline"
    assert "| Ours vs the typed floor, own time (imports preloaded) | prod 1.33x | informational |" in document
    assert (
        "| Ours vs the typed floor, total (fresh process, imports included) | prod 1.25x | informational |" in document
    )
    assert "`_get_stack_trace`" in document, "the Method section says why the untyped baseline pays no source positions"
