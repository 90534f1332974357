"""PriorityExpander: the ConfigMap the AKS autoscaler's priority expander reads, in the shape it parses."""

from __future__ import annotations

import re

import pytest
import yaml

from components.azure.gpu_cluster import autoscaler_priorities
from components.kubernetes import PriorityExpander
from components.kubernetes.autoscaling.priority_expander import CONFIG_MAP_NAME, priorities_document
from tests.components.azure._fixtures import rejected

POOLS = [
    {"name": "t4spot", "vm_size": "Standard_NC4as_T4_v3", "spot": True},
    {"name": "t4", "vm_size": "Standard_NC4as_T4_v3"},
]


def _grown_first(document: str, candidates: list[str]) -> str:
    """The node group the priority expander grows among `candidates` (scale sets that fit a pending pod)."""
    priorities: dict[int, list[str]] = yaml.safe_load(document)
    assert all(isinstance(key, int) for key in priorities), "the autoscaler parses integer priorities"

    def priority(group: str) -> int:
        return max(
            (p for p, patterns in priorities.items() if any(re.fullmatch(x, group) for x in patterns)), default=-1
        )

    return max(candidates, key=priority)


def test_a_spot_pool_grows_before_its_regular_fallback_through_the_config_map_the_autoscaler_reads(run) -> None:
    priorities = {str(k): v for k, v in autoscaler_priorities(POOLS).items()}  # type: ignore[arg-type]
    recorder = run(lambda: PriorityExpander("priorities", {"priorities": priorities}))
    (config_map,) = recorder.by_type("kubernetes:core/v1:ConfigMap")
    assert config_map.inputs["metadata"] == {"name": CONFIG_MAP_NAME, "namespace": "kube-system"}, (
        "the autoscaler reads exactly this name in its own namespace"
    )
    document = config_map.inputs["data"]["priorities"]
    assert _grown_first(document, ["aks-t4-12345678-vmss", "aks-t4spot-12345678-vmss"]) == "aks-t4spot-12345678-vmss"
    assert _grown_first(document, ["aks-platform-12345678-vmss"]) == "aks-platform-12345678-vmss", (
        "a pool without its own priority stays growable through the catch-all"
    )


def test_priorities_that_the_autoscaler_would_reject_are_refused_before_anything_registers(run, recorder) -> None:
    problems = rejected(run, recorder, lambda: PriorityExpander("priorities", {"priorities": {"zero": [".*"]}}))
    assert "priorities" in problems, problems
    with pytest.raises(ValueError, match="positive integer"):
        priorities_document({"0": [".*"]})
