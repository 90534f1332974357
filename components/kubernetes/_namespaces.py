"""Namespaces with Pod Security Admission labels and the platform tier label, shared by every component."""

from collections.abc import Mapping
from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from components._common.tags import TIER_LABEL
from components._common.validation import Problems, dns1123_label_problem

PsaLevel = Literal["privileged", "baseline", "restricted"]

PSA_PREFIX = "pod-security.kubernetes.io/"
PSA_VERSION = "latest"
"""Pod Security Standards version the labels pin. `latest` follows the cluster's own version, so a cluster
upgrade tightens the profile rather than leaving namespaces on an old one."""

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""The label the API server sets on every namespace (immutable), used by NetworkPolicy namespace selectors."""

RESERVED_NAMESPACE_NAMES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
"""Namespaces Kubernetes owns; components never create or label them."""


def psa_labels(enforce: PsaLevel) -> dict[str, str]:
    """Pod Security Admission labels: `enforce` at the given level, audit always at `restricted`.

    Warnings follow `restricted` too, except in privileged namespaces, which exist only for node agents
    whose host access is known and reviewed; warning on every apply there would only train people to
    ignore warnings.
    """
    warn: PsaLevel = enforce if enforce == "privileged" else "restricted"
    return {
        f"{PSA_PREFIX}enforce": enforce,
        f"{PSA_PREFIX}enforce-version": PSA_VERSION,
        f"{PSA_PREFIX}audit": "restricted",
        f"{PSA_PREFIX}audit-version": PSA_VERSION,
        f"{PSA_PREFIX}warn": warn,
        f"{PSA_PREFIX}warn-version": PSA_VERSION,
    }


def namespace_labels(tier: str, enforce: PsaLevel, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Labels of a platform namespace: user extras first, then the tier and PSA labels, which always win."""
    labels = dict(extra or {})
    labels[TIER_LABEL] = tier
    labels.update(psa_labels(enforce))
    return labels


def check_namespace_name(problems: Problems, path: str, name: object) -> None:
    """Record a problem when `name` cannot be a namespace this layer creates."""
    if name is None:
        problems.add(path, "required")
        return
    if not isinstance(name, str):
        problems.add(path, "must be a string")
        return
    problem = dns1123_label_problem(name)
    if problem:
        problems.add(path, problem)
    elif name in RESERVED_NAMESPACE_NAMES or name.startswith("kube-"):
        problems.add(path, f"'{name}' is owned by Kubernetes; choose a platform-specific namespace")


def check_extra_labels(problems: Problems, path: str, labels: object) -> None:
    """Record a problem when user labels are not a string map or try to override tier or PSA labels."""
    if not isinstance(labels, Mapping):
        problems.add(path, "must be a map of label keys to string values")
        return
    for key, value in labels.items():
        if not isinstance(key, str) or not isinstance(value, str):
            problems.add(f"{path}.{key}", "label keys and values must be strings")
        elif key == TIER_LABEL or key.startswith(PSA_PREFIX):
            problems.add(f"{path}.{key}", "is set by the component (tier and Pod Security labels cannot be overridden)")


def create_namespace(
    resource_name: str,
    name: str,
    *,
    tier: str,
    enforce: PsaLevel,
    extra_labels: Mapping[str, str] | None,
    parent: pulumi.Resource,
) -> k8s.core.v1.Namespace:
    """Create namespace `name` with the tier and PSA labels, as a child of `parent`."""
    return k8s.core.v1.Namespace(
        resource_name,
        metadata={"name": name, "labels": namespace_labels(tier, enforce, extra_labels)},
        opts=pulumi.ResourceOptions(parent=parent),
    )
