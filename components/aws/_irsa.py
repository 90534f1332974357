"""Internal helpers of the IRSA identities (serving, training): subject and prefix checks, the trusted role."""

import re
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components._common.validation import Problems, dns1123_label_problem
from components.aws import iam
from components.aws._resources import to_json

MAX_SESSION_DURATION_SECONDS = 3600

_PREFIX = re.compile(r"^[A-Za-z0-9!_.'()-]+(/[A-Za-z0-9!_.'()-]+)*$")
"""S3 key prefixes the identities grant: safe characters, segments joined by '/', no wildcards."""


def check_subject(problems: Problems, namespace: object, service_account: object) -> None:
    """Record problems of the Kubernetes namespace and service account a role trusts (DNS-1123 labels)."""
    for path, value in (("namespace", namespace), ("serviceAccount", service_account)):
        problem = dns1123_label_problem(value) if isinstance(value, str) else "must be a string"
        if problem:
            problems.add(path, problem)


def check_prefix(problems: Problems, path: str, prefix: object) -> None:
    """Record a problem when `prefix` is not an S3 key prefix without wildcards or '/' at the ends."""
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        problems.add(path, f"'{prefix}' must be a key prefix without wildcards or leading/trailing '/'")


def irsa_role(
    resource_name: str,
    *,
    oidc_provider_arn: pulumi.Input[str],
    namespace: str,
    service_account: str,
    description: str,
    tags: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None,
    parent: pulumi.Resource,
) -> aws.iam.Role:
    """An IAM role only `system:serviceaccount:<namespace>:<service_account>` of the cluster can assume (IRSA)."""
    return aws.iam.Role(
        resource_name,
        description=description,
        assume_role_policy=to_json(
            pulumi.Output.from_input(oidc_provider_arn).apply(
                lambda arn: iam.irsa_trust_policy(arn, namespace, service_account)
            )
        ),
        max_session_duration=MAX_SESSION_DURATION_SECONDS,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
