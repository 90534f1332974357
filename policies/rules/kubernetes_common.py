"""Kubernetes helpers shared by the rule modules: workloads, pod specs, namespaces and serving tiers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from components._common.tags import TIER_LABEL
from policies.rules.base import UNKNOWN, Resource, Stack, as_dict, dicts, kubernetes_labels

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
REPLICA_SET = "kubernetes:apps/v1:ReplicaSet"
JOB = "kubernetes:batch/v1:Job"
CRON_JOB = "kubernetes:batch/v1:CronJob"
POD = "kubernetes:core/v1:Pod"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
RESOURCE_QUOTA = "kubernetes:core/v1:ResourceQuota"
HELM_CHART = "kubernetes:helm.sh/v4:Chart"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
HELM_TYPES = (HELM_CHART, HELM_RELEASE)
KARPENTER_NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
"""Karpenter's NodePool (a `k8s.apiextensions.CustomResource`): what nodes Karpenter may launch, and how many."""


def _spellings(versions: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Every type token of kinds across API versions, each also as its server-side-apply `<Kind>Patch` resource."""
    return tuple(
        f"kubernetes:{version}:{kind}{suffix}"
        for kind, kind_versions in versions.items()
        for version in kind_versions
        for suffix in ("", "Patch")
    )


POD_SPEC_PATHS: dict[str, str] = {
    "Pod": "spec",
    "PodTemplate": "template.spec",
    "ReplicationController": "spec.template.spec",
    "Deployment": "spec.template.spec",
    "StatefulSet": "spec.template.spec",
    "DaemonSet": "spec.template.spec",
    "ReplicaSet": "spec.template.spec",
    "Job": "spec.template.spec",
    "CronJob": "spec.jobTemplate.spec.template.spec",
}
"""Where each built-in kind carries its pod spec."""

_WORKLOAD_VERSIONS: dict[str, tuple[str, ...]] = {
    "Pod": ("core/v1",),
    "PodTemplate": ("core/v1",),
    "ReplicationController": ("core/v1",),
    # The beta groups are served by old clusters only, but pulumi-kubernetes still has their types: a
    # workload spelled with one must not skip the checks (issue 20).
    "Deployment": ("apps/v1", "apps/v1beta1", "apps/v1beta2", "extensions/v1beta1"),
    "StatefulSet": ("apps/v1", "apps/v1beta1", "apps/v1beta2"),
    "DaemonSet": ("apps/v1", "apps/v1beta2", "extensions/v1beta1"),
    "ReplicaSet": ("apps/v1", "apps/v1beta2", "extensions/v1beta1"),
    "Job": ("batch/v1",),
    "CronJob": ("batch/v1", "batch/v1beta1", "batch/v2alpha1"),
}

WORKLOAD_TYPES: tuple[str, ...] = _spellings(_WORKLOAD_VERSIONS)
"""Every token that carries a pod template (CONTROLS.md §2.3), in every API version and `*Patch` form."""

DAEMON_SET_TYPES: tuple[str, ...] = tuple(token for token in WORKLOAD_TYPES if ":DaemonSet" in token)
"""DaemonSets in every API version and `*Patch` form."""

SERVICE_TYPES: tuple[str, ...] = _spellings({"Service": ("core/v1",)})
"""Services, applied or patched."""

INGRESS_TYPES: tuple[str, ...] = _spellings(
    {"Ingress": ("networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1")}
)
"""Ingresses in every API version pulumi-kubernetes has, applied or patched."""


def base_kind(resource: Resource) -> str:
    """The kind without the `Patch` suffix of server-side-apply resources (`DeploymentPatch` -> `Deployment`)."""
    kind = resource.type.rsplit(":", 1)[-1]
    return kind.removesuffix("Patch") if resource.type.startswith("kubernetes:") else kind


SERVING_TIER = "serving"
PSA_ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"


def pod_spec(workload: Resource) -> Any:
    """The pod spec of a workload (`spec` for Pods, the job template's for CronJobs), {} or `UNKNOWN`."""
    path = POD_SPEC_PATHS.get(base_kind(workload), "spec.template.spec")
    return as_dict(workload.get(path, {}))


def containers(spec: Any) -> tuple[list[dict[str, Any]], bool]:
    """Containers and init containers of a pod spec, and whether any of them is unknown."""
    if spec is UNKNOWN:
        return [], True
    regular, unknown_regular = dicts(spec.get("containers"))
    init, unknown_init = dicts(spec.get("initContainers"))
    return [*regular, *init], unknown_regular or unknown_init


def container_label(workload: Resource, container: dict[str, Any]) -> str:
    """How messages name a container: "container 'server' of Deployment 'fraud-api'"."""
    return f"container '{container.get('name', '?')}' of {kind_of(workload)} '{workload.name}'"


def kind_of(resource: Resource) -> str:
    """The Kubernetes kind from the type token (`kubernetes:apps/v1:Deployment` -> `Deployment`)."""
    return base_kind(resource)


def name_key(value: Any) -> Any:
    """A name fit to be a set member or dict key: the string, None when absent, `UNKNOWN` for anything else.

    The API server accepts only strings for names and namespaces; a number, list or dict in a program is a
    value the rules cannot read, so it is unverifiable (and cannot crash a stack rule as an unhashable key).
    """
    if value is None or value is UNKNOWN or isinstance(value, str):
        return value
    return UNKNOWN


def object_name(resource: Resource) -> Any:
    """An object's `metadata.name` (see `name_key`), else its logical name, which Pulumi autonames from."""
    name = name_key(resource.get("metadata.name"))
    return name if name else resource.name


def namespace_of(resource: Resource) -> Any:
    """The namespace an object lands in: `metadata.namespace`, else the provider's default, else `default`."""
    namespace = name_key(resource.get("metadata.namespace"))
    if namespace is UNKNOWN or namespace:
        return namespace
    provider_namespace = resource.provider_prop("namespace")
    if provider_namespace is UNKNOWN or (isinstance(provider_namespace, str) and provider_namespace):
        return provider_namespace
    return "default"


def namespace_name(namespace: Resource) -> Any:
    """The name of a Namespace object (`metadata.name`, else the logical name, which Pulumi autonames from)."""
    return object_name(namespace)


ROUTE_TYPES: tuple[str, ...] = _spellings(
    {
        "HTTPRoute": ("gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"),
        "GRPCRoute": ("gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1alpha2"),
        "TLSRoute": ("gateway.networking.k8s.io/v1alpha2", "gateway.networking.k8s.io/v1alpha3"),
        "TCPRoute": ("gateway.networking.k8s.io/v1alpha2",),
        "UDPRoute": ("gateway.networking.k8s.io/v1alpha2",),
    }
)
"""Gateway API routes in every version (custom resources: the token is `kubernetes:<group>/<version>:<Kind>`)."""

INFERENCE_TYPES: tuple[str, ...] = _spellings(
    {"InferenceService": ("serving.kserve.io/v1beta1",), "InferenceGraph": ("serving.kserve.io/v1alpha1",)}
)
"""KServe's serving kinds: an object of one is a model served in its namespace."""


def placed_in(resource: Resource, owners: dict[str, Resource]) -> Any:
    """The namespace an object lands in; while `metadata.namespace` is unknown, the Namespace object it depends on."""
    namespace = namespace_of(resource)
    if namespace is UNKNOWN:
        return next((name for name, owner in owners.items() if resource.depends_on("metadata", owner.urn)), UNKNOWN)
    return namespace


def namespace_objects(stack: Stack) -> dict[str, Resource]:
    """The stack's Namespace objects by name (those whose name cannot be read are left out)."""
    return {
        name: namespace for namespace in stack.of((NAMESPACE,)) if isinstance(name := namespace_name(namespace), str)
    }


def served_namespaces(stack: Stack) -> set[str]:
    """Namespaces that serve traffic, recognised by structure rather than by any label (issue 20, class 1).

    A namespace serves when it holds a backend of a Gateway API route (`spec.rules[].backendRefs[]`, a Service in
    the ref's `namespace`, else the route's; cross-namespace refs need a ReferenceGrant there, which makes them no
    less served: https://gateway-api.sigs.k8s.io/api-types/referencegrant/), an Ingress (its backends are Services of
    its own namespace), or a KServe InferenceService / InferenceGraph.
    """
    owners = namespace_objects(stack)
    names: set[str] = set()
    for route in stack.of(ROUTE_TYPES):
        home = placed_in(route, owners)
        rules, _ = dicts(route.get("spec.rules"))
        for rule in rules:
            refs, _ = dicts(rule.get("backendRefs"))
            for ref in refs:
                if ref.get("group") not in (None, "", "core") or ref.get("kind") not in (None, "Service"):
                    continue
                namespace = name_key(ref.get("namespace")) or home
                if isinstance(namespace, str):
                    names.add(namespace)
    for resource in stack.of((*INGRESS_TYPES, *INFERENCE_TYPES)):
        namespace = placed_in(resource, owners)
        if isinstance(namespace, str):
            names.add(namespace)
    return names


def is_serving_namespace_object(namespace: Resource, extra: Iterable[str] = ()) -> bool:
    """True for a Namespace labelled `mlplatform.io/tier: serving`, or named in `extra`.

    The label and the setting only ever add namespaces: `serving_namespaces` also recognises them by structure.
    """
    labels = kubernetes_labels(namespace)
    if isinstance(labels, dict) and labels.get(TIER_LABEL) == SERVING_TIER:
        return True
    return namespace_name(namespace) in set(extra)


def serving_namespaces(
    stack: Stack, extra: Iterable[str] = (), system: Iterable[str] = (), *, outside: bool = True
) -> set[str]:
    """Names of the stack's serving namespaces: by structure (`served_namespaces`), declared or configured.

    Node-agent namespaces in `system` (monitoring, logging...) are never serving namespaces even when a route
    reaches a UI in them; the monitoring and logging UI rules judge those. With `outside` False, a namespace
    recognised by structure counts only when its Namespace object is in the stack: rules on a namespace's own
    setup (default deny, quota) judge the stack that creates it, not a team's stack that only deploys into it.
    """
    owners = namespace_objects(stack)
    structural = served_namespaces(stack) - set(system)
    if not outside:
        structural &= set(owners)
    names = set(extra) | structural
    for name, namespace in owners.items():
        if is_serving_namespace_object(namespace, extra):
            names.add(name)
    return names


def is_system_daemon_set(workload: Resource, system_namespaces: Iterable[str]) -> bool:
    """True for a node-agent DaemonSet in one of the configured system namespaces."""
    return base_kind(workload) == "DaemonSet" and namespace_of(workload) in set(system_namespaces)


def lands_in(resource: Resource, name: Any, owner: Resource | None) -> bool:
    """True when the object lands in namespace `name`: the namespace it names in `metadata.namespace`.

    Only while that value is unknown (computed from the Namespace object `owner` during preview) does the
    `metadata` dependency on `owner` decide; a label, or a name that looks like the namespace, never does.
    """
    namespace = namespace_of(resource)
    if namespace is UNKNOWN:
        return owner is not None and resource.depends_on("metadata", owner.urn)
    return namespace == name


def in_namespace(resource: Resource, namespace: str) -> bool:
    """True when the object lands in `namespace`."""
    return namespace_of(resource) == namespace


_SUFFIXES = {"m": Decimal("0.001"), "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "Ki": Decimal(2**10)}
_COUNT = re.compile(r"^(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?P<suffix>m|k|M|G|Ki)?$")


def gpu_count(value: Any) -> Decimal | Any | None:
    """A count (GPUs) from a Kubernetes quantity ("8", "1500m", 8.0); `UNKNOWN` passes; None when not a count.

    Only the suffixes a count could sensibly carry are read; any other quantity is not a count here.
    """
    if value is UNKNOWN or value is None:
        return value
    if isinstance(value, bool):
        return None
    match = _COUNT.match(str(value).strip()) if isinstance(value, str | int | float) else None
    if not match:
        return None
    return Decimal(match["number"]) * _SUFFIXES.get(match["suffix"] or "", Decimal(1))


NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""The label the API server puts on every Namespace, with its name as the value (immutable)."""


def namespace_labels(name: str, owner: Resource | None) -> dict[str, Any] | Any:
    """The labels a namespace carries: its object's `metadata.labels` (if it is in the stack) plus the name label."""
    labels = kubernetes_labels(owner) if owner is not None else {}
    if labels is UNKNOWN:
        return UNKNOWN
    return {**labels, NAMESPACE_NAME_LABEL: name}


def selector_matches(selector: Any, labels: dict[str, Any], *, complete: bool = True) -> bool | Any:
    """Kubernetes LabelSelector semantics over `labels`: True, False, or `UNKNOWN` when it cannot be told.

    An empty selector matches everything; an absent (None) one nothing. With `complete` False the labels are only
    those known (the namespace is not in the stack): a requirement on a label that is absent is then `UNKNOWN`.
    """
    if selector is UNKNOWN:
        return UNKNOWN
    if selector is None:
        return False
    selector = as_dict(selector)
    verdicts: list[bool | Any] = []
    match_labels = as_dict(selector.get("matchLabels"))
    if match_labels is UNKNOWN:
        return UNKNOWN
    for key, value in match_labels.items():
        if value is UNKNOWN:
            verdicts.append(UNKNOWN)
        elif key in labels:
            verdicts.append(labels[key] == value)
        else:
            verdicts.append(False if complete else UNKNOWN)
    expressions, unknown = dicts(selector.get("matchExpressions"))
    if unknown:
        verdicts.append(UNKNOWN)
    for expression in expressions:
        verdicts.append(_requirement_matches(expression, labels, complete))
    if False in verdicts:
        return False
    return UNKNOWN if UNKNOWN in verdicts else True


def _requirement_matches(expression: dict[str, Any], labels: dict[str, Any], complete: bool) -> bool | Any:
    key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values")
    if UNKNOWN in (key, operator) or values is UNKNOWN or (isinstance(values, list) and UNKNOWN in values):
        return UNKNOWN
    if key not in labels and not complete:
        return UNKNOWN
    present, value, values = key in labels, labels.get(key), values or []
    if operator == "In":
        return present and value in values
    if operator == "NotIn":
        return not present or value not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    return False  # the API server rejects any other operator
