"""An IRSA role for the MLflow tracking server: read and write its own prefix of the artifacts bucket, nothing else."""

from collections.abc import Mapping, Sequence
from typing import NotRequired, Required, TypedDict

import pulumi
import pulumi_aws as aws

from components._common.gpu import TRACKING_SERVICE_ACCOUNT
from components._common.validation import Problems, check_known_arguments, require_args_mapping
from components.aws import iam
from components.aws._irsa import check_prefix, check_subject, irsa_role
from components.aws._resources import account_facts, to_json

DEFAULT_NAMESPACE = "mlflow"
"""The namespace `ExperimentTracking` creates by default."""
DEFAULT_SERVICE_ACCOUNT = TRACKING_SERVICE_ACCOUNT
"""The ServiceAccount the tracking server runs as."""
DEFAULT_PREFIX = "mlflow"
"""The server's key prefix in the artifacts bucket (`--artifacts-destination s3://<bucket>/mlflow`)."""


class AwsTrackingIdentityArgs(TypedDict):
    """Arguments of `AwsTrackingIdentity`."""

    oidc_provider_arn: Required[pulumi.Input[str]]
    """ARN of the cluster's IAM OIDC provider (`AwsGpuCluster.oidc_provider_arn`). Required."""
    artifacts_bucket_arn: Required[pulumi.Input[str]]
    """ARN of the platform's artifacts bucket (`AwsEncryptedBucket`). Required."""
    artifacts_kms_key_arn: Required[pulumi.Input[str]]
    """ARN of the KMS key encrypting that bucket. Required."""
    prefix: NotRequired[str]
    """The server's key prefix in the bucket, without leading or trailing '/'. Defaults to mlflow."""
    namespace: NotRequired[str]
    """Namespace of the tracking server (`ExperimentTracking.namespace`), a DNS-1123 label. Defaults to mlflow."""
    service_account: NotRequired[str]
    """ServiceAccount allowed to assume the role. Defaults to mlflow."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Tags on the role, on top of the provider's default tags. Defaults to none."""


def _validate(args: AwsTrackingIdentityArgs, name: str) -> str:
    problems = Problems()
    check_known_arguments(problems, args, AwsTrackingIdentityArgs)
    check_subject(
        problems, args.get("namespace", DEFAULT_NAMESPACE), args.get("service_account", DEFAULT_SERVICE_ACCOUNT)
    )
    for key, path in (
        ("oidc_provider_arn", "oidcProviderArn"),
        ("artifacts_bucket_arn", "artifactsBucketArn"),
        ("artifacts_kms_key_arn", "artifactsKmsKeyArn"),
    ):
        if args.get(key) is None:
            problems.add(path, "required")
    prefix = args.get("prefix", DEFAULT_PREFIX)
    check_prefix(problems, "prefix", prefix)
    problems.raise_if_any(f"AwsTrackingIdentity '{name}'")
    return prefix


class AwsTrackingIdentity(pulumi.ComponentResource):
    """The IAM role the MLflow tracking server's ServiceAccount assumes through IRSA to proxy run artifacts.

    Creates: an IAM role trusted by the cluster's OIDC provider for exactly `system:serviceaccount:<ns>:<sa>` with
    audience `sts.amazonaws.com`, and an inline policy: s3:ListBucket on the artifacts bucket only with an
    `s3:prefix` condition on the server's prefix; s3:GetObject, s3:PutObject and s3:AbortMultipartUpload under
    that prefix; kms:Decrypt and kms:GenerateDataKey on the bucket's key, only through S3 in the region and only
    for those objects (SSE-KMS uploads, multipart ones included).

    Security defaults: no other service account can assume the role; no other bucket (datasets, models) and no
    other prefix (the teams' own artifacts); no delete (with bucket versioning an overwrite keeps the previous
    version; `mlflow gc`, which deletes the artifacts of purged runs, needs s3:DeleteObject and is left to an
    operator's own role).
    """

    role_arn: pulumi.Output[str]
    """ARN of the role: `ExperimentTracking.identityId` (the ServiceAccount's `eks.amazonaws.com/role-arn`)."""
    role_name: pulumi.Output[str]
    """Name of the role."""
    artifacts_destination: pulumi.Output[str]
    """`s3://<bucket>/<prefix>`: `ExperimentTracking.artifactsDestination`."""

    def __init__(self, name: str, args: AwsTrackingIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        prefix = _validate(args, name)
        namespace = args.get("namespace", DEFAULT_NAMESPACE)
        service_account = args.get("service_account", DEFAULT_SERVICE_ACCOUNT)
        super().__init__("mlplatform:index:AwsTrackingIdentity", name, {}, opts)
        account = account_facts(self)
        role = irsa_role(
            f"{name}-role",
            oidc_provider_arn=args["oidc_provider_arn"],
            namespace=namespace,
            service_account=service_account,
            description=f"MLflow artifacts for {namespace}/{service_account}",
            tags=args.get("tags"),
            parent=self,
        )
        aws.iam.RolePolicy(
            f"{name}-artifacts",
            role=role.id,
            policy=to_json(
                pulumi.Output.all(
                    account.region, account.dns_suffix, args["artifacts_bucket_arn"], args["artifacts_kms_key_arn"]
                ).apply(lambda values: _artifacts_policy(values, prefix))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.role_arn = role.arn
        self.role_name = role.name
        self.artifacts_destination = pulumi.Output.from_input(args["artifacts_bucket_arn"]).apply(
            lambda arn: f"s3://{arn.split(':::', 1)[-1]}/{prefix}"
        )
        self.register_outputs(
            {"roleArn": self.role_arn, "roleName": self.role_name, "artifactsDestination": self.artifacts_destination}
        )


def _artifacts_policy(values: Sequence[object], prefix: str) -> iam.PolicyDocument:
    region, dns_suffix, bucket, key = (str(value) for value in values)
    return iam.training_data_policy(reads=[], writes=[(bucket, prefix, key)], region=region, dns_suffix=dns_suffix)
