"""Every shipped stack, synthesized offline, passes its packs over gRPC; the non-compliant fixture fails exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.replay import Analyzer, Verdict, analyzer_requests, frameworks_for, replay, stack_policy_config
from stacks.synth import PROJECT_ROOT, Synthesis, pulumi_config_for, stack_names, synthesize

FIXTURE = Path(__file__).parent / "fixtures" / "noncompliant"
ALL_PACKS = ("gdpr", "hipaa", "kubernetes-baseline")


def _replay(synthesis: Synthesis, packs: dict[str, Analyzer], framework: str, project_dir: Path) -> Verdict:
    stack_config, _ = pulumi_config_for(synthesis.stack, project_dir)
    return replay(
        synthesis,
        packs[framework],
        policy_config=stack_policy_config(synthesis.stack, framework),
        stack_config=stack_config,
    )


@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
@pytest.mark.parametrize("stack", stack_names(PROJECT_ROOT))
def test_every_shipped_stack_passes_its_packs_without_mandatory_violations(
    packs: dict[str, Analyzer], stack: str, preview: bool
) -> None:
    synthesis = synthesize(stack, preview=preview)
    selected = frameworks_for(synthesis)
    assert "kubernetes-baseline" in selected
    if synthesis.outputs["environment"] == "prod":
        assert selected == list(ALL_PACKS), "prod stacks pass all three packs"
    for framework in selected:
        verdict = _replay(synthesis, packs, framework, PROJECT_ROOT)
        assert not verdict.mandatory, (
            f"{stack} ({'preview' if preview else 'update'}) violates {framework}:\n{verdict.summary()}"
        )
        analyzed = {item.urn for item in verdict.not_applicable} | {item.urn for item in verdict.diagnostics}
        assert {registration.urn for registration in synthesis.registrations} <= analyzed, (
            "every registration reached the pack"
        )


def test_the_stack_profiles_select_the_packs() -> None:
    dev = synthesize("dev")
    assert frameworks_for(dev) == ["gdpr", "kubernetes-baseline"], "dev runs the gdpr profile plus the baseline"
    assert frameworks_for(synthesize("local")) == ["kubernetes-baseline"]


def test_default_providers_get_their_properties_from_stack_config() -> None:
    synthesis = synthesize("noncompliant", project_dir=FIXTURE)
    stack_config, _ = pulumi_config_for("noncompliant", FIXTURE)
    requests = analyzer_requests(synthesis, stack_config)
    volume = next(request for request in requests.analyze if request.name == "scratch-volume")
    assert volume.provider.type == "pulumi:providers:aws" and volume.provider.name == "default"
    assert dict(volume.provider.properties) == {"region": "eu-central-1"}, (
        "aws:region config becomes the provider's region"
    )
    bucket = next(request for request in requests.analyze if request.name == "public-data")
    assert bucket.provider.name == "us-east" and dict(bucket.provider.properties)["region"] == "us-east-1"
    defaults = [
        request
        for request in requests.analyze
        if request.type.startswith("pulumi:providers:") and request.name == "default"
    ]
    assert sorted(request.type for request in defaults) == ["pulumi:providers:aws", "pulumi:providers:azure-native"]


EXPECTED_FIXTURE_FAILURES = {
    "azure-services-rule": {"azure-postgres-flexible-server-firewall-no-public-range"},
    "cluster-key": {"aws-data-store-processing-record-tags", "aws-kms-key-rotation-enabled"},
    "mutable-models": {
        "aws-data-store-processing-record-tags",
        "aws-ecr-registry-enhanced-scanning",
        "aws-ecr-repository-immutable-tags",
        "aws-ecr-repository-scan-on-push",
    },
    "exposed-node-class": {
        "aws-ec2-launch-template-ebs-encrypted",
        "aws-ec2-launch-template-imdsv2",
        "aws-ec2-launch-template-no-public-ip",
    },
    "exposed-tracker": {"kubernetes-training-namespace-not-exposed"},
    "greedy-queue": {"kubernetes-kueue-cluster-queue-gpu-quota"},
    "open-queue-policy": {"aws-sqs-queue-policy-no-public-access"},
    "open-tracking-db": {
        "aws-data-store-processing-record-tags",
        "aws-rds-database-iam-authentication",
        "aws-rds-database-log-exports",
        "aws-rds-instance-backup-retention",
        "aws-rds-instance-deletion-protection",
        "aws-rds-instance-kms-encryption",
        "aws-rds-instance-not-public",
        "aws-rds-postgres-tls-enforced",
    },
    "open-ssh": {"aws-ec2-security-group-no-public-ingress"},
    "privileged-api": {
        "kubernetes-workload-capabilities-dropped",
        "kubernetes-workload-image-pinned",
        "kubernetes-workload-image-registry-allowed",
        "kubernetes-workload-no-privilege-escalation",
        "kubernetes-workload-run-as-non-root",
        "kubernetes-workload-seccomp-profile",
    },
    "public-cluster": {
        "aws-eks-cluster-control-plane-logging",
        "aws-eks-cluster-private-endpoint",
        "aws-eks-cluster-secrets-encryption",
    },
    "public-data": {
        "aws-backup-phi-data-store-covered",
        "aws-data-store-processing-record-tags",
        "aws-region-allowed",
        "aws-s3-bucket-access-logging",
        "aws-s3-bucket-kms-encryption",
        "aws-s3-bucket-lifecycle-retention",
        "aws-s3-bucket-no-public-acl",
        "aws-s3-bucket-public-access-blocked",
        "aws-s3-bucket-tls-only-policy",
        "aws-s3-bucket-versioning-enabled",
    },
    "publicstore": {
        "azure-data-store-processing-record-tags",
        "azure-diagnostic-settings-enabled",
        "azure-storage-account-blob-soft-delete",
        "azure-storage-account-cmk-encryption",
        "azure-storage-account-https-only",
        "azure-storage-account-lifecycle-retention",
        "azure-storage-account-no-public-access",
    },
    "scratch-volume": {"aws-data-store-processing-record-tags", "aws-ebs-volume-kms-encrypted"},
    "serving": {
        "kubernetes-namespace-pod-security-level",
        "kubernetes-namespace-processing-record-labels",
        "kubernetes-serving-namespace-default-deny",
        "kubernetes-serving-namespace-gpu-quota",
    },
    "training": {"kubernetes-gpu-namespace-kueue-admission"},
    "unencrypted-queue": {"aws-sqs-queue-encrypted", "aws-sqs-queue-tls-only-policy"},
    "untainted-gpu-pool": {"aws-eks-node-group-gpu-taint"},
    "untainted-gpu-nodes": {
        "aws-eks-node-group-encrypted-launch-template",
        "aws-eks-node-group-gpu-taint",
        "aws-eks-node-group-ssh-restricted",
    },
    "us-east": {"aws-region-allowed"},
    "us-group": {"azure-location-allowed"},
}


def _fixture_failures(packs: dict[str, Analyzer], preview: bool) -> dict[str, set[str]]:
    synthesis = synthesize("noncompliant", project_dir=FIXTURE, preview=preview)
    failures: dict[str, set[str]] = {}
    for framework in ALL_PACKS:
        for resource, policies in _replay(synthesis, packs, framework, FIXTURE).failing().items():
            failures.setdefault(resource, set()).update(policies)
    return failures


def test_the_non_compliant_fixture_fails_exactly_the_expected_controls(packs: dict[str, Analyzer]) -> None:
    failures = _fixture_failures(packs, preview=False)
    assert failures == EXPECTED_FIXTURE_FAILURES, "\n".join(
        f"{name}: missing {sorted(EXPECTED_FIXTURE_FAILURES.get(name, set()) - got)}, unexpected {sorted(got - EXPECTED_FIXTURE_FAILURES.get(name, set()))}"
        for name, got in sorted({**{key: set() for key in EXPECTED_FIXTURE_FAILURES}, **failures}.items())
        if got != EXPECTED_FIXTURE_FAILURES.get(name)
    )


def test_the_non_compliant_fixture_still_fails_during_preview(packs: dict[str, Analyzer]) -> None:
    failures = _fixture_failures(packs, preview=True)
    for name, expected in EXPECTED_FIXTURE_FAILURES.items():
        assert failures.get(name, set()) <= expected, f"{name}: preview must not invent violations"
    assert "aws-eks-node-group-gpu-taint" in failures["untainted-gpu-nodes"]
    assert "aws-s3-bucket-public-access-blocked" in failures["public-data"], "joins hold in preview"


def test_per_stack_policy_config_files_are_optional(tmp_path: Path) -> None:
    assert stack_policy_config("prod", "hipaa", tmp_path) == {}, "without a file the pack defaults apply"
    (tmp_path / "prod").mkdir()
    (tmp_path / "prod" / "hipaa.json").write_text('{"aws-iam-no-user-credentials": "mandatory"}')
    assert stack_policy_config("prod", "hipaa", tmp_path) == {"aws-iam-no-user-credentials": "mandatory"}
