"""The composition root: builds the platform for the configured target. The only module that branches on cloud."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi

from stacks.config import AwsTarget, AzureTarget, KubernetesTarget, PlatformConfig


@dataclass
class Platform:
    """What the program exports: a flat, camelCase set of stack outputs (documented in README)."""

    outputs: dict[str, Any] = field(default_factory=dict)


def build_platform(config: PlatformConfig) -> Platform:
    """Build the whole platform for `config.target.cloud` and return its stack outputs."""
    builders: dict[str, Callable[[PlatformConfig, Platform], None]] = {
        "aws": _build_aws,
        "azure": _build_azure,
        "kubernetes": _build_existing_cluster,
    }
    platform = Platform(outputs=_common_outputs(config))
    builders[config.cloud](config, platform)
    return platform


def _common_outputs(config: PlatformConfig) -> dict[str, Any]:
    return {
        "environment": config.environment,
        "cloud": config.cloud,
        "complianceProfiles": list(config.compliance.profiles),
        "servingNamespaces": [namespace.name for namespace in config.serving.namespaces],
        "stackName": pulumi.get_stack(),
    }


def _build_aws(config: PlatformConfig, platform: Platform) -> None:
    assert isinstance(config.target, AwsTarget)
    platform.outputs["region"] = config.target.region


def _build_azure(config: PlatformConfig, platform: Platform) -> None:
    assert isinstance(config.target, AzureTarget)
    platform.outputs["location"] = config.target.location


def _build_existing_cluster(config: PlatformConfig, platform: Platform) -> None:
    assert isinstance(config.target, KubernetesTarget)
    platform.outputs["kubeconfigContext"] = config.target.kubeconfig_context
