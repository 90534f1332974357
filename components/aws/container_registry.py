"""ECR repositories for model images: KMS-encrypted, immutable, scanned, with lifecycle and account-only access."""

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components._common.tags import DataClassification, data_tags
from components._common.validation import Problems, require_args_mapping
from components.aws import iam
from components.aws._resources import account_facts, customer_managed_key, merged_tags, retained, stateful, to_json

DEFAULT_SCAN_ON_PUSH = True
DEFAULT_KEEP_TAGGED_IMAGES = 50
DEFAULT_UNTAGGED_RETENTION_DAYS = 7
DEFAULT_REPOSITORY_PREFIX = ""
DEFAULT_DATA_CLASSIFICATION: DataClassification = "internal"
DEFAULT_PROTECT = False

_REPOSITORY_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$")
_CLASSIFICATIONS = ("phi", "pii", "confidential", "internal", "public")


class AwsContainerRegistryArgs(TypedDict):
    """Arguments of `AwsContainerRegistry`."""

    repositories: list[str]
    """Repository names, e.g. ["models", "team-a/fraud"]: lower case, digits, '.', '_', '-', '/'."""
    repository_prefix: NotRequired[str]
    """Namespace prepended as `<prefix>/<name>`, e.g. the stack, so stacks sharing an account do not collide.
    Defaults to none."""
    kms_key_arn: NotRequired[pulumi.Input[str]]
    """An existing KMS key for the repositories. Defaults to a new customer-managed key."""
    scan_on_push: NotRequired[pulumi.Input[bool]]
    """Scan every pushed image for vulnerabilities. Defaults to true."""
    keep_tagged_images: NotRequired[int]
    """Tagged images kept per repository; older ones expire. Defaults to 50."""
    untagged_retention_days: NotRequired[int]
    """Days before untagged images expire. Defaults to 7."""
    pull_principal_arns: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """IAM role ARNs allowed to pull, typically the EKS node roles. Defaults to none (account IAM policies only)."""
    data_classification: NotRequired[str]
    """Classification tag of the images (phi, pii, confidential, internal, public). Defaults to internal."""
    protect: NotRequired[bool]
    """Protect and retain the repositories and their key on delete. Defaults to false."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Tags for every taggable child, on top of the provider's default tags. Defaults to none."""


def lifecycle_policy(keep_tagged_images: int, untagged_retention_days: int) -> dict[str, Any]:
    """An ECR lifecycle policy: expire untagged images after N days, keep the last N tagged images."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Expire untagged images after {untagged_retention_days} days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": untagged_retention_days,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep the last {keep_tagged_images} tagged images",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["*"],
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_tagged_images,
                },
                "action": {"type": "expire"},
            },
        ]
    }


def _repository_path(prefix: str, repository: str) -> str:
    return f"{prefix}/{repository}" if prefix else repository


def _validate(args: AwsContainerRegistryArgs, name: str) -> None:
    problems = Problems()
    repositories = args.get("repositories") or []
    if not repositories:
        problems.add("repositories", "list at least one repository")
    prefix = args.get("repository_prefix", DEFAULT_REPOSITORY_PREFIX)
    if prefix and not _REPOSITORY_NAME.match(prefix):
        problems.add(
            "repositoryPrefix", f"'{prefix}' is not a repository namespace (lower case, digits, '.', '_', '-', '/')"
        )
    for index, repository in enumerate(repositories):
        full = _repository_path(prefix, repository)
        if not _REPOSITORY_NAME.match(repository) or len(full) > 256:
            problems.add(
                f"repositories[{index}]",
                f"'{repository}' is not a repository name (lower case, digits, '.', '_', '-', '/')",
            )
    if len(set(repositories)) != len(repositories):
        problems.add("repositories", "repository names must be unique")
    keep = args.get("keep_tagged_images", DEFAULT_KEEP_TAGGED_IMAGES)
    if not 1 <= keep <= 10000:
        problems.add("keepTaggedImages", "must be between 1 and 10000")
    untagged = args.get("untagged_retention_days", DEFAULT_UNTAGGED_RETENTION_DAYS)
    if not 1 <= untagged <= 3650:
        problems.add("untaggedRetentionDays", "must be between 1 and 3650")
    if args.get("data_classification", DEFAULT_DATA_CLASSIFICATION) not in _CLASSIFICATIONS:
        problems.add("dataClassification", f"must be one of {', '.join(_CLASSIFICATIONS)}")
    problems.raise_if_any(f"AwsContainerRegistry '{name}'")


class AwsContainerRegistry(pulumi.ComponentResource):
    """ECR repositories for model images, encrypted, immutable, scanned and private to the account.

    Creates:
    - a customer-managed KMS key (rotation on, 30-day deletion window, explicit policy) unless one is given;
    - per repository: the repository (KMS encryption, immutable tags, scan on push), a lifecycle policy (untagged
      images expire after N days, only the last N tagged images are kept) and a repository policy.

    Security defaults: tags cannot be overwritten, so a deployed digest stays the reviewed one; every push is
    scanned (basic scanning; add `AwsRegistryScanning` over `<repositoryPrefix>/*` for Amazon Inspector's continuous
    scanning, whose findings `policies.image_gate` judges before a digest is promoted); the repository policy lets only the given roles pull and denies every principal outside the account;
    repositories are never force-deleted with images in them.
    """

    repository_urls: pulumi.Output[dict[str, str]]
    """Repository URL per repository name given in `repositories`."""
    repository_arns: pulumi.Output[dict[str, str]]
    """Repository ARN per repository name."""
    registry_url: pulumi.Output[str]
    """The registry host, `<account>.dkr.ecr.<region>.amazonaws.com` (for `docker login`)."""
    kms_key_arn: pulumi.Output[str]
    """ARN of the KMS key encrypting the repositories."""

    def __init__(self, name: str, args: AwsContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        _validate(args, name)
        super().__init__("mlplatform:index:AwsContainerRegistry", name, {}, opts)
        protect = args.get("protect", DEFAULT_PROTECT)
        prefix = args.get("repository_prefix", DEFAULT_REPOSITORY_PREFIX)
        tags = merged_tags(
            args.get("tags"), data_tags(args.get("data_classification", DEFAULT_DATA_CLASSIFICATION), None)
        )
        account = account_facts(self)

        key_arn = args.get("kms_key_arn")
        if key_arn is None:
            key_arn = customer_managed_key(
                f"{name}-key",
                parent=self,
                description=f"Encrypts the ECR repositories of {name}",
                policy=to_json(
                    pulumi.Output.all(account.partition, account.account_id).apply(
                        lambda facts: iam.data_key_policy(facts[0], facts[1])
                    )
                ),
                tags=tags,
                protect=protect,
            ).arn

        repository_policy = to_json(
            pulumi.Output.all(
                account.account_id, pulumi.Output.from_input(args.get("pull_principal_arns") or [])
            ).apply(lambda values: iam.ecr_repository_policy(values[0], values[1]))
        )
        lifecycle = json.dumps(
            lifecycle_policy(
                args.get("keep_tagged_images", DEFAULT_KEEP_TAGGED_IMAGES),
                args.get("untagged_retention_days", DEFAULT_UNTAGGED_RETENTION_DAYS),
            ),
            sort_keys=True,
        )
        repositories: dict[str, aws.ecr.Repository] = {}
        for repository in args["repositories"]:
            slug = repository.replace("/", "-")
            created = aws.ecr.Repository(
                f"{name}-{slug}",
                name=_repository_path(prefix, repository),
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                    scan_on_push=args.get("scan_on_push", DEFAULT_SCAN_ON_PUSH)
                ),
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=key_arn)
                ],
                force_delete=False,
                tags=tags,
                opts=stateful(self, protect),
            )
            aws.ecr.LifecyclePolicy(
                f"{name}-{slug}-lifecycle", repository=created.name, policy=lifecycle, opts=retained(self, protect)
            )
            aws.ecr.RepositoryPolicy(
                f"{name}-{slug}-policy",
                repository=created.name,
                policy=repository_policy,
                opts=retained(self, protect),
            )
            repositories[repository] = created

        first = next(iter(repositories.values()))
        self.repository_urls = pulumi.Output.all(
            **{repository: created.repository_url for repository, created in repositories.items()}
        )
        self.repository_arns = pulumi.Output.all(
            **{repository: created.arn for repository, created in repositories.items()}
        )
        self.registry_url = first.repository_url.apply(lambda url: url.split("/", 1)[0])
        self.kms_key_arn = pulumi.Output.from_input(key_arn)
        self.register_outputs(
            {
                "repositoryUrls": self.repository_urls,
                "repositoryArns": self.repository_arns,
                "registryUrl": self.registry_url,
                "kmsKeyArn": self.kms_key_arn,
            }
        )
