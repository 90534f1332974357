"""An IRSA role for one model-serving namespace: read-only access to its model prefix and image pulls."""

import re
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components._common.gpu import SERVING_SERVICE_ACCOUNT
from components._common.validation import Problems, require_args_mapping
from components.aws import iam
from components.aws._irsa import check_prefix, check_subject, irsa_role
from components.aws._resources import account_facts, to_json

DEFAULT_SERVICE_ACCOUNT = SERVING_SERVICE_ACCOUNT

_SECRET_PREFIX = re.compile(r"^[A-Za-z0-9_+=.@-]+(/[A-Za-z0-9_+=.@-]+)*$")
"""Characters Secrets Manager allows in secret names (letters, digits, /_+=.@-), segments joined by '/'."""


class AwsServingIdentityArgs(TypedDict):
    """Arguments of `AwsServingIdentity`."""

    namespace: str
    """Kubernetes namespace of the serving workload, a DNS-1123 label."""
    oidc_provider_arn: pulumi.Input[str]
    """ARN of the cluster's IAM OIDC provider (`AwsGpuCluster.oidc_provider_arn`)."""
    bucket_arn: pulumi.Input[str]
    """ARN of the bucket holding the models."""
    kms_key_arn: pulumi.Input[str]
    """ARN of the KMS key encrypting that bucket."""
    service_account: NotRequired[str]
    """Name of the Kubernetes service account allowed to assume the role. Defaults to model-server."""
    prefix: NotRequired[str]
    """Key prefix the namespace may read, without leading or trailing '/'. Defaults to the namespace name."""
    repository_arns: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """ECR repositories the role may pull from. Defaults to none."""
    secret_name_prefix: NotRequired[str]
    """Secrets Manager name prefix the namespace's secrets live under, without leading or trailing '/', e.g.
    `<stack-prefix>/<namespace>`: the role may read (GetSecretValue, DescribeSecret) only secrets named
    `<secretNamePrefix>/*`, which the Secrets Store CSI driver mounts into its pods. Defaults to no access to Secrets Manager."""
    secrets_kms_key_arn: NotRequired[pulumi.Input[str]]
    """Customer-managed KMS key encrypting those secrets; the role may decrypt with it only through Secrets
    Manager, for secrets under the prefix. Only with `secretNamePrefix`. Defaults to none (the AWS managed
    `aws/secretsmanager` key, which needs no grant)."""
    tags: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Tags on the role, on top of the provider's default tags. Defaults to none."""


def _validate(args: AwsServingIdentityArgs, name: str) -> None:
    problems = Problems()
    namespace = args.get("namespace", "")
    check_subject(problems, namespace, args.get("service_account", DEFAULT_SERVICE_ACCOUNT))
    check_prefix(problems, "prefix", args.get("prefix", namespace) or "")
    secret_prefix = args.get("secret_name_prefix")
    if secret_prefix is not None and (not isinstance(secret_prefix, str) or not _SECRET_PREFIX.match(secret_prefix)):
        problems.add(
            "secretNamePrefix", f"{secret_prefix!r} must be a name prefix without wildcards or '/' at the ends"
        )
    if args.get("secrets_kms_key_arn") is not None and secret_prefix is None:
        problems.add("secretsKmsKeyArn", "only used with secretNamePrefix")
    for key, path in (
        ("oidc_provider_arn", "oidcProviderArn"),
        ("bucket_arn", "bucketArn"),
        ("kms_key_arn", "kmsKeyArn"),
    ):
        if args.get(key) is None:
            problems.add(path, "required")
    problems.raise_if_any(f"AwsServingIdentity '{name}'")


class AwsServingIdentity(pulumi.ComponentResource):
    """The IAM role one serving namespace's service account assumes through IRSA, with read-only model access.

    Creates: an IAM role trusted by the cluster's OIDC provider for exactly `system:serviceaccount:<ns>:<sa>` with
    audience `sts.amazonaws.com`, and an inline policy granting s3:ListBucket on the prefix, s3:GetObject under
    it, kms:Decrypt through S3 on the bucket key, and image pulls from the given repositories; with
    `secretNamePrefix`, read-only access to the Secrets Manager secrets under that prefix (and their key through
    Secrets Manager).

    Security defaults: no other service account or namespace can assume the role; read-only; limited to one
    prefix (and one secret name prefix); the keys can only be used through S3 for this bucket and through Secrets
    Manager for these secrets; no wildcard actions.
    """

    role_arn: pulumi.Output[str]
    """ARN of the role; annotate the service account with `eks.amazonaws.com/role-arn: <role_arn>`."""
    role_name: pulumi.Output[str]
    """Name of the role."""
    namespace: pulumi.Output[str]
    """The namespace the role serves."""
    service_account: pulumi.Output[str]
    """The service account allowed to assume the role."""

    def __init__(self, name: str, args: AwsServingIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        _validate(args, name)
        namespace = args["namespace"]
        service_account = args.get("service_account", DEFAULT_SERVICE_ACCOUNT)
        prefix = args.get("prefix", namespace)
        secret_prefix = args.get("secret_name_prefix")
        super().__init__("mlplatform:index:AwsServingIdentity", name, {"namespace": namespace}, opts)
        account = account_facts(self)
        child = pulumi.ResourceOptions(parent=self)

        role = irsa_role(
            f"{name}-role",
            oidc_provider_arn=args["oidc_provider_arn"],
            namespace=namespace,
            service_account=service_account,
            description=f"Read-only model access for {namespace}/{service_account}",
            tags=args.get("tags"),
            parent=self,
        )
        aws.iam.RolePolicy(
            f"{name}-read-models",
            role=role.id,
            policy=to_json(
                pulumi.Output.all(
                    args["bucket_arn"],
                    args["kms_key_arn"],
                    account.region,
                    account.dns_suffix,
                    pulumi.Output.from_input(args.get("repository_arns") or []),
                    account.partition,
                    account.account_id,
                    pulumi.Output.from_input(args.get("secrets_kms_key_arn")),
                ).apply(lambda values: _read_policy(values, prefix=prefix, secret_prefix=secret_prefix))
            ),
            opts=child,
        )

        self.role_arn = role.arn
        self.role_name = role.name
        self.namespace = pulumi.Output.from_input(namespace)
        self.service_account = pulumi.Output.from_input(service_account)
        self.register_outputs(
            {
                "roleArn": self.role_arn,
                "roleName": self.role_name,
                "namespace": self.namespace,
                "serviceAccount": self.service_account,
            }
        )


def _read_policy(values: Sequence[object], *, prefix: str, secret_prefix: str | None) -> iam.PolicyDocument:
    bucket_arn, key_arn, region, dns_suffix, repository_arns, partition, account_id, secrets_key_arn = values
    policy = iam.serving_read_policy(
        bucket_arn=str(bucket_arn),
        prefix=prefix,
        key_arn=str(key_arn),
        region=str(region),
        dns_suffix=str(dns_suffix),
        repository_arns=list(repository_arns or []),  # type: ignore[call-overload]
    )
    if secret_prefix is not None:
        policy["Statement"] += iam.serving_secrets_statements(
            partition=str(partition),
            region=str(region),
            account_id=str(account_id),
            dns_suffix=str(dns_suffix),
            name_prefix=secret_prefix,
            key_arn=str(secrets_key_arn) if secrets_key_arn else None,
        )
    return policy
