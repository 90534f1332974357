"""Details the case tables do not reach: provider config, other token shapes, pod spec paths, failing closed."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from policies.rules import RULES
from policies.rules.base import Resource, canonical_type
from policies.rules.settings import (
    DEFAULT_MAX_LOG_RETENTION_DAYS,
    DEFAULT_MAX_RETENTION_DAYS,
    DEFAULT_MIN_LOG_RETENTION_DAYS,
    SYSTEM_NAMESPACES,
)
from stacks.config import ComplianceConfig
from tests.policies.cases import RECORD_TAGS, document
from tests.policies.cases_kubernetes import POD_SPEC, workload
from tests.policies.harness import UNKNOWN, Res, run_resource, run_stack


def test_aws_record_tags_may_come_from_the_providers_default_tags_json_string() -> None:
    provider = {"defaultTags": '{"tags": {"data-owner": "ml-platform", "processing-activity": "ropa-ml-0042"}}'}
    outcome = run_resource(
        "aws-data-store-processing-record-tags",
        "aws:s3/bucket:Bucket",
        {"tags": {"data-classification": "phi", "retention": "2190d"}},
        provider=provider,
    )
    assert outcome.passed, f"default_tags arrive as a JSON string in provider config; {outcome.describe()}"


def test_resource_tags_override_provider_default_tags() -> None:
    provider = {"defaultTags": '{"tags": {"data-classification": "secret"}}'}
    outcome = run_resource(
        "aws-data-store-processing-record-tags", "aws:ebs/volume:Volume", {"tags": RECORD_TAGS}, provider=provider
    )
    assert outcome.passed, outcome.describe()


def test_an_aws_provider_outside_the_allowed_regions_is_a_violation() -> None:
    outcome = run_resource("aws-region-allowed", "pulumi:providers:aws", {"region": "us-east-1"}, name="us")
    assert outcome.messages == [
        "AWS provider 'us' is in us-east-1, outside the allowed regions (eu-central-1, eu-west-1, eu-west-3, eu-north-1, "
        "eu-south-1, eu-south-2, eusc-de-east-1); use one of them."
    ], outcome.describe()


def test_an_aws_resource_without_a_known_region_is_unverifiable_never_a_pass() -> None:
    outcome = run_resource("aws-region-allowed", "aws:iam/role:Role", {"assumeRolePolicy": "{}"})
    assert outcome.advisory and not outcome.violations and outcome.not_applicable is None, (
        f"residency never fails open: a region that would come from the environment is unverifiable; {outcome.describe()}"
    )
    assert "set region on the aws.Provider" in outcome.advisory, outcome.advisory


def test_an_aws_provider_without_a_region_leaves_the_check_to_its_resources() -> None:
    outcome = run_resource("aws-region-allowed", "pulumi:providers:aws", {})
    assert outcome.not_applicable and not outcome.violations, outcome.describe()


def test_an_azure_provider_location_is_checked() -> None:
    outcome = run_resource("azure-location-allowed", "pulumi:providers:azure-native", {"location": "eastus"}, name="az")
    assert outcome.messages and outcome.messages[0].startswith("Azure provider 'az' is in eastus"), outcome.describe()


def test_global_only_azure_types_may_use_the_global_location() -> None:
    outcome = run_resource("azure-location-allowed", "azure-native:privatedns:PrivateZone", {"location": "global"})
    assert outcome.passed, outcome.describe()


def test_api_versioned_azure_tokens_are_checked_like_the_default_module() -> None:
    assert (
        canonical_type("azure-native:containerservice/v20250801:ManagedCluster")
        == "azure-native:containerservice:ManagedCluster"
    )
    outcome = run_resource(
        "azure-aks-cluster-private-api", "azure-native:containerservice/v20250801:ManagedCluster", {}
    )
    assert outcome.messages, f"a versioned token must not escape the rule; {outcome.describe()}"


@pytest.mark.parametrize(
    ("type_token", "props"),
    [
        (
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            {"cidrIpv4": "0.0.0.0/0", "fromPort": 22.0, "toPort": 22.0, "ipProtocol": "tcp"},
        ),
        (
            "aws:ec2/securityGroupRule:SecurityGroupRule",
            {"type": "ingress", "cidrBlocks": ["0.0.0.0/0"], "fromPort": 0.0, "toPort": 0.0, "protocol": "-1"},
        ),
    ],
)
def test_standalone_ingress_rules_from_the_internet_are_violations(type_token: str, props: dict[str, object]) -> None:
    outcome = run_resource("aws-ec2-security-group-no-public-ingress", type_token, props)
    assert outcome.messages and "admits 0.0.0.0/0" in outcome.messages[0], outcome.describe()


def test_egress_security_group_rules_are_not_ingress() -> None:
    props = {"type": "egress", "cidrBlocks": ["0.0.0.0/0"], "fromPort": 0.0, "toPort": 0.0, "protocol": "-1"}
    assert run_resource(
        "aws-ec2-security-group-no-public-ingress", "aws:ec2/securityGroupRule:SecurityGroupRule", props
    ).passed


@pytest.mark.parametrize(
    ("type_token", "props", "expect"),
    [
        (
            "aws:iam/role:Role",
            {"managedPolicyArns": ["arn:aws:iam::aws:policy/AdministratorAccess"]},
            "attaches AdministratorAccess",
        ),
        (
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            {"policyArn": "arn:aws:iam::aws:policy/IAMFullAccess"},
            "attaches IAMFullAccess",
        ),
        (
            "aws:iam/role:Role",
            {
                "inlinePolicies": [
                    {"name": "everything", "policy": document({"Effect": "Allow", "Action": "*", "Resource": "*"})}
                ]
            },
            "inline policy 'everything'",
        ),
        (
            "aws:iam/rolePolicy:RolePolicy",
            {"policy": document({"Effect": "Allow", "Action": ["*"], "Resource": ["*"]})},
            "allows Action '*'",
        ),
    ],
)
def test_admin_access_is_found_in_every_iam_shape(type_token: str, props: dict[str, object], expect: str) -> None:
    outcome = run_resource("aws-iam-policy-no-admin-access", type_token, props)
    assert any(expect in message for message in outcome.messages), outcome.describe()


def test_kubernetes_objects_take_the_providers_default_namespace() -> None:
    outcome = run_resource(
        "kubernetes-resource-namespace-set",
        "kubernetes:core/v1:ConfigMap",
        {"data": {}},
        provider={"namespace": "team-a"},
    )
    assert outcome.passed, outcome.describe()


def test_helm_charts_without_a_namespace_land_in_default() -> None:
    outcome = run_resource(
        "kubernetes-resource-namespace-set", "kubernetes:helm.sh/v4:Chart", {"chart": "x", "version": "1.0.0"}
    )
    assert outcome.messages and "lands in the 'default' namespace" in outcome.messages[0], outcome.describe()


def test_custom_resources_of_unknown_scope_without_a_namespace_are_advisory() -> None:
    outcome = run_resource("kubernetes-resource-namespace-set", "kubernetes:example.com/v1:Widget", {"spec": {}})
    assert outcome.advisory and "clusterScopedKinds" in outcome.advisory, outcome.describe()


@pytest.mark.parametrize(
    ("type_token", "props"),
    [
        ("kubernetes:core/v1:Pod", {"metadata": {"namespace": "team-a"}, "spec": copy.deepcopy(POD_SPEC)}),
        (
            "kubernetes:batch/v1:CronJob",
            {
                "metadata": {"namespace": "team-a"},
                "spec": {
                    "schedule": "0 * * * *",
                    "jobTemplate": {"spec": {"template": {"spec": copy.deepcopy(POD_SPEC)}}},
                },
            },
        ),
        ("kubernetes:batch/v1:Job", workload()),
        ("kubernetes:apps/v1:StatefulSet", workload()),
    ],
)
def test_every_workload_shape_is_checked_through_its_pod_template(type_token: str, props: dict[str, object]) -> None:
    assert run_resource("kubernetes-workload-no-privilege-escalation", type_token, props).passed
    broken = copy.deepcopy(props)
    spec = broken["spec"]
    if type_token.endswith("CronJob"):
        spec = spec["jobTemplate"]["spec"]["template"]["spec"]
    elif not type_token.endswith(":Pod"):
        spec = spec["template"]["spec"]
    spec["containers"][0]["securityContext"]["privileged"] = True
    outcome = run_resource("kubernetes-workload-no-privilege-escalation", type_token, broken)
    assert any("is privileged" in message for message in outcome.messages), outcome.describe()


def test_init_containers_are_checked_too() -> None:
    spec = copy.deepcopy(POD_SPEC)
    spec["initContainers"] = [
        {"name": "fetch-model", "image": "x", "securityContext": {"allowPrivilegeEscalation": True}}
    ]
    outcome = run_resource(
        "kubernetes-workload-no-privilege-escalation", "kubernetes:apps/v1:Deployment", workload(spec=spec)
    )
    assert outcome.messages == [
        "container 'fetch-model' of Deployment 'subject' may escalate privileges; set security_context.allow_privilege_escalation=False."
    ]


def test_node_agents_outside_the_system_namespaces_are_checked() -> None:
    spec = {"hostNetwork": True, "containers": [{"name": "agent", "image": "x"}]}
    outcome = run_resource(
        "kubernetes-workload-host-isolation", "kubernetes:apps/v1:DaemonSet", workload("team-a", spec)
    )
    assert outcome.messages, "only DaemonSets in systemNamespaces are exempt"
    assert "kube-system" in SYSTEM_NAMESPACES.default


def test_an_unexpected_property_shape_fails_closed_with_an_explanation() -> None:
    outcome = run_resource(
        "aws-eks-cluster-control-plane-logging", "aws:eks/cluster:Cluster", {"enabledClusterLogTypes": 42}
    )
    assert outcome.violations, f"a shape the rule does not understand must not pass; {outcome.describe()}"


def test_a_rule_that_raises_reports_a_violation_instead_of_crashing_the_analyzer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rule = RULES["aws-ecr-repository-immutable-tags"]

    def explode(resource: Resource, config: dict[str, object]) -> list[str]:
        raise TypeError("boom")

    monkeypatch.setitem(RULES, rule.name, dataclasses.replace(rule, check=explode))
    outcome = run_resource(rule.name, "aws:ecr/repository:Repository", {"imageTagMutability": "IMMUTABLE"})
    assert outcome.messages and "could not evaluate 'subject' (TypeError: boom)" in outcome.messages[0], (
        outcome.describe()
    )


def test_stack_rules_join_resources_through_literal_names_too() -> None:
    resources = [
        Res("aws:s3/bucket:Bucket", "data", {"bucket": "acme-data", "tags": RECORD_TAGS}),
        Res(
            "aws:s3/bucketVersioning:BucketVersioning",
            "data-versioning",
            {"bucket": "acme-data", "versioningConfiguration": {"status": "Enabled"}},
        ),
    ]
    assert run_stack("aws-s3-bucket-versioning-enabled", resources).passed


def test_unknown_join_targets_stay_joined_through_property_dependencies() -> None:
    resources = [
        Res("aws:s3/bucket:Bucket", "data", {"tags": RECORD_TAGS}),
        Res(
            "aws:s3/bucketVersioning:BucketVersioning",
            "data-versioning",
            {"bucket": UNKNOWN, "versioningConfiguration": {"status": "Enabled"}},
            {"bucket": ["data"]},
        ),
    ]
    assert run_stack("aws-s3-bucket-versioning-enabled", resources).passed, (
        "the engine records the dependency even in preview"
    )


def test_policy_defaults_match_the_stack_configuration_defaults() -> None:
    compliance = ComplianceConfig()
    assert compliance.max_retention_days == DEFAULT_MAX_RETENTION_DAYS, (
        "policy and config retention ceilings must agree"
    )
    assert compliance.min_log_retention_days == DEFAULT_MIN_LOG_RETENTION_DAYS
    assert compliance.max_log_retention_days == DEFAULT_MAX_LOG_RETENTION_DAYS
    assert RULES["aws-region-allowed"].config({})["allowedRegions"] == compliance.allowed_regions
    assert RULES["azure-location-allowed"].config({})["allowedLocations"] == compliance.allowed_locations
