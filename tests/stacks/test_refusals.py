"""Values that must be refused by `validate`, with the stack key the user wrote (issue 16, Build 1 and the list of
values that were accepted): each test is named after the behaviour it guards."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.load import validate_platform_config
from tests.stacks.test_config import VALID_AWS, VALID_AZURE, problems_of, with_change


def keys_of(data: dict[str, Any]) -> list[str]:
    """The stack keys the problems name, without the messages."""
    return [problem.split(": ", 1)[0].removeprefix("mlplatform:platform.") for problem in problems_of(data)]


# --- Names with newlines or shell metacharacters ---------------------------------------------------------------

UNSAFE_NAMES = ["team-a\n", "team-a\nrm -rf", "team;a", "team$(id)", "team`id`", "team|a", "team&a", "team a"]


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_a_serving_namespace_name_with_a_newline_or_shell_metacharacter_is_refused(name: str) -> None:
    data = with_change(VALID_AWS, "serving.namespaces.0.name", name)
    assert keys_of(data) == ["serving.namespaces[0].name"], f"{name!r} was accepted as a namespace"


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_a_gpu_pool_name_with_a_newline_or_shell_metacharacter_is_refused(name: str) -> None:
    data = with_change(VALID_AWS, "cluster.gpuPools.0.name", name)
    assert keys_of(data) == ["cluster.gpuPools[0].name"], f"{name!r} was accepted as a pool name"


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_a_bucket_name_with_a_newline_or_shell_metacharacter_is_refused(name: str) -> None:
    data = with_change(VALID_AWS, "storage", {"buckets": [{"name": name, "retentionDays": 30}], "modelsBucket": name})
    assert "storage.buckets[0].name" in keys_of(data), f"{name!r} was accepted as a bucket name"


@pytest.mark.parametrize("name", ["models\n", "models;rm", "models$(id)", "team/models\n"])
def test_a_repository_name_with_a_newline_or_shell_metacharacter_is_refused(name: str) -> None:
    data = with_change(VALID_AWS, "registry.repositories", [name])
    assert keys_of(data) == ["registry.repositories[0]"]


@pytest.mark.parametrize("field", ["dataOwner", "processingActivity"])
@pytest.mark.parametrize("value", ["ml-platform\n", "ml;platform", "D&T", "$(id)", "a" * 257, ""])
def test_a_governance_field_that_is_not_a_valid_tag_value_is_refused(field: str, value: str) -> None:
    data = with_change(VALID_AWS, f"governance.{field}", value)
    assert keys_of(data) == [f"governance.{field}"], f"{value!r} was accepted as governance.{field}"


def test_a_governance_value_with_spaces_and_the_tag_punctuation_is_accepted() -> None:
    validate_platform_config(with_change(VALID_AWS, "governance.dataOwner", "ML Platform team@example.com/eu"))


@pytest.mark.parametrize("group", ["ml-fraud\n", "ml fraud", "ml;fraud", "system:masters"])
def test_an_eks_team_group_that_is_not_a_kubernetes_group_name_is_refused(group: str) -> None:
    data = with_change(VALID_AWS, "serving.namespaces.0.teamGroup", group)
    assert keys_of(data) == ["serving.namespaces[0].teamGroup"]


# --- Tags ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["aws:cost-center", "AWS:team"])
def test_a_tag_key_in_the_reserved_aws_prefix_is_refused(key: str) -> None:
    problems = problems_of(with_change(VALID_AWS, "governance.tags", {key: "x"}))
    assert problems == [
        f"mlplatform:platform.governance.tags.{key}: the aws: prefix is reserved for AWS's own tags; AWS refuses it"
    ]


def test_a_tag_key_in_an_azure_reserved_prefix_is_refused() -> None:
    assert keys_of(with_change(VALID_AZURE, "governance.tags", {"microsoft-team": "x"})) == [
        "governance.tags.microsoft-team"
    ]


def test_an_aws_tag_key_over_128_characters_is_refused_and_azure_allows_512() -> None:
    key = "k" * 129
    assert keys_of(with_change(VALID_AWS, "governance.tags", {key: "x"})) == [f"governance.tags.{key}"]
    validate_platform_config(with_change(VALID_AZURE, "governance.tags", {key: "x"}))
    long_key = "k" * 513
    assert keys_of(with_change(VALID_AZURE, "governance.tags", {long_key: "x"})) == [f"governance.tags.{long_key}"]


@pytest.mark.parametrize("base", [VALID_AWS, VALID_AZURE], ids=["aws", "azure"])
def test_a_tag_value_over_256_characters_is_refused_on_both_clouds(base: dict[str, Any]) -> None:
    validate_platform_config(with_change(base, "governance.tags", {"team": "v" * 256}))
    assert keys_of(with_change(base, "governance.tags", {"team": "v" * 257})) == ["governance.tags.team"]


@pytest.mark.parametrize("value", ["D&T", "a\nb", "<script>", "50%"])
def test_a_tag_value_outside_the_aws_tag_charset_is_refused(value: str) -> None:
    assert keys_of(with_change(VALID_AWS, "governance.tags", {"team": value})) == ["governance.tags.team"]


def test_a_tag_the_platform_sets_cannot_be_overridden_by_governance_tags() -> None:
    assert keys_of(with_change(VALID_AWS, "governance.tags", {"environment": "prod"})) == [
        "governance.tags.environment"
    ]


def test_more_governance_tags_than_fit_beside_the_platform_tags_are_refused() -> None:
    validate_platform_config(with_change(VALID_AWS, "governance.tags", {f"t{i}": "x" for i in range(30)}))
    assert keys_of(with_change(VALID_AWS, "governance.tags", {f"t{i}": "x" for i in range(31)})) == ["governance.tags"]


# --- Network ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cidr", ["10.1.2.0/24", "172.16.0.1/32", "192.168.1.0/24", "100.64.0.0/16"])
def test_a_private_range_as_a_public_access_cidr_is_refused(cidr: str) -> None:
    data = with_change(VALID_AWS, "cluster.endpoint.publicAccessCidrs", [cidr])
    assert keys_of(data) == ["cluster.endpoint.publicAccessCidrs[0]"], f"{cidr} was accepted for a public endpoint"


@pytest.mark.parametrize(("cidr", "aks_range"), [("192.168.0.0/16", "pod"), ("172.16.0.0/16", "service")])
def test_a_vnet_overlapping_the_aks_pod_or_service_range_is_refused_at_network_cidr(cidr: str, aks_range: str) -> None:
    problems = problems_of(with_change(VALID_AZURE, "network.cidr", cidr))
    assert len(problems) == 1 and problems[0].startswith("mlplatform:platform.network.cidr: "), problems
    assert f"overlaps the AKS {aks_range} range" in problems[0]


# --- Strict booleans ----------------------------------------------------------------------------------------

BOOLEAN_KEYS = [
    "cluster.endpoint.publicAccess",
    "cluster.deployerAdminAccess",
    "registry.scanOnPush",
    "monitoring.enabled",
    "monitoring.grafana",
    "logging.elk.enabled",
    "protection.statefulResources",
    "deployment.createServiceLinkedRoles",
]


@pytest.mark.parametrize("key", BOOLEAN_KEYS)
@pytest.mark.parametrize("value", ["yes", "true", "on", 1, 0, "no"])
def test_a_string_or_number_for_a_boolean_is_refused(key: str, value: Any) -> None:
    data = with_change(VALID_AWS, key, value)
    problems = problems_of(data)
    assert any(problem.startswith(f"mlplatform:platform.{key}: ") for problem in problems), (
        f"{value!r} was taken as a boolean at {key}: {problems}"
    )


def test_a_quoted_yes_for_protection_says_what_a_boolean_is() -> None:
    assert problems_of(with_change(VALID_AWS, "protection.statefulResources", "yes")) == [
        "mlplatform:platform.protection.statefulResources: must be true or false (unquoted), not 'yes'"
    ]


# --- Taints (AWS review m2) --------------------------------------------------------------------------------


def _taint(key: str, value: str = "") -> dict[str, Any]:
    return with_change(
        VALID_AWS,
        "cluster.gpuPools",
        [{"name": "a10g", "instanceTypes": ["g5.xlarge"], "taints": [{"key": key, "value": value}]}],
    )


def test_a_taint_key_over_63_characters_is_refused() -> None:
    validate_platform_config(_taint("k" * 63))
    assert keys_of(_taint("k" * 64)) == ["cluster.gpuPools[0].taints[0].key"]


def test_a_taint_value_over_63_characters_is_refused() -> None:
    validate_platform_config(_taint("team", "v" * 63))
    assert keys_of(_taint("team", "v" * 64)) == ["cluster.gpuPools[0].taints[0].value"]


@pytest.mark.parametrize("value", ["a b", "a\n", "-a", "a;b"])
def test_a_taint_value_that_is_not_a_label_value_is_refused(value: str) -> None:
    assert keys_of(_taint("team", value)) == ["cluster.gpuPools[0].taints[0].value"]


# --- Principals that the cluster components refuse -----------------------------------------------------------


def test_an_admin_principal_listed_twice_is_refused_at_its_stack_key() -> None:
    arn = "arn:aws:iam::210987654321:role/platform-admins"
    assert keys_of(with_change(VALID_AWS, "cluster.adminPrincipals", [arn, arn])) == ["cluster.adminPrincipals[1]"]


def test_an_aks_cluster_without_an_admin_group_is_refused_at_admin_principals() -> None:
    assert keys_of(with_change(VALID_AZURE, "cluster.adminPrincipals", [])) == ["cluster.adminPrincipals"]


def test_an_empty_repository_list_is_refused_as_the_registry_component_does() -> None:
    assert keys_of(with_change(VALID_AWS, "registry.repositories", [])) == ["registry.repositories"]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("serving.ingressNamespace", "ingress-nginx\n"),
        ("serving.ingressNamespace", "ingress;nginx"),
        ("monitoring.alerting.slackChannel", "#ml-alerts\n"),
        ("monitoring.alerting.slackChannel", "#ml alerts"),
        ("monitoring.alerting.secretConfigKey", "alert$(id)"),
    ],
)
def test_other_names_with_a_newline_or_shell_metacharacter_are_refused(path: str, value: str) -> None:
    assert keys_of(with_change(VALID_AWS, path, value)) == [path]


@pytest.mark.parametrize("name", ["rg\nmore", "rg;rm", "rg.", "r" * 91])
def test_an_azure_resource_group_name_azure_refuses_is_refused(name: str) -> None:
    assert keys_of(with_change(VALID_AZURE, "target.resourceGroupName", name)) == ["target.resourceGroupName"]


def test_an_eks_pool_label_key_of_any_valid_length_is_accepted_now_that_no_autoscaler_tag_carries_it() -> None:
    # The cluster-autoscaler's node-template tags (128-character keys) are gone: Karpenter reads the labels from
    # its NodePool, so a label key is limited by Kubernetes alone.
    key = "example.com/" + "k" * 63
    data = with_change(
        VALID_AWS, "cluster.gpuPools", [{"name": "a10g", "instanceTypes": ["g5.xlarge"], "labels": {key: "x"}}]
    )
    assert validate_platform_config(data).cluster.gpu_pools[0].labels == {key: "x"}, "no tag limit applies now"
