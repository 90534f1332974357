"""Issue 20, class 4 on AWS and Azure: one table per concept, so no spelling of a grant, a security group, an
instance, a repository or a region sidesteps the rules that check it.

Each table lists the spellings the cloud SDKs accept for the same thing (checked against pulumi-aws 7, the
aws-native SDK and the classic azure bridge) and the verdict the rule must reach on every one of them.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from policies.rules.aws_common import ECR_TYPES, INSTANCE_TYPES, SECURITY_GROUP_TYPES
from policies.rules.aws_iam import GRANTING_TYPES, IAM_FORMS, USER_GRANT_TYPES
from tests.policies.cases import KEY, RECORD_TAGS, document
from tests.policies.cases_aws import ecr_lifecycle_policy
from tests.policies.harness import UNKNOWN, Res, run_resource, run_stack

FAILS = "fails"
PASSES = "passes"
UNVERIFIABLE = "unverifiable"
NOT_APPLICABLE = "not applicable"


def _verdict(outcome: Any, verdict: str, why: str) -> None:
    if verdict == FAILS:
        assert outcome.violations, f"{why}: must be a violation; {outcome.describe()}"
    elif verdict == PASSES:
        assert outcome.passed, f"{why}: must pass; {outcome.describe()}"
    elif verdict == UNVERIFIABLE:
        assert outcome.advisory and not outcome.violations, f"{why}: unverifiable, never a pass; {outcome.describe()}"
    else:
        assert outcome.not_applicable is not None, f"{why}: not applicable; {outcome.describe()}"


# --- IAM: every attachment form ------------------------------------------------------------------------------

ADMIN = document({"Effect": "Allow", "Action": "*", "Resource": "*"})
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"

# (type token, props carrying an administrator grant in that form's own property)
ATTACHMENT_FORMS: list[tuple[str, dict[str, Any]]] = [
    ("aws:iam/policy:Policy", {"policy": ADMIN}),
    ("aws:iam/rolePolicy:RolePolicy", {"role": "app", "policy": ADMIN}),
    ("aws:iam/userPolicy:UserPolicy", {"user": "ci", "policy": ADMIN}),
    ("aws:iam/groupPolicy:GroupPolicy", {"group": "ops", "policy": ADMIN}),
    ("aws:iam/role:Role", {"inlinePolicies": [{"name": "all", "policy": ADMIN}]}),
    ("aws:iam/role:Role", {"managedPolicyArns": [ADMIN_ARN]}),
    ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"role": "app", "policyArn": ADMIN_ARN}),
    ("aws:iam/userPolicyAttachment:UserPolicyAttachment", {"user": "ci", "policyArn": ADMIN_ARN}),
    ("aws:iam/groupPolicyAttachment:GroupPolicyAttachment", {"group": "ops", "policyArn": ADMIN_ARN}),
    ("aws:iam/policyAttachment:PolicyAttachment", {"roles": ["app"], "policyArn": ADMIN_ARN}),
    (
        "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
        {"roleName": "app", "policyArns": [ADMIN_ARN]},
    ),
    (
        "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
        {"userName": "ci", "policyArns": [ADMIN_ARN]},
    ),
    (
        "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive",
        {"groupName": "ops", "policyArns": [ADMIN_ARN]},
    ),
]


def test_the_attachment_table_covers_every_granting_iam_form() -> None:
    assert {token for token, _ in ATTACHMENT_FORMS} == set(GRANTING_TYPES), (
        "every IAM form that carries a document or an ARN has a spelling in the table"
    )
    assert set(IAM_FORMS) - set(GRANTING_TYPES) == {
        "aws:iam/rolePoliciesExclusive:RolePoliciesExclusive",
        "aws:iam/userPoliciesExclusive:UserPoliciesExclusive",
        "aws:iam/groupPoliciesExclusive:GroupPoliciesExclusive",
    }, "only the exclusive name lists carry no grant of their own (their documents are separate resources)"


@pytest.mark.parametrize(
    ("type_token", "props"),
    ATTACHMENT_FORMS,
    ids=[f"{t.rsplit(':', 1)[-1]}-{sorted(p)[-1]}" for t, p in ATTACHMENT_FORMS],
)
def test_administrator_access_is_found_in_every_attachment_form(type_token: str, props: dict[str, Any]) -> None:
    outcome = run_resource("aws-iam-policy-no-admin-access", type_token, props)
    assert any("AdministratorAccess" in message or "Action '*'" in message for message in outcome.messages), (
        f"an administrator grant through {type_token} is rejected like a managed policy's; {outcome.describe()}"
    )


# (policy ARN, verdict)
MANAGED_ARNS: list[tuple[str, str]] = [
    ("arn:aws:iam::aws:policy/AdministratorAccess", FAILS),
    ("arn:aws:iam::aws:policy/PowerUserAccess", FAILS),
    ("arn:aws:iam::aws:policy/IAMFullAccess", FAILS),
    ("arn:aws-us-gov:iam::aws:policy/AdministratorAccess", FAILS),
    ("arn:aws-cn:iam::aws:policy/PowerUserAccess", FAILS),
    ("arn:aws:iam::aws:policy/job-function/AdministratorAccess", FAILS),
    ("arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy", PASSES),
    ("arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy", PASSES),
    ("arn:aws:iam::123456789012:policy/AdministratorAccess", PASSES),
    (UNKNOWN, UNVERIFIABLE),
]


@pytest.mark.parametrize(("arn", "verdict"), MANAGED_ARNS)
def test_admin_like_aws_managed_policies_are_rejected_in_every_partition(arn: str, verdict: str) -> None:
    outcome = run_resource(
        "aws-iam-policy-no-admin-access",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        {"role": "app", "policyArn": arn},
    )
    _verdict(outcome, verdict, f"attaching {arn}")


def test_the_admin_managed_policy_list_is_configurable() -> None:
    props = {"role": "app", "policyArn": "arn:aws:iam::aws:policy/AmazonS3FullAccess"}
    token = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    assert run_resource("aws-iam-policy-no-admin-access", token, props).passed, "not admin-like by default"
    outcome = run_resource(
        "aws-iam-policy-no-admin-access", token, props, config={"adminManagedPolicies": ["AmazonS3FullAccess"]}
    )
    assert any("attaches AmazonS3FullAccess" in m for m in outcome.messages), outcome.describe()


# (id, statement, verdict, expected message part)
STATEMENTS: list[tuple[str, Any, str, str]] = [
    ("action star", {"Effect": "Allow", "Action": "*", "Resource": "*"}, FAILS, "Action '*'"),
    (
        "not action on everything",
        {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"},
        FAILS,
        "every action except 'iam:*', 'organizations:*' (NotAction)",
    ),
    (
        "not action on one bucket",
        {"Effect": "Allow", "NotAction": "s3:DeleteBucket", "Resource": "arn:aws:s3:::models"},
        FAILS,
        "(NotAction)",
    ),
    ("not action computed", {"Effect": "Allow", "NotAction": [UNKNOWN], "Resource": "*"}, FAILS, "NotAction"),
    ("service star on everything", {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, FAILS, "'s3:*'"),
    (
        "service star on every resource but one",
        {"Effect": "Allow", "Action": "kms:*", "NotResource": "arn:aws:kms:eu-central-1:1:key/a"},
        FAILS,
        "every resource except",
    ),
    ("service star on one bucket", {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::m/*"}, PASSES, ""),
    (
        "named action on every resource but one",
        {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"},
        PASSES,
        "",
    ),
    ("deny everything but", {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"}, PASSES, ""),
    ("computed action", {"Effect": "Allow", "Action": ["s3:GetObject", UNKNOWN], "Resource": "*"}, UNVERIFIABLE, ""),
    ("computed effect", {"Effect": UNKNOWN, "Action": "*", "Resource": "*"}, UNVERIFIABLE, ""),
    (
        "service star on computed resources",
        {"Effect": "Allow", "Action": "s3:*", "Resource": [UNKNOWN]},
        UNVERIFIABLE,
        "",
    ),
    ("computed statement", UNKNOWN, UNVERIFIABLE, ""),
]


@pytest.mark.parametrize(
    ("statement", "verdict", "expect"), [row[1:] for row in STATEMENTS], ids=[row[0] for row in STATEMENTS]
)
def test_not_action_and_not_resource_are_read_as_everything_but(statement: Any, verdict: str, expect: str) -> None:
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    outcome = run_resource("aws-iam-policy-no-admin-access", "aws:iam/policy:Policy", {"policy": policy})
    _verdict(outcome, verdict, f"statement {statement}")
    if expect:
        assert any(expect in message for message in outcome.messages), outcome.describe()


# (rule, type token, props with an Allow + NotPrincipal: everyone but the named principal)
NOT_PRINCIPAL: list[tuple[str, str, dict[str, Any]]] = [
    (
        "aws-kms-key-policy-restricted",
        "aws:kms/key:Key",
        {
            "policy": document(
                {
                    "Effect": "Allow",
                    "NotPrincipal": {"AWS": "arn:aws:iam::1:role/x"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            )
        },
    ),
    (
        "aws-ecr-repository-policy-no-public-access",
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
        {
            "repository": "models",
            "policy": document(
                {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "Action": "ecr:BatchGetImage"}
            ),
        },
    ),
    (
        "aws-sqs-queue-policy-no-public-access",
        "aws:sqs/queuePolicy:QueuePolicy",
        {
            "queueUrl": "https://sqs.eu-central-1.amazonaws.com/1/q",
            "policy": document(
                {"Effect": "Allow", "NotPrincipal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage"}
            ),
        },
    ),
]


@pytest.mark.parametrize(("rule", "type_token", "props"), NOT_PRINCIPAL, ids=[row[0] for row in NOT_PRINCIPAL])
def test_an_allow_with_not_principal_grants_to_everyone(rule: str, type_token: str, props: dict[str, Any]) -> None:
    outcome = run_resource(rule, type_token, props)
    assert outcome.violations, f"Allow + NotPrincipal admits every principal but one; {outcome.describe()}"


# (type token, props, verdict) of the forms that can give an IAM user permissions
USER_FORMS: list[tuple[str, dict[str, Any], str]] = [
    ("aws:iam/userPolicy:UserPolicy", {"user": "ci", "policy": document()}, FAILS),
    ("aws:iam/userPolicyAttachment:UserPolicyAttachment", {"user": "ci", "policyArn": ADMIN_ARN}, FAILS),
    (
        "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
        {"userName": "ci", "policyArns": []},
        FAILS,
    ),
    ("aws:iam/userPoliciesExclusive:UserPoliciesExclusive", {"userName": "ci", "policyNames": ["ci"]}, FAILS),
    ("aws:iam/policyAttachment:PolicyAttachment", {"users": ["ci"], "policyArn": ADMIN_ARN}, FAILS),
    ("aws:iam/policyAttachment:PolicyAttachment", {"users": UNKNOWN, "policyArn": ADMIN_ARN}, UNVERIFIABLE),
    ("aws:iam/policyAttachment:PolicyAttachment", {"roles": ["app"], "policyArn": ADMIN_ARN}, NOT_APPLICABLE),
    ("aws:iam/accessKey:AccessKey", {"user": "ci"}, FAILS),
]


def test_the_user_table_covers_every_user_form() -> None:
    assert {token for token, _, _ in USER_FORMS} == {*USER_GRANT_TYPES, "aws:iam/accessKey:AccessKey"}, (
        "every IAM form that grants to a user is spelled in the table"
    )


@pytest.mark.parametrize(
    ("type_token", "props", "verdict"), USER_FORMS, ids=[f"{t.rsplit(':', 1)[-1]}-{v}" for t, _, v in USER_FORMS]
)
def test_iam_users_get_no_permissions_in_any_form(type_token: str, props: dict[str, Any], verdict: str) -> None:
    _verdict(run_resource("aws-iam-no-user-credentials", type_token, props), verdict, type_token)


# --- Security groups, the VPC default one included -----------------------------------------------------------

OPEN = {"protocol": "tcp", "fromPort": 22.0, "toPort": 22.0, "cidrBlocks": ["0.0.0.0/0"]}

# (id, type token, props, verdict)
SECURITY_GROUPS: list[tuple[str, str, dict[str, Any], str]] = [
    ("group ingress", "aws:ec2/securityGroup:SecurityGroup", {"ingress": [OPEN]}, FAILS),
    ("default group ingress", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", {"ingress": [OPEN]}, FAILS),
    (
        "default group ipv6 ingress",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        {"ingress": [{**OPEN, "cidrBlocks": [], "ipv6CidrBlocks": ["::/0"]}]},
        FAILS,
    ),
    ("group egress only", "aws:ec2/securityGroup:SecurityGroup", {"egress": [OPEN]}, PASSES),
    ("legacy rule ingress", "aws:ec2/securityGroupRule:SecurityGroupRule", {"type": "ingress", **OPEN}, FAILS),
    ("legacy rule egress", "aws:ec2/securityGroupRule:SecurityGroupRule", {"type": "egress", **OPEN}, PASSES),
    (
        "vpc ingress rule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        {"ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"},
        FAILS,
    ),
    (
        "vpc ingress rule ipv6",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        {"ipProtocol": "-1", "cidrIpv6": "::/0"},
        FAILS,
    ),
    (
        "vpc egress rule",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        {"ipProtocol": "-1", "cidrIpv4": "0.0.0.0/0"},
        PASSES,
    ),
    (
        "default group computed ingress",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        {"ingress": UNKNOWN},
        UNVERIFIABLE,
    ),
]


def test_the_security_group_table_covers_every_group_and_rule_type() -> None:
    assert {token for _, token, _, _ in SECURITY_GROUPS} == set(SECURITY_GROUP_TYPES), (
        "every resource that opens a security group is spelled in the table"
    )


@pytest.mark.parametrize(
    ("type_token", "props", "verdict"), [row[1:] for row in SECURITY_GROUPS], ids=[row[0] for row in SECURITY_GROUPS]
)
def test_internet_ingress_is_found_in_every_security_group_spelling(
    type_token: str, props: dict[str, Any], verdict: str
) -> None:
    _verdict(run_resource("aws-ec2-security-group-no-public-ingress", type_token, props), verdict, type_token)


@pytest.mark.parametrize(
    ("rule", "expect"),
    [
        ("aws-vpc-default-security-group-closed", "leaves its default security group open"),
        ("aws-vpc-flow-logs-enabled", "has no flow log"),
    ],
)
def test_an_adopted_default_vpc_is_a_vpc_to_every_vpc_rule(rule: str, expect: str) -> None:
    outcome = run_stack(rule, [Res("aws:ec2/defaultVpc:DefaultVpc", "default-vpc", {})])
    assert any(expect in message for message in outcome.messages), outcome.describe()


def test_a_rule_on_the_default_group_is_found_through_its_dependency() -> None:
    stack = [
        Res("aws:ec2/vpc:Vpc", "net", {"cidrBlock": "10.0.0.0/16"}),
        Res("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "net-default", {"vpcId": "vpc-1"}, {"vpcId": ["net"]}),
        Res(
            "aws:ec2/securityGroupRule:SecurityGroupRule",
            "self-ingress",
            {
                "type": "ingress",
                "securityGroupId": "sg-1",
                "protocol": "-1",
                "fromPort": 0.0,
                "toPort": 0.0,
                "self": True,
            },
            {"securityGroupId": ["net-default"]},
        ),
    ]
    outcome = run_stack("aws-vpc-default-security-group-closed", stack)
    assert (
        "Security group rule 'self-ingress' opens default security group 'net-default'; remove it and put the "
        "permission on a security group of its own.",
        "self-ingress",
    ) in outcome.violations, outcome.describe()


# --- EC2 instances as well as launch templates ---------------------------------------------------------------

COMPLIANT_INSTANCE: dict[str, Any] = {
    "ami": "ami-0123456789abcdef0",
    "instanceType": "g5.xlarge",
    "associatePublicIpAddress": False,
    "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1.0},
    "rootBlockDevice": {"encrypted": True, "kmsKeyId": KEY, "volumeSize": 200.0},
    "ebsBlockDevices": [{"deviceName": "/dev/sdf", "encrypted": True, "kmsKeyId": KEY}],
}
LAUNCH_TEMPLATE_RULES = (
    "aws-ec2-launch-template-imdsv2",
    "aws-ec2-launch-template-ebs-encrypted",
    "aws-ec2-launch-template-no-public-ip",
)

# (id, rule, change of the compliant instance, verdict, expected message part)
INSTANCE_CHANGES: list[tuple[str, str, dict[str, Any], str, str]] = [
    ("imdsv1", LAUNCH_TEMPLATE_RULES[0], {"metadataOptions": {"httpTokens": "optional"}}, FAILS, "allows IMDSv1"),
    ("metadata left to the ami", LAUNCH_TEMPLATE_RULES[0], {"metadataOptions": None}, FAILS, "allows IMDSv1"),
    (
        "pods reach metadata",
        LAUNCH_TEMPLATE_RULES[0],
        {"metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 2.0}},
        FAILS,
        "hop limit 2",
    ),
    ("metadata disabled", LAUNCH_TEMPLATE_RULES[0], {"metadataOptions": {"httpEndpoint": "disabled"}}, PASSES, ""),
    ("computed tokens", LAUNCH_TEMPLATE_RULES[0], {"metadataOptions": {"httpTokens": UNKNOWN}}, UNVERIFIABLE, ""),
    (
        "root volume unencrypted",
        LAUNCH_TEMPLATE_RULES[1],
        {"rootBlockDevice": {"encrypted": False}},
        FAILS,
        "leaves its root volume unencrypted",
    ),
    ("root volume left to the ami", LAUNCH_TEMPLATE_RULES[1], {"rootBlockDevice": None}, FAILS, "no root_block_device"),
    (
        "root volume aws-managed key",
        LAUNCH_TEMPLATE_RULES[1],
        {"rootBlockDevice": {"encrypted": True}},
        FAILS,
        "AWS-managed key",
    ),
    (
        "extra volume unencrypted",
        LAUNCH_TEMPLATE_RULES[1],
        {"ebsBlockDevices": [{"deviceName": "/dev/sdf", "encrypted": False}]},
        FAILS,
        "EBS volume /dev/sdf unencrypted",
    ),
    ("computed extra volumes", LAUNCH_TEMPLATE_RULES[1], {"ebsBlockDevices": UNKNOWN}, UNVERIFIABLE, ""),
    ("public ip", LAUNCH_TEMPLATE_RULES[2], {"associatePublicIpAddress": True}, FAILS, "gets a public IP"),
    ("public ip left to the subnet", LAUNCH_TEMPLATE_RULES[2], {"associatePublicIpAddress": None}, PASSES, ""),
    ("computed public ip", LAUNCH_TEMPLATE_RULES[2], {"associatePublicIpAddress": UNKNOWN}, UNVERIFIABLE, ""),
]


def _instance(changes: dict[str, Any]) -> dict[str, Any]:
    props = {**COMPLIANT_INSTANCE, **changes}
    return {key: value for key, value in props.items() if value is not None}


@pytest.mark.parametrize("type_token", INSTANCE_TYPES)
@pytest.mark.parametrize("rule", LAUNCH_TEMPLATE_RULES)
def test_a_hardened_instance_passes_every_launch_template_rule(rule: str, type_token: str) -> None:
    outcome = run_resource(rule, type_token, COMPLIANT_INSTANCE)
    assert outcome.passed, f"{rule} accepts a hardened {type_token}; {outcome.describe()}"


@pytest.mark.parametrize("type_token", INSTANCE_TYPES)
@pytest.mark.parametrize(
    ("rule", "changes", "verdict", "expect"),
    [row[1:] for row in INSTANCE_CHANGES],
    ids=[row[0] for row in INSTANCE_CHANGES],
)
def test_every_launch_template_rule_reads_instances_too(
    rule: str, changes: dict[str, Any], verdict: str, expect: str, type_token: str
) -> None:
    outcome = run_resource(rule, type_token, _instance(changes))
    _verdict(outcome, verdict, f"{rule} on a {type_token} with {changes}")
    if expect:
        assert any(expect in message for message in outcome.messages), outcome.describe()


@pytest.mark.parametrize("rule", LAUNCH_TEMPLATE_RULES[:2])
def test_an_instance_leaves_unset_settings_to_its_launch_template(rule: str) -> None:
    props = {"launchTemplate": {"id": "lt-0123", "version": "$Latest"}, "ami": "ami-0123456789abcdef0"}
    outcome = run_resource(rule, "aws:ec2/instance:Instance", props)
    assert outcome.passed, f"{rule}: the launch template supplies what the instance leaves unset; {outcome.describe()}"


# --- ECR repository creation templates ---------------------------------------------------------------------

LIFECYCLE = ecr_lifecycle_policy(30)
PRIVATE = document(
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "ecr:BatchGetImage"}
)
PUBLIC = document({"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"})

TEMPLATES: dict[str, dict[str, Any]] = {
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": {
        "prefix": "ROOT",
        "appliedFors": ["PULL_THROUGH_CACHE", "REPLICATION"],
        "imageTagMutability": "IMMUTABLE",
        "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": KEY}],
        "lifecyclePolicy": LIFECYCLE,
        "repositoryPolicy": PRIVATE,
        "resourceTags": RECORD_TAGS,
    },
    "aws-native:ecr:RepositoryCreationTemplate": {
        "prefix": "ROOT",
        "appliedFor": ["PULL_THROUGH_CACHE", "REPLICATION"],
        "imageTagMutability": "IMMUTABLE",
        "encryptionConfiguration": {"encryptionType": "KMS", "kmsKey": KEY},
        "lifecyclePolicy": LIFECYCLE,
        "repositoryPolicy": PRIVATE,
        "resourceTags": [{"key": key, "value": value} for key, value in RECORD_TAGS.items()],
    },
}
ENCRYPTION = {
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate": "encryptionConfigurations",
    "aws-native:ecr:RepositoryCreationTemplate": "encryptionConfiguration",
}


def test_the_ecr_table_covers_repositories_and_every_creation_template() -> None:
    assert set(ECR_TYPES) == {"aws:ecr/repository:Repository", *TEMPLATES}, "every ECR form is spelled here"


# (id, rule, change(type token) -> props changes, verdict, expected message part)
TEMPLATE_CHANGES: list[tuple[str, str, Any, str, str]] = [
    (
        "mutable tags",
        "aws-ecr-repository-immutable-tags",
        lambda t: {"imageTagMutability": "MUTABLE"},
        FAILS,
        "allows mutable tags",
    ),
    (
        "aws default mutability",
        "aws-ecr-repository-immutable-tags",
        lambda t: {"imageTagMutability": None},
        FAILS,
        "allows mutable tags",
    ),
    (
        "aes default",
        "aws-ecr-repository-kms-encryption",
        lambda t: {ENCRYPTION[t]: None},
        FAILS,
        "default AES256 encryption",
    ),
    (
        "aws-managed key",
        "aws-ecr-repository-kms-encryption",
        lambda t: {ENCRYPTION[t]: [{"encryptionType": "KMS"}] if t.startswith("aws:") else {"encryptionType": "KMS"}},
        FAILS,
        "AWS-managed ECR key",
    ),
    ("computed encryption", "aws-ecr-repository-kms-encryption", lambda t: {ENCRYPTION[t]: UNKNOWN}, UNVERIFIABLE, ""),
    (
        "public repositories",
        "aws-ecr-repository-policy-no-public-access",
        lambda t: {"repositoryPolicy": PUBLIC},
        FAILS,
        "lets anyone pull or push",
    ),
    (
        "no repository policy",
        "aws-ecr-repository-policy-no-public-access",
        lambda t: {"repositoryPolicy": None},
        NOT_APPLICABLE,
        "",
    ),
]


@pytest.mark.parametrize("type_token", sorted(TEMPLATES))
@pytest.mark.parametrize(
    ("rule", "change", "verdict", "expect"),
    [row[1:] for row in TEMPLATE_CHANGES],
    ids=[row[0] for row in TEMPLATE_CHANGES],
)
def test_the_ecr_rules_apply_to_creation_templates(
    rule: str, change: Any, verdict: str, expect: str, type_token: str
) -> None:
    baseline = run_resource(rule, type_token, TEMPLATES[type_token], name="pull-through")
    assert baseline.passed, f"{rule} accepts a hardened {type_token}; {baseline.describe()}"
    props = {key: value for key, value in {**TEMPLATES[type_token], **change(type_token)}.items() if value is not None}
    outcome = run_resource(rule, type_token, props, name="pull-through")
    _verdict(outcome, verdict, f"{rule} on {type_token}")
    if expect:
        assert any(
            f"ECR repository creation template 'pull-through' {expect}" in m or expect in m for m in outcome.messages
        ), outcome.describe()


@pytest.mark.parametrize("type_token", sorted(TEMPLATES))
def test_phi_templates_are_judged_by_their_resource_tags(type_token: str) -> None:
    props = dict(TEMPLATES[type_token])
    props["resourceTags"] = (
        {**RECORD_TAGS, "data-classification": "phi"}
        if type_token.startswith("aws:")
        else [{"key": "data-classification", "value": "phi"}]
    )
    props.pop(ENCRYPTION[type_token])
    assert run_resource("aws-ecr-repository-kms-encryption", type_token, props).not_applicable, (
        "PHI goes to the PHI rule"
    )
    outcome = run_resource("aws-ecr-repository-phi-kms-encryption", type_token, props)
    assert any("default AES256 encryption" in m for m in outcome.messages), outcome.describe()


@pytest.mark.parametrize("type_token", sorted(TEMPLATES))
@pytest.mark.parametrize(
    ("lifecycle", "verdict"),
    [(LIFECYCLE, PASSES), (None, FAILS), (json.dumps({"rules": []}), FAILS), (UNKNOWN, UNVERIFIABLE)],
    ids=["expiring", "none", "expires nothing", "computed"],
)
def test_creation_templates_expire_old_images(type_token: str, lifecycle: Any, verdict: str) -> None:
    props = {
        key: value
        for key, value in {**TEMPLATES[type_token], "lifecyclePolicy": lifecycle}.items()
        if value is not None
    }
    outcome = run_stack("aws-ecr-repository-lifecycle-policy", [Res(type_token, "pull-through", props)])
    _verdict(outcome, verdict, f"lifecycle {lifecycle!r} of a {type_token}")


# --- Residency across providers: aws-native and classic azure -------------------------------------------------

# (id, rule, type token, props, provider props, verdict)
RESIDENCY: list[tuple[str, str, str, dict[str, Any], dict[str, Any] | None, str]] = [
    (
        "aws-native in an eu region",
        "aws-region-allowed",
        "aws-native:s3:Bucket",
        {},
        {"region": "eu-central-1"},
        PASSES,
    ),
    ("aws-native in a us region", "aws-region-allowed", "aws-native:s3:Bucket", {}, {"region": "us-east-1"}, FAILS),
    ("aws-native region unknown", "aws-region-allowed", "aws-native:s3:Bucket", {}, None, UNVERIFIABLE),
    ("aws-native region computed", "aws-region-allowed", "aws-native:s3:Bucket", {}, {"region": UNKNOWN}, UNVERIFIABLE),
    (
        "aws-native provider in the us",
        "aws-region-allowed",
        "pulumi:providers:aws-native",
        {"region": "us-west-2"},
        None,
        FAILS,
    ),
    (
        "aws-native provider without region",
        "aws-region-allowed",
        "pulumi:providers:aws-native",
        {},
        None,
        NOT_APPLICABLE,
    ),
    (
        "aws-native ecr replica in the us",
        "aws-ecr-replication-region-allowed",
        "aws-native:ecr:ReplicationConfiguration",
        {"replicationConfiguration": {"rules": [{"destinations": [{"region": "us-east-1", "registryId": "1"}]}]}},
        {"region": "eu-central-1"},
        FAILS,
    ),
    (
        "classic azure in westeurope",
        "azure-location-allowed",
        "azure:storage/account:Account",
        {"location": "westeurope"},
        None,
        PASSES,
    ),
    (
        "classic azure in eastus",
        "azure-location-allowed",
        "azure:storage/account:Account",
        {"location": "East US"},
        None,
        FAILS,
    ),
    (
        "classic azure location computed",
        "azure-location-allowed",
        "azure:storage/account:Account",
        {"location": UNKNOWN},
        None,
        UNVERIFIABLE,
    ),
    (
        "classic resource group from provider config",
        "azure-location-allowed",
        "azure:core/resourceGroup:ResourceGroup",
        {},
        {"location": "eastus"},
        FAILS,
    ),
    (
        "classic resource group location unknown",
        "azure-location-allowed",
        "azure:core/resourceGroup:ResourceGroup",
        {},
        None,
        UNVERIFIABLE,
    ),
    (
        "native resource group location unknown",
        "azure-location-allowed",
        "azure-native:resources:ResourceGroup",
        {},
        None,
        UNVERIFIABLE,
    ),
    (
        "classic azure provider in eastus",
        "azure-location-allowed",
        "pulumi:providers:azure",
        {"location": "eastus"},
        None,
        FAILS,
    ),
    (
        "classic child inherits its group",
        "azure-location-allowed",
        "azure:storage/container:Container",
        {"name": "c"},
        None,
        NOT_APPLICABLE,
    ),
]


@pytest.mark.parametrize(
    ("rule", "type_token", "props", "provider", "verdict"),
    [row[1:] for row in RESIDENCY],
    ids=[row[0] for row in RESIDENCY],
)
def test_residency_reads_every_provider(
    rule: str, type_token: str, props: dict[str, Any], provider: dict[str, Any] | None, verdict: str
) -> None:
    outcome = run_resource(rule, type_token, props, provider=provider)
    _verdict(outcome, verdict, f"{rule} on {type_token} (provider {provider})")
