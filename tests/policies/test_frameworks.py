"""The frameworks: golden policy lists, compliance metadata on every policy, and generated pack READMEs."""

from __future__ import annotations

import jsonschema
import pytest
from pulumi_policy import EnforcementLevel, Severity, StackValidationPolicy

from policies import docs
from policies.frameworks import CONTROLS, FRAMEWORKS, MAPPINGS, policies_for
from policies.rules import RULES
from policies.rules.data_lifecycle import ceiling_for

GDPR_POLICIES = [
    "aws-backup-data-store-covered",
    "aws-backup-phi-data-store-covered",
    "aws-backup-vault-kms-encryption",
    "aws-cloudtrail-trail-required",
    "aws-cloudtrail-trail-secure",
    "aws-cloudwatch-log-group-retention",
    "aws-data-store-processing-record-tags",
    "aws-ebs-volume-kms-encrypted",
    "aws-ec2-launch-template-ebs-encrypted",
    "aws-ecr-registry-enhanced-scanning",
    "aws-ecr-replication-region-allowed",
    "aws-ecr-repository-lifecycle-policy",
    "aws-ecrpublic-repository-not-used",
    "aws-eks-cluster-control-plane-logging",
    "aws-eks-cluster-private-endpoint",
    "aws-eks-cluster-secrets-encryption",
    "aws-iam-policy-no-admin-access",
    "aws-iam-role-trust-policy-pinned",
    "aws-kms-key-deletion-window",
    "aws-kms-key-policy-restricted",
    "aws-kms-key-rotation-enabled",
    "aws-rds-cluster-backup-retention",
    "aws-rds-cluster-deletion-protection",
    "aws-rds-cluster-kms-encryption",
    "aws-rds-cluster-postgres-tls-enforced",
    "aws-rds-database-iam-authentication",
    "aws-rds-database-log-exports",
    "aws-rds-database-log-group-declared",
    "aws-rds-instance-backup-retention",
    "aws-rds-instance-deletion-protection",
    "aws-rds-instance-kms-encryption",
    "aws-rds-instance-not-public",
    "aws-rds-postgres-tls-enforced",
    "aws-region-allowed",
    "aws-s3-bucket-access-logging",
    "aws-s3-bucket-kms-encryption",
    "aws-s3-bucket-lifecycle-retention",
    "aws-s3-bucket-no-public-acl",
    "aws-s3-bucket-owner-enforced",
    "aws-s3-bucket-public-access-blocked",
    "aws-s3-bucket-replication",
    "aws-s3-bucket-tls-only-policy",
    "aws-s3-bucket-versioning-enabled",
    "aws-s3-replication-destination-allowed",
    "aws-sqs-queue-encrypted",
    "aws-sqs-queue-policy-no-public-access",
    "aws-sqs-queue-tls-only-policy",
    "aws-vpc-default-security-group-closed",
    "azure-acr-registry-export-disabled",
    "azure-acr-registry-not-public",
    "azure-acr-registry-retention-policy",
    "azure-acr-registry-zone-redundant",
    "azure-aks-cluster-network-policy",
    "azure-aks-cluster-private-api",
    "azure-data-store-processing-record-tags",
    "azure-defender-containers-registry-scanning",
    "azure-diagnostic-settings-enabled",
    "azure-key-vault-public-network-restricted",
    "azure-key-vault-purge-protection",
    "azure-key-vault-rbac-authorization",
    "azure-location-allowed",
    "azure-log-analytics-workspace-retention",
    "azure-nsg-no-internet-admin-ports",
    "azure-postgres-flexible-server-backup-retention",
    "azure-postgres-flexible-server-cmk-encryption",
    "azure-postgres-flexible-server-delete-lock",
    "azure-postgres-flexible-server-entra-auth",
    "azure-postgres-flexible-server-firewall-no-public-range",
    "azure-postgres-flexible-server-no-public-access",
    "azure-postgres-flexible-server-tls",
    "azure-storage-account-blob-soft-delete",
    "azure-storage-account-cmk-encryption",
    "azure-storage-account-https-only",
    "azure-storage-account-infrastructure-encryption",
    "azure-storage-account-lifecycle-retention",
    "azure-storage-account-no-public-access",
    "azure-storage-account-redundant-sku",
    "azure-storage-account-shared-key-disabled",
    "azure-storage-container-no-public-access",
    "kubernetes-gateway-listener-tls",
    "kubernetes-ingress-tls",
    "kubernetes-load-balancer-internal",
    "kubernetes-load-balancer-source-ranges",
    "kubernetes-monitoring-ui-not-exposed",
    "kubernetes-namespace-pod-security-level",
    "kubernetes-namespace-processing-record-labels",
    "kubernetes-observability-retention",
    "kubernetes-persistent-volume-encrypted-class",
    "kubernetes-persistent-volume-no-host-path",
    "kubernetes-rbac-no-cluster-wide-secret-readers",
    "kubernetes-secret-provider-class-workload-identity",
    "kubernetes-service-not-publicly-exposed",
    "kubernetes-serving-namespace-default-deny",
    "kubernetes-storage-class-encrypted",
    "kubernetes-training-namespace-not-exposed",
    "kubernetes-workload-no-plaintext-secret-env",
    "kubernetes-workload-pod-security-baseline",
    "kubernetes-workload-resource-requests",
]

HIPAA_POLICIES = [
    "aws-backup-data-store-covered",
    "aws-backup-phi-data-store-covered",
    "aws-backup-vault-kms-encryption",
    "aws-cloudtrail-trail-required",
    "aws-cloudtrail-trail-secure",
    "aws-cloudwatch-log-group-kms-encryption",
    "aws-cloudwatch-log-group-retention",
    "aws-ebs-volume-kms-encrypted",
    "aws-ec2-launch-template-ebs-encrypted",
    "aws-ec2-launch-template-imdsv2",
    "aws-ec2-launch-template-no-public-ip",
    "aws-ec2-security-group-no-public-ingress",
    "aws-ecr-registry-enhanced-scanning",
    "aws-ecr-repository-immutable-tags",
    "aws-ecr-repository-kms-encryption",
    "aws-ecr-repository-phi-kms-encryption",
    "aws-ecr-repository-policy-no-public-access",
    "aws-ecr-repository-scan-on-push",
    "aws-ecrpublic-repository-not-used",
    "aws-eks-access-policy-cluster-admin-restricted",
    "aws-eks-cluster-api-authentication",
    "aws-eks-cluster-control-plane-logging",
    "aws-eks-cluster-private-endpoint",
    "aws-eks-cluster-secrets-encryption",
    "aws-eks-node-group-encrypted-launch-template",
    "aws-eks-node-group-ssh-restricted",
    "aws-iam-no-user-credentials",
    "aws-iam-policy-no-admin-access",
    "aws-iam-role-trust-policy-pinned",
    "aws-kms-key-deletion-window",
    "aws-kms-key-policy-restricted",
    "aws-kms-key-rotation-enabled",
    "aws-rds-cluster-backup-retention",
    "aws-rds-cluster-deletion-protection",
    "aws-rds-cluster-kms-encryption",
    "aws-rds-cluster-postgres-tls-enforced",
    "aws-rds-database-iam-authentication",
    "aws-rds-database-log-exports",
    "aws-rds-database-log-group-declared",
    "aws-rds-instance-backup-retention",
    "aws-rds-instance-deletion-protection",
    "aws-rds-instance-kms-encryption",
    "aws-rds-instance-not-public",
    "aws-rds-postgres-tls-enforced",
    "aws-s3-bucket-access-logging",
    "aws-s3-bucket-kms-encryption",
    "aws-s3-bucket-no-public-acl",
    "aws-s3-bucket-owner-enforced",
    "aws-s3-bucket-public-access-blocked",
    "aws-s3-bucket-replication",
    "aws-s3-bucket-tls-only-policy",
    "aws-s3-bucket-versioning-enabled",
    "aws-sqs-queue-encrypted",
    "aws-sqs-queue-policy-no-public-access",
    "aws-sqs-queue-tls-only-policy",
    "aws-vpc-default-security-group-closed",
    "aws-vpc-flow-logs-enabled",
    "azure-acr-registry-cmk-encryption",
    "azure-acr-registry-export-disabled",
    "azure-acr-registry-local-auth-disabled",
    "azure-acr-registry-not-public",
    "azure-acr-registry-public-network-disabled",
    "azure-acr-registry-retention-policy",
    "azure-acr-registry-zone-redundant",
    "azure-aks-cluster-azure-rbac",
    "azure-aks-cluster-disk-encryption-set",
    "azure-aks-cluster-entra-rbac",
    "azure-aks-cluster-etcd-kms",
    "azure-aks-cluster-kms-private-key-vault",
    "azure-aks-cluster-network-policy",
    "azure-aks-cluster-private-api",
    "azure-aks-node-pool-encryption-at-host",
    "azure-aks-node-pool-no-public-ip",
    "azure-defender-containers-registry-scanning",
    "azure-diagnostic-settings-enabled",
    "azure-disk-cmk-encryption",
    "azure-disk-encryption-set-customer-key",
    "azure-key-vault-key-hsm-strength",
    "azure-key-vault-key-rotation",
    "azure-key-vault-public-network-restricted",
    "azure-key-vault-purge-protection",
    "azure-key-vault-rbac-authorization",
    "azure-log-analytics-workspace-retention",
    "azure-nsg-no-internet-admin-ports",
    "azure-postgres-flexible-server-backup-retention",
    "azure-postgres-flexible-server-cmk-encryption",
    "azure-postgres-flexible-server-delete-lock",
    "azure-postgres-flexible-server-entra-auth",
    "azure-postgres-flexible-server-firewall-no-public-range",
    "azure-postgres-flexible-server-no-public-access",
    "azure-postgres-flexible-server-tls",
    "azure-storage-account-blob-soft-delete",
    "azure-storage-account-cmk-encryption",
    "azure-storage-account-https-only",
    "azure-storage-account-infrastructure-encryption",
    "azure-storage-account-no-public-access",
    "azure-storage-account-redundant-sku",
    "azure-storage-account-shared-key-disabled",
    "azure-storage-container-no-public-access",
    "kubernetes-gateway-listener-tls",
    "kubernetes-helm-chart-repository-allowed",
    "kubernetes-helm-chart-version-pinned",
    "kubernetes-helm-release-rendered",
    "kubernetes-ingress-tls",
    "kubernetes-load-balancer-internal",
    "kubernetes-load-balancer-source-ranges",
    "kubernetes-monitoring-ui-not-exposed",
    "kubernetes-namespace-pod-security-level",
    "kubernetes-observability-retention",
    "kubernetes-persistent-volume-encrypted-class",
    "kubernetes-persistent-volume-no-host-path",
    "kubernetes-rbac-least-privilege-rules",
    "kubernetes-rbac-no-cluster-admin-binding",
    "kubernetes-rbac-no-cluster-wide-secret-readers",
    "kubernetes-resource-namespace-set",
    "kubernetes-secret-provider-class-workload-identity",
    "kubernetes-service-not-publicly-exposed",
    "kubernetes-serving-namespace-default-deny",
    "kubernetes-storage-class-encrypted",
    "kubernetes-training-namespace-not-exposed",
    "kubernetes-workload-capabilities-dropped",
    "kubernetes-workload-host-isolation",
    "kubernetes-workload-image-pinned",
    "kubernetes-workload-image-registry-allowed",
    "kubernetes-workload-no-plaintext-secret-env",
    "kubernetes-workload-no-privilege-escalation",
    "kubernetes-workload-pod-security-baseline",
    "kubernetes-workload-read-only-root-filesystem",
    "kubernetes-workload-resource-requests",
    "kubernetes-workload-run-as-non-root",
    "kubernetes-workload-seccomp-profile",
    "kubernetes-workload-service-account-token",
]

KUBERNETES_BASELINE_POLICIES = [
    "aws-eks-node-group-gpu-taint",
    "azure-aks-node-pool-gpu-taint",
    "kubernetes-gateway-listener-tls",
    "kubernetes-gpu-daemonset-tolerations",
    "kubernetes-gpu-namespace-kueue-admission",
    "kubernetes-helm-chart-repository-allowed",
    "kubernetes-helm-chart-version-pinned",
    "kubernetes-helm-release-rendered",
    "kubernetes-ingress-tls",
    "kubernetes-kueue-cluster-queue-cohort-borrowing",
    "kubernetes-kueue-cluster-queue-gpu-quota",
    "kubernetes-load-balancer-internal",
    "kubernetes-load-balancer-source-ranges",
    "kubernetes-monitoring-ui-not-exposed",
    "kubernetes-namespace-pod-security-level",
    "kubernetes-node-pool-limits",
    "kubernetes-observability-retention",
    "kubernetes-persistent-volume-encrypted-class",
    "kubernetes-persistent-volume-no-host-path",
    "kubernetes-rbac-least-privilege-rules",
    "kubernetes-rbac-no-cluster-admin-binding",
    "kubernetes-rbac-no-cluster-wide-secret-readers",
    "kubernetes-resource-namespace-set",
    "kubernetes-secret-provider-class-workload-identity",
    "kubernetes-service-not-publicly-exposed",
    "kubernetes-serving-namespace-default-deny",
    "kubernetes-serving-namespace-gpu-quota",
    "kubernetes-storage-class-encrypted",
    "kubernetes-training-namespace-not-exposed",
    "kubernetes-workload-capabilities-dropped",
    "kubernetes-workload-host-isolation",
    "kubernetes-workload-image-pinned",
    "kubernetes-workload-image-registry-allowed",
    "kubernetes-workload-no-plaintext-secret-env",
    "kubernetes-workload-no-privilege-escalation",
    "kubernetes-workload-pod-security-baseline",
    "kubernetes-workload-read-only-root-filesystem",
    "kubernetes-workload-resource-requests",
    "kubernetes-workload-run-as-non-root",
    "kubernetes-workload-seccomp-profile",
    "kubernetes-workload-service-account-token",
]

GOLDEN = {"gdpr": GDPR_POLICIES, "hipaa": HIPAA_POLICIES, "kubernetes-baseline": KUBERNETES_BASELINE_POLICIES}


@pytest.mark.parametrize("framework", sorted(GOLDEN))
def test_each_framework_ships_exactly_its_golden_policy_list(framework: str) -> None:
    names = sorted(policy.name for policy in policies_for(framework))
    assert names == GOLDEN[framework], f"the {framework} pack changed; update the golden list and the README on purpose"


def test_every_rule_is_in_some_framework_and_every_control_has_rules() -> None:
    shipped = {name for names in GOLDEN.values() for name in names}
    assert shipped == set(RULES), f"rules in no pack: {sorted(set(RULES) - shipped)}"
    assert {mapping.control for mapping in MAPPINGS} == set(CONTROLS), "every control of the matrix is implemented"
    assert len({mapping.rule for mapping in MAPPINGS}) == len(MAPPINGS), "a rule implements exactly one control"


SQS_CONTROLS = {"HIPAA-ENC-SQS-SSE", "HIPAA-TLS-SQS-POLICY", "HIPAA-AC-SQS-POLICY"}
"""Rows added beyond CONTROLS.md for Karpenter's interruption queue (issue 17)."""
GATEWAY_CONTROLS = {"HIPAA-NET-K8S-LB-PRIVATE", "HIPAA-TLS-K8S-GATEWAY"}
"""Rows added beyond CONTROLS.md for the serving gateway's load balancer and listeners (issue 18)."""
DATABASE_CONTROLS = {
    "HIPAA-ENC-DB-CMK",
    "HIPAA-TLS-DB",
    "HIPAA-AC-DB-PUBLIC",
    "HIPAA-BAK-DB",
    "HIPAA-AC-DB-AUTH",
    "HIPAA-LOG-DB",
}
"""Rows added beyond CONTROLS.md for MLflow's managed PostgreSQL (issue 19)."""
TRAINING_CONTROLS = {"HIPAA-NET-K8S-TRAINING-PRIVATE"}
"""Rows added beyond CONTROLS.md for training and tracking namespaces (issue 19; the queue rows are ML-*)."""

GUARDRAIL_CONTROLS = {
    "HIPAA-AC-IAM-TRUST",
    "HIPAA-NET-NSG-INGRESS",
    "HIPAA-AC-REGISTRY-PRIVATE",
    "HIPAA-K8S-PSS-BASELINE",
    "HIPAA-NET-K8S-MONITORING-UI",
    "HIPAA-K8S-RBAC-SECRETS",
}
"""Rows the matrix lacked (issue 20): trust policies, NSGs, public registries, the rest of Pod Security baseline,
monitoring UIs and cluster-wide Secret readers."""


SUPPLY_CHAIN_CONTROLS = {"HIPAA-VULN-REGISTRY-SCAN"}
"""Rows added beyond CONTROLS.md for registry scanning that gates promotion (issue 20, class 7)."""

CLOUD_TABLE_CONTROLS = {"HIPAA-NET-VPC-DEFAULT-SG"}
"""Rows added beyond CONTROLS.md with the one-table-per-concept work (issue 20, class 4): default security groups."""


def test_the_matrix_controls_are_all_present() -> None:
    added = (
        SQS_CONTROLS
        | GATEWAY_CONTROLS
        | DATABASE_CONTROLS
        | TRAINING_CONTROLS
        | GUARDRAIL_CONTROLS
        | SUPPLY_CHAIN_CONTROLS
        | CLOUD_TABLE_CONTROLS
    )
    matrix = [control for control in CONTROLS if not control.startswith("ML-") and control not in added]
    assert len(matrix) == 70, "CONTROLS.md lists 70 controls (35 AWS/cross-cloud, 20 Azure, 15 Kubernetes)"
    assert set(CONTROLS) >= SQS_CONTROLS, "the SQS rows added for Karpenter's interruption queue"
    assert set(CONTROLS) >= GATEWAY_CONTROLS, "the rows added for the serving gateway"
    assert set(CONTROLS) >= DATABASE_CONTROLS, "the rows added for the managed PostgreSQL"
    assert set(CONTROLS) >= SUPPLY_CHAIN_CONTROLS, "the row added for registry scanning that gates promotion"
    assert set(CONTROLS) >= CLOUD_TABLE_CONTROLS, "the row added for VPC default security groups"
    assert set(CONTROLS) >= TRAINING_CONTROLS | {"ML-TRAINING-QUEUE-ADMISSION", "ML-TRAINING-QUEUE-QUOTA"}, (
        "the rows added for training: queue admission, queue quotas, private training namespaces"
    )


@pytest.mark.parametrize("framework", sorted(GOLDEN))
def test_every_policy_carries_compliance_metadata(framework: str) -> None:
    for policy in policies_for(framework):
        assert policy.severity in tuple(Severity), f"{policy.name} has a severity"
        assert policy.framework is not None and policy.framework.name == FRAMEWORKS[framework].framework_name
        assert policy.framework.reference, f"{policy.name} cites the clauses it implements"
        assert policy.framework.specification and ":" in policy.framework.specification, "control ID: title"
        assert policy.remediation_steps and policy.description and policy.display_name
        assert policy.tags and policy.tags[0] in {control.lower() for control in CONTROLS}, (
            "the control ID is the first tag"
        )
        properties = policy.config_schema.properties if policy.config_schema else {}
        assert {"excludeFor", "exemptions"} <= set(properties), f"{policy.name} accepts the suppression settings"
        assert all("default" in schema for schema in properties.values()), f"{policy.name}: every setting has a default"


@pytest.mark.parametrize("framework", sorted(GOLDEN))
def test_critical_and_high_policies_are_mandatory_and_the_rest_advisory(framework: str) -> None:
    for policy in policies_for(framework):
        mandatory = policy.severity in (Severity.CRITICAL, Severity.HIGH)
        expected = EnforcementLevel.MANDATORY if mandatory else EnforcementLevel.ADVISORY
        assert policy.enforcement_level == expected, f"{policy.name} is {policy.severity} so {expected}"


def test_hipaa_references_cite_45_cfr_and_gdpr_references_cite_articles() -> None:
    assert all(policy.framework.reference.startswith("45 CFR 164.") for policy in policies_for("hipaa"))
    assert all(policy.framework.reference.startswith("Art. ") for policy in policies_for("gdpr"))


def test_stack_rules_become_stack_policies() -> None:
    stack_rules = {name for name, rule in RULES.items() if rule.stack}
    for framework in GOLDEN:
        for policy in policies_for(framework):
            assert isinstance(policy, StackValidationPolicy) == (policy.name in stack_rules), policy.name


def test_advisory_parts_of_mandatory_controls_are_separate_advisory_rules() -> None:
    levels = {policy.name: policy.enforcement_level for policy in policies_for("hipaa")}
    assert levels["aws-ecr-repository-phi-kms-encryption"] == EnforcementLevel.MANDATORY
    assert levels["aws-ecr-repository-kms-encryption"] == EnforcementLevel.ADVISORY
    assert levels["aws-s3-bucket-owner-enforced"] == EnforcementLevel.ADVISORY
    assert levels["aws-s3-bucket-public-access-blocked"] == EnforcementLevel.MANDATORY


def test_pack_readmes_are_generated_from_the_metadata() -> None:
    assert docs.main(["--check"]) == 0, "run `python -m policies.docs` to regenerate the pack READMEs"
    readme = (docs.PACKS_DIR / "hipaa" / "README.md").read_text()
    assert "`aws-s3-bucket-kms-encryption` (stack)" in readme and "45 CFR 164.312(a)(2)(iv)" in readme
    assert "## Controls not in this pack" in readme and "GDPR-RES-AWS-REGION" in readme, (
        "controls outside HIPAA are listed"
    )
    assert "ACR quarantine policy" in readme, "parts not enforced are listed with the reason"


def test_a_setting_name_means_the_same_thing_in_every_policy() -> None:
    seen: dict[str, tuple[str, dict[str, object]]] = {}
    for rule in RULES.values():
        for setting in rule.settings:
            first = seen.setdefault(setting.name, (rule.name, setting.schema))
            assert first[1] == setting.schema, f"{setting.name} differs between {first[0]} and {rule.name}"


def test_overriding_one_retention_ceiling_keeps_the_others() -> None:
    assert ceiling_for("pii", {"maxRetentionDays": {"phi": 365}}) == 1095
    assert ceiling_for("phi", {"maxRetentionDays": {"phi": 365}}) == 365


def _schema(policy_name: str) -> dict[str, object]:
    rule = RULES[policy_name]
    return {"type": "object", "properties": rule.config_schema().properties, "additionalProperties": False}


def test_config_schemas_are_valid_json_schema_the_cli_can_enforce() -> None:
    for name in RULES:
        jsonschema.Draft7Validator.check_schema(_schema(name))
        jsonschema.validate(RULES[name].config({}), _schema(name))  # the defaults satisfy the schema


@pytest.mark.parametrize(
    ("exemption", "valid"),
    [
        ({"name": "legacy-.*", "reason": "migrating in PLAT-142", "expires": "2026-03-31"}, True),
        (
            {
                "urn": "urn:pulumi:prod::mlplatform::aws:s3/bucket:Bucket::x",
                "reason": "vendor bucket, read-only",
                "expires": "2026-03-31",
            },
            True,
        ),
        ({"name": "legacy-.*", "reason": "because", "expires": "2026-03-31"}, False),
        ({"name": "legacy-.*", "reason": "migrating in PLAT-142"}, False),
        ({"reason": "migrating in PLAT-142", "expires": "2026-03-31"}, False),
        ({"name": "x", "reason": "migrating in PLAT-142", "expires": "next year"}, False),
    ],
)
def test_the_exemption_schema_demands_a_target_a_reason_and_an_expiry(exemption: dict[str, str], valid: bool) -> None:
    errors = list(jsonschema.Draft7Validator(_schema("aws-region-allowed")).iter_errors({"exemptions": [exemption]}))
    assert (not errors) == valid, [error.message for error in errors]
