"""Scaled stack configurations: the prod stack with N serving namespaces and M GPU pools, in a temporary project."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import yaml

from stacks.load import FULL_KEY, validate_platform_config
from stacks.synth import PROJECT_ROOT, whole_platform_config

BASE_STACK = "prod"
"""The shipped stack the scaled ones grow from: AWS, prod presets, gdpr and hipaa (the largest shipped graph)."""

NAMESPACE_COUNTS = (10, 100, 500)
GPU_POOL_COUNTS = (1, 4, 16)

GPU_INSTANCE_TYPES = (
    "g5.2xlarge",
    "g6.xlarge",
    "g6e.2xlarge",
    "g4dn.xlarge",
    "p4d.24xlarge",
    "p5.48xlarge",
    "p4de.24xlarge",
    "g5g.xlarge",
    "p5e.48xlarge",
    "g7e.2xlarge",
    "gr6.4xlarge",
    "p3.2xlarge",
    "p5en.48xlarge",
    "p3dn.24xlarge",
    "p6-b200.48xlarge",
    "g6.12xlarge",
)
"""One real EC2 type per pool, cycling through the families of the GPU contract (`AWS_GPU_FAMILIES`)."""


def scaled_name(namespaces: int, gpu_pools: int) -> str:
    """The stack name of a scaled configuration, e.g. `scaled-ns500-gpu16`."""
    return f"scaled-ns{namespaces}-gpu{gpu_pools}"


def scaled_platform(base: dict[str, Any], namespaces: int, gpu_pools: int) -> dict[str, Any]:
    """`base` (an `mlplatform:platform` document) with `namespaces` serving namespaces and `gpu_pools` GPU pools.

    Names, DNS labels and team groups are unique; every pool uses a GPU type of the contract, so the result
    passes the same validation as a shipped stack file. The base's pools that a training quota names stay (the
    training queues run on them) and count towards `gpu_pools`; generated pools make up the rest.
    """
    document = copy.deepcopy(base)
    named = {
        quota.get("pool")
        for namespace in (document.get("training") or {}).get("namespaces") or []
        for quota in namespace.get("quotas") or []
    }
    kept = [pool for pool in (document.get("cluster") or {}).get("gpuPools") or [] if pool.get("name") in named]
    generated = [_gpu_pool(index) for index in range(max(gpu_pools - len(kept), 0))]
    document.setdefault("cluster", {})["gpuPools"] = kept + generated
    document.setdefault("serving", {})["namespaces"] = [
        {
            "name": f"team-{index:03d}",
            "teamGroup": f"ml-team-{index:03d}",
            "quota": {"gpu": 1 + index % 4, "cpu": "16", "memory": "64Gi"},
        }
        for index in range(namespaces)
    ]
    return document


def _gpu_pool(index: int) -> dict[str, Any]:
    instance_type = GPU_INSTANCE_TYPES[index % len(GPU_INSTANCE_TYPES)]
    family = instance_type.split(".")[0]
    return {
        "name": f"pool{index:02d}-{family}",
        "instanceTypes": [instance_type],
        "minSize": 0,
        "maxSize": 4,
    }


def write_project(directory: Path, stack: str, platform: dict[str, Any]) -> Path:
    """A project directory holding the repository's Pulumi.yaml and `Pulumi.<stack>.yaml`; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PROJECT_ROOT / "Pulumi.yaml", directory / "Pulumi.yaml")
    (directory / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": {FULL_KEY: platform}}, sort_keys=False))
    return directory


def write_scaled_project(directory: Path, namespaces: int, gpu_pools: int) -> tuple[Path, str]:
    """Write the scaled configuration into `directory` after validating it; returns (project dir, stack name)."""
    # prod ships as a foundation and a cluster-layer stack; the whole platform as one stack is the largest graph.
    base = whole_platform_config(BASE_STACK)[FULL_KEY]
    platform = scaled_platform(base, namespaces, gpu_pools)
    validate_platform_config(copy.deepcopy(platform))
    stack = scaled_name(namespaces, gpu_pools)
    return write_project(directory, stack, platform), stack
