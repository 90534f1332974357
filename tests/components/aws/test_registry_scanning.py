"""AwsRegistryScanning: Inspector scans exactly the platform's repositories, continuously, with Inspector on."""

from __future__ import annotations

import fnmatch

import pulumi
import pytest

from components.aws.registry_scanning import AwsRegistryScanning, scanning_rules
from stacks.synth import run_program

from ._support import error_paths, nothing_registered

CONFIGURATION = "aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration"
ENABLER = "aws:inspector2/enabler:Enabler"


def _scanning(run, **overrides):
    args = {"repository_filters": ["mlplatform-prod/*"], **overrides}
    return run(lambda: AwsRegistryScanning("scanning", args))


def test_the_registry_is_enhanced_and_rescans_the_platform_repositories_continuously(run) -> None:
    recorder = _scanning(run)
    configuration = recorder.one(CONFIGURATION)
    assert configuration.inputs["scanType"] == "ENHANCED", "basic scanning misses language packages (pip wheels)"
    (rule,) = configuration.inputs["rules"]
    assert rule["scanFrequency"] == "CONTINUOUS_SCAN", "a promoted image must be re-judged when a new CVE appears"
    assert rule["repositoryFilters"] == [{"filter": "mlplatform-prod/*", "filterType": "WILDCARD"}]
    outputs = recorder.one("mlplatform:index:AwsRegistryScanning").outputs
    assert outputs["scanType"] == "ENHANCED" and outputs["repositoryFilters"] == ["mlplatform-prod/*"]


def test_the_filter_covers_the_prefixed_repositories_and_nothing_else() -> None:
    (rule,) = scanning_rules(["mlplatform-prod/*"], True)
    patterns = [item["filter"] for item in rule["repository_filters"]]  # type: ignore[index, union-attr]
    for repository, scanned in (
        ("mlplatform-prod/models", True),
        ("mlplatform-prod/team-a/fraud", True),
        ("mlplatform-dev/models", False),
        ("models", False),
    ):
        covered = any(fnmatch.fnmatchcase(repository, pattern) for pattern in patterns)
        assert covered is scanned, f"ECR's WILDCARD filter semantics: {repository} scanned={scanned}"


def test_inspector_is_enabled_for_ecr_in_this_account_and_outlives_the_stack(run) -> None:
    recorder = _scanning(run)
    enabler = recorder.one(ENABLER)
    assert enabler.inputs["resourceTypes"] == ["ECR"], "only ECR scanning is activated, not EC2 or Lambda"
    assert len(enabler.inputs["accountIds"]) == 1, "the current account only, never the organisation"
    configuration = recorder.one(CONFIGURATION)
    assert enabler.urn in configuration.dependencies, "ENHANCED needs Inspector active before it is set"
    assert enabler.retain_on_delete is True, (
        "destroying one stack must not stop scanning of every registry in the account"
    )


def test_scan_on_push_only_and_inspector_managed_elsewhere(run) -> None:
    recorder = _scanning(run, continuous_scan=False, enable_inspector=False)
    assert recorder.by_type(ENABLER) == [], "the security team owns Inspector: nothing account-wide is created"
    (rule,) = recorder.one(CONFIGURATION).inputs["rules"]
    assert rule["scanFrequency"] == "SCAN_ON_PUSH"
    assert recorder.one(CONFIGURATION).dependencies == [], "no Enabler to wait for"


def test_bad_filters_are_rejected_before_anything_is_created(recorder) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as error:
        run_program(
            lambda: AwsRegistryScanning(
                "scanning", {"repository_filters": ["Models/*", "ok/*", "ok/*"], "continuous_scan": "yes"}
            )
        )
    assert error_paths(error.value) == ["repositoryFilters[0]", "repositoryFilters", "continuousScan"], (
        "each bad field is named in the stack's camelCase"
    )
    assert nothing_registered(recorder)
    with pytest.raises(pulumi.InputPropertiesError) as error:
        run_program(lambda: AwsRegistryScanning("scanning", {"repository_filters": []}))
    assert error_paths(error.value) == ["repositoryFilters"], "an empty filter list would scan nothing"
