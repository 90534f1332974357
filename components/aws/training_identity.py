"""An IRSA role for one team's training namespace: read its datasets, write its models and artifacts."""

import json
from collections.abc import Mapping, Sequence
from typing import NotRequired, Required, TypedDict

import pulumi
import pulumi_aws as aws

from components._common.gpu import TRAINING_SERVICE_ACCOUNT
from components._common.validation import Problems, check_known_arguments, require_args_mapping
from components.aws import iam
from components.aws._irsa import check_prefix, check_subject, irsa_role
from components.aws._resources import account_facts, to_json

DEFAULT_SERVICE_ACCOUNT = TRAINING_SERVICE_ACCOUNT
"""The ServiceAccount `TrainingNamespace` creates by default."""
STORES = (("datasets", "datasets"), ("models", "models"), ("artifacts", "artifacts"))
"""The three stores a training job uses, as (argument, default top-level prefix)."""


class AwsTrainingStoreArgs(TypedDict):
    """Where one kind of training data lives: a bucket, its key and the team's prefix in it."""

    bucket_arn: Required[pulumi.Input[str]]
    """ARN of the bucket. Required."""
    kms_key_arn: Required[pulumi.Input[str]]
    """ARN of the KMS key encrypting that bucket. Required."""
    prefix: NotRequired[str]
    """The team's key prefix in the bucket, without leading or trailing '/'. Defaults to `<store>/<team>`
    (`datasets/<team>`, `models/<team>`, `artifacts/<team>`)."""


class AwsTrainingIdentityArgs(TypedDict):
    """Arguments of `AwsTrainingIdentity`."""

    namespace: Required[str]
    """Kubernetes namespace of the training jobs (`TrainingNamespace`), a DNS-1123 label. Required."""
    oidc_provider_arn: Required[pulumi.Input[str]]
    """ARN of the cluster's IAM OIDC provider (`AwsGpuCluster.oidc_provider_arn`). Required."""
    datasets: Required[AwsTrainingStoreArgs]
    """Where the team's datasets are: read only. Required."""
    models: Required[AwsTrainingStoreArgs]
    """Where the team's trained models go: read and write, no delete. Required."""
    artifacts: Required[AwsTrainingStoreArgs]
    """Where the team's checkpoints, metrics and other run artifacts go: read and write, no delete. Required."""
    team: NotRequired[str]
    """The team's segment of the default prefixes. Defaults to the namespace."""
    service_account: NotRequired[str]
    """Name of the Kubernetes service account allowed to assume the role. Defaults to trainer."""
    image_repository_arns: NotRequired[Sequence[pulumi.Input[str]]]
    """ECR repositories the team's pipelines push serving images to (a retraining pipeline's build step: `crane
    append` onto the server base image, then push by digest): push and pull on these repositories only, plus the
    registry token (`ecr:GetAuthorizationToken`, which has no resource). ECR uses its own KMS grant for encrypted
    repositories, so no key permission is needed (ECR user guide, *IAM permissions for pushing an image*,
    *Encryption at rest*). Defaults to none (no registry access)."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Tags on the role, on top of the provider's default tags. Defaults to none."""


IMAGE_PUSH_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
)
"""What pushing (and reading back) an image needs on its repository: the ECR user guide's push policy, plus the
two read actions a layer-appending build uses to fetch the base image's manifest and layers."""


def image_push_policy(repository_arns: Sequence[str]) -> dict[str, object]:
    """The policy document letting a principal push to (and pull from) exactly `repository_arns`."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "RegistryToken", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {
                "Sid": "PushServingImages",
                "Effect": "Allow",
                "Action": list(IMAGE_PUSH_ACTIONS),
                "Resource": sorted(repository_arns),
            },
        ],
    }


def _validate(args: AwsTrainingIdentityArgs, name: str) -> dict[str, str]:
    """Check the arguments; return the prefix of each store."""
    problems = Problems()
    check_known_arguments(problems, args, AwsTrainingIdentityArgs)
    namespace = args.get("namespace")
    check_subject(problems, namespace, args.get("service_account", DEFAULT_SERVICE_ACCOUNT))
    team = args.get("team", namespace)
    check_prefix(problems, "team", team)
    if isinstance(team, str) and "/" in team:
        problems.add("team", f"'{team}' must be one path segment")
    if args.get("oidc_provider_arn") is None:
        problems.add("oidcProviderArn", "required")
    prefixes: dict[str, str] = {}
    for store, top in STORES:
        value = args.get(store)
        if not isinstance(value, Mapping):
            problems.add(store, "required: a map with bucketArn and kmsKeyArn")
            continue
        check_known_arguments(problems, value, AwsTrainingStoreArgs, store)
        for key, path in (("bucket_arn", "bucketArn"), ("kms_key_arn", "kmsKeyArn")):
            if value.get(key) is None:
                problems.add(f"{store}.{path}", "required")
        prefixes[store] = value.get("prefix", f"{top}/{team}")
        check_prefix(problems, f"{store}.prefix", prefixes[store])
    readable = [(store, prefixes.get(store)) for store in ("models", "artifacts")]
    for store, prefix in readable:
        data = prefixes.get("datasets")
        if isinstance(prefix, str) and isinstance(data, str) and _nested(prefix, data):
            problems.add(f"{store}.prefix", f"'{prefix}' overlaps the read-only datasets prefix '{data}'")
    problems.raise_if_any(f"AwsTrainingIdentity '{name}'")
    return prefixes


def _nested(first: str, second: str) -> bool:
    """Whether one prefix contains the other (as whole path segments)."""
    return f"{first}/".startswith(f"{second}/") or f"{second}/".startswith(f"{first}/")


class AwsTrainingIdentity(pulumi.ComponentResource):
    """The IAM role one training namespace's service account assumes through IRSA: the team's data and no more.

    Creates: an IAM role trusted by the cluster's OIDC provider for exactly `system:serviceaccount:<ns>:<sa>`
    with audience `sts.amazonaws.com`, and an inline policy: s3:ListBucket on each bucket only with an
    `s3:prefix` condition on the team's prefixes; s3:GetObject under the datasets, models and artifacts
    prefixes; s3:PutObject and s3:AbortMultipartUpload under the models and artifacts prefixes only; kms:Decrypt
    (and kms:GenerateDataKey for the written prefixes) on the buckets' keys, only through S3 in the region and
    only for those objects.

    Security defaults: no other service account or namespace can assume the role; datasets are read-only; no
    delete anywhere (with bucket versioning an overwrite keeps the previous version); no other team's prefix,
    no other bucket, no wildcard actions; a models or artifacts prefix overlapping the datasets prefix is
    refused, so the role can never write its own training data.
    """

    role_arn: pulumi.Output[str]
    """ARN of the role; `TrainingNamespace.identityId` (the service account's `eks.amazonaws.com/role-arn`)."""
    role_name: pulumi.Output[str]
    """Name of the role."""
    namespace: pulumi.Output[str]
    """The namespace the role serves."""
    service_account: pulumi.Output[str]
    """The service account allowed to assume the role."""
    prefixes: pulumi.Output[dict[str, str]]
    """The team's prefix in each store (`datasets`, `models`, `artifacts`)."""

    def __init__(self, name: str, args: AwsTrainingIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        prefixes = _validate(args, name)
        namespace = args["namespace"]
        service_account = args.get("service_account", DEFAULT_SERVICE_ACCOUNT)
        super().__init__("mlplatform:index:AwsTrainingIdentity", name, {"namespace": namespace}, opts)
        account = account_facts(self)

        role = irsa_role(
            f"{name}-role",
            oidc_provider_arn=args["oidc_provider_arn"],
            namespace=namespace,
            service_account=service_account,
            description=f"Team training data for {namespace}/{service_account}",
            tags=args.get("tags"),
            parent=self,
        )
        stores = [args[store] for store, _ in STORES]
        aws.iam.RolePolicy(
            f"{name}-team-data",
            role=role.id,
            policy=to_json(
                pulumi.Output.all(
                    account.region,
                    account.dns_suffix,
                    *(store["bucket_arn"] for store in stores),
                    *(store["kms_key_arn"] for store in stores),
                ).apply(lambda values: _data_policy(values, prefixes))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        repositories = args.get("image_repository_arns") or []
        if repositories:
            aws.iam.RolePolicy(
                f"{name}-push-images",
                role=role.id,
                policy=pulumi.Output.all(*repositories).apply(lambda arns: json.dumps(image_push_policy(arns))),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.role_arn = role.arn
        self.role_name = role.name
        self.namespace = pulumi.Output.from_input(namespace)
        self.service_account = pulumi.Output.from_input(service_account)
        self.prefixes = pulumi.Output.from_input(prefixes)
        self.register_outputs(
            {
                "roleArn": self.role_arn,
                "roleName": self.role_name,
                "namespace": self.namespace,
                "serviceAccount": self.service_account,
                "prefixes": self.prefixes,
            }
        )


def _data_policy(values: Sequence[object], prefixes: Mapping[str, str]) -> iam.PolicyDocument:
    region, dns_suffix, *rest = (str(value) for value in values)
    buckets = dict(zip((store for store, _ in STORES), rest[: len(STORES)], strict=True))
    keys = dict(zip((store for store, _ in STORES), rest[len(STORES) :], strict=True))
    return iam.training_data_policy(
        reads=[(buckets["datasets"], prefixes["datasets"], keys["datasets"])],
        writes=[(buckets[store], prefixes[store], keys[store]) for store in ("models", "artifacts")],
        region=region,
        dns_suffix=dns_suffix,
    )
