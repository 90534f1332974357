"""One validation path: what a component refuses for a value from the stack file, `validate` refuses too, and
`preview` names the stack key the user wrote, never the component argument (issue 16, Build 1)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from stacks.config import PlatformConfig
from stacks.load import PlatformConfigError, _known_keys, validate_platform_config
from stacks.platform import STACK_KEYS, build_platform, component_problems, stack_key_for
from tests.stacks.test_config import VALID_AWS, VALID_AZURE, with_change

AWS_WITH_ADMIN = with_change(VALID_AWS, "cluster.adminPrincipals", ["arn:aws:iam::210987654321:role/platform-admins"])


@pytest.mark.parametrize(
    ("component", "argument", "stack_key"),
    [
        ("AwsGpuCluster", "adminPrincipalArns[0]", "cluster.adminPrincipals[0]"),
        ("AwsGpuCluster", "deployerPrincipalArn", "deployment.deployer.principal"),
        ("AwsGpuCluster", "publicAccessCidrs[2]", "cluster.endpoint.publicAccessCidrs[2]"),
        ("AwsGpuCluster", "gpuNodePools[1].taints[0].key", "cluster.gpuPools[1].taints[0].key"),
        ("AwsGpuCluster", 'gpuNodePools[0].labels["team"]', "cluster.gpuPools[0].labels.team"),
        ("AwsGpuCluster", "platformNodePool.maxSizePerZone", "cluster.platformPool.maxSizePerZone"),
        ("AwsGpuCluster", "apiAccessCidrs[0]", "deployment.deployer.network.cidrs[0]"),
        ("AwsNetwork", "cidrBlock", "network.cidr"),
        ("AzureGpuCluster", "adminGroupObjectIds[1]", "cluster.adminPrincipals[1]"),
        ("AzureGpuCluster", "serviceCidr", "network.cidr"),
        ("AzureGpuCluster", "podCidr", "network.cidr"),
        ("AzureGpuCluster", "gpuNodePools[0].vmSize", "cluster.gpuPools[0].instanceTypes"),
        ("AzureGpuCluster", "gpuNodePools[0].initialCount", "cluster.gpuPools[0].desiredSize"),
        ("AzureGpuCluster", "systemPool.maxCount", "cluster.systemPool.maxSize"),
        ("AzureNetwork", "addressSpace", "network.cidr"),
        ("AzureLogAnalytics", "retentionDays", "logging.retentionDays"),
        ("Monitoring", "retentionSize", "monitoring.prometheus.retentionSize"),
        ("Logging", "retentionDays", "logging.elk.retentionDays"),
    ],
)
def test_a_component_argument_maps_back_to_the_stack_key_the_user_wrote(
    component: str, argument: str, stack_key: str
) -> None:
    assert stack_key_for(component, argument) == stack_key


def test_an_argument_that_no_stack_key_fills_is_reported_as_the_components_own() -> None:
    error = pulumi.InputPropertiesError(
        "invalid arguments for AwsGpuCluster 'eks': subnetIds: required",
        errors=[{"property_path": "subnetIds", "reason": "required"}],
    )
    assert component_problems(error) == ["AwsGpuCluster 'eks' argument subnetIds: required"]


def test_an_aks_team_group_argument_maps_back_to_the_namespace_that_wrote_it() -> None:
    data = with_change(
        VALID_AZURE,
        "serving.namespaces",
        [
            {"name": "search", "teamGroup": "bbbbbbbb-1111-4222-8333-444444444444"},
            {"name": "fraud", "teamGroup": "aaaaaaaa-1111-4222-8333-444444444444"},
        ],
    )
    config = validate_platform_config(data)
    # The component gets the groups sorted: [aaaa..., bbbb...].
    assert stack_key_for("AzureGpuCluster", "teamGroupObjectIds[0]", config) == "serving.namespaces[1].teamGroup"


def test_every_stack_key_in_the_mapping_table_is_a_key_of_the_stack_file() -> None:
    known = _known_keys()
    for component, pattern, template in STACK_KEYS:
        plain = re.sub(r"\\g<\w+>", "", template)
        names = [part for part in re.split(r"[.\[\]]", plain) if part and not part.isdigit()]
        unknown = [name for name in names if name not in known]
        assert not unknown, f"{component} {pattern} -> {template}: {unknown} are not stack keys"


# --- validate and preview agree, with the same key ------------------------------------------------------------

Mutation = Callable[[PlatformConfig], None]


def _set(path: str, value: Any) -> Mutation:
    """Set an attribute of the validated model, bypassing validation: the value reaches the components as is."""

    def mutate(config: PlatformConfig) -> None:
        *parents, last = path.split(".")
        node: Any = config
        for part in parents:
            node = node[int(part)] if part.isdigit() else getattr(node, part)
        setattr(node, last, value)

    return mutate


AGREEMENT_CASES = [
    pytest.param(
        AWS_WITH_ADMIN,
        "cluster.adminPrincipals",
        ["platform-admins"],
        _set("cluster.admin_principals", ["platform-admins"]),
        "cluster.adminPrincipals[0]",
        id="aws-admin-principal-not-an-arn",
    ),
    pytest.param(
        VALID_AZURE,
        "cluster.adminPrincipals",
        ["platform-admins"],
        _set("cluster.admin_principals", ["platform-admins"]),
        "cluster.adminPrincipals[0]",
        id="aks-admin-principal-not-a-guid",
    ),
    pytest.param(
        VALID_AZURE,
        "cluster.adminPrincipals",
        [],
        _set("cluster.admin_principals", []),
        "cluster.adminPrincipals",
        id="aks-without-admin-group",
    ),
    pytest.param(
        VALID_AZURE,
        "network.cidr",
        "172.16.0.0/16",
        _set("network.cidr", __import__("ipaddress").IPv4Network("172.16.0.0/16")),
        "network.cidr",
        id="aks-vnet-overlaps-service-cidr",
    ),
    pytest.param(
        VALID_AZURE,
        "network.cidr",
        "192.168.0.0/16",
        _set("network.cidr", __import__("ipaddress").IPv4Network("192.168.0.0/16")),
        "network.cidr",
        id="aks-vnet-overlaps-pod-cidr",
    ),
    pytest.param(
        AWS_WITH_ADMIN,
        "cluster.adminPrincipals",
        ["arn:aws:iam::210987654321:role/a", "arn:aws:iam::210987654321:role/a"],
        _set("cluster.admin_principals", ["arn:aws:iam::210987654321:role/a", "arn:aws:iam::210987654321:role/a"]),
        "cluster.adminPrincipals[1]",
        id="aws-admin-principal-twice",
    ),
]


@pytest.mark.parametrize(("base", "path", "value", "mutate", "stack_key"), AGREEMENT_CASES)
def test_validate_refuses_what_the_components_refuse_at_the_same_stack_key(
    base: dict[str, Any], path: str, value: Any, mutate: Mutation, stack_key: str, run: Any
) -> None:
    with pytest.raises(PlatformConfigError) as refused_by_validate:
        validate_platform_config(with_change(base, path, value))
    validate_keys = {problem.split(": ", 1)[0] for problem in refused_by_validate.value.problems}
    assert validate_keys == {f"mlplatform:platform.{stack_key}"}, refused_by_validate.value.problems

    config = validate_platform_config(base)
    mutate(config)
    with pytest.raises(PlatformConfigError) as refused_by_component:
        run(lambda: build_platform(config))
    component_keys = {problem.split(": ", 1)[0] for problem in refused_by_component.value.problems}
    assert f"mlplatform:platform.{stack_key}" in component_keys, (
        f"the component's refusal must name the stack key, not its argument: {refused_by_component.value.problems}"
    )
