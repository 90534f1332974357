"""Issue 20, class 1: rules recognise what a resource is from the stack's structure, never from this project's tags.

The program below uses none of this library's components, labels or tags: a team's own namespace behind a Gateway
API route, a LocalQueue namespace with a Service, and an S3 bucket that receives another bucket's access logs. Each
rule that asks "is this a serving namespace / a training namespace / a log bucket" must answer from the structure.
"""

from __future__ import annotations

import pytest

from tests.policies.harness import Outcome, Res, run_stack

PSA = "pod-security.kubernetes.io/enforce"
DIGEST = "sha256:" + "b" * 64
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/scoring/api"


def _in(type_token: str, name: str, namespace: str, props: dict) -> Res:
    return Res(
        type_token, name, {"metadata": {"name": name, "namespace": namespace}, **props}, {"metadata": [namespace]}
    )


def _namespace(name: str, level: str) -> Res:
    return Res("kubernetes:core/v1:Namespace", name, {"metadata": {"name": name, "labels": {PSA: level}}})


def _deployment(namespace: str, image: str) -> Res:
    container = {
        "name": "api",
        "image": image,
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
    }
    pod = {"securityContext": {"runAsNonRoot": True}, "containers": [container]}
    return _in(
        "kubernetes:apps/v1:Deployment",
        "scoring-api",
        namespace,
        {"spec": {"selector": {"matchLabels": {"app": "scoring"}}, "template": {"spec": pod}}},
    )


def _route(namespace: str, backend_namespace: str) -> Res:
    ref = {"name": "scoring", "namespace": backend_namespace, "port": 8080.0}
    return _in(
        "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
        "scoring-route",
        namespace,
        {"spec": {"parentRefs": [{"name": "public"}], "rules": [{"backendRefs": [ref]}]}},
    )


# The team's own program: an unlabelled namespace `scoring` reached through a route in the gateway's namespace.
SERVING_PROGRAM = [
    _namespace("edge", "restricted"),
    _namespace("scoring", "baseline"),
    _deployment("scoring", f"{IMAGE}:1.4.0"),
    _in("kubernetes:core/v1:Service", "scoring-lb", "scoring", {"spec": {"type": "LoadBalancer"}}),
    _route("edge", "scoring"),
]

SERVING_VERDICTS = [
    ("kubernetes-namespace-pod-security-level", "scoring", "='restricted'"),
    ("kubernetes-serving-namespace-default-deny", "scoring", "Serving namespace 'scoring' has no default-deny"),
    ("kubernetes-serving-namespace-gpu-quota", "scoring", "Serving namespace 'scoring' has no GPU quota"),
    ("kubernetes-service-not-publicly-exposed", "scoring-lb", "in serving namespace 'scoring' is a public"),
    ("kubernetes-workload-image-pinned", "scoring-api", "by digest"),
    ("kubernetes-namespace-processing-record-labels", "scoring", "lacks the record-of-processing labels"),
]


def _fault(outcome: Outcome, resource: str, expect: str) -> bool:
    return any(at == resource and expect in message for message, at in outcome.violations)


@pytest.mark.parametrize(("rule", "resource", "expect"), SERVING_VERDICTS, ids=[v[0] for v in SERVING_VERDICTS])
def test_a_route_backend_is_a_serving_namespace_without_any_label(rule: str, resource: str, expect: str) -> None:
    outcome = run_stack(rule, SERVING_PROGRAM)
    assert _fault(outcome, resource, expect), (
        f"{rule} must judge the unlabelled namespace behind the route as serving; {outcome.describe()}"
    )


@pytest.mark.parametrize(("rule", "resource", "expect"), SERVING_VERDICTS, ids=[v[0] for v in SERVING_VERDICTS])
def test_without_the_route_the_same_namespace_is_not_serving(rule: str, resource: str, expect: str) -> None:
    program = [resource_ for resource_ in SERVING_PROGRAM if resource_.name != "scoring-route"]
    outcome = run_stack(rule, program)
    assert not _fault(outcome, resource, expect), (
        f"{rule}: with no route, Ingress or InferenceService the namespace serves nothing; {outcome.describe()}"
    )


def test_namespace_setup_rules_leave_a_namespace_the_stack_does_not_create_to_its_own_stack() -> None:
    """A team stack that only deploys into a namespace (created elsewhere) is not blamed for the namespace's setup."""
    program = [resource for resource in SERVING_PROGRAM if resource.name != "scoring"]
    for rule in ("kubernetes-serving-namespace-default-deny", "kubernetes-serving-namespace-gpu-quota"):
        outcome = run_stack(rule, program)
        assert not outcome.violations, f"{rule} must judge the stack that creates 'scoring'; {outcome.describe()}"
    exposure = run_stack("kubernetes-service-not-publicly-exposed", program)
    assert _fault(exposure, "scoring-lb", "is a public"), (
        f"what the team's stack deploys into a serving namespace is still judged; {exposure.describe()}"
    )


def test_a_digest_pinned_image_passes_once_recognised_as_serving() -> None:
    program = [
        _deployment("scoring", f"{IMAGE}@{DIGEST}") if resource.name == "scoring-api" else resource
        for resource in SERVING_PROGRAM
    ]
    outcome = run_stack("kubernetes-workload-image-pinned", program)
    assert not outcome.violations, f"a digest satisfies the serving rule; {outcome.describe()}"


TRAINING_PROGRAM = [
    _namespace("research", "baseline"),
    _in("kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue", "research", "research", {"spec": {"clusterQueue": "r"}}),
    _in("kubernetes:core/v1:Service", "tensorboard", "research", {"spec": {"type": "LoadBalancer"}}),
]


def test_a_localqueue_namespace_is_private_without_any_label() -> None:
    outcome = run_stack("kubernetes-training-namespace-not-exposed", TRAINING_PROGRAM)
    assert _fault(outcome, "tensorboard", "in private namespace 'research' is a LoadBalancer"), (
        f"a namespace that holds a LocalQueue runs training and must not be exposed; {outcome.describe()}"
    )


def test_a_namespace_with_only_plain_jobs_is_not_a_training_namespace() -> None:
    program = [
        _namespace("tools", "baseline"),
        _in("kubernetes:batch/v1:Job", "migrate", "tools", {"spec": {"template": {"spec": {"containers": []}}}}),
        _in("kubernetes:core/v1:Service", "tools-lb", "tools", {"spec": {"type": "LoadBalancer"}}),
    ]
    outcome = run_stack("kubernetes-training-namespace-not-exposed", program)
    assert not outcome.violations, f"a migration Job does not make a namespace private; {outcome.describe()}"


LOG_TARGET_PROGRAM = [
    Res("aws:s3/bucketV2:BucketV2", "data", {"bucket": "data-bucket"}),
    Res("aws:s3/bucketV2:BucketV2", "audit", {"bucket": "audit-bucket"}),
    Res(
        "aws:s3/bucketLoggingV2:BucketLoggingV2",
        "data-logging",
        {"bucket": "data-bucket", "targetBucket": "audit-bucket", "targetPrefix": "data/"},
        {"bucket": ["data"], "targetBucket": ["audit"]},
    ),
    Res(
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
        "audit-sse",
        {"bucket": "audit-bucket", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
        {"bucket": ["audit"]},
    ),
]


def test_the_target_of_access_logging_is_a_log_bucket_whatever_its_tags() -> None:
    outcome = run_stack("aws-s3-bucket-kms-encryption", LOG_TARGET_PROGRAM)
    assert not _fault(outcome, "audit", "SSE-S3"), (
        f"S3 delivers access logs only to SSE-S3 buckets, so the log target may use AES256; {outcome.describe()}"
    )
    logging = run_stack("aws-s3-bucket-access-logging", LOG_TARGET_PROGRAM)
    assert not any(at == "audit" for _, at in logging.violations), (
        f"the log bucket need not log into another bucket; {logging.describe()}"
    )


def test_a_bucket_that_logs_into_itself_is_no_log_bucket() -> None:
    program = [
        *LOG_TARGET_PROGRAM,
        Res(
            "aws:s3/bucketLoggingV2:BucketLoggingV2",
            "audit-logging",
            {"bucket": "audit-bucket", "targetBucket": "audit-bucket"},
            {"bucket": ["audit"], "targetBucket": ["audit"]},
        ),
        Res(
            "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
            "data-sse",
            {"bucket": "data-bucket", "rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]},
            {"bucket": ["data"]},
        ),
    ]
    program = [resource for resource in program if resource.name != "data-logging"]
    outcome = run_stack("aws-s3-bucket-kms-encryption", program)
    assert _fault(outcome, "audit", "SSE-S3"), (
        f"pointing a bucket's logs at itself must not earn it the log-bucket exception; {outcome.describe()}"
    )
