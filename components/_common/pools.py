"""The node-pool placement contract: the labels that tell platform, training and serving capacity apart.

The cloud layer (EKS node groups, AKS agent pools) puts these labels on nodes; workloads select them. GPU
pools carry the GPU contract's labels and taints as well (`components/_common/gpu.py`).
"""

from __future__ import annotations

POOL_ROLE_LABEL = "mlplatform.io/pool-role"
"""Node label naming what a pool is for; the platform pool carries `platform`."""

PLATFORM_POOL_ROLE = "platform"
"""`POOL_ROLE_LABEL` value of the untainted CPU pool that runs the platform's own workloads (operators,
Prometheus, Grafana, Elasticsearch, Kibana): select it with `nodeSelector: {mlplatform.io/pool-role: platform}`."""

PLATFORM_POOL_NAME = "platform"
"""Name of the platform pool: the AKS agent pool, and the prefix of the EKS node groups (one per zone)."""

WORKLOAD_TAINT_KEY = "workload"
"""Taint key that reserves a GPU pool for one kind of workload, e.g. `workload=training:NoSchedule`."""

WORKLOAD_LABEL = "mlplatform.io/workload"
"""Node label a pool with a `workload=<kind>` taint carries (`mlplatform.io/workload: <kind>`), so the pods that
tolerate the taint can also select the pool; a toleration alone lets a pod land elsewhere, a selector alone is
refused by the taint."""


def platform_pool_labels() -> dict[str, str]:
    """The node labels of the platform pool, the same on every cloud."""
    return {POOL_ROLE_LABEL: PLATFORM_POOL_ROLE}


def workload_labels(taints: list[tuple[str, str]]) -> dict[str, str]:
    """The `mlplatform.io/workload` label derived from a pool's `workload=<kind>` taint, as `(key, value)` pairs;
    empty when the pool has none."""
    kinds = [value for key, value in taints if key == WORKLOAD_TAINT_KEY and value]
    return {WORKLOAD_LABEL: kinds[0]} if kinds else {}
