"""Frameworks (GDPR, HIPAA, Kubernetes baseline): controls, clauses, severity and enforcement, and their policies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyComplianceFramework,
    ResourceValidationPolicy,
    Severity,
    StackValidationPolicy,
)

from policies.rules import RULES, Rule
from policies.rules.base import resource_validator, stack_validator


@dataclass(frozen=True)
class Control:
    """A row of the control matrix (../shared/CONTROLS.md) and the clauses it implements."""

    id: str
    title: str
    hipaa: tuple[str, ...] = ()
    """45 CFR Part 164 clauses."""
    gdpr: tuple[str, ...] = ()
    """GDPR articles."""
    baseline: bool = False
    """Part of the Kubernetes (and ML platform) baseline."""
    standards: tuple[str, ...] = ()
    """Equivalent community controls (Pod Security Standards, Kyverno, Gatekeeper) for the baseline."""


@dataclass(frozen=True)
class Mapping:
    """A rule implementing (part of) a control, with its severity."""

    rule: str
    control: str
    severity: Severity

    @property
    def enforcement(self) -> EnforcementLevel:
        """Default enforcement: mandatory for critical and high severity, advisory otherwise."""
        return (
            EnforcementLevel.MANDATORY
            if self.severity in (Severity.CRITICAL, Severity.HIGH)
            else EnforcementLevel.ADVISORY
        )


_BACKUP = ("164.308(a)(7)(ii)(A)", "164.308(a)(7)(ii)(B)")
_ACCESS = ("164.312(a)(1)",)
_AT_REST = ("164.312(a)(2)(iv)",)
_AUDIT = ("164.312(b)", "164.308(a)(1)(ii)(D)")
_TRANSMISSION = ("164.312(e)(1)",)
_RESIDENCY = ("Art. 44", "Art. 45", "Art. 46")

CONTROLS: dict[str, Control] = {
    control.id: control
    for control in (
        # AWS
        Control(
            "HIPAA-ENC-S3-KMS",
            "S3 data encrypted with customer-managed KMS keys",
            (*_AT_REST, "164.312(e)(2)(ii)"),
            ("Art. 32(1)(a)",),
        ),
        Control(
            "HIPAA-AC-S3-PUBLIC", "No public S3 buckets", (*_ACCESS, *_TRANSMISSION), ("Art. 25(2)", "Art. 32(1)(b)")
        ),
        Control(
            "HIPAA-TLS-S3-POLICY",
            "S3 accepts TLS only",
            (*_TRANSMISSION, "164.312(e)(2)(i)", "164.312(e)(2)(ii)"),
            ("Art. 32(1)(a)",),
        ),
        Control(
            "HIPAA-INT-S3-VERSIONING",
            "S3 object versioning",
            ("164.312(c)(1)", "164.312(c)(2)", "164.308(a)(7)(ii)(A)"),
            ("Art. 32(1)(c)",),
        ),
        Control("HIPAA-LOG-S3-ACCESS", "S3 server access logging", _AUDIT, ("Art. 33(5)",)),
        Control(
            "GDPR-RET-S3-LIFECYCLE",
            "S3 retention within the ceiling per classification",
            (),
            ("Art. 5(1)(e)", "Art. 25(2)"),
        ),
        Control("HIPAA-BAK-S3-REPLICA", "Personal data in S3 replicated or backed up", _BACKUP, ("Art. 32(1)(c)",)),
        Control("HIPAA-ENC-KMS-ROTATION", "KMS key rotation", _AT_REST, ("Art. 32(1)(a)",)),
        Control("HIPAA-AC-KMS-POLICY", "Restrictive KMS key policies and deletion window", _ACCESS, ("Art. 32(1)(b)",)),
        Control("HIPAA-ENC-EKS-SECRETS", "EKS secrets envelope encryption", _AT_REST, ("Art. 32(1)(a)",)),
        Control("HIPAA-NET-EKS-ENDPOINT", "Private EKS API endpoint", (*_ACCESS, *_TRANSMISSION), ("Art. 32(1)(b)",)),
        Control("HIPAA-LOG-EKS-CONTROLPLANE", "EKS control-plane audit logs", _AUDIT, ("Art. 33(5)",)),
        Control(
            "HIPAA-AC-EKS-ACCESS",
            "EKS access entries and restricted cluster admins",
            ("164.312(a)(2)(i)", "164.312(d)"),
        ),
        Control("HIPAA-ENC-EBS-LT", "Launch template and EC2NodeClass EBS encryption", _AT_REST, ("Art. 32(1)(a)",)),
        Control("HIPAA-AC-EC2-IMDSV2", "IMDSv2 with hop limit 1", _ACCESS),
        Control("HIPAA-NET-EC2-NOPUBLICIP", "No public IPs on nodes", (*_ACCESS, *_TRANSMISSION)),
        Control("HIPAA-NET-EKS-NODEGROUP-SSH", "No open SSH to node groups", (*_ACCESS, *_TRANSMISSION)),
        Control("HIPAA-ENC-EKS-NODES", "EKS node disks encrypted", _AT_REST),
        Control(
            "HIPAA-ENC-EBS-VOLUME", "EBS volumes encrypted with customer-managed keys", _AT_REST, ("Art. 32(1)(a)",)
        ),
        Control("HIPAA-ENC-ECR-KMS", "ECR encrypted with customer-managed keys", _AT_REST),
        Control("HIPAA-INT-ECR-IMMUTABLE", "Immutable image tags", ("164.312(c)(1)",)),
        Control(
            "HIPAA-VULN-ECR-SCAN", "Image vulnerability scanning", ("164.308(a)(5)(ii)(B)", "164.308(a)(1)(ii)(A)")
        ),
        # Supply chain that gates (issue 20, class 7): a registry-level scanner whose findings the promotion gate
        # (policies/image_gate.py) judges; risk analysis and management, integrity, and regular testing of measures.
        Control(
            "HIPAA-VULN-REGISTRY-SCAN",
            "Registry images scanned continuously; findings gate promotion",
            ("164.308(a)(1)(ii)(A)", "164.308(a)(1)(ii)(B)", "164.312(c)(1)"),
            ("Art. 32(1)(d)",),
        ),
        Control("HIPAA-AC-ECR-POLICY", "No public ECR repository policies", _ACCESS),
        Control("GDPR-RET-ECR-LIFECYCLE", "ECR image lifecycle", (), ("Art. 5(1)(e)",)),
        Control(
            "HIPAA-ENC-LOGS-KMS", "Log groups encrypted with customer-managed keys", (*_AT_REST, "164.312(e)(2)(ii)")
        ),
        Control("GDPR-RET-LOGS", "Bounded log retention", ("164.312(b)",), ("Art. 5(1)(e)",)),
        Control(
            "HIPAA-LOG-CLOUDTRAIL",
            "Complete, validated, encrypted CloudTrail",
            ("164.312(b)", "164.312(c)(1)", "164.312(c)(2)"),
            ("Art. 33(5)",),
        ),
        Control("HIPAA-LOG-VPC-FLOW", "VPC flow logs", _AUDIT),
        Control("HIPAA-NET-SG-INGRESS", "No internet ingress in security groups", (*_ACCESS, *_TRANSMISSION)),
        # Issue 20, class 4: a VPC's default security group, which resources fall back to when none is named,
        # admits and sends nothing (CIS AWS Foundations Benchmark 5.4; AWS Security Hub EC2.2).
        Control(
            "HIPAA-NET-VPC-DEFAULT-SG",
            "Default security groups restrict all traffic",
            (*_ACCESS, *_TRANSMISSION),
            ("Art. 32(1)(b)",),
        ),
        Control(
            "HIPAA-AC-IAM-NO-ADMIN",
            "No administrator IAM policies",
            (*_ACCESS, "164.308(a)(4)(ii)(B)"),
            ("Art. 25(2)", "Art. 32(1)(b)"),
        ),
        Control("HIPAA-AC-IAM-NO-USER-CREDS", "No IAM user credentials", ("164.312(a)(2)(i)", "164.312(d)")),
        Control("HIPAA-BAK-AWS-BACKUP", "Personal data stores in AWS Backup", _BACKUP, ("Art. 32(1)(c)",)),
        # Rows added for Karpenter's interruption queue (issue 17), beyond the 70 of CONTROLS.md
        Control("HIPAA-ENC-SQS-SSE", "SQS queues encrypted at rest", _AT_REST, ("Art. 32(1)(a)",)),
        Control(
            "HIPAA-TLS-SQS-POLICY",
            "SQS accepts TLS only",
            (*_TRANSMISSION, "164.312(e)(2)(i)"),
            ("Art. 32(1)(a)",),
        ),
        Control("HIPAA-AC-SQS-POLICY", "No public SQS queue policies", _ACCESS, ("Art. 32(1)(b)",)),
        Control("GDPR-RES-AWS-REGION", "AWS resources in allowed regions", (), _RESIDENCY),
        Control("GDPR-RES-REPLICA", "Replicas in allowed regions", (), _RESIDENCY),
        Control(
            "GDPR-REC-TAGS",
            "Record-of-processing tags on data stores",
            (),
            ("Art. 30(1)(b)", "Art. 30(1)(c)", "Art. 30(1)(f)", "Art. 30(1)(g)", "Art. 5(2)"),
        ),
        # Managed PostgreSQL (issue 19: MLflow's backend store), both clouds
        Control(
            "HIPAA-ENC-DB-CMK", "Managed databases encrypted with customer-managed keys", _AT_REST, ("Art. 32(1)(a)",)
        ),
        Control(
            "HIPAA-TLS-DB",
            "Managed databases accept TLS only",
            (*_TRANSMISSION, "164.312(e)(2)(i)"),
            ("Art. 32(1)(a)",),
        ),
        Control(
            "HIPAA-AC-DB-PUBLIC",
            "No publicly accessible managed databases",
            (*_ACCESS, *_TRANSMISSION),
            ("Art. 25(2)", "Art. 32(1)(b)"),
        ),
        Control(
            "HIPAA-BAK-DB",
            "Managed database backups within the retention ceiling, and deletion protection",
            (*_BACKUP, "164.312(c)(1)"),
            ("Art. 32(1)(c)", "Art. 5(1)(e)"),
        ),
        Control(
            "HIPAA-AC-DB-AUTH",
            "Managed databases accept logins through the cloud identity provider",
            ("164.312(a)(2)(i)", "164.312(d)"),
            ("Art. 32(1)(b)",),
        ),
        Control(
            "HIPAA-LOG-DB",
            "Managed database logs exported to encrypted, bounded log groups",
            _AUDIT,
            ("Art. 33(5)", "Art. 5(1)(e)"),
        ),
        # Azure
        Control("HIPAA-ENC-STG-CMK", "Storage encrypted with customer-managed keys", _AT_REST, ("Art. 32(1)(a)",)),
        Control(
            "HIPAA-TLS-STG", "Storage accepts TLS 1.2+ only", (*_TRANSMISSION, "164.312(e)(2)(ii)"), ("Art. 32(1)(a)",)
        ),
        Control("HIPAA-AC-STG-PUBLIC", "No public storage", (*_ACCESS, *_TRANSMISSION), ("Art. 25(2)",)),
        Control(
            "HIPAA-BAK-STG-SOFTDELETE",
            "Blob soft delete, versioning and redundancy",
            (*_BACKUP, "164.312(c)(1)"),
            ("Art. 32(1)(c)",),
        ),
        Control(
            "GDPR-RET-STG-LIFECYCLE",
            "Blob retention within the ceiling per classification",
            (),
            ("Art. 5(1)(e)", "Art. 25(2)"),
        ),
        Control("HIPAA-NET-AKS-API", "Private AKS API server", (*_ACCESS, *_TRANSMISSION), ("Art. 32(1)(b)",)),
        Control(
            "HIPAA-AC-AKS-ENTRA-RBAC", "AKS Entra ID authentication and Azure RBAC", ("164.312(a)(2)(i)", "164.312(d)")
        ),
        Control("HIPAA-NET-AKS-NETPOL", "AKS network policy engine", _TRANSMISSION, ("Art. 32(1)(b)",)),
        Control("HIPAA-ENC-AKS-DISK", "AKS disks with customer-managed keys and host encryption", _AT_REST),
        Control("HIPAA-ENC-AKS-ETCD-KMS", "AKS secrets encrypted with Key Vault KMS", _AT_REST),
        Control("HIPAA-NET-AKS-NODE-PUBLICIP", "No public IPs on AKS nodes", _TRANSMISSION),
        Control("HIPAA-LOG-AZ-DIAG", "Diagnostic settings on Azure resources", _AUDIT, ("Art. 33(5)",)),
        Control("HIPAA-AC-ACR", "ACR Entra-only, private access", (*_ACCESS, "164.312(d)")),
        Control("HIPAA-ENC-ACR-CMK", "ACR encrypted with customer-managed keys", _AT_REST),
        Control(
            "HIPAA-INT-ACR-POLICIES",
            "ACR retention, export and redundancy policies",
            ("164.312(c)(1)",),
            ("Art. 5(1)(e)",),
        ),
        Control(
            "HIPAA-BAK-KV", "Key Vault soft delete and purge protection", ("164.308(a)(7)(ii)(A)",), ("Art. 32(1)(c)",)
        ),
        Control("HIPAA-AC-KV", "Key Vault RBAC and private access", _ACCESS, ("Art. 32(1)(b)",)),
        Control("HIPAA-ENC-KV-KEY", "Key Vault key rotation and strength", _AT_REST),
        Control("HIPAA-ENC-DES", "Disk encryption sets with rotating customer keys", _AT_REST),
        Control("GDPR-RES-AZ-LOCATION", "Azure resources in allowed locations", (), _RESIDENCY),
        # Kubernetes
        Control(
            "HIPAA-K8S-PSA-LABEL",
            "Pod Security Admission levels",
            _ACCESS,
            ("Art. 25(1)", "Art. 32(1)(b)"),
            baseline=True,
            standards=("PSA enforce labels",),
        ),
        Control(
            "HIPAA-K8S-NETPOL-DEFAULT-DENY",
            "Default-deny in serving namespaces",
            (*_TRANSMISSION, *_ACCESS),
            ("Art. 32(1)(b)",),
            baseline=True,
            standards=("Kyverno add-network-policy",),
        ),
        Control(
            "HIPAA-K8S-NONROOT",
            "Non-root containers",
            _ACCESS,
            baseline=True,
            standards=("PSS restricted", "Kyverno require-run-as-nonroot"),
        ),
        Control(
            "HIPAA-K8S-NO-PRIVESC",
            "No privilege escalation, capabilities or unconfined seccomp",
            _ACCESS,
            baseline=True,
            standards=(
                "PSS restricted",
                "Kyverno disallow-privilege-escalation, disallow-capabilities-strict, restrict-seccomp-strict",
            ),
        ),
        Control(
            "HIPAA-K8S-HOST-ISOLATION",
            "No host namespaces, paths or ports",
            _ACCESS,
            baseline=True,
            standards=(
                "PSS baseline + restricted volumes",
                "Kyverno disallow-host-namespaces, disallow-host-path, disallow-host-ports",
            ),
        ),
        Control(
            "HIPAA-K8S-READONLY-ROOTFS",
            "Read-only root filesystems",
            ("164.312(c)(1)",),
            baseline=True,
            standards=("Kyverno require-ro-rootfs",),
        ),
        Control(
            "HIPAA-AVAIL-K8S-RESOURCES",
            "Resource requests and limits",
            ("164.308(a)(7)(ii)(C)",),
            ("Art. 32(1)(b)",),
            baseline=True,
            standards=("Kyverno require-pod-requests-limits",),
        ),
        Control(
            "HIPAA-INT-K8S-IMAGE",
            "Pinned images from allowed registries",
            ("164.312(c)(1)", "164.308(a)(5)(ii)(B)"),
            baseline=True,
            standards=("Kyverno disallow-latest-tag, restrict-image-registries", "Gatekeeper imagedigests"),
        ),
        Control(
            "HIPAA-K8S-NAMESPACE",
            "No objects in the default namespace",
            _ACCESS,
            baseline=True,
            standards=("Kyverno disallow-default-namespace",),
        ),
        Control(
            "HIPAA-K8S-SA-TOKEN",
            "Dedicated service accounts without API tokens",
            (*_ACCESS, "164.312(d)"),
            baseline=True,
            standards=("Gatekeeper automount-serviceaccount-token",),
        ),
        Control(
            "ML-SECRETS-BY-REFERENCE",
            "Secrets reach workloads by reference, never as literal values in their specs",
            (*_ACCESS, *_AT_REST),
            ("Art. 32(1)(a)", "Art. 32(1)(b)"),
            baseline=True,
            standards=("ML platform secrets through the Secrets Store CSI driver",),
        ),
        Control(
            "ML-SECRETS-WORKLOAD-IDENTITY",
            "Secrets are fetched with the pod's own workload identity, never the node's",
            _ACCESS,
            ("Art. 32(1)(b)",),
            baseline=True,
            standards=("ML platform secrets through the Secrets Store CSI driver",),
        ),
        Control(
            "HIPAA-K8S-RBAC",
            "Least-privilege RBAC",
            (*_ACCESS, "164.308(a)(4)(ii)(B)"),
            baseline=True,
            standards=("CIS Kubernetes 5.1.1-5.1.3",),
        ),
        Control(
            "HIPAA-NET-K8S-EXPOSURE",
            "No public services; TLS ingress",
            _TRANSMISSION,
            ("Art. 25(2)",),
            baseline=True,
            standards=("Gatekeeper block-loadbalancer-services, block-nodeport-services, httpsonly",),
        ),
        # Serving exposure (issue 18): the gateway's load balancer and listeners.
        Control(
            "HIPAA-NET-K8S-LB-PRIVATE",
            "Internal load balancers; a public one admits an allow-list only",
            (*_TRANSMISSION, *_ACCESS),
            ("Art. 25(2)", "Art. 32(1)(b)"),
            baseline=True,
            standards=("Gatekeeper block-loadbalancer-services",),
        ),
        Control(
            "HIPAA-TLS-K8S-GATEWAY",
            "TLS with a certificate on every Gateway listener",
            (*_TRANSMISSION, "164.312(e)(2)(ii)"),
            ("Art. 32(1)(a)",),
            baseline=True,
            standards=("Gatekeeper httpsonly",),
        ),
        Control(
            "HIPAA-ENC-K8S-STORAGECLASS",
            "Persistent volumes on encrypted storage classes",
            _AT_REST,
            ("Art. 32(1)(a)",),
            baseline=True,
            standards=("ML platform storage encryption",),
        ),
        Control(
            "HIPAA-SUPPLY-HELM",
            "Pinned Helm charts from trusted repositories",
            ("164.308(a)(5)(ii)(B)", "164.312(c)(1)"),
            baseline=True,
            standards=("ML platform supply chain",),
        ),
        Control(
            "GDPR-RET-OBSERVABILITY",
            "Bounded metrics and log retention",
            ("164.312(b)",),
            ("Art. 5(1)(e)",),
            baseline=True,
            standards=("ML platform retention",),
        ),
        # ML platform (no catalog has these)
        Control(
            "ML-GPU-POOL-TAINT",
            "GPU node pools tainted for GPU workloads only",
            baseline=True,
            standards=("ML platform GPU contract",),
        ),
        Control(
            "ML-AUTOSCALE-LIMITS",
            "Autoscaled node pools have a capacity ceiling",
            baseline=True,
            standards=("ML platform GPU contract",),
        ),
        Control(
            "ML-GPU-AGENT-TOLERATION",
            "GPU node agents tolerate the GPU taints",
            baseline=True,
            standards=("ML platform GPU contract",),
        ),
        Control(
            "ML-SERVING-GPU-QUOTA",
            "GPU quota per serving namespace",
            baseline=True,
            standards=("ML platform GPU contract",),
        ),
        # Training (issue 19): fair sharing of GPUs is resource governance, not a GDPR or HIPAA safeguard, so these
        # two are in the baseline only; the exposure control protects training data and the tracker, so it maps.
        Control(
            "ML-TRAINING-QUEUE-ADMISSION",
            "Namespaces that can run GPU jobs admit them through Kueue",
            baseline=True,
            standards=("ML platform GPU queues (Kueue manageJobsWithoutQueueName)",),
        ),
        Control(
            "ML-TRAINING-QUEUE-QUOTA",
            "GPU ClusterQueues guarantee each team's nominal quota",
            baseline=True,
            standards=("ML platform GPU queues (Kueue quotas, borrowing and preemption)",),
        ),
        Control(
            "HIPAA-NET-K8S-TRAINING-PRIVATE",
            "Training and tracking namespaces reachable only inside the cluster",
            (*_ACCESS, *_TRANSMISSION),
            ("Art. 25(2)", "Art. 32(1)(b)"),
            baseline=True,
            standards=("Gatekeeper block-loadbalancer-services, block-nodeport-services",),
        ),
        # Issue 20: the rows the matrix lacked (trust policies, NSGs, public registries, hostPath PVs, the rest of
        # Pod Security baseline, monitoring UIs, cluster-wide Secret readers).
        Control(
            "HIPAA-AC-IAM-TRUST",
            "IAM role trust policies name who may assume the role (pinned IRSA subjects)",
            (*_ACCESS, "164.308(a)(4)(ii)(B)"),
            ("Art. 25(2)", "Art. 32(1)(b)"),
        ),
        Control(
            "HIPAA-NET-NSG-INGRESS",
            "No administration or data ports open to the internet in NSGs",
            (*_ACCESS, *_TRANSMISSION),
            ("Art. 32(1)(b)",),
        ),
        Control(
            "HIPAA-AC-REGISTRY-PRIVATE",
            "Container registries are private",
            (*_ACCESS, "164.312(c)(1)"),
            ("Art. 25(2)", "Art. 32(1)(b)"),
        ),
        Control(
            "HIPAA-K8S-PSS-BASELINE",
            "Pod Security baseline: /proc mount, SELinux, AppArmor, sysctls, HostProcess, no hostPath volumes",
            (*_ACCESS, "164.312(c)(1)"),
            ("Art. 25(1)", "Art. 32(1)(b)"),
            baseline=True,
            standards=(
                "PSS baseline",
                "Kyverno disallow-proc-mount, disallow-selinux, restrict-apparmor-profiles, restrict-sysctls, "
                "disallow-host-process, disallow-host-path",
            ),
        ),
        Control(
            "HIPAA-NET-K8S-MONITORING-UI",
            "Monitoring and logging UIs reachable only inside the cluster",
            (*_ACCESS, *_TRANSMISSION),
            ("Art. 25(2)", "Art. 32(1)(b)"),
            baseline=True,
            standards=("Gatekeeper block-loadbalancer-services, block-nodeport-services",),
        ),
        Control(
            "HIPAA-K8S-RBAC-SECRETS",
            "No cluster-wide bindings to roles that read Secrets",
            (*_ACCESS, "164.308(a)(4)(ii)(B)", "164.308(a)(4)(ii)(C)"),
            ("Art. 25(2)", "Art. 32(1)(b)"),
            baseline=True,
            standards=("CIS Kubernetes 5.1.1-5.1.2",),
        ),
    )
}

_C, _H, _M, _L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW

MAPPINGS: tuple[Mapping, ...] = tuple(
    Mapping(rule, control, severity)
    for control, rule, severity in (
        ("HIPAA-ENC-S3-KMS", "aws-s3-bucket-kms-encryption", _C),
        ("HIPAA-AC-S3-PUBLIC", "aws-s3-bucket-public-access-blocked", _C),
        ("HIPAA-AC-S3-PUBLIC", "aws-s3-bucket-no-public-acl", _C),
        ("HIPAA-AC-S3-PUBLIC", "aws-s3-bucket-owner-enforced", _M),
        ("HIPAA-TLS-S3-POLICY", "aws-s3-bucket-tls-only-policy", _H),
        ("HIPAA-INT-S3-VERSIONING", "aws-s3-bucket-versioning-enabled", _H),
        ("HIPAA-LOG-S3-ACCESS", "aws-s3-bucket-access-logging", _H),
        ("GDPR-RET-S3-LIFECYCLE", "aws-s3-bucket-lifecycle-retention", _H),
        ("HIPAA-BAK-S3-REPLICA", "aws-s3-bucket-replication", _M),
        ("HIPAA-ENC-KMS-ROTATION", "aws-kms-key-rotation-enabled", _H),
        ("HIPAA-AC-KMS-POLICY", "aws-kms-key-policy-restricted", _M),
        ("HIPAA-AC-KMS-POLICY", "aws-kms-key-deletion-window", _M),
        ("HIPAA-ENC-EKS-SECRETS", "aws-eks-cluster-secrets-encryption", _H),
        ("HIPAA-NET-EKS-ENDPOINT", "aws-eks-cluster-private-endpoint", _C),
        ("HIPAA-LOG-EKS-CONTROLPLANE", "aws-eks-cluster-control-plane-logging", _H),
        ("HIPAA-AC-EKS-ACCESS", "aws-eks-cluster-api-authentication", _M),
        ("HIPAA-AC-EKS-ACCESS", "aws-eks-access-policy-cluster-admin-restricted", _M),
        ("HIPAA-ENC-EBS-LT", "aws-ec2-launch-template-ebs-encrypted", _H),
        ("HIPAA-AC-EC2-IMDSV2", "aws-ec2-launch-template-imdsv2", _H),
        ("HIPAA-NET-EC2-NOPUBLICIP", "aws-ec2-launch-template-no-public-ip", _H),
        ("HIPAA-NET-EKS-NODEGROUP-SSH", "aws-eks-node-group-ssh-restricted", _H),
        ("HIPAA-ENC-EKS-NODES", "aws-eks-node-group-encrypted-launch-template", _H),
        ("HIPAA-ENC-EBS-VOLUME", "aws-ebs-volume-kms-encrypted", _H),
        ("HIPAA-ENC-ECR-KMS", "aws-ecr-repository-kms-encryption", _M),
        ("HIPAA-ENC-ECR-KMS", "aws-ecr-repository-phi-kms-encryption", _H),
        ("HIPAA-INT-ECR-IMMUTABLE", "aws-ecr-repository-immutable-tags", _H),
        ("HIPAA-VULN-ECR-SCAN", "aws-ecr-repository-scan-on-push", _H),
        ("HIPAA-VULN-REGISTRY-SCAN", "aws-ecr-registry-enhanced-scanning", _H),
        # Mandatory when the stack sets the plan wrong; a plan set outside the stack is reported as unverifiable.
        ("HIPAA-VULN-REGISTRY-SCAN", "azure-defender-containers-registry-scanning", _H),
        ("HIPAA-AC-ECR-POLICY", "aws-ecr-repository-policy-no-public-access", _C),
        ("GDPR-RET-ECR-LIFECYCLE", "aws-ecr-repository-lifecycle-policy", _L),
        ("HIPAA-ENC-LOGS-KMS", "aws-cloudwatch-log-group-kms-encryption", _H),
        ("GDPR-RET-LOGS", "aws-cloudwatch-log-group-retention", _H),
        ("GDPR-RET-LOGS", "azure-log-analytics-workspace-retention", _H),
        ("HIPAA-LOG-CLOUDTRAIL", "aws-cloudtrail-trail-secure", _H),
        ("HIPAA-LOG-CLOUDTRAIL", "aws-cloudtrail-trail-required", _H),
        ("HIPAA-LOG-VPC-FLOW", "aws-vpc-flow-logs-enabled", _H),
        ("HIPAA-NET-SG-INGRESS", "aws-ec2-security-group-no-public-ingress", _C),
        ("HIPAA-NET-VPC-DEFAULT-SG", "aws-vpc-default-security-group-closed", _H),
        ("HIPAA-AC-IAM-NO-ADMIN", "aws-iam-policy-no-admin-access", _C),
        ("HIPAA-AC-IAM-NO-USER-CREDS", "aws-iam-no-user-credentials", _M),
        ("HIPAA-BAK-AWS-BACKUP", "aws-backup-phi-data-store-covered", _H),
        ("HIPAA-BAK-AWS-BACKUP", "aws-backup-data-store-covered", _M),
        ("HIPAA-BAK-AWS-BACKUP", "aws-backup-vault-kms-encryption", _M),
        ("HIPAA-ENC-SQS-SSE", "aws-sqs-queue-encrypted", _H),
        ("HIPAA-TLS-SQS-POLICY", "aws-sqs-queue-tls-only-policy", _H),
        ("HIPAA-AC-SQS-POLICY", "aws-sqs-queue-policy-no-public-access", _C),
        ("GDPR-RES-AWS-REGION", "aws-region-allowed", _C),
        ("GDPR-RES-REPLICA", "aws-s3-replication-destination-allowed", _H),
        ("GDPR-RES-REPLICA", "aws-ecr-replication-region-allowed", _H),
        ("GDPR-REC-TAGS", "aws-data-store-processing-record-tags", _H),
        ("GDPR-REC-TAGS", "azure-data-store-processing-record-tags", _H),
        ("GDPR-REC-TAGS", "kubernetes-namespace-processing-record-labels", _H),
        ("HIPAA-ENC-DB-CMK", "aws-rds-instance-kms-encryption", _C),
        ("HIPAA-ENC-DB-CMK", "azure-postgres-flexible-server-cmk-encryption", _C),
        ("HIPAA-TLS-DB", "aws-rds-postgres-tls-enforced", _H),
        ("HIPAA-TLS-DB", "azure-postgres-flexible-server-tls", _H),
        ("HIPAA-AC-DB-PUBLIC", "aws-rds-instance-not-public", _C),
        ("HIPAA-AC-DB-PUBLIC", "azure-postgres-flexible-server-no-public-access", _C),
        ("HIPAA-BAK-DB", "aws-rds-instance-backup-retention", _H),
        ("HIPAA-BAK-DB", "azure-postgres-flexible-server-backup-retention", _H),
        ("HIPAA-BAK-DB", "aws-rds-instance-deletion-protection", _H),
        ("HIPAA-ENC-DB-CMK", "aws-rds-cluster-kms-encryption", _C),
        ("HIPAA-TLS-DB", "aws-rds-cluster-postgres-tls-enforced", _H),
        ("HIPAA-AC-DB-PUBLIC", "azure-postgres-flexible-server-firewall-no-public-range", _C),
        ("HIPAA-BAK-DB", "aws-rds-cluster-backup-retention", _H),
        ("HIPAA-BAK-DB", "aws-rds-cluster-deletion-protection", _H),
        # Advisory until AzurePostgres creates the lock in prod: protect alone guards only against `pulumi destroy`.
        # Mandatory since AzurePostgres locks its server whenever it is protected (prod); dev exempts it by name.
        ("HIPAA-BAK-DB", "azure-postgres-flexible-server-delete-lock", _H),
        ("HIPAA-AC-DB-AUTH", "aws-rds-database-iam-authentication", _H),
        ("HIPAA-AC-DB-AUTH", "azure-postgres-flexible-server-entra-auth", _H),
        ("HIPAA-LOG-DB", "aws-rds-database-log-exports", _H),
        ("HIPAA-LOG-DB", "aws-rds-database-log-group-declared", _H),
        ("HIPAA-ENC-STG-CMK", "azure-storage-account-cmk-encryption", _C),
        ("HIPAA-ENC-STG-CMK", "azure-storage-account-infrastructure-encryption", _M),
        ("HIPAA-TLS-STG", "azure-storage-account-https-only", _H),
        ("HIPAA-AC-STG-PUBLIC", "azure-storage-account-no-public-access", _C),
        ("HIPAA-AC-STG-PUBLIC", "azure-storage-container-no-public-access", _C),
        ("HIPAA-AC-STG-PUBLIC", "azure-storage-account-shared-key-disabled", _M),
        ("HIPAA-BAK-STG-SOFTDELETE", "azure-storage-account-blob-soft-delete", _H),
        ("HIPAA-BAK-STG-SOFTDELETE", "azure-storage-account-redundant-sku", _M),
        ("GDPR-RET-STG-LIFECYCLE", "azure-storage-account-lifecycle-retention", _H),
        ("HIPAA-NET-AKS-API", "azure-aks-cluster-private-api", _C),
        ("HIPAA-AC-AKS-ENTRA-RBAC", "azure-aks-cluster-entra-rbac", _H),
        ("HIPAA-AC-AKS-ENTRA-RBAC", "azure-aks-cluster-azure-rbac", _M),
        ("HIPAA-NET-AKS-NETPOL", "azure-aks-cluster-network-policy", _H),
        ("HIPAA-ENC-AKS-DISK", "azure-aks-cluster-disk-encryption-set", _H),
        ("HIPAA-ENC-AKS-DISK", "azure-aks-node-pool-encryption-at-host", _H),
        ("HIPAA-ENC-AKS-ETCD-KMS", "azure-aks-cluster-etcd-kms", _H),
        ("HIPAA-ENC-AKS-ETCD-KMS", "azure-aks-cluster-kms-private-key-vault", _M),
        ("HIPAA-NET-AKS-NODE-PUBLICIP", "azure-aks-node-pool-no-public-ip", _H),
        ("HIPAA-LOG-AZ-DIAG", "azure-diagnostic-settings-enabled", _H),
        ("HIPAA-AC-ACR", "azure-acr-registry-local-auth-disabled", _H),
        ("HIPAA-AC-ACR", "azure-acr-registry-public-network-disabled", _H),
        ("HIPAA-ENC-ACR-CMK", "azure-acr-registry-cmk-encryption", _M),
        ("HIPAA-INT-ACR-POLICIES", "azure-acr-registry-retention-policy", _M),
        ("HIPAA-INT-ACR-POLICIES", "azure-acr-registry-export-disabled", _M),
        ("HIPAA-INT-ACR-POLICIES", "azure-acr-registry-zone-redundant", _L),
        ("HIPAA-BAK-KV", "azure-key-vault-purge-protection", _H),
        ("HIPAA-AC-KV", "azure-key-vault-rbac-authorization", _H),
        ("HIPAA-AC-KV", "azure-key-vault-public-network-restricted", _H),
        ("HIPAA-ENC-KV-KEY", "azure-key-vault-key-rotation", _M),
        ("HIPAA-ENC-KV-KEY", "azure-key-vault-key-hsm-strength", _L),
        ("HIPAA-ENC-DES", "azure-disk-encryption-set-customer-key", _H),
        ("HIPAA-ENC-DES", "azure-disk-cmk-encryption", _H),
        ("GDPR-RES-AZ-LOCATION", "azure-location-allowed", _C),
        ("HIPAA-K8S-PSA-LABEL", "kubernetes-namespace-pod-security-level", _H),
        ("HIPAA-K8S-NETPOL-DEFAULT-DENY", "kubernetes-serving-namespace-default-deny", _H),
        ("HIPAA-K8S-NONROOT", "kubernetes-workload-run-as-non-root", _H),
        ("HIPAA-K8S-NO-PRIVESC", "kubernetes-workload-no-privilege-escalation", _C),
        ("HIPAA-K8S-NO-PRIVESC", "kubernetes-workload-capabilities-dropped", _H),
        ("HIPAA-K8S-NO-PRIVESC", "kubernetes-workload-seccomp-profile", _H),
        ("HIPAA-K8S-HOST-ISOLATION", "kubernetes-workload-host-isolation", _C),
        ("HIPAA-K8S-READONLY-ROOTFS", "kubernetes-workload-read-only-root-filesystem", _M),
        ("HIPAA-AVAIL-K8S-RESOURCES", "kubernetes-workload-resource-requests", _M),
        ("HIPAA-INT-K8S-IMAGE", "kubernetes-workload-image-pinned", _H),
        ("HIPAA-INT-K8S-IMAGE", "kubernetes-workload-image-registry-allowed", _H),
        ("HIPAA-K8S-NAMESPACE", "kubernetes-resource-namespace-set", _H),
        ("HIPAA-K8S-SA-TOKEN", "kubernetes-workload-service-account-token", _M),
        ("ML-SECRETS-BY-REFERENCE", "kubernetes-workload-no-plaintext-secret-env", _H),
        ("ML-SECRETS-WORKLOAD-IDENTITY", "kubernetes-secret-provider-class-workload-identity", _H),
        ("HIPAA-K8S-RBAC", "kubernetes-rbac-no-cluster-admin-binding", _C),
        ("HIPAA-K8S-RBAC", "kubernetes-rbac-least-privilege-rules", _H),
        ("HIPAA-NET-K8S-EXPOSURE", "kubernetes-service-not-publicly-exposed", _H),
        ("HIPAA-NET-K8S-EXPOSURE", "kubernetes-ingress-tls", _H),
        # Flags every public load balancer (advisory: a reviewed public endpoint is exempted by name); the
        # allow-list on a public one is mandatory.
        ("HIPAA-NET-K8S-LB-PRIVATE", "kubernetes-load-balancer-internal", _M),
        ("HIPAA-NET-K8S-LB-PRIVATE", "kubernetes-load-balancer-source-ranges", _H),
        ("HIPAA-TLS-K8S-GATEWAY", "kubernetes-gateway-listener-tls", _H),
        ("HIPAA-ENC-K8S-STORAGECLASS", "kubernetes-storage-class-encrypted", _H),
        ("HIPAA-ENC-K8S-STORAGECLASS", "kubernetes-persistent-volume-encrypted-class", _H),
        ("HIPAA-SUPPLY-HELM", "kubernetes-helm-chart-version-pinned", _H),
        ("HIPAA-SUPPLY-HELM", "kubernetes-helm-chart-repository-allowed", _H),
        ("HIPAA-SUPPLY-HELM", "kubernetes-helm-release-rendered", _M),
        ("GDPR-RET-OBSERVABILITY", "kubernetes-observability-retention", _M),
        ("ML-GPU-POOL-TAINT", "aws-eks-node-group-gpu-taint", _H),
        ("ML-GPU-POOL-TAINT", "azure-aks-node-pool-gpu-taint", _H),
        ("ML-AUTOSCALE-LIMITS", "kubernetes-node-pool-limits", _M),
        ("ML-GPU-AGENT-TOLERATION", "kubernetes-gpu-daemonset-tolerations", _H),
        ("ML-SERVING-GPU-QUOTA", "kubernetes-serving-namespace-gpu-quota", _H),
        ("ML-TRAINING-QUEUE-ADMISSION", "kubernetes-gpu-namespace-kueue-admission", _H),
        ("ML-TRAINING-QUEUE-QUOTA", "kubernetes-kueue-cluster-queue-gpu-quota", _H),
        # Advisory: a team may choose not to reclaim (reclaimWithinCohort Never) and accept the weaker guarantee.
        ("ML-TRAINING-QUEUE-QUOTA", "kubernetes-kueue-cluster-queue-cohort-borrowing", _M),
        ("HIPAA-NET-K8S-TRAINING-PRIVATE", "kubernetes-training-namespace-not-exposed", _H),
        ("HIPAA-AC-IAM-TRUST", "aws-iam-role-trust-policy-pinned", _C),
        ("HIPAA-NET-NSG-INGRESS", "azure-nsg-no-internet-admin-ports", _C),
        ("HIPAA-AC-REGISTRY-PRIVATE", "aws-ecrpublic-repository-not-used", _H),
        ("HIPAA-AC-REGISTRY-PRIVATE", "azure-acr-registry-not-public", _H),
        ("HIPAA-K8S-PSS-BASELINE", "kubernetes-workload-pod-security-baseline", _H),
        ("HIPAA-K8S-PSS-BASELINE", "kubernetes-persistent-volume-no-host-path", _C),
        ("HIPAA-NET-K8S-MONITORING-UI", "kubernetes-monitoring-ui-not-exposed", _H),
        ("HIPAA-K8S-RBAC-SECRETS", "kubernetes-rbac-no-cluster-wide-secret-readers", _H),
    )
)


@dataclass(frozen=True)
class Framework:
    """A compliance framework and the pack that enforces it."""

    key: str
    pack_name: str
    display_name: str
    description: str
    framework_name: str
    framework_version: str
    url: str

    def clauses(self, control: Control) -> tuple[str, ...]:
        """The clauses of this framework a control implements (empty when the framework does not map it)."""
        if self.key == "gdpr":
            return control.gdpr
        if self.key == "hipaa":
            return tuple(f"45 CFR {clause}" for clause in control.hipaa)
        if not control.baseline:
            return ()
        return control.standards or (control.id,)


FRAMEWORKS: dict[str, Framework] = {
    framework.key: framework
    for framework in (
        Framework(
            "gdpr",
            "mlplatform-gdpr",
            "GDPR controls for GPU ML platforms",
            "GDPR (Regulation (EU) 2016/679) technical controls for EKS/AKS ML platforms: security of processing "
            "(Art. 32), data protection by default (Art. 25), storage limitation (Art. 5(1)(e)), records of processing "
            "(Art. 30), breach investigation logs (Art. 33(5)) and international transfers (Art. 44-46).",
            "GDPR",
            "Regulation (EU) 2016/679",
            "https://eur-lex.europa.eu/eli/reg/2016/679/oj",
        ),
        Framework(
            "hipaa",
            "mlplatform-hipaa",
            "HIPAA Security Rule controls for GPU ML platforms",
            "HIPAA Security Rule (45 CFR Part 164 Subpart C) technical and administrative safeguards for EKS/AKS ML "
            "platforms holding ePHI: access control, audit controls, integrity, transmission security, encryption, "
            "and contingency planning.",
            "HIPAA Security Rule",
            "45 CFR Part 164 Subpart C",
            "https://www.ecfr.gov/current/title-45/subtitle-A/subchapter-C/part-164/subpart-C",
        ),
        Framework(
            "kubernetes-baseline",
            "mlplatform-kubernetes-baseline",
            "Kubernetes and GPU baseline for ML platforms",
            "Pod Security Standards (restricted), namespace isolation, RBAC, supply chain and storage encryption for "
            "Kubernetes workloads, plus the ML platform's GPU contract: tainted GPU pools, GPU agents that tolerate "
            "them, and GPU quotas with default-deny networking in serving namespaces.",
            "ML platform Kubernetes baseline",
            "1.0",
            "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
        ),
    )
}


def mappings_for(framework: str) -> list[tuple[Mapping, Control, Rule]]:
    """The (mapping, control, rule) triples a framework includes, sorted by rule name."""
    spec = FRAMEWORKS[framework]
    selected = [
        (mapping, CONTROLS[mapping.control], RULES[mapping.rule])
        for mapping in MAPPINGS
        if spec.clauses(CONTROLS[mapping.control])
    ]
    return sorted(selected, key=lambda item: item[2].name)


def policies_for(framework: str) -> list[Policy]:
    """The CrossGuard policies of a framework, with compliance metadata, ready for `PolicyPack`."""
    spec = FRAMEWORKS[framework]
    policies: list[Policy] = []
    for mapping, control, rule in mappings_for(framework):
        metadata: dict[str, Any] = {
            "name": rule.name,
            "description": rule.description,
            "enforcement_level": mapping.enforcement,
            "config_schema": rule.config_schema(),
            "display_name": rule.title,
            "severity": mapping.severity,
            "framework": PolicyComplianceFramework(
                name=spec.framework_name,
                version=spec.framework_version,
                reference=", ".join(spec.clauses(control)),
                specification=f"{control.id}: {control.title}",
            ),
            "tags": [control.id.lower(), rule.cloud, rule.area.replace("_", "-"), framework],
            "remediation_steps": rule.remediation,
            "url": spec.url,
        }
        if rule.stack:
            policies.append(StackValidationPolicy(validate=stack_validator(rule), **metadata))
        else:
            policies.append(ResourceValidationPolicy(validate=resource_validator(rule), **metadata))
    return policies


PACK_VERSION = "0.1.0"
"""The packs' version (also in each PulumiPolicy.yaml)."""


def pack_arguments(framework: str) -> dict[str, Any]:
    """Keyword arguments of `PolicyPack` (and of the in-process analyzer) for a framework's pack."""
    spec = FRAMEWORKS[framework]
    return {
        "name": spec.pack_name,
        "policies": policies_for(framework),
        "enforcement_level": EnforcementLevel.ADVISORY,
        "description": spec.description,
        "display_name": spec.display_name,
        "provider": "aws, azure, kubernetes",
        "tags": [framework, "gpu", "ml-platform", "eks", "aks"],
    }
