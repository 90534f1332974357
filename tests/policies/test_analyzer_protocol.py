"""The packs over the Analyzer protocol: in-process servicer and real gRPC servers started like the CLI does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2

from policies.frameworks import FRAMEWORKS, policies_for
from policies.replay import Analyzer, configure_request, in_process
from tests.policies.cases import KEY
from tests.policies.harness import UNKNOWN
from tests.policies.test_frameworks import GOLDEN


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(json.loads(json.dumps(props)))
    return struct


def _urn(type_token: str, name: str) -> str:
    return f"urn:pulumi:prod::mlplatform::{type_token}::{name}"


def _analyze(
    analyzer: Analyzer, type_token: str, name: str, props: dict[str, Any], provider: dict[str, Any] | None = None
) -> Any:
    request = analyzer_pb2.AnalyzeRequest(
        type=type_token, name=name, urn=_urn(type_token, name), properties=_struct(props)
    )
    if provider is not None:
        package = type_token.split(":")[0]
        request.provider.CopyFrom(
            analyzer_pb2.AnalyzerProviderResource(
                type=f"pulumi:providers:{package}",
                name="default",
                urn=_urn(f"pulumi:providers:{package}", "default"),
                properties=_struct(provider),
            )
        )
    return analyzer.Analyze(request)


def _configure(analyzer: Analyzer, config: dict[str, Any] | None = None) -> None:
    analyzer.Configure(configure_request(analyzer.GetAnalyzerInfo(empty_pb2.Empty()), config))


def _by_policy(response: Any) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for diagnostic in response.diagnostics:
        found.setdefault(diagnostic.policyName, []).append(diagnostic)
    return found


MUTABLE_REPOSITORY = {"tags": {"data-classification": "phi"}}


def _bucket_stack(with_block: bool) -> analyzer_pb2.AnalyzeStackRequest:
    bucket_urn = _urn("aws:s3/bucket:Bucket", "datasets")
    resources = [
        analyzer_pb2.AnalyzerResource(
            type="aws:s3/bucket:Bucket", name="datasets", urn=bucket_urn, properties=_struct({"bucket": "datasets"})
        )
    ]
    if with_block:
        resources.append(
            analyzer_pb2.AnalyzerResource(
                type="aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                name="datasets-pab",
                urn=_urn("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "datasets-pab"),
                properties=_struct(
                    {
                        "bucket": "datasets-id",
                        "blockPublicAcls": True,
                        "blockPublicPolicy": True,
                        "ignorePublicAcls": True,
                        "restrictPublicBuckets": True,
                    }
                ),
                propertyDependencies={"bucket": analyzer_pb2.AnalyzerPropertyDependencies(urns=[bucket_urn])},
            )
        )
    return analyzer_pb2.AnalyzeStackRequest(resources=resources)


# --- Level 2: the servicer in-process --------------------------------------------------------------------


@pytest.fixture
def hipaa() -> Analyzer:
    analyzer = in_process("hipaa")
    _configure(analyzer)
    return analyzer


def test_a_mandatory_violation_carries_description_message_level_and_severity(hipaa: Analyzer) -> None:
    diagnostics = _by_policy(_analyze(hipaa, "aws:ecr/repository:Repository", "models", MUTABLE_REPOSITORY))
    [immutable] = diagnostics["aws-ecr-repository-immutable-tags"]
    assert immutable.enforcementLevel == analyzer_pb2.MANDATORY, "high severity is mandatory"
    assert immutable.severity == analyzer_pb2.POLICY_SEVERITY_HIGH
    assert immutable.message.endswith(
        "\nECR repository 'models' allows mutable tags; set image_tag_mutability='IMMUTABLE'."
    ), immutable.message
    assert immutable.message.startswith(immutable.description), "the CLI prints the compliant state, then the fix"


def test_an_unknown_value_during_preview_is_an_advisory_even_for_a_mandatory_policy(hipaa: Analyzer) -> None:
    diagnostics = _by_policy(
        _analyze(hipaa, "aws:ecr/repository:Repository", "models", {"imageTagMutability": UNKNOWN})
    )
    [immutable] = diagnostics["aws-ecr-repository-immutable-tags"]
    assert immutable.enforcementLevel == analyzer_pb2.ADVISORY
    assert "image_tag_mutability of ECR repository 'models' is unknown during preview" in immutable.message, (
        immutable.message
    )


def test_configure_sets_levels_and_settings_like_policy_pack_config() -> None:
    analyzer = in_process("gdpr")
    _configure(
        analyzer,
        {"aws-region-allowed": {"allowedRegions": ["us-east-1"]}, "aws-data-store-processing-record-tags": "disabled"},
    )
    response = _analyze(analyzer, "aws:s3/bucket:Bucket", "data", {}, provider={"region": "us-east-1"})
    assert "aws-region-allowed" not in _by_policy(response), "the configured allow-list admits us-east-1"
    assert "aws-data-store-processing-record-tags" not in _by_policy(response), "a disabled policy does not run"
    _configure(analyzer, {"all": "advisory"})
    response = _analyze(analyzer, "aws:s3/bucket:Bucket", "data", {}, provider={"region": "us-east-1"})
    assert {d.enforcementLevel for d in response.diagnostics} == {analyzer_pb2.ADVISORY}, "'all' sets every level"


def test_exemptions_arrive_through_configure_and_expire(hipaa: Analyzer) -> None:
    exemption = {"name": "models", "reason": "migration to immutable tags in PLAT-9", "expires": "2999-01-01"}
    _configure(hipaa, {"aws-ecr-repository-immutable-tags": {"exemptions": [exemption]}})
    response = _analyze(hipaa, "aws:ecr/repository:Repository", "models", MUTABLE_REPOSITORY)
    assert "aws-ecr-repository-immutable-tags" not in _by_policy(response)
    reasons = {item.policy_name: item.reason for item in response.not_applicable}
    assert reasons["aws-ecr-repository-immutable-tags"].startswith("'models' is exempt until 2999-01-01"), reasons
    _configure(hipaa, {"aws-ecr-repository-immutable-tags": {"exemptions": [{**exemption, "expires": "2001-01-01"}]}})
    messages = [
        d.message
        for d in _by_policy(_analyze(hipaa, "aws:ecr/repository:Repository", "models", MUTABLE_REPOSITORY))[
            "aws-ecr-repository-immutable-tags"
        ]
    ]
    assert any("expired on 2001-01-01" in message for message in messages), messages


def test_not_applicable_policies_are_reported_with_their_reason(hipaa: Analyzer) -> None:
    response = _analyze(
        hipaa, "aws:kms/key:Key", "signing", {"customerMasterKeySpec": "ECC_NIST_P256", "enableKeyRotation": False}
    )
    reasons = {item.policy_name: item.reason for item in response.not_applicable}
    assert "cannot rotate automatically" in reasons["aws-kms-key-rotation-enabled"], reasons
    assert (
        reasons["aws-ecr-repository-immutable-tags"] == "applies to ECR repositories and repository creation templates"
    )


def test_analyze_stack_joins_resources_through_property_dependencies(hipaa: Analyzer) -> None:
    def blocked(response: Any) -> list[Any]:
        return _by_policy(response).get("aws-s3-bucket-public-access-blocked", [])

    [violation] = blocked(hipaa.AnalyzeStack(_bucket_stack(with_block=False)))
    assert violation.urn == _urn("aws:s3/bucket:Bucket", "datasets"), "stack violations point at the bucket"
    assert blocked(hipaa.AnalyzeStack(_bucket_stack(with_block=True))) == []


def test_analyzer_info_describes_every_policy_with_its_compliance_metadata(hipaa: Analyzer) -> None:
    info = hipaa.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "mlplatform-hipaa" and info.supportsConfig
    policies = {policy.name: policy for policy in info.policies}
    kms = policies["aws-s3-bucket-kms-encryption"]
    assert kms.policy_type == analyzer_pb2.POLICY_TYPE_STACK and kms.severity == analyzer_pb2.POLICY_SEVERITY_CRITICAL
    assert kms.framework.name == "HIPAA Security Rule" and "164.312(a)(2)(iv)" in kms.framework.reference
    assert kms.framework.specification.startswith("HIPAA-ENC-S3-KMS:") and "hipaa-enc-s3-kms" in kms.tags
    assert kms.remediation_steps and "exemptions" in kms.configSchema.properties
    assert policies["aws-ec2-launch-template-imdsv2"].policy_type == analyzer_pb2.POLICY_TYPE_RESOURCE


# --- Level 3: each pack as its own process over gRPC -----------------------------------------------------


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_each_pack_serves_its_golden_policies_over_grpc(packs: dict[str, Analyzer], framework: str) -> None:
    info = packs[framework].GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == FRAMEWORKS[framework].pack_name
    assert sorted(policy.name for policy in info.policies) == GOLDEN[framework]
    mandatory = sorted(policy.name for policy in info.policies if policy.enforcementLevel == analyzer_pb2.MANDATORY)
    assert mandatory == sorted(p.name for p in policies_for(framework) if p.enforcement_level.value == "mandatory")
    assert info.readme.startswith("# "), "the pack README is served with the pack"


GRPC_VERDICTS = [
    (
        "hipaa",
        "aws:ecr/repository:Repository",
        {"tags": {"data-classification": "phi"}},
        None,
        "aws-ecr-repository-immutable-tags",
    ),
    ("hipaa", "aws:eks/cluster:Cluster", {"vpcConfig": {"subnetIds": ["a"]}}, None, "aws-eks-cluster-private-endpoint"),
    ("gdpr", "aws:s3/bucket:Bucket", {}, {"region": "us-east-1"}, "aws-region-allowed"),
    ("gdpr", "azure-native:storage:StorageAccount", {"location": "eastus"}, None, "azure-location-allowed"),
    (
        "kubernetes-baseline",
        "aws:eks/nodeGroup:NodeGroup",
        {"amiType": "AL2023_x86_64_NVIDIA", "instanceTypes": ["g5.xlarge"]},
        None,
        "aws-eks-node-group-gpu-taint",
    ),
    (
        "kubernetes-baseline",
        "kubernetes:apps/v1:Deployment",
        {
            "metadata": {"namespace": "fraud"},
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "api", "image": "x", "securityContext": {"privileged": True}}]}
                }
            },
        },
        None,
        "kubernetes-workload-no-privilege-escalation",
    ),
]


@pytest.mark.parametrize(
    ("framework", "type_token", "props", "provider", "policy"), GRPC_VERDICTS, ids=[item[-1] for item in GRPC_VERDICTS]
)
def test_packs_reject_non_compliant_resources_over_grpc(
    packs: dict[str, Analyzer],
    framework: str,
    type_token: str,
    props: dict[str, Any],
    provider: dict[str, Any] | None,
    policy: str,
) -> None:
    analyzer = packs[framework]
    _configure(analyzer)
    diagnostics = _by_policy(_analyze(analyzer, type_token, "subject", props, provider))
    assert policy in diagnostics, f"{framework} must reject {type_token} with {policy}; got {sorted(diagnostics)}"
    assert {d.enforcementLevel for d in diagnostics[policy]} == {analyzer_pb2.MANDATORY}


def test_grpc_configure_and_analyze_stack(packs: dict[str, Analyzer]) -> None:
    analyzer = packs["hipaa"]
    _configure(analyzer, {"aws-s3-bucket-public-access-blocked": "disabled"})
    assert "aws-s3-bucket-public-access-blocked" not in _by_policy(
        analyzer.AnalyzeStack(_bucket_stack(with_block=False))
    )
    _configure(analyzer)
    response = analyzer.AnalyzeStack(_bucket_stack(with_block=False))
    assert "aws-s3-bucket-public-access-blocked" in _by_policy(response), "restored to mandatory"
    compliant = _analyze(
        analyzer,
        "aws:kms/key:Key",
        "key",
        {"enableKeyRotation": True, "policy": json.dumps({"Statement": []}), "arn": KEY},
    )
    assert "aws-kms-key-rotation-enabled" not in _by_policy(compliant)
