"""Region lists agree with the installed SDK; names and quantities are validated as Kubernetes does."""

from __future__ import annotations

from decimal import Decimal

import pulumi
import pulumi_aws
import pytest

from components._common import regions
from components._common.validation import Problems, dns1123_label_problem, parse_quantity


def test_every_aws_region_we_accept_is_known_to_the_installed_sdk() -> None:
    known = {region.value for region in pulumi_aws.Region}
    assert known >= regions.AWS_REGIONS, f"unknown to pulumi-aws: {sorted(regions.AWS_REGIONS - known)}"


def test_the_eu_allow_lists_are_subsets_of_the_known_regions() -> None:
    assert set(regions.EU_AWS_REGIONS) <= regions.AWS_REGIONS
    assert set(regions.EU_AZURE_LOCATIONS) <= regions.AZURE_LOCATIONS
    assert "eu-west-2" not in regions.EU_AWS_REGIONS, "London is outside the EU; users add it explicitly"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        ("64Gi", Decimal(64 * 2**30)),
        ("1.5G", Decimal("1.5e9")),
        ("1e3", Decimal(1000)),
    ],
)
def test_quantities_parse_like_kubernetes(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "lots", "64 Gi", "-1", "1Gb"])
def test_bad_quantities_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match=r"quantity|negative"):
        parse_quantity(text)


@pytest.mark.parametrize(
    ("name", "ok"), [("fraud", True), ("a-1", True), ("A", False), ("-a", False), ("a" * 64, False)]
)
def test_dns1123_labels(name: str, ok: bool) -> None:
    assert (dns1123_label_problem(name) is None) is ok


def test_problems_raise_one_input_properties_error_with_every_path() -> None:
    problems = Problems()
    problems.add("gpuNodePools[0].maxSize", "must be >= minSize (2)")
    problems.add("endpointPublicAccessCidrs", "required when endpointPublicAccess is true")
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        problems.raise_if_any("AwsGpuCluster 'dev'")
    assert [e["property_path"] for e in caught.value.errors] == ["gpuNodePools[0].maxSize", "endpointPublicAccessCidrs"]
    assert "gpuNodePools[0].maxSize: must be >= minSize (2)" in str(caught.value)
