"""`PriorityExpander`: the cluster autoscaler's pool priorities (the AKS `priority` expander's ConfigMap)."""

import json
from collections.abc import Mapping, Sequence
from typing import Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components._common.validation import Problems, require_args_mapping
from components.kubernetes._checks import check_known_arguments

CONFIG_MAP_NAME = "cluster-autoscaler-priority-expander"
"""The name the cluster autoscaler reads its priorities from (kubernetes/autoscaler
`cluster-autoscaler/expander/priority/readme.md`), in its own namespace: kube-system on AKS."""
NAMESPACE = "kube-system"


class PriorityExpanderArgs(TypedDict, total=False):
    """Arguments of `PriorityExpander`."""

    priorities: Required[pulumi.Input[Mapping[str, Sequence[str]]]]
    """Priority (a positive integer, as a string key) -> regular expressions of the node groups it applies to;
    the highest matching priority wins (`AzureGpuCluster.autoscaler_priorities`). Required."""


def priorities_document(priorities: Mapping[str, Sequence[str]]) -> str:
    """The `priorities` value of the ConfigMap: YAML of integer priority -> node group patterns, highest first.

    Raises:
        ValueError: a priority that is not a positive integer, or a priority without patterns.
    """
    document: dict[int, list[str]] = {}
    for key, patterns in priorities.items():
        priority = int(key)
        if priority < 1 or not list(patterns):
            raise ValueError(f"priority {key!r} must be a positive integer with at least one node group pattern")
        document[priority] = [str(pattern) for pattern in patterns]
    # YAML with integer keys (the autoscaler reads a map of int to patterns); each pattern a double-quoted
    # scalar, which JSON's string escaping writes correctly.
    return "".join(
        f"{priority}:\n" + "".join(f"  - {json.dumps(pattern)}\n" for pattern in patterns)
        for priority, patterns in sorted(document.items(), reverse=True)
    )


class PriorityExpander(pulumi.ComponentResource):
    """The pool priorities of the cluster autoscaler's `priority` expander (AKS `autoScalerProfile.expander`).

    With several pools able to take a pending pod, the autoscaler grows the one with the highest priority (e.g.
    a spot pool before the regular pool that is its fallback). It watches the ConfigMap, so a change applies
    without a restart. Create it only where the autoscaler runs with `expander: priority`.

    Creates:
    - the ConfigMap `cluster-autoscaler-priority-expander` in kube-system, its `priorities` rendered from the
      mapping (integer priority -> node group patterns).

    Security: no workload and no RBAC; the ConfigMap holds pool name patterns only. Anyone who may edit
    ConfigMaps in kube-system can change which pool grows, as with every kube-system object.
    """

    config_map_name: pulumi.Output[str]
    """Name of the ConfigMap (`cluster-autoscaler-priority-expander`, in kube-system)."""

    def __init__(self, name: str, args: PriorityExpanderArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        problems = Problems()
        check_known_arguments(problems, args, PriorityExpanderArgs)
        priorities = args.get("priorities")
        if priorities is None:
            problems.add("priorities", "required: priority -> node group patterns")
        elif not isinstance(priorities, pulumi.Output):
            try:
                priorities_document(priorities)
            except (TypeError, ValueError) as error:
                problems.add("priorities", str(error))
        problems.raise_if_any(f"PriorityExpander '{name}'")
        super().__init__("mlplatform:index:PriorityExpander", name, None, opts)

        document = pulumi.Output.from_input(priorities).apply(priorities_document)
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata={"name": CONFIG_MAP_NAME, "namespace": NAMESPACE},
            data={"priorities": document},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.config_map_name = config_map.metadata.apply(lambda metadata: metadata.name)
        self.register_outputs({"configMapName": self.config_map_name})
