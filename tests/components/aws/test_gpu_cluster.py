"""AwsGpuCluster: an encrypted, private, audited EKS cluster whose GPU node groups follow the GPU contract."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components._common import gpu, pools
from components.aws import AwsGpuCluster, AwsGpuClusterArgs
from components.aws.gpu_cluster import (
    AccessEntryPlan,
    access_entry_plans,
    bounded_name,
    gpu_ami_type,
    instance_architecture,
    kubeconfig_document,
    kubernetes_architecture,
    storage_class_contract,
)
from stacks import synth
from stacks.synth import OFFLINE_DEPLOYER_ROLE_ARN, RecordingMonitor, run_program

from ._support import SUBNETS, ZONE_SUBNETS, error_paths, nothing_registered, policy

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
ADMIN = "arn:aws:iam::123456789012:role/platform-admins"


def _cluster(run, **overrides: Any) -> RecordingMonitor:
    args: AwsGpuClusterArgs = {
        "subnet_ids": SUBNETS,
        "node_subnet_ids_by_zone": ZONE_SUBNETS,
        "cluster_name": "ml-test",
        # One warm node: the node group tests need a group (a pool with minSize 0 has none).
        "gpu_node_pools": [{"name": "a10g", "instance_types": ["g5.xlarge", "g5.2xlarge"], "min_size": 1}],
        **overrides,  # type: ignore[typeddict-item]
    }
    return run(lambda: AwsGpuCluster("gpu", args))


def _invalid(recorder: RecordingMonitor, **overrides: Any) -> list[str]:
    args = {"subnet_ids": SUBNETS, "node_subnet_ids_by_zone": ZONE_SUBNETS, **overrides}
    with pytest.raises(pulumi.InputPropertiesError) as error:
        run_program(lambda: AwsGpuCluster("gpu", args))  # type: ignore[arg-type]
    assert nothing_registered(recorder), "validation must fail before any resource, the component included, exists"
    return error_paths(error.value)


# --- Control plane --------------------------------------------------------------------------------------


def test_kubernetes_secrets_are_envelope_encrypted_with_a_rotating_customer_managed_key(run) -> None:
    recorder = _cluster(run)
    cluster = recorder.one("aws:eks/cluster:Cluster")
    key = recorder.one("aws:kms/key:Key")
    assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"], "HIPAA-ENC-EKS-SECRETS"
    assert cluster.property_dependencies["encryptionConfig"] == [key.urn], "the cluster uses its own key"
    assert key.inputs["enableKeyRotation"] is True, "yearly rotation (HIPAA-ENC-KMS-ROTATION)"
    assert key.inputs["deletionWindowInDays"] == 30, "a mistaken key deletion stays cancellable for 30 days"
    assert key.inputs["bypassPolicyLockoutSafetyCheck"] is False
    sids = {item.get("Sid") for item in policy(key.inputs)["Statement"]}
    assert {"EnableIamPolicies", "AllowCloudWatchLogs", "AllowAutoScalingToUseTheKeyForVolumes"} <= sids, (
        "an explicit key policy that cannot lock the account out and lets Auto Scaling launch encrypted nodes"
    )


def test_the_api_endpoint_is_private_by_default(run) -> None:
    vpc = _cluster(run).one("aws:eks/cluster:Cluster").inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is False, (
        "AWS defaults to public; absent counts as public (HIPAA-NET-EKS-ENDPOINT)"
    )
    assert "publicAccessCidrs" not in vpc


def test_a_public_endpoint_is_limited_to_the_given_cidrs(run) -> None:
    vpc = (
        _cluster(run, endpoint_public_access=True, public_access_cidrs=["203.0.113.10/32"])
        .one("aws:eks/cluster:Cluster")
        .inputs["vpcConfig"]
    )
    assert vpc["endpointPublicAccess"] is True and vpc["endpointPrivateAccess"] is True
    assert vpc["publicAccessCidrs"] == ["203.0.113.10/32"], "only the listed networks reach a public API"


def test_control_plane_audit_logs_go_to_an_encrypted_log_group_created_before_the_cluster(run) -> None:
    recorder = _cluster(
        run, control_plane_log_types=["api", "audit", "authenticator", "controllerManager", "scheduler"]
    )
    cluster = recorder.one("aws:eks/cluster:Cluster")
    log_group = recorder.one("aws:cloudwatch/logGroup:LogGroup")
    key = recorder.one("aws:kms/key:Key")
    assert cluster.inputs["enabledClusterLogTypes"] == [
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    ]
    assert log_group.inputs["name"] == "/aws/eks/ml-test/cluster", "the name EKS writes to"
    assert log_group.urn in cluster.dependencies, (
        "created first, or EKS creates an unencrypted log group without retention that Pulumi then cannot adopt"
    )
    assert log_group.property_dependencies["kmsKeyId"] == [key.urn], "HIPAA-ENC-LOGS-KMS"
    assert log_group.inputs["retentionInDays"] == 365, "GDPR-RET-LOGS: logs expire"


def test_access_goes_through_access_entries_without_an_implicit_creator_admin(run) -> None:
    recorder = _cluster(run, admin_principal_arns=[ADMIN])
    access = recorder.one("aws:eks/cluster:Cluster").inputs["accessConfig"]
    assert access == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}, (
        "no invisible admin: every administrator is an access entry someone can review (HIPAA-AC-EKS-ACCESS)"
    )
    entry = _principal_entries(recorder)[0]
    association = recorder.one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert entry.inputs["principalArn"] == ADMIN and entry.inputs["type"] == "STANDARD"
    assert association.inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert association.inputs["accessScope"] == {"type": "cluster"}
    assert entry.urn in association.dependencies, "the policy is associated with an existing entry"


def test_the_deployer_gets_an_explicit_access_entry_only_when_asked(run) -> None:
    assert _principal_entries(_cluster(run)) == [], "no access entry by default"


def test_the_deployer_access_entry_names_the_iam_role_behind_the_session(run) -> None:
    recorder = _cluster(run, grant_deployer_admin=True)
    entry = recorder.one("aws:eks/accessEntry:AccessEntry", "gpu-admin-deployer")
    assert entry.inputs["principalArn"] == OFFLINE_DEPLOYER_ROLE_ARN, (
        "the issuer of the caller's assumed-role session, as access entries take IAM roles, not STS sessions"
    )


# --- Access entries: admins, the deployer and teams ------------------------------------------------------

ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"


def _principal_entries(recorder: RecordingMonitor) -> list[Any]:
    """The access entries of people and deployers (STANDARD), not the Karpenter node role's EC2_LINUX entry."""
    return [entry for entry in recorder.by_type(ACCESS_ENTRY) if entry.inputs["type"] == "STANDARD"]


ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
CI_ROLE = "arn:aws:iam::123456789012:role/ci-runner"
OPERATORS = "arn:aws:iam::123456789012:role/operators"
TEAM_A = "arn:aws:iam::123456789012:role/team-a"
TEAM_B = "arn:aws:iam::123456789012:role/team-b"


def _entries_by_principal(recorder: RecordingMonitor) -> dict[str, list[Any]]:
    entries: dict[str, list[Any]] = {}
    for entry in _principal_entries(recorder):
        entries.setdefault(entry.inputs["principalArn"], []).append(entry)
    return entries


def _admin_principals(recorder: RecordingMonitor) -> list[str]:
    return sorted(association.inputs["principalArn"] for association in recorder.by_type(ASSOCIATION))


def test_every_principal_has_exactly_one_access_entry_whatever_its_roles(run) -> None:
    recorder = _cluster(
        run,
        admin_principal_arns=[ADMIN, OPERATORS],
        deployer_principal_arn=OPERATORS,
        team_access=[
            {"principal_arn": TEAM_A, "kubernetes_groups": ["team-a-editors"]},
            {"principal_arn": ADMIN, "kubernetes_groups": ["platform"]},
            {"principal_arn": TEAM_A, "kubernetes_groups": ["team-a-viewers"]},
            {"principal_arn": TEAM_B, "kubernetes_groups": ["team-b-editors"]},
        ],
    )
    counts = {principal: len(entries) for principal, entries in _entries_by_principal(recorder).items()}
    assert counts == {ADMIN: 1, OPERATORS: 1, TEAM_A: 1, TEAM_B: 1}, (
        "EKS allows one access entry per principal; a second one fails with 409 ResourceInUseException"
    )
    assert _admin_principals(recorder) == sorted([ADMIN, OPERATORS]), "one admin association per admin principal"


def test_an_explicit_deployer_gets_cluster_admin_under_the_deployer_entry_name(run) -> None:
    recorder = _cluster(run, admin_principal_arns=[ADMIN], deployer_principal_arn=CI_ROLE)
    entry = recorder.one(ACCESS_ENTRY, "gpu-admin-deployer")
    association = recorder.one(ASSOCIATION, "gpu-admin-deployer")
    assert entry.inputs["principalArn"] == CI_ROLE, "the reviewed ARN from the stack, not whoever runs Pulumi"
    assert association.inputs["accessScope"] == {"type": "cluster"}
    assert association.inputs["policyArn"].endswith("/AmazonEKSClusterAdminPolicy"), (
        "the deployer installs cluster-wide objects (CRDs, namespaces, ClusterRoles)"
    )
    assert entry.urn in association.dependencies


def test_a_deployer_that_is_also_an_admin_gets_one_entry_and_one_association(run) -> None:
    recorder = _cluster(run, admin_principal_arns=[ADMIN], deployer_principal_arn=ADMIN)
    assert [entry.name for entry in _principal_entries(recorder)] == ["gpu-admin-platform-admins"], (
        "the admin's existing entry serves the deployer too; a second entry for the ARN would fail with 409"
    )
    assert [association.name for association in recorder.by_type(ASSOCIATION)] == ["gpu-admin-platform-admins"]


def test_a_caller_that_is_already_an_admin_gets_no_second_entry(run) -> None:
    recorder = _cluster(run, admin_principal_arns=[OFFLINE_DEPLOYER_ROLE_ARN], grant_deployer_admin=True)
    assert [entry.inputs["principalArn"] for entry in _principal_entries(recorder)] == [OFFLINE_DEPLOYER_ROLE_ARN], (
        "the caller is resolved at program time and compared with the admins (review B4)"
    )
    assert len(recorder.by_type(ASSOCIATION)) == 1


def test_team_entries_carry_their_kubernetes_groups_and_no_access_policy(run) -> None:
    recorder = _cluster(
        run,
        admin_principal_arns=[ADMIN],
        team_access=[{"principal_arn": TEAM_A, "kubernetes_groups": ["team-a-editors", "team-a-viewers"]}],
    )
    entry = recorder.one(ACCESS_ENTRY, "gpu-team-team-a")
    assert entry.inputs["principalArn"] == TEAM_A and entry.inputs["type"] == "STANDARD"
    assert sorted(entry.inputs["kubernetesGroups"]) == ["team-a-editors", "team-a-viewers"], (
        "the RoleBindings in the team's namespaces name these groups; without them the bindings match nobody"
    )
    assert TEAM_A not in _admin_principals(recorder), "a team is authorized by its RoleBindings only, never by EKS"
    assert "kubernetesGroups" not in recorder.one(ACCESS_ENTRY, "gpu-admin-platform-admins").inputs, (
        "admin entries stay as they were, so existing stacks see no change"
    )


def test_teams_sharing_a_principal_share_one_entry_with_every_group(run) -> None:
    recorder = _cluster(
        run,
        team_access=[
            {"principal_arn": TEAM_A, "kubernetes_groups": ["serving-editors"]},
            {"principal_arn": TEAM_A, "kubernetes_groups": ["training-editors", "serving-editors"]},
        ],
    )
    entry = _principal_entries(recorder)[0]
    assert sorted(entry.inputs["kubernetesGroups"]) == ["serving-editors", "training-editors"], (
        "one entry per principal, carrying the union of its teams' groups"
    )


def test_an_admin_or_deployer_in_a_team_keeps_admin_access_and_gains_the_groups(run) -> None:
    recorder = _cluster(
        run,
        admin_principal_arns=[ADMIN],
        deployer_principal_arn=CI_ROLE,
        team_access=[
            {"principal_arn": ADMIN, "kubernetes_groups": ["platform"]},
            {"principal_arn": CI_ROLE, "kubernetes_groups": ["deployers"]},
        ],
    )
    assert len(_principal_entries(recorder)) == 2
    assert recorder.one(ACCESS_ENTRY, "gpu-admin-platform-admins").inputs["kubernetesGroups"] == ["platform"]
    assert recorder.one(ACCESS_ENTRY, "gpu-admin-deployer").inputs["kubernetesGroups"] == ["deployers"]
    assert _admin_principals(recorder) == sorted([ADMIN, CI_ROLE]), "joining a team takes no admin rights away"


def test_a_principal_moving_between_admin_and_team_keeps_its_access_entry(run) -> None:
    recorder = _cluster(
        run,
        admin_principal_arns=[ADMIN],
        team_access=[{"principal_arn": TEAM_A, "kubernetes_groups": ["team-a-editors"]}],
    )
    aliases = {
        entry.name: [alias.spec.name for alias in entry.request.aliases] for entry in _principal_entries(recorder)
    }
    assert aliases == {
        "gpu-admin-platform-admins": ["gpu-team-platform-admins"],
        "gpu-team-team-a": ["gpu-admin-team-a"],
    }, "a new name would create the second entry before deleting the first, which EKS refuses with 409"


def test_the_pure_access_plan_folds_roles_into_one_entry_per_principal() -> None:
    plans = access_entry_plans([ADMIN], CI_ROLE, [(TEAM_A, ["b", "a"]), (CI_ROLE, ["x"]), (TEAM_A, ["a"])])
    assert plans == [
        AccessEntryPlan("admin-platform-admins", ADMIN, True, ()),
        AccessEntryPlan("admin-deployer", CI_ROLE, True, ("x",)),
        AccessEntryPlan("team-team-a", TEAM_A, False, ("a", "b")),
    ]
    assert access_entry_plans([ADMIN], ADMIN, []) == [AccessEntryPlan("admin-platform-admins", ADMIN, True, ())]


def test_a_caller_that_is_no_iam_role_or_user_is_rejected_naming_grant_deployer_admin(recorder, monkeypatch) -> None:
    root = {"accountId": "123456789012", "arn": "arn:aws:iam::123456789012:root", "userId": "123456789012"}
    monkeypatch.setitem(synth._CALL_RESULTS, "aws:index/getCallerIdentity:getCallerIdentity", lambda _: root)
    with pytest.raises(pulumi.InputPropertiesError) as error:
        run_program(
            lambda: AwsGpuCluster(
                "gpu", {"subnet_ids": SUBNETS, "node_subnet_ids_by_zone": ZONE_SUBNETS, "grant_deployer_admin": True}
            )
        )
    assert error_paths(error.value) == ["grantDeployerAdmin"], "the account root cannot own an access entry"
    assert "deployerPrincipalArn" in str(error.value), "the error says what to set instead"
    assert recorder.by_type(ACCESS_ENTRY) == []


# --- API access from a connected network ------------------------------------------------------------------

INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def test_api_access_rules_allow_exactly_443_from_exactly_the_declared_sources_onto_the_cluster_security_group(
    run,
) -> None:
    def program() -> None:
        runner = aws.ec2.SecurityGroup("ci-runner", vpc_id="vpc-1")
        AwsGpuCluster(
            "gpu",
            {
                "subnet_ids": SUBNETS,
                "node_subnet_ids_by_zone": ZONE_SUBNETS,
                "api_access_cidrs": ["10.20.0.0/16", "100.64.8.0/22"],
                "api_access_security_group_ids": ["sg-0123456789abcdef0", runner.id],
            },
        )

    recorder = run(program)
    cluster = recorder.one("aws:eks/cluster:Cluster")
    rules = recorder.by_type(INGRESS_RULE)
    sources = sorted(rule.inputs.get("cidrIpv4") or rule.inputs["referencedSecurityGroupId"] for rule in rules)
    assert sources == ["10.20.0.0/16", "100.64.8.0/22", "ci-runner-id", "sg-0123456789abcdef0"], (
        "one rule per declared source, and no other"
    )
    for rule in rules:
        assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 443, 443), (
            f"{rule.name}: the API server's port only, nothing else on the nodes' security group"
        )
        assert rule.inputs["securityGroupId"] == "sg-gpu-cluster", f"{rule.name}: the EKS-managed cluster group"
        assert rule.property_dependencies["securityGroupId"] == [cluster.urn]
        assert rule.inputs["description"], f"{rule.name}: a reviewer sees why the port is open"
    names = {rule.name for rule in rules}
    assert {"gpu-api-from-10-20-0-0-16", "gpu-api-from-sg-0123456789abcdef0", "gpu-api-from-sg-1"} <= names, (
        "rules are named by their source where it is known, so reordering the list replaces nothing"
    )


def test_api_access_rules_are_api_prerequisites(run) -> None:
    def program() -> None:
        cluster = AwsGpuCluster(
            "gpu",
            {"subnet_ids": SUBNETS, "node_subnet_ids_by_zone": ZONE_SUBNETS, "api_access_cidrs": ["10.20.0.0/16"]},
        )
        aws.ssm.Parameter(
            "kubeconfig",
            type="SecureString",
            value=cluster.kubeconfig,
            opts=pulumi.ResourceOptions(depends_on=cluster.api_prerequisites),
        )

    recorder = run(program)
    rule = recorder.one(INGRESS_RULE)
    assert rule.urn in recorder.one("aws:ssm/parameter:Parameter").dependencies, (
        "a Kubernetes provider in the same program must not call the private API before its port is open"
    )


def test_no_api_access_rule_exists_unless_sources_are_declared(run) -> None:
    assert _cluster(run).by_type(INGRESS_RULE) == [], "the cluster security group admits only its own members"


# --- Fresh-account bootstrap ------------------------------------------------------------------------------

SERVICE_LINKED_ROLE = "aws:iam/serviceLinkedRole:ServiceLinkedRole"


def test_the_autoscaling_service_linked_role_is_created_before_the_key_when_asked(run) -> None:
    recorder = _cluster(run, create_autoscaling_service_linked_role=True)
    role = recorder.one(SERVICE_LINKED_ROLE)
    key = recorder.one("aws:kms/key:Key")
    assert role.inputs["awsServiceName"] == "autoscaling.amazonaws.com"
    assert role.urn in key.dependencies, (
        "KMS rejects a key policy naming AWSServiceRoleForAutoScaling before the role exists (review B3)"
    )
    assert role.retain_on_delete, "the role is account-wide; other Auto Scaling groups keep using it"


def test_the_autoscaling_service_linked_role_is_opt_in(run) -> None:
    assert _cluster(run).by_type(SERVICE_LINKED_ROLE) == [], "creating it fails where it already exists"


# --- Validation of access inputs --------------------------------------------------------------------------


def test_a_fixed_deployer_and_the_caller_fallback_exclude_each_other(recorder) -> None:
    paths = _invalid(recorder, deployer_principal_arn=CI_ROLE, grant_deployer_admin=True)
    assert paths == ["deployerPrincipalArn"], "one deployer: the reviewed ARN or, for dev, whoever runs Pulumi"


def test_a_deployer_that_is_no_iam_principal_arn_is_rejected(recorder) -> None:
    assert _invalid(recorder, deployer_principal_arn="arn:aws:sts::123456789012:assumed-role/ci/session") == [
        "deployerPrincipalArn"
    ], "an STS session cannot own an access entry; its role can"


def test_team_access_with_reserved_empty_or_missing_groups_or_a_bad_arn_is_rejected(recorder) -> None:
    paths = _invalid(
        recorder,
        team_access=[
            {"principal_arn": TEAM_A, "kubernetes_groups": ["system:masters", ""]},
            {"principal_arn": TEAM_B, "kubernetes_groups": []},
            {"principal_arn": "team-c", "kubernetes_groups": ["editors"]},
        ],
    )
    assert paths == [
        "teamAccess[0].kubernetesGroups[0]",
        "teamAccess[0].kubernetesGroups[1]",
        "teamAccess[1].kubernetesGroups",
        "teamAccess[2].principalArn",
    ], "EKS refuses groups starting with system:, and an entry without groups grants nothing"


def test_distinct_principals_with_the_same_entry_name_are_rejected(recorder) -> None:
    other_admins = "arn:aws:iam::210987654321:role/platform-admins"
    paths = _invalid(
        recorder,
        admin_principal_arns=[ADMIN],
        team_access=[{"principal_arn": other_admins, "kubernetes_groups": ["editors"]}],
    )
    assert paths == ["teamAccess[0].principalArn"], "entry names derive from the role name and must not collide"


@pytest.mark.parametrize(
    ("cidrs", "reason"),
    [
        (["0.0.0.0/0"], "the whole internet"),
        (["203.0.113.0/24"], "a public range the private endpoint never sees"),
        (["10.0.0.1/16"], "host bits set: not a network"),
        (["fd00::/8"], "IPv6: the cluster is IPv4"),
        (["10.20.0.0/16", "10.20.0.0/16"], "a duplicate would be a second identical rule"),
    ],
)
def test_api_access_cidrs_must_be_distinct_private_ipv4_networks(recorder, cidrs: list[str], reason: str) -> None:
    paths = _invalid(recorder, api_access_cidrs=cidrs)
    assert paths == [f"apiAccessCidrs[{len(cidrs) - 1}]"], reason


def test_api_access_security_groups_must_be_security_group_ids(recorder) -> None:
    paths = _invalid(recorder, api_access_security_group_ids=["sg-0123456789abcdef0", "vpc-0123456789abcdef0"])
    assert paths == ["apiAccessSecurityGroupIds[1]"]


def test_irsa_has_an_oidc_provider_for_the_sts_audience(run) -> None:
    recorder = _cluster(run)
    provider = recorder.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert provider.inputs["url"].startswith("https://oidc.eks.")
    outputs = recorder.one("mlplatform:index:AwsGpuCluster").outputs
    assert outputs["oidcProviderArn"].endswith(provider.inputs["url"].removeprefix("https://"))


def test_managed_add_ons_are_installed_with_their_own_irsa_roles(run) -> None:
    recorder = _cluster(run)
    addons = {addon.inputs["addonName"]: addon for addon in recorder.by_type("aws:eks/addon:Addon")}
    assert set(addons) == {"vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver", "eks-pod-identity-agent"}
    assert json.loads(addons["vpc-cni"].inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}, (
        "without network policy enforcement the serving namespaces' default-deny policies do nothing"
    )
    roles = {role.name: role for role in recorder.by_type("aws:iam/role:Role")}
    for addon, service_account in (("vpc-cni", "aws-node"), ("aws-ebs-csi-driver", "ebs-csi-controller-sa")):
        role_arn = addons[addon].inputs["serviceAccountRoleArn"]
        role = next(role for role in roles.values() if role_arn.endswith(f"/{role.name}"))
        condition = policy(role.inputs, "assumeRolePolicy")["Statement"][0]["Condition"]["StringEquals"]
        assert f"system:serviceaccount:kube-system:{service_account}" in condition.values(), (
            f"{addon} gets its own role instead of borrowing the node role"
        )
    node_policies = [
        attachment.inputs["policyArn"]
        for attachment in recorder.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if attachment.name.startswith("gpu-node-")
    ]
    assert not [arn for arn in node_policies if "CNI" in arn], "pods must not inherit ENI permissions from the node"


def test_add_ons_with_deployments_wait_for_the_platform_nodes_and_nodes_wait_for_the_cni(run) -> None:
    recorder = _cluster(run)
    addons = {addon.inputs["addonName"]: addon for addon in recorder.by_type("aws:eks/addon:Addon")}
    for zone in ZONE_SUBNETS:
        platform = recorder.one(NODE_GROUP, f"gpu-platform-{zone}")
        for addon in ("coredns", "aws-ebs-csi-driver"):
            assert platform.urn in addons[addon].dependencies, f"{addon} would stay degraded without nodes to run on"
    for group in recorder.by_type(NODE_GROUP):
        assert addons["vpc-cni"].urn in group.dependencies, f"{group.name}: nodes are NotReady without the CNI"


def test_the_ebs_csi_driver_may_grant_the_cluster_key_to_volumes(run) -> None:
    recorder = _cluster(run)
    key_policy = policy(recorder.one("aws:iam/rolePolicy:RolePolicy", "gpu-ebs-csi-key").inputs)
    key = recorder.one("aws:kms/key:Key")
    grant = key_policy["Statement"][0]
    assert grant["Action"] == ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
    assert grant["Resource"].endswith(f"key/{key.name}"), "only the cluster key"
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_kubeconfig_authenticates_with_aws_eks_get_token(run) -> None:
    recorder = _cluster(run)
    kubeconfig = json.loads(recorder.one("mlplatform:index:AwsGpuCluster").outputs["kubeconfig"])
    user = kubeconfig["users"][0]["user"]
    assert "token" not in user, "no long-lived credential is written into the kubeconfig"
    assert user["exec"]["command"] == "aws"
    assert user["exec"]["args"] == ["eks", "get-token", "--cluster-name", "ml-test", "--region", "eu-central-1"]
    assert kubeconfig["clusters"][0]["cluster"]["server"].startswith("https://")
    assert kubeconfig_document("c", "https://x", "Q0E=", "eu-west-1")["current-context"] == "c"


def test_the_kubeconfig_output_is_a_secret(run) -> None:
    def program() -> None:
        cluster = AwsGpuCluster("gpu", {"subnet_ids": SUBNETS, "node_subnet_ids_by_zone": ZONE_SUBNETS})
        aws.ssm.Parameter("kubeconfig", type="SecureString", value=cluster.kubeconfig)

    recorder = run(program)
    assert recorder.one("aws:ssm/parameter:Parameter").secret_inputs == ["value"], (
        "the kubeconfig must stay a secret wherever it flows (state, exports, other resources)"
    )


def test_the_api_prerequisites_are_admin_access_platform_nodes_and_add_ons_not_the_gpu_node_groups(run) -> None:
    """A provider that depends on them can take workloads, and the Kubernetes layer does not wait for GPU nodes."""

    def program() -> None:
        cluster = AwsGpuCluster(
            "gpu",
            {
                "subnet_ids": SUBNETS,
                "node_subnet_ids_by_zone": ZONE_SUBNETS,
                "admin_principal_arns": [ADMIN],
                "gpu_node_pools": [{"name": "a10g", "instance_types": ["g5.xlarge"], "min_size": 1}],
            },
        )
        aws.ssm.Parameter(
            "kubeconfig",
            type="SecureString",
            value=cluster.kubeconfig,
            opts=pulumi.ResourceOptions(depends_on=cluster.api_prerequisites),
        )

    recorder = run(program)
    parameter = recorder.one("aws:ssm/parameter:Parameter")
    assert set(parameter.property_dependencies["value"]) == {recorder.one("aws:eks/cluster:Cluster").urn}, (
        "the kubeconfig itself depends on the cluster only, so it stays known in a preview"
    )
    waits = set(parameter.dependencies)
    names = {recorder.by_urn(urn).name for urn in waits}
    addons = {recorder.by_urn(urn).inputs["addonName"] for urn in waits if "eks/addon:Addon" in urn}
    assert addons == {"vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns", "aws-ebs-csi-driver"}, (
        "pods need networking, DNS and volumes before the first object is applied"
    )
    assert {f"gpu-platform-{zone}" for zone in ZONE_SUBNETS} <= names, "the layer's pods run on the platform nodes"
    associations = {r.urn for r in recorder.by_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")}
    assert associations and associations <= waits, "the admins' cluster-admin access comes first"
    assert "gpu-gpu-a10g" not in names, "the GPU node groups keep nothing waiting"


def test_the_storage_class_contract_is_encrypted_gp3_under_the_cluster_key(run) -> None:
    recorder = _cluster(run)
    key = recorder.one("aws:kms/key:Key")
    contract = recorder.one("mlplatform:index:AwsGpuCluster").outputs["storageClass"]
    assert contract == storage_class_contract(f"arn:aws:kms:eu-central-1:123456789012:key/{key.name}")
    assert contract["provisioner"] == "ebs.csi.aws.com"
    assert contract["parameters"] == {
        "type": "gp3",
        "encrypted": "true",
        "kmsKeyId": contract["parameters"]["kmsKeyId"],
    }
    assert contract["parameters"]["kmsKeyId"].endswith(key.name), "HIPAA-ENC-K8S-STORAGECLASS: the customer-managed key"


def test_protect_retains_the_key_and_log_group_and_turns_on_deletion_protection(run) -> None:
    recorder = _cluster(run, protect=True)
    for registration in (recorder.one("aws:kms/key:Key"), recorder.one("aws:cloudwatch/logGroup:LogGroup")):
        assert registration.protect and registration.retain_on_delete, (
            f"{registration.name} holds secrets or audit data"
        )
    assert recorder.one("aws:eks/cluster:Cluster").inputs["deletionProtection"] is True
    assert recorder.one("aws:cloudwatch/logGroup:LogGroup").inputs["deletionProtectionEnabled"] is True


# --- Node groups ----------------------------------------------------------------------------------------


def test_gpu_node_groups_carry_the_nvidia_taint_and_the_contract_labels(run) -> None:
    group = _cluster(run).one(NODE_GROUP, "gpu-gpu-a10g")
    assert group.inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}], (
        "only pods tolerating the GPU taint may land on expensive GPU nodes"
    )
    assert group.inputs["labels"] == gpu.gpu_pool_labels("a10g", "nvidia-a10g"), "labels the GPU agents select on"


def test_extra_taints_and_labels_are_added_to_the_contract(run) -> None:
    pool = {
        "name": "h100",
        "instance_types": ["p5.48xlarge"],
        "min_size": 1,
        "taints": [{"key": "workload", "value": "training", "effect": "NoExecute"}],
        "labels": {"team": "research"},
    }
    group = _cluster(run, gpu_node_pools=[pool]).one(NODE_GROUP, "gpu-gpu-h100")
    assert {"key": "workload", "value": "training", "effect": "NO_EXECUTE"} in group.inputs["taints"]
    assert {"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"} in group.inputs["taints"]
    assert group.inputs["labels"]["team"] == "research"
    assert group.inputs["labels"][gpu.GPU_PRESENT_LABEL] == "true"


@pytest.mark.parametrize(
    ("os_family", "instance_type", "ami_type"),
    [
        ("al2023", "g5.xlarge", "AL2023_x86_64_NVIDIA"),
        ("al2023", "g5g.xlarge", "AL2023_ARM_64_NVIDIA"),
        ("bottlerocket", "g6.xlarge", "BOTTLEROCKET_x86_64_NVIDIA"),
        ("bottlerocket", "g5g.2xlarge", "BOTTLEROCKET_ARM_64_NVIDIA"),
    ],
)
def test_gpu_pools_use_the_nvidia_ami_of_their_os_family_and_architecture(
    run, os_family: str, instance_type: str, ami_type: str
) -> None:
    pool = {"name": "pool", "instance_types": [instance_type], "os_family": os_family, "min_size": 1}
    group = _cluster(run, gpu_node_pools=[pool]).one(NODE_GROUP, "gpu-gpu-pool")
    assert group.inputs["amiType"] == ami_type, "the NVIDIA AMIs ship the driver and container toolkit"


def test_the_platform_node_groups_use_the_standard_ami_without_taints_and_carry_the_platform_label(run) -> None:
    for group in _cluster(run).by_type(NODE_GROUP):
        if not group.name.startswith("gpu-platform-"):
            continue
        assert group.inputs["amiType"] == "AL2023_x86_64_STANDARD"
        assert "taints" not in group.inputs, "add-ons, monitoring and logging schedule there freely"
        assert group.inputs["labels"] == {pools.POOL_ROLE_LABEL: pools.PLATFORM_POOL_ROLE}, "selectable as on AKS"
        assert group.inputs["scalingConfig"] == {"minSize": 1, "maxSize": 1, "desiredSize": 1}, (
            "each zone's group is fixed at its minimum; Karpenter's platform pool adds what more the platform needs"
        )


def test_every_node_group_launches_from_a_hardened_launch_template(run) -> None:
    recorder = _cluster(run)
    key = recorder.one("aws:kms/key:Key")
    templates = {template.urn: template for template in recorder.by_type(LAUNCH_TEMPLATE)}
    for group in recorder.by_type(NODE_GROUP):
        (template_urn,) = group.property_dependencies["launchTemplate"]
        template = templates[template_urn].inputs
        assert template["metadataOptions"]["httpTokens"] == "required", (
            "IMDSv2 must be required so pods cannot steal node credentials"
        )
        assert template["metadataOptions"]["httpPutResponseHopLimit"] == 1, "pods sit one hop further and get nothing"
        for mapping in template["blockDeviceMappings"]:
            assert mapping["ebs"]["encrypted"] == "true", "the provider takes a string (HIPAA-ENC-EBS-LT)"
            assert mapping["ebs"]["kmsKeyId"].endswith(f"key/{key.name}"), "node volumes use the cluster key"
            assert mapping["ebs"]["volumeType"] == "gp3"
        assert [interface["associatePublicIpAddress"] for interface in template["networkInterfaces"]] == ["false"], (
            "nodes never get public IPs (HIPAA-NET-EC2-NOPUBLICIP)"
        )
        assert "remoteAccess" not in group.inputs, "no SSH into nodes"


def test_the_gpu_root_volume_is_sized_for_images_and_weights(run) -> None:
    pool = {"name": "a10g", "instance_types": ["g5.xlarge"], "disk_size_gb": 300, "min_size": 1}
    recorder = _cluster(run, gpu_node_pools=[pool])
    template = recorder.one(LAUNCH_TEMPLATE, "gpu-gpu-a10g-launch-template").inputs
    assert template["blockDeviceMappings"] == [
        {
            "deviceName": "/dev/xvda",
            "ebs": {
                "volumeType": "gp3",
                "volumeSize": 300,
                "encrypted": "true",
                "kmsKeyId": template["blockDeviceMappings"][0]["ebs"]["kmsKeyId"],
                "deleteOnTermination": "true",
            },
        }
    ]


def test_bottlerocket_encrypts_both_its_os_and_data_volumes(run) -> None:
    pool = {"name": "br", "instance_types": ["g6.xlarge"], "os_family": "bottlerocket", "min_size": 1}
    template = _cluster(run, gpu_node_pools=[pool]).one(LAUNCH_TEMPLATE, "gpu-gpu-br-launch-template").inputs
    devices = {mapping["deviceName"]: mapping["ebs"] for mapping in template["blockDeviceMappings"]}
    assert set(devices) == {"/dev/xvda", "/dev/xvdb"}, "Bottlerocket keeps container images on /dev/xvdb"
    assert all(volume["encrypted"] == "true" for volume in devices.values())
    assert devices["/dev/xvdb"]["volumeSize"] == 200


def test_bottlerocket_pools_keep_the_gpu_operator_from_adding_a_second_device_plugin(run) -> None:
    pools = [
        {"name": "br", "instance_types": ["g6.xlarge"], "os_family": "bottlerocket", "min_size": 1},
        {"name": "al", "instance_types": ["g6.xlarge"], "os_family": "al2023", "min_size": 1},
    ]
    recorder = _cluster(run, gpu_node_pools=pools)
    bottlerocket = recorder.one(NODE_GROUP, "gpu-gpu-br").inputs["labels"]
    al2023 = recorder.one(NODE_GROUP, "gpu-gpu-al").inputs["labels"]
    assert bottlerocket["nvidia.com/gpu.deploy.device-plugin"] == "false", "Bottlerocket ships its device plugin"
    assert "nvidia.com/gpu.deploy.device-plugin" not in al2023, "AL2023 nodes get the operator's device plugin"


def test_pools_may_run_in_their_own_subnets(run) -> None:
    pool = {"name": "a10g", "instance_types": ["g5.xlarge"], "subnet_ids": ["subnet-a"], "min_size": 1}
    recorder = _cluster(run, gpu_node_pools=[pool])
    assert recorder.one(NODE_GROUP, "gpu-gpu-a10g").inputs["subnetIds"] == ["subnet-a"], "the warm group's subnets"


# --- Pure helpers ---------------------------------------------------------------------------------------


def test_architecture_comes_from_the_gpu_catalog_or_the_graviton_family_name() -> None:
    assert instance_architecture("g5g.xlarge") == "arm64"
    assert instance_architecture("m7g.large") == "arm64"
    assert instance_architecture("c6gn.large") == "arm64"
    assert instance_architecture("m6i.xlarge") == "x86_64"
    assert instance_architecture("g6e.xlarge") == "x86_64"


def test_long_physical_names_are_cut_to_the_limit_and_stay_distinct() -> None:
    assert bounded_name("ml-dev", "-karpenter", 80) == "ml-dev-karpenter", "short names stay readable"
    first, second = bounded_name("a" * 90 + "x", "-karpenter", 80), bounded_name("a" * 90 + "y", "-karpenter", 80)
    assert len(first) == len(second) == 80, "exactly at the limit"
    assert first != second and first.endswith("-karpenter"), "a hash of the whole base keeps them apart"


def test_karpenter_architectures_are_kubernetes_names() -> None:
    assert kubernetes_architecture("x86_64") == "amd64", "kubernetes.io/arch says amd64"
    assert kubernetes_architecture("arm64") == "arm64", "and arm64 for Graviton"


def test_warm_node_groups_keep_their_names_so_existing_stacks_update_them_in_place(run) -> None:
    """Names (URNs) and options as before: the scaling config and tags change in place, nothing is replaced."""
    recorder = _cluster(run)
    names = sorted(group.name for group in recorder.by_type(NODE_GROUP))
    assert names == ["gpu-gpu-a10g", "gpu-platform-eu-central-1a", "gpu-platform-eu-central-1b"], (
        "the logical names node groups had before Karpenter"
    )
    for group in recorder.by_type(NODE_GROUP):
        assert group.replace_on_changes == [] and not group.delete_before_replace, (
            f"{group.name}: no forced replacement"
        )
    templates = sorted(template.name for template in recorder.by_type(LAUNCH_TEMPLATE))
    assert templates == ["gpu-gpu-a10g-launch-template", "gpu-platform-launch-template"], "the same templates"


def test_there_is_no_gpu_ami_for_unknown_families() -> None:
    assert gpu_ami_type("ubuntu", "x86_64") is None
    assert gpu_ami_type("al2023", "arm64") == "AL2023_ARM_64_NVIDIA"


# --- Validation -----------------------------------------------------------------------------------------


def test_a_gpu_pool_with_max_below_min_is_rejected(recorder) -> None:
    pools = [
        {"name": "ok", "instance_types": ["g5.xlarge"]},
        {"name": "bad", "instance_types": ["g5.xlarge"], "min_size": 3, "max_size": 1},
    ]
    assert _invalid(recorder, gpu_node_pools=pools) == ["gpuNodePools[1].maxSize"]


def test_an_unknown_os_family_is_rejected(recorder) -> None:
    pools = [{"name": "p", "instance_types": ["g5.xlarge"], "os_family": "ubuntu"}]
    assert _invalid(recorder, gpu_node_pools=pools) == ["gpuNodePools[0].osFamily"]


def test_an_unknown_or_mismatched_ami_type_is_rejected(recorder) -> None:
    pools = [
        {"name": "a", "instance_types": ["g5.xlarge"], "ami_type": "AL2_x86_64_GPU"},
        {"name": "b", "instance_types": ["g5.xlarge"], "ami_type": "BOTTLEROCKET_x86_64_NVIDIA"},
    ]
    assert _invalid(recorder, gpu_node_pools=pools) == ["gpuNodePools[0].amiType", "gpuNodePools[1].amiType"]


def test_a_non_gpu_instance_type_is_rejected(recorder) -> None:
    pools = [{"name": "p", "instance_types": ["g5.xlarge", "m5.large"]}]
    assert _invalid(recorder, gpu_node_pools=pools) == ["gpuNodePools[0].instanceTypes[1]"]


def test_instance_types_with_different_gpu_counts_are_rejected(recorder) -> None:
    pools = [{"name": "p", "instance_types": ["g5.xlarge", "g5.12xlarge"]}]
    assert _invalid(recorder, gpu_node_pools=pools) == ["gpuNodePools[0].instanceTypes"]


def test_a_public_endpoint_without_cidrs_is_rejected(recorder) -> None:
    assert _invalid(recorder, endpoint_public_access=True) == ["publicAccessCidrs"]


def test_a_public_endpoint_open_to_the_internet_is_rejected(recorder) -> None:
    paths = _invalid(recorder, endpoint_public_access=True, public_access_cidrs=["10.0.0.0/8", "0.0.0.0/0"])
    assert paths == ["publicAccessCidrs[1]"]


def test_control_plane_logs_without_the_audit_trail_are_rejected(recorder) -> None:
    assert _invalid(recorder, control_plane_log_types=["api", "scheduler"]) == ["controlPlaneLogTypes"]


def test_contract_taints_and_labels_cannot_be_overridden(recorder) -> None:
    pools = [
        {
            "name": "p",
            "instance_types": ["g5.xlarge"],
            "taints": [{"key": "nvidia.com/gpu", "value": "false"}],
            "labels": {"nvidia.com/gpu.present": "false"},
        }
    ]
    assert _invalid(recorder, gpu_node_pools=pools) == [
        "gpuNodePools[0].taints[0].key",
        'gpuNodePools[0].labels["nvidia.com/gpu.present"]',
    ]


def test_every_problem_is_reported_at_once(recorder) -> None:
    paths = _invalid(
        recorder,
        endpoint_public_access=True,
        log_retention_days=42,
        admin_principal_arns=["not-an-arn"],
        platform_node_pool={"min_size_per_zone": 0},
        gpu_node_pools=[{"name": "Bad_Name", "instance_types": ["t3.large"], "min_size": 2, "max_size": 1}],
    )
    assert paths == [
        "publicAccessCidrs",
        "logRetentionDays",
        "adminPrincipalArns[0]",
        "platformNodePool.minSizePerZone",
        "gpuNodePools[0].name",
        "gpuNodePools[0].instanceTypes[0]",
        "gpuNodePools[0].maxSize",
    ]


def test_an_admin_named_like_the_deployer_entry_is_rejected_when_the_deployer_is_granted(recorder) -> None:
    paths = _invalid(
        recorder, grant_deployer_admin=True, admin_principal_arns=["arn:aws:iam::123456789012:role/deployer"]
    )
    assert paths == ["adminPrincipalArns[0]"]


# --- Zone-aware platform capacity -----------------------------------------------------------------------


def test_every_zone_has_its_own_platform_node_group_so_zonal_volumes_always_find_a_node(run) -> None:
    """Review M5: EBS volumes are zonal; a group spanning zones may leave a zone empty after a rolling replacement."""
    zones = {"eu-west-1a": "subnet-a", "eu-west-1b": "subnet-b", "eu-west-1c": "subnet-c"}
    recorder = _cluster(run, node_subnet_ids_by_zone=zones, platform_node_pool={"max_size_per_zone": 3})
    groups = {g.name: g for g in recorder.by_type(NODE_GROUP) if g.name.startswith("gpu-platform-")}
    assert set(groups) == {f"gpu-platform-{zone}" for zone in zones}, "one platform node group per zone"
    for zone, subnet in zones.items():
        group = groups[f"gpu-platform-{zone}"].inputs
        assert group["subnetIds"] == [subnet], f"{zone}: the group launches only in its own zone"
        assert group["scalingConfig"]["minSize"] >= 1, f"{zone}: never without a node for its volumes"
    templates = {g.property_dependencies["launchTemplate"][0] for g in groups.values()}
    assert len(templates) == 1, "the zones share one hardened launch template"


def test_the_first_zone_group_takes_over_the_former_system_group_by_alias(run) -> None:
    """A stack deployed with one system node group replaces it (create first) instead of deleting it."""
    recorder = _cluster(run)
    first = recorder.one(NODE_GROUP, "gpu-platform-eu-central-1a")
    second = recorder.one(NODE_GROUP, "gpu-platform-eu-central-1b")
    assert _alias_names(first) == ["gpu-system"], "the first zone's group carries the old name as an alias"
    assert _alias_names(second) == [], "only one resource can take over the old state"
    template = recorder.one(LAUNCH_TEMPLATE, "gpu-platform-launch-template")
    assert _alias_names(template) == ["gpu-system-launch-template"], "the template is updated, not replaced"


def _alias_names(registration) -> list[str]:
    """The names a resource's aliases give it (alias specs, or alias URNs from older SDKs)."""
    request = registration.request
    names = [alias.spec.name or alias.urn.rsplit("::", 1)[-1] for alias in request.aliases]
    return names + [urn.rsplit("::", 1)[-1] for urn in request.aliasURNs]


def test_the_platform_node_groups_refuse_gpu_instances_and_need_the_zone_map(recorder) -> None:
    paths = _invalid(
        recorder,
        node_subnet_ids_by_zone={},
        platform_node_pool={"instance_types": ["g5.xlarge"], "min_size_per_zone": 2, "max_size_per_zone": 1},
    )
    assert paths == [
        "platformNodePool.maxSizePerZone",
        "platformNodePool.instanceTypes[0]",
        "nodeSubnetIdsByZone",
    ], "an untainted GPU group would let any pod take the GPUs; without zones there are no platform groups"


def test_a_workload_taint_labels_the_pool_so_its_jobs_select_it_and_scale_it_from_zero(run) -> None:
    pool = {
        "name": "h100",
        "instance_types": ["p5.48xlarge"],
        "min_size": 1,
        "max_size": 2,
        "taints": [{"key": "workload", "value": "training", "effect": "NoSchedule"}],
    }
    recorder = _cluster(run, gpu_node_pools=[pool])
    group = recorder.one(NODE_GROUP, "gpu-gpu-h100").inputs
    assert group["labels"][pools.WORKLOAD_LABEL] == "training", "derived from the taint, never written beside it"
    (spec,) = [spec for spec in _karpenter_pools(recorder) if spec["name"] == "h100"]
    assert spec["labels"][pools.WORKLOAD_LABEL] == "training", (
        "Karpenter's nodes carry it too: a pending training job selecting the label gets a node from zero"
    )
    serving = _cluster(run, gpu_node_pools=[{"name": "a10g", "instance_types": ["g5.xlarge"], "min_size": 1}])
    assert pools.WORKLOAD_LABEL not in serving.one(NODE_GROUP, "gpu-gpu-a10g").inputs["labels"], "no taint, no label"


def test_a_workload_label_that_contradicts_the_pool_s_taint_is_rejected(recorder) -> None:
    pool = {"name": "a10g", "instance_types": ["g5.xlarge"], "labels": {pools.WORKLOAD_LABEL: "training"}}
    assert _invalid(recorder, gpu_node_pools=[pool]) == [f'gpuNodePools[0].labels["{pools.WORKLOAD_LABEL}"]']


# --- Karpenter ------------------------------------------------------------------------------------------

QUEUE = "aws:sqs/queue:Queue"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
EC2_TAG = "aws:ec2/tag:Tag"
ROLE = "aws:iam/role:Role"


def _karpenter_pools(recorder: RecordingMonitor) -> list[dict[str, Any]]:
    return recorder.one("mlplatform:index:AwsGpuCluster").outputs["karpenterPools"]


def _arn(registration) -> str:
    """The ARN the mock provider gives a registered resource."""
    return synth.plausible_outputs(registration.type, registration.name, registration.inputs)["arn"]


def _role_by_arn(recorder: RecordingMonitor, arn: str):
    return next(role for role in recorder.by_type(ROLE) if arn.endswith(f"/{role.name}"))


def test_a_pool_without_warm_nodes_has_no_node_group_and_karpenter_may_add_its_whole_maximum(run) -> None:
    pool = {"name": "a10g", "instance_types": ["g5.xlarge"], "min_size": 0, "max_size": 4, "capacity_type": "spot"}
    recorder = _cluster(run, gpu_node_pools=[pool])
    assert [group.name for group in recorder.by_type(NODE_GROUP) if "a10g" in group.name] == [], (
        "scale to zero: no managed node group; Karpenter creates the nodes when pods need them"
    )
    assert [t.name for t in recorder.by_type(LAUNCH_TEMPLATE) if "a10g" in t.name] == [], (
        "no launch template either: Karpenter's EC2NodeClass makes its own"
    )
    specs = [spec for spec in _karpenter_pools(recorder) if spec["name"] == "a10g"]
    assert len(specs) == 1, f"one Karpenter pool for the GPU pool: {specs}"
    assert specs[0]["max_nodes"] == 4, "every node of the pool comes from Karpenter"
    assert specs[0]["capacity_types"] == ["spot"], "spot without fallback stays spot"


def test_a_pool_from_1_to_8_keeps_one_warm_node_in_a_fixed_group_and_karpenter_adds_7(run) -> None:
    pool = {"name": "l4", "instance_types": ["g6.xlarge"], "min_size": 1, "max_size": 8}
    recorder = _cluster(run, gpu_node_pools=[pool])
    group = recorder.one(NODE_GROUP, "gpu-gpu-l4")
    assert group.inputs["scalingConfig"] == {"minSize": 1, "maxSize": 1, "desiredSize": 1}, (
        "the warm node group is fixed: nothing resizes it, so Pulumi owns every number"
    )
    assert group.ignore_changes == [], "no ignored desiredSize: a later minSize change is a plain update (review M2)"
    (spec,) = [spec for spec in _karpenter_pools(recorder) if spec["name"] == "l4"]
    assert spec["max_nodes"] == 7, "Karpenter adds only what lies above the warm node"
    assert spec["gpus_per_node"] == 1 and spec["cpus_per_node"] == 4, "g6.xlarge: 1 GPU, 4 vCPUs (catalog)"
    assert spec["priority"] == 10, "on-demand pools default to the on-demand priority"


def test_a_pool_whose_maximum_is_its_minimum_gets_no_karpenter_pool(run) -> None:
    pool = {"name": "h100", "instance_types": ["p5.48xlarge"], "min_size": 2, "max_size": 2}
    recorder = _cluster(run, gpu_node_pools=[pool])
    assert recorder.one(NODE_GROUP, "gpu-gpu-h100").inputs["scalingConfig"]["desiredSize"] == 2, "two warm nodes"
    assert [spec["name"] for spec in _karpenter_pools(recorder)] == ["platform"], "no room above the warm nodes"


def test_spot_with_fallback_offers_karpenter_both_capacity_types_in_order_of_preference(run) -> None:
    pool = {
        "name": "a10g",
        "instance_types": ["g5.xlarge", "g5.2xlarge"],
        "max_size": 4,
        "capacity_type": "spot",
        "on_demand_fallback": True,
        "zones": ["eu-central-1b"],
    }
    (spec,) = [spec for spec in _karpenter_pools(_cluster(run, gpu_node_pools=[pool])) if spec["name"] == "a10g"]
    assert spec["capacity_types"] == ["spot", "on-demand"], "spot first, on-demand when spot has no capacity"
    assert spec["priority"] == 20, "spot pools are tried first by default"
    assert spec["zones"] == ["eu-central-1b"], "Karpenter keeps the pool in its zones"
    assert spec["cpus_per_node"] == 8, "the largest type's vCPUs (g5.2xlarge), for the CPU limit"


def test_the_platform_pool_comes_first_and_may_grow_by_the_room_of_every_zone(run) -> None:
    pools_arg = [
        {"name": "b", "instance_types": ["g5.xlarge"], "max_size": 2},
        {"name": "a", "instance_types": ["g6.xlarge"], "max_size": 3, "priority": 70},
    ]
    specs = _karpenter_pools(_cluster(run, gpu_node_pools=pools_arg, platform_node_pool={"max_size_per_zone": 3}))
    assert [spec["name"] for spec in specs] == ["platform", "b", "a"], "platform first, then the config order"
    platform = specs[0]
    assert platform["max_nodes"] == (3 - 1) * len(ZONE_SUBNETS), "(max - min per zone) x zones"
    assert platform["taints"] == [] and platform["gpus_per_node"] == 0, "an untainted CPU pool"
    assert platform["labels"] == pools.platform_pool_labels(), "selectable like the fixed platform groups"
    assert platform["capacity_types"] == ["on-demand"], "the platform's own workloads are not interruptible"
    assert platform["cpus_per_node"] == 4 and platform["architecture"] == "amd64", "m6i.xlarge"
    assert specs[2]["priority"] == 70, "an explicit priority wins"
    gpu_spec = specs[1]
    assert gpu_spec["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}], (
        "the GPU contract's taint in Kubernetes form"
    )
    assert gpu_spec["labels"] == gpu.gpu_pool_labels("b", "nvidia-a10g"), "the GPU contract's labels"
    assert gpu_spec["os_family"] == "al2023" and gpu_spec["disk_size_gb"] == 200, "the pool's image and disk"


def test_the_controller_role_is_assumable_only_by_the_karpenter_service_account_through_pod_identity(run) -> None:
    recorder = _cluster(run)
    association = recorder.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == ("kube-system", "karpenter"), (
        "the chart's service account in kube-system"
    )
    assert association.inputs["clusterName"] == "ml-test", "this cluster"
    assert association.inputs["disableSessionTags"] is False, "the trust policy pins the session tags"
    role = _role_by_arn(recorder, association.inputs["roleArn"])
    trust = policy(role.inputs, "assumeRolePolicy")["Statement"]
    assert len(trust) == 1, f"one way in: {trust}"
    assert trust[0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}, "EKS Pod Identity only"
    assert trust[0]["Action"] == ["sts:AssumeRole", "sts:TagSession"], "what Pod Identity calls"
    assert trust[0]["Condition"]["StringEquals"] == {
        "aws:RequestTag/eks-cluster-name": "ml-test",
        "aws:RequestTag/kubernetes-namespace": "kube-system",
        "aws:RequestTag/kubernetes-service-account": "karpenter",
    }, "no other service account, namespace or cluster can use the role"
    agent = next(
        a for a in recorder.by_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "eks-pod-identity-agent"
    )
    assert agent.urn in association.dependencies, "the agent that hands out the credentials exists first"


def test_the_controller_may_pass_only_the_karpenter_node_role_and_read_only_its_queue(run) -> None:
    recorder = _cluster(run)
    association = recorder.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    controller = _role_by_arn(recorder, association.inputs["roleArn"])
    (inline,) = [
        p for p in recorder.by_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"].startswith(controller.name)
    ]
    document = policy(inline.inputs)
    node_role = recorder.one(ROLE, "gpu-karpenter-node-role")
    queue = recorder.one(QUEUE)
    key = recorder.one("aws:kms/key:Key")
    pass_role = [s for s in document["Statement"] if "iam:PassRole" in _as_list(s["Action"])]
    assert [s["Resource"] for s in pass_role] == [f"arn:aws:iam::123456789012:role/{node_role.name}"], (
        "the controller can hand EC2 the Karpenter node role and no other (not the cluster's or its own)"
    )
    queue_statements = [s for s in document["Statement"] if any(a.startswith("sqs:") for a in _as_list(s["Action"]))]
    assert [s["Resource"] for s in queue_statements] == [_arn(queue)], "this cluster's queue only"
    kms = [s for s in document["Statement"] if any(a.startswith("kms:") for a in _as_list(s["Action"]))]
    assert kms and all(s["Resource"] == _arn(key) for s in kms), "node volumes use the cluster key"
    assert inline.name == "gpu-karpenter-controller" and node_role.urn in inline.property_dependencies["policy"], (
        "the policy names the node role it was built for"
    )


def test_the_cluster_key_lets_iam_policies_grant_its_use_to_the_controller(run) -> None:
    key_policy = policy(_cluster(run).one("aws:kms/key:Key").inputs)
    root = [s for s in key_policy["Statement"] if s.get("Sid") == "EnableIamPolicies"]
    assert root and root[0]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}, (
        "the key policy delegates to IAM, so the controller's identity policy suffices to encrypt node volumes"
    )


def test_the_karpenter_node_role_has_the_node_policies_and_its_own_ec2_linux_access_entry(run) -> None:
    recorder = _cluster(run)
    node_role = recorder.one(ROLE, "gpu-karpenter-node-role")
    trust = policy(node_role.inputs, "assumeRolePolicy")["Statement"][0]
    assert trust["Principal"] == {"Service": "ec2.amazonaws.com"}, "assumed by the instances Karpenter launches"
    attachments = recorder.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")

    def policies(prefix: str) -> set[str]:
        return {a.inputs["policyArn"].rsplit("/", 1)[-1] for a in attachments if a.name.startswith(prefix)}

    assert (
        policies("gpu-karpenter-node-")
        == policies("gpu-node-")
        == {
            "AmazonEKSWorkerNodePolicy",
            "AmazonEC2ContainerRegistryPullOnly",
        }
    ), "the same policies as the managed node groups' role, and no CNI policy (the CNI has its IRSA role)"
    entries = [e for e in recorder.by_type(ACCESS_ENTRY) if e.inputs["type"] == "EC2_LINUX"]
    assert len(entries) == 1, f"one node access entry: {[e.name for e in entries]}"
    assert entries[0].property_dependencies["principalArn"] == [node_role.urn], (
        "for the Karpenter node role; the managed node groups' role gets its entry from EKS itself"
    )
    assert "kubernetesGroups" not in entries[0].inputs, "EC2_LINUX entries take no groups"


def test_the_interruption_queue_is_encrypted_short_lived_and_only_eventbridge_and_sqs_may_send(run) -> None:
    recorder = _cluster(run)
    queue = recorder.one(QUEUE)
    assert queue.inputs["sqsManagedSseEnabled"] is True, "encrypted at rest"
    assert queue.inputs["messageRetentionSeconds"] == 300, "an interruption warning is stale after five minutes"
    assert queue.inputs["name"] == "ml-test-karpenter", "named after the cluster, unique in the account"
    queue_policy = policy(recorder.one("aws:sqs/queuePolicy:QueuePolicy").inputs)
    senders = [s for s in queue_policy["Statement"] if s["Effect"] == "Allow"]
    assert {s["Principal"]["Service"] for s in senders} == {"events.amazonaws.com", "sqs.amazonaws.com"}, (
        "only EventBridge and SQS may send"
    )
    assert all(s["Action"] == "sqs:SendMessage" and s["Resource"] == _arn(queue) for s in senders), (
        "senders may only send, to this queue"
    )
    rule_arns = sorted(_arn(rule) for rule in recorder.by_type(EVENT_RULE))
    events = next(s for s in senders if s["Principal"]["Service"] == "events.amazonaws.com")
    assert sorted(events["Condition"]["ArnEquals"]["aws:SourceArn"]) == rule_arns, "only this cluster's rules"
    deny = [s for s in queue_policy["Statement"] if s["Effect"] == "Deny"]
    assert deny == [
        {
            "Sid": "DenyHTTP",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": _arn(queue),
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ], "TLS only"


def test_the_interruption_rules_send_every_event_karpenter_handles_to_the_queue(run) -> None:
    recorder = _cluster(run, tags={"team": "ml"})
    queue = recorder.one(QUEUE)
    patterns = {
        (pattern["source"][0], pattern["detail-type"][0])
        for pattern in (json.loads(rule.inputs["eventPattern"]) for rule in recorder.by_type(EVENT_RULE))
    }
    assert patterns == {
        ("aws.health", "AWS Health Event"),
        ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
        ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
        ("aws.ec2", "EC2 Instance State-change Notification"),
        ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
    }, "Karpenter v1.14.1's rules"
    rules = {rule.urn: rule for rule in recorder.by_type(EVENT_RULE)}
    targets = recorder.by_type(EVENT_TARGET)
    assert len(targets) == len(rules), "one target per rule"
    for target in targets:
        assert target.property_dependencies["arn"] == [queue.urn], f"{target.name} delivers to the queue"
        assert len(target.property_dependencies["rule"]) == 1 and target.property_dependencies["rule"][0] in rules
    for registration in [queue, *rules.values()]:
        assert registration.inputs["tags"] == {"team": "ml"}, f"{registration.name} carries the platform's tags"


def test_the_discovery_tag_lands_on_every_node_subnet_and_the_cluster_security_group(run) -> None:
    zones = {"eu-west-1a": "subnet-a", "eu-west-1b": "subnet-b", "eu-west-1c": "subnet-c"}
    recorder = _cluster(run, node_subnet_ids_by_zone=zones)
    tags = recorder.by_type(EC2_TAG)
    assert all(tag.inputs["key"] == "karpenter.sh/discovery" and tag.inputs["value"] == "ml-test" for tag in tags), (
        "EC2NodeClass selector terms match karpenter.sh/discovery=<cluster>"
    )
    tagged = sorted(tag.inputs["resourceId"] for tag in tags)
    assert tagged == sorted([*zones.values(), "sg-gpu-cluster"]), (
        "every node subnet and the cluster security group the launch templates use, nothing else"
    )


def test_the_karpenter_settings_name_everything_the_chart_and_node_classes_need(run) -> None:
    recorder = _cluster(run)
    outputs = recorder.one("mlplatform:index:AwsGpuCluster").outputs
    settings = outputs["karpenter"]
    node_role = recorder.one(ROLE, "gpu-karpenter-node-role")
    association = recorder.one("aws:eks/podIdentityAssociation:PodIdentityAssociation")
    assert settings == {
        "clusterName": "ml-test",
        "clusterEndpoint": outputs["endpoint"],
        "interruptionQueueName": "ml-test-karpenter",
        "nodeRoleName": node_role.name,
        "nodeVolumeKeyArn": outputs["kmsKeyArn"],
        "discoveryTag": {"key": "karpenter.sh/discovery", "value": "ml-test"},
        "controllerRoleArn": association.inputs["roleArn"],
        # Provider default tags never reach what Karpenter launches: the node classes tag nodes with these.
        "nodeTags": recorder.one("aws:eks/cluster:Cluster").inputs.get("tags") or {},
    }, "the chart's settings and the EC2NodeClass's role, key, selectors and tags"
    assert outputs["karpenterNodeRoleArn"].endswith(f"/{node_role.name}"), "to grant image pulls"


def test_whatever_uses_the_karpenter_settings_waits_for_the_association_access_entry_and_tags(run) -> None:
    def program() -> None:
        cluster = AwsGpuCluster("gpu", {"subnet_ids": SUBNETS, "node_subnet_ids_by_zone": ZONE_SUBNETS})
        aws.ssm.Parameter("karpenter", type="String", value=cluster.karpenter.apply(json.dumps))

    recorder = run(program)
    waits = set(recorder.one("aws:ssm/parameter:Parameter").property_dependencies["value"])
    for type_token in (
        "aws:eks/podIdentityAssociation:PodIdentityAssociation",
        "aws:eks/accessEntry:AccessEntry",
        EC2_TAG,
        "aws:sqs/queuePolicy:QueuePolicy",
        EVENT_TARGET,
    ):
        registrations = recorder.by_type(type_token)
        assert registrations and {r.urn for r in registrations} <= waits, (
            f"the Karpenter chart must not start before every {type_token} exists"
        )
    node_policies = [
        attachment.urn
        for attachment in recorder.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if attachment.name.startswith("gpu-karpenter-node-")
    ]
    assert node_policies and set(node_policies) <= waits, "Karpenter's nodes can join only with their policies"


def test_no_cluster_autoscaler_tag_or_auto_scaling_group_tag_exists_anywhere(run) -> None:
    pools_arg = [
        {"name": "a10g", "instance_types": ["g5.xlarge"], "min_size": 1, "max_size": 4},
        {"name": "h100", "instance_types": ["p5.48xlarge"], "max_size": 2},
    ]
    recorder = _cluster(run, gpu_node_pools=pools_arg)
    assert recorder.by_type("aws:autoscaling/tag:Tag") == [], "nothing reads Auto Scaling group tags any more"
    for registration in recorder.registrations:
        assert "k8s.io/cluster-autoscaler" not in json.dumps(registration.inputs), (
            f"{registration.name} still carries a cluster-autoscaler tag: Karpenter, not the autoscaler, scales"
        )


def test_long_cluster_names_still_give_valid_queue_and_rule_names(run) -> None:
    cluster_name = "c" * 100
    recorder = _cluster(run, cluster_name=cluster_name)
    assert len(recorder.one(QUEUE).inputs["name"]) <= 80, "SQS queue names have at most 80 characters"
    names = [rule.inputs["name"] for rule in recorder.by_type(EVENT_RULE)]
    assert all(len(name) <= 64 for name in names), f"EventBridge rule names have at most 64 characters: {names}"
    assert len(set(names)) == len(names), "the rules keep distinct names"


def test_pool_autoscaling_arguments_are_validated_with_their_paths(recorder) -> None:
    pools_arg = [
        {"name": "a", "instance_types": ["g5.xlarge"], "on_demand_fallback": True},
        {"name": "b", "instance_types": ["g5.xlarge"], "capacity_type": "spot", "priority": 101},
        {"name": "c", "instance_types": ["g5.xlarge"], "priority": -1},
        {"name": "d", "instance_types": ["g5.xlarge"], "zones": ["eu-west-9z"]},
        {"name": "e", "instance_types": ["g5.xlarge"], "zones": ["eu-central-1a"], "subnet_ids": ["subnet-a"]},
        {"name": "f", "instance_types": ["g5.xlarge"], "min_size": 1, "max_size": 3, "desired_size": 2},
    ]
    assert _invalid(recorder, gpu_node_pools=pools_arg) == [
        "gpuNodePools[0].onDemandFallback",
        "gpuNodePools[1].priority",
        "gpuNodePools[2].priority",
        "gpuNodePools[3].zones[0]",
        "gpuNodePools[4].zones",
        "gpuNodePools[5].desiredSize",
    ], "each problem named by its path, all at once"


def test_desired_size_equal_to_min_size_is_still_accepted(run) -> None:
    pool = {"name": "a10g", "instance_types": ["g5.xlarge"], "min_size": 2, "max_size": 3, "desired_size": 2}
    group = _cluster(run, gpu_node_pools=[pool]).one(NODE_GROUP, "gpu-gpu-a10g")
    assert group.inputs["scalingConfig"]["desiredSize"] == 2, "a stack that set desiredSize to minSize keeps working"


def test_a_platform_pool_that_may_grow_needs_instance_types_with_known_vcpus(recorder) -> None:
    paths = _invalid(recorder, platform_node_pool={"instance_types": ["x9z.huge"], "max_size_per_zone": 2})
    assert paths == ["platformNodePool.instanceTypes"], "Karpenter's CPU limit is derived from the vCPUs"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
