"""AwsContainerRegistry: encrypted, immutable, scanned repositories that only the account and node roles use."""

from __future__ import annotations

import json

import pulumi
import pytest

from components.aws import AwsContainerRegistry
from components.aws.container_registry import lifecycle_policy
from stacks.synth import run_program

from ._support import error_paths, nothing_registered, policy, statement

NODE_ROLE = "arn:aws:iam::123456789012:role/nodes"
REPOSITORY = "aws:ecr/repository:Repository"


def _registry(run, **overrides):
    args = {"repositories": ["models", "team-a/fraud"], "pull_principal_arns": [NODE_ROLE], **overrides}
    return run(lambda: AwsContainerRegistry("registry", args))


def test_repositories_are_kms_encrypted_immutable_and_scanned_on_push(run) -> None:
    recorder = _registry(run)
    key = recorder.one("aws:kms/key:Key")
    repositories = recorder.by_type(REPOSITORY)
    assert sorted(repository.inputs["name"] for repository in repositories) == ["models", "team-a/fraud"]
    for repository in repositories:
        assert repository.inputs["encryptionConfigurations"][0]["encryptionType"] == "KMS", "HIPAA-ENC-ECR-KMS"
        assert repository.property_dependencies["encryptionConfigurations"] == [key.urn], "the customer-managed key"
        assert repository.inputs["imageTagMutability"] == "IMMUTABLE", (
            "a tag must always name the image that was reviewed and scanned (HIPAA-INT-ECR-IMMUTABLE)"
        )
        assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}, "HIPAA-VULN-ECR-SCAN"
        assert repository.inputs["forceDelete"] is False, "a repository with images is never deleted by accident"
        assert repository.inputs["tags"]["data-classification"] == "internal"
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30


def test_a_prefix_namespaces_the_repositories(run) -> None:
    recorder = _registry(run, repository_prefix="mlplatform-prod")
    assert sorted(r.inputs["name"] for r in recorder.by_type(REPOSITORY)) == [
        "mlplatform-prod/models",
        "mlplatform-prod/team-a/fraud",
    ]
    assert (
        recorder.one("mlplatform:index:AwsContainerRegistry")
        .outputs["repositoryUrls"]["models"]
        .endswith("/mlplatform-prod/models")
    )


def test_every_repository_has_a_lifecycle_policy(run) -> None:
    recorder = _registry(run, keep_tagged_images=20, untagged_retention_days=3)
    policies = recorder.by_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    repositories = recorder.by_type(REPOSITORY)
    assert sorted(p.property_dependencies["repository"][0] for p in policies) == sorted(r.urn for r in repositories), (
        "GDPR-RET-ECR-LIFECYCLE: every repository expires old images"
    )
    assert json.loads(policies[0].inputs["policy"]) == lifecycle_policy(20, 3)


def test_the_lifecycle_expires_untagged_images_by_age_and_keeps_the_last_tagged_ones() -> None:
    untagged, tagged = lifecycle_policy(50, 7)["rules"]
    assert untagged["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 7,
    }
    assert tagged["selection"]["tagStatus"] == "tagged" and tagged["selection"]["countNumber"] == 50
    assert tagged["selection"]["tagPatternList"] == ["*"], "ECR requires a pattern for tagged selections"
    assert untagged["rulePriority"] < tagged["rulePriority"]


def test_repository_policies_let_the_node_roles_pull_and_keep_other_accounts_out(run) -> None:
    recorder = _registry(run)
    for repository_policy in recorder.by_type("aws:ecr/repositoryPolicy:RepositoryPolicy"):
        document = policy(repository_policy.inputs)
        assert statement(document, "AllowPullByNodeRoles")["Principal"] == {"AWS": [NODE_ROLE]}, "nodes pull images"
        deny = statement(document, "DenyPrincipalsOutsideTheAccount")
        assert deny["Effect"] == "Deny" and deny["Condition"]["StringNotEquals"] == {
            "aws:PrincipalAccount": "123456789012"
        }, "the repositories stay private to the account (HIPAA-AC-ECR-POLICY)"
        assert not [s for s in document["Statement"] if s["Effect"] == "Allow" and s["Principal"] == "*"]


def test_a_given_key_is_used_instead_of_creating_one(run) -> None:
    recorder = _registry(run, kms_key_arn="arn:aws:kms:eu-central-1:123456789012:key/shared")
    assert recorder.by_type("aws:kms/key:Key") == []
    assert (
        recorder.one(REPOSITORY, "registry-models").inputs["encryptionConfigurations"][0]["kmsKey"].endswith("shared")
    )


def test_protect_retains_repositories_and_their_key(run) -> None:
    recorder = _registry(run, protect=True)
    for registration in [*recorder.by_type(REPOSITORY), recorder.one("aws:kms/key:Key")]:
        assert registration.protect and registration.retain_on_delete, f"{registration.name} holds model images"


def test_outputs_name_the_registry_host_and_each_repository(run) -> None:
    outputs = _registry(run).one("mlplatform:index:AwsContainerRegistry").outputs
    assert outputs["registryUrl"] == "123456789012.dkr.ecr.eu-central-1.amazonaws.com"
    assert set(outputs["repositoryUrls"]) == set(outputs["repositoryArns"]) == {"models", "team-a/fraud"}


def test_bad_repository_names_are_rejected_before_anything_is_created(recorder) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as error:
        run_program(
            lambda: AwsContainerRegistry("registry", {"repositories": ["Models", "ok", "ok"], "keep_tagged_images": 0})
        )
    assert error_paths(error.value) == ["repositories[0]", "repositories", "keepTaggedImages"]
    assert nothing_registered(recorder)
