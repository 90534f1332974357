"""Kubernetes helpers shared by the rule modules: workloads, pod specs, namespaces and serving tiers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from components._common.tags import TIER_LABEL
from policies.rules.base import (
    PREVIEW,
    UNKNOWN,
    NotApplicable,
    Resource,
    Stack,
    Unverified,
    as_bool,
    as_dict,
    dicts,
    kubernetes_labels,
)
from policies.rules.settings import DEFAULT_CRD_POD_SPEC_PATHS, POD_SPEC_SHAPES

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
    """The pod spec of a built-in workload (`spec` for Pods, the job template's for CronJobs), {} or `UNKNOWN`."""
    path = POD_SPEC_PATHS.get(base_kind(workload), "spec.template.spec")
    return as_dict(workload.get(path, {}))


# --- Pod templates of built-in workloads and custom resources ------------------------------------------------


@dataclass(frozen=True)
class PodTemplate:
    """One pod spec a resource carries, as the workload rules read it."""

    where: str
    """How messages name it: "Deployment 'api'", "replicatedJobs[workers] of JobSet 'train'"."""
    spec: Any
    """The PodSpec (a dict), or `UNKNOWN` when it cannot be read."""
    metadata: Any = None
    """The pods' `labels` and `annotations` (a dict, or `UNKNOWN`)."""
    sets_identity: bool = True
    """Whether the spec decides the pods' service account (a KServe ServingRuntime's pods take the
    InferenceService's)."""
    runtime_images: frozenset[str] = frozenset()
    """Containers whose image the operator supplies when they name none (KServe's model-server containers)."""
    why: str = PREVIEW
    """Why `spec` cannot be read, when it is `UNKNOWN`."""

    def unverified(self, what: str = "the pod spec") -> Unverified:
        """The finding for a part of this template that cannot be read ("the pod spec of ...")."""
        return Unverified(f"{what} of {self.where}", self.why)

    def container(self, container: dict[str, Any]) -> str:
        """How messages name one of its containers: "container 'server' of Deployment 'fraud-api'"."""
        return f"container '{container.get('name', '?')}' of {self.where}"

    def labels(self) -> Any:
        """The pods' labels, {} or `UNKNOWN`."""
        return UNKNOWN if self.metadata is UNKNOWN else as_dict(as_dict(self.metadata).get("labels"))

    def annotations(self) -> Any:
        """The pods' annotations, {} or `UNKNOWN`."""
        return UNKNOWN if self.metadata is UNKNOWN else as_dict(as_dict(self.metadata).get("annotations"))


_NOT_CUSTOM_MODULES = ("yaml", "kustomize", "helm.sh")


def is_built_in_group(group_version: str) -> bool:
    """True for the Kubernetes API's own groups (core, apps, batch, ..., `*.k8s.io`): no custom resource is there."""
    group = group_version.split("/")[0]
    return (
        group in ("core", "apps", "batch", "policy", "autoscaling")
        or group.endswith(".k8s.io")
        or "/" not in group_version
    )


def may_carry_pods(type_token: str) -> bool:
    """True for the built-in workloads and every custom resource token (its paths come from `podSpecPaths`)."""
    if type_token in WORKLOAD_TYPES:
        return True
    parts = type_token.split(":")
    return (
        len(parts) == 3
        and parts[0] == "kubernetes"
        and not parts[1].startswith(_NOT_CUSTOM_MODULES)
        and not is_built_in_group(parts[1])
    )


def configured_pod_spec_paths(type_token: str, config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(path, shape) of every pod spec `podSpecPaths` lists for a custom resource token (`*Patch` too).

    The configured entries add to the defaults (`settings.DEFAULT_CRD_POD_SPEC_PATHS`); an entry for a kind the
    defaults list replaces its paths. Keys are `kubernetes:<group>/<version>:<Kind>` or `<group>/<version>:<Kind>`.
    """
    _, group_version, kind = [*type_token.split(":"), "", ""][:3]
    wanted = f"{group_version}:{kind.removesuffix('Patch')}"
    given = config.get("podSpecPaths")
    table = {
        key.removeprefix("kubernetes:"): value
        for key, value in [*DEFAULT_CRD_POD_SPEC_PATHS.items(), *(given.items() if isinstance(given, dict) else [])]
        if isinstance(key, str)
    }
    entries = table.get(wanted, [])
    found: list[tuple[str, str]] = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, str) and entry:
            found.append((entry, "podSpec"))
        elif isinstance(entry, dict) and isinstance(entry.get("path"), str) and entry.get("shape") in POD_SPEC_SHAPES:
            found.append((entry["path"], entry["shape"]))
    return found


def pod_templates(workload: Resource, config: Mapping[str, Any]) -> list[PodTemplate]:
    """Every pod spec of a resource: one for a built-in workload, one per configured path item for a custom one.

    An unknown list, map or item along a path is one template whose spec is `UNKNOWN` (unverifiable, never
    skipped). Raises `NotApplicable` when the resource carries no pod spec (no configured path, or nothing there).
    """
    kind = base_kind(workload)
    if workload.type in WORKLOAD_TYPES:
        path = POD_SPEC_PATHS[kind]
        metadata_path = path.rsplit(".", 1)[0] + ".metadata" if "." in path else "metadata"
        return [PodTemplate(f"{kind} '{workload.name}'", pod_spec(workload), as_dict(workload.get(metadata_path, {})))]
    paths = configured_pod_spec_paths(workload.type, config)
    if not paths:
        raise NotApplicable(f"{kind} carries no pod spec the podSpecPaths setting lists")
    templates = [
        template
        for path, shape in paths
        for template in _templates_at(workload, path, shape, f"{kind} '{workload.name}'")
    ]
    if not templates:
        raise NotApplicable(f"{kind} '{workload.name}' has no pod template at {', '.join(path for path, _ in paths)}")
    return templates


def workload_templates(stack: Stack, config: Mapping[str, Any]) -> Iterator[tuple[Resource, PodTemplate]]:
    """(resource, pod template) for every pod spec of every resource of the stack that carries pods."""
    for resource in stack.resources:
        if not may_carry_pods(resource.type):
            continue
        try:
            templates = pod_templates(resource, config)
        except NotApplicable:
            continue
        for template in templates:
            yield resource, template


def _templates_at(workload: Resource, path: str, shape: str, owner: str) -> Iterator[PodTemplate]:
    if shape == "argoTemplate" and path.endswith(".templates[]"):
        holder = path.removesuffix(".templates[]").split(".")
        for _, workflow, _ in _walk(workload.props, holder, None, []):
            reference = _argo_reference_pods(workflow, owner)
            if reference is not None:
                yield reference
    for steps, value, parent in _walk(workload.props, path.split("."), None, []):
        label = _label(steps)
        where = f"{label} of {owner}" if label else owner
        if value is UNKNOWN:
            yield PodTemplate(where, UNKNOWN, UNKNOWN)
        elif shape == "argoTemplate":
            template = _argo_template(value, parent, where)
            if template is not None:
                yield template
        elif not isinstance(value, dict):
            continue
        elif shape == "kserveComponent":
            yield _kserve_component(value, where)
        elif shape == "runtimePodSpec":
            yield PodTemplate(where, value, _own_metadata(value), sets_identity=False)
        else:
            metadata = as_dict(parent).get("metadata") if path.endswith(".spec") and parent is not UNKNOWN else {}
            yield PodTemplate(where, value, as_dict(metadata))


def _walk(current: Any, segments: list[str], parent: Any, steps: list[str]) -> Iterator[tuple[list[str], Any, Any]]:
    """(rendered steps, value, the object holding it) at `segments` ("name[]": every item, "*": every value)."""
    if current is UNKNOWN:
        yield steps, UNKNOWN, UNKNOWN
        return
    if not segments:
        yield steps, current, parent
        return
    if not isinstance(current, dict):
        return
    segment, rest = segments[0], segments[1:]
    if segment == "*":
        for key, item in current.items():
            yield from _walk(item, rest, current, [*steps[:-1], f"{steps[-1] if steps else ''}[{key}]"])
        return
    if not segment.endswith("[]"):
        if segment in current:
            yield from _walk(current[segment], rest, current, [*steps, segment])
        return
    name = segment[:-2]
    items = current.get(name)
    if items is UNKNOWN:
        yield [*steps, name], UNKNOWN, UNKNOWN
        return
    for index, item in enumerate(items if isinstance(items, list) else []):
        key = item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) else index
        yield from _walk(item, rest, current, [*steps, f"{name}[{key}]"])


def _label(steps: list[str]) -> str:
    """`replicatedJobs[workers]` for spec.replicatedJobs[workers].template.spec.template.spec: no leading `spec`,
    no trailing `template`/`spec` (empty for the one pod template of a kind, named by the object alone)."""
    kept = steps[1:] if steps and steps[0] == "spec" else list(steps)
    while kept and kept[-1] in ("template", "spec"):
        kept.pop()
    return ".".join(kept)


def _own_metadata(holder: dict[str, Any]) -> dict[str, Any]:
    return {"labels": holder.get("labels"), "annotations": holder.get("annotations")}


# KServe v0.20.0 (pkg/apis/serving/v1beta1): a component inlines a PodSpec and ComponentExtensionSpec (whose labels
# and annotations go on its pods); a predictor adds one model-server container per framework key (an inline
# corev1.Container, PredictorExtensionSpec) and an explainer the `art` one (ExplainerExtensionSpec). KServe names such
# a container `kserve-container` (pkg/constants InferenceServiceContainerName) and, when it names no image, takes it
# from the ServingRuntime or the inferenceservice-config.
_KSERVE_CONTAINER_KEYS = (
    "model", "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "huggingface", "pmml", "lightgbm",
    "paddle", "art",
)  # fmt: skip
_KSERVE_CONTAINER = "kserve-container"


def _kserve_component(component: dict[str, Any], where: str) -> PodTemplate:
    spec = {key: value for key, value in component.items() if key not in (*_KSERVE_CONTAINER_KEYS, "workerSpec")}
    containers = component.get("containers")
    supplied: set[str] = set()
    for key in _KSERVE_CONTAINER_KEYS:
        if key not in component or containers is UNKNOWN:
            continue
        server = component[key]
        if server is UNKNOWN or not isinstance(server, dict):
            containers = UNKNOWN if server is UNKNOWN else containers
            continue
        name = server.get("name") if isinstance(server.get("name"), str) and server.get("name") else _KSERVE_CONTAINER
        supplied.add(name)
        containers = [*(containers if isinstance(containers, list) else []), {**server, "name": name}]
    spec["containers"] = containers
    return PodTemplate(where, spec, _own_metadata(component), runtime_images=frozenset(supplied))


# --- Argo Workflows templates (argoproj/argo-workflows v4.0.6) ---------------------------------------------

_ARGO_TYPES = ("container", "script", "containerSet", "steps", "dag", "resource", "suspend", "data", "http", "plugin")
"""Template types (pkg/apis/workflow/v1alpha1 TemplateType)."""
_ARGO_POD_TYPES = ("container", "script", "containerSet", "resource", "data")
"""Templates that run a pod: the first three run the template's own containers; resource and data templates run the
executor (its container from the controller's configuration) with the template's sidecars, init containers, pod-level
fields and podSpecPatch. Steps, DAG and suspend run none; HTTP and plugin templates run in the workflow's agent pod."""
ARGO_MAIN_CONTAINER = "main"
"""The name Argo gives the container of a container or script template (workflowpod.go, common.MainContainerName)."""
_TEMPLATE_MERGE_KEYS = {
    "volumes": "name", "initContainers": "name", "sidecars": "name", "tolerations": "key", "hostAliases": "ip",
    "env": "name", "ports": "containerPort", "volumeMounts": "mountPath",
}  # fmt: skip
"""patchMergeKey of the Template (workflow_types.go) and Container fields: how templateDefaults merge in."""
_POD_SPEC_MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
    "imagePullSecrets": "name", "hostAliases": "ip", "env": "name", "ports": "containerPort",
    "volumeMounts": "mountPath",
}  # fmt: skip
"""patchMergeKey of the PodSpec and Container fields (k8s.io/api core/v1 types.go): how a podSpecPatch merges."""


def _argo_template(template: Any, workflow: Any, where: str) -> PodTemplate | None:
    """The pod the workflow controller builds for a template (`_ARGO_POD_TYPES`), else None.

    workflowpod.go `createWorkflowPod` at v4.0.6: templateDefaults merge under the template (operator.go
    `mergedTemplateDefaultsInto`, a strategic merge without the other template types); containers are the
    `container` or `script` (named `main`) or `containerSet.containers` (none of the template's own for resource
    and data templates), then `sidecars`, with `initContainers`;
    volumes are the template's and the workflow's; securityContext, serviceAccountName, nodeSelector, tolerations
    and affinity are the template's, else the workflow's (`addSchedulingConstraints`, `setupServiceAccount`, which
    copies automountServiceAccountToken only when false); hostNetwork is the workflow's; labels and annotations are
    the workflow's podMetadata and the template's metadata; then the workflow's and the template's podSpecPatch
    (YAML or JSON) are applied as strategic merge patches (util.go `ApplyPodSpecPatch`). The executor's `init` and
    `wait` containers come from the controller's configuration, not from the workflow.
    """
    workflow = as_dict(workflow)
    if template is UNKNOWN or workflow is UNKNOWN:
        return PodTemplate(where, UNKNOWN, UNKNOWN)
    if not isinstance(template, dict):
        return None
    kind = next((key for key in _ARGO_TYPES if template.get(key) is not None), None)
    defaults = workflow.get("templateDefaults")
    if defaults is UNKNOWN:
        return PodTemplate(where, UNKNOWN, UNKNOWN)
    if isinstance(defaults, dict):
        applicable = {key: value for key, value in defaults.items() if key not in _ARGO_TYPES or key == kind}
        template = _strategic_merge(applicable, template, _TEMPLATE_MERGE_KEYS)
    if kind not in _ARGO_POD_TYPES:
        return None
    spec = _argo_pod_spec(template, workflow, kind)
    metadata = {
        part: _merged_maps(as_dict(workflow.get("podMetadata")), as_dict(template.get("metadata")), part)
        for part in ("labels", "annotations")
    }
    patches = [workflow.get("podSpecPatch"), template.get("podSpecPatch")]
    for patch in patches:
        if patch in (None, ""):
            continue
        parsed = _json_patch(patch)
        if isinstance(parsed, str):
            return PodTemplate(where, UNKNOWN, metadata, why=parsed)
        spec = _strategic_merge(spec, parsed, _POD_SPEC_MERGE_KEYS)
    return PodTemplate(where, spec, metadata)


def _argo_reference_pods(workflow: Any, owner: str) -> PodTemplate | None:
    """What a workflow that runs a referenced WorkflowTemplate (`workflowTemplateRef`) sets on every pod of it.

    Argo joins the workflow's spec over the referenced template's (workflow/util JoinWorkflowSpec: the workflow's
    fields win), so its hostNetwork, securityContext, volumes and podSpecPatch reach pods this resource does not
    contain. They are judged here, without containers of their own (those are the referenced template's, judged
    with it) and without deciding the service account (the template may set it).
    """
    reference = UNKNOWN if workflow is UNKNOWN else as_dict(workflow).get("workflowTemplateRef")
    if reference is None:
        return None
    target = as_dict(reference)
    name = "?" if target is UNKNOWN else target.get("name", "?")
    kind = (
        "ClusterWorkflowTemplate"
        if target is not UNKNOWN and as_bool(target.get("clusterScope"))
        else "WorkflowTemplate"
    )
    where = f"{owner} (running {kind} '{name}')"
    if workflow is UNKNOWN:
        return PodTemplate(where, UNKNOWN, UNKNOWN, sets_identity=False)
    spec = _argo_pod_spec({}, workflow, "resource")
    metadata = {part: as_dict(as_dict(workflow.get("podMetadata")).get(part)) for part in ("labels", "annotations")}
    patch = workflow.get("podSpecPatch")
    if patch not in (None, ""):
        parsed = _json_patch(patch)
        if isinstance(parsed, dict) and any(key in parsed for key in _CONTAINER_LISTS):
            parsed = (
                "patches, through podSpecPatch, containers of the referenced template that this resource does not "
                "contain; move the patch into the template, where it is checked with them"
            )
        if isinstance(parsed, str):
            return PodTemplate(where, UNKNOWN, metadata, sets_identity=False, why=parsed)
        spec = _strategic_merge(spec, parsed, _POD_SPEC_MERGE_KEYS)
    return PodTemplate(where, spec, metadata, sets_identity=False)


_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def _argo_pod_spec(template: dict[str, Any], workflow: dict[str, Any], kind: str) -> dict[str, Any]:
    main = template.get(kind)
    if kind in ("resource", "data"):
        containers: Any = []
    elif kind == "containerSet":
        containers = UNKNOWN if main is UNKNOWN else as_dict(main).get("containers", [])
    elif main is UNKNOWN:
        containers = UNKNOWN
    else:
        body = {key: value for key, value in as_dict(main).items() if key != "source"}
        containers = [{**body, "name": ARGO_MAIN_CONTAINER}]
    sidecars = template.get("sidecars", [])
    if containers is not UNKNOWN and sidecars is not UNKNOWN:
        containers = [*_items(containers), *_items(sidecars)]
    else:
        containers = UNKNOWN
    volumes = [workflow.get("volumes", []), template.get("volumes", [])]
    spec: dict[str, Any] = {
        "containers": containers,
        "initContainers": template.get("initContainers", []),
        "volumes": UNKNOWN if UNKNOWN in volumes else [*_items(volumes[0]), *_items(volumes[1])],
        "hostNetwork": workflow.get("hostNetwork"),
    }
    for key in ("securityContext", "serviceAccountName", "nodeSelector", "tolerations", "affinity"):
        own = template.get(key)
        spec[key] = own if own not in (None, "", [], {}) else workflow.get(key)
    automount = template.get("automountServiceAccountToken")
    automount = automount if automount is not None else workflow.get("automountServiceAccountToken")
    if automount is UNKNOWN or as_bool(automount) is False:
        spec["automountServiceAccountToken"] = automount
    return {key: value for key, value in spec.items() if value is not None}


def _items(value: Any) -> list[Any]:
    """The items of a list value ([] for anything else)."""
    return value if isinstance(value, list) else []


def _merged_maps(first: Any, second: Any, key: str) -> Any:
    one = UNKNOWN if first is UNKNOWN else as_dict(first.get(key))
    two = UNKNOWN if second is UNKNOWN else as_dict(second.get(key))
    if UNKNOWN in (one, two):
        return UNKNOWN
    return {**one, **two}


def _json_patch(patch: Any) -> dict[str, Any] | Any | str:
    """A podSpecPatch as a dict, `UNKNOWN`, or the reason it cannot be read (YAML, or a patch directive)."""
    if patch is UNKNOWN:
        return UNKNOWN
    try:
        parsed = json.loads(patch) if isinstance(patch, str) else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return (
            "is patched by a podSpecPatch that is not a JSON object, which this check cannot read; write the patch "
            "as JSON"
        )
    if _has_directive(parsed):
        return "is patched with a strategic-merge directive ($patch, $retainKeys ...) this check cannot apply"
    return parsed


def _has_directive(value: Any) -> bool:
    if isinstance(value, dict):
        return any(str(key).startswith("$") or _has_directive(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_directive(item) for item in value)
    return False


def _strategic_merge(base: Any, patch: Any, merge_keys: Mapping[str, str]) -> Any:
    """`patch` over `base` as a Kubernetes strategic merge patch: maps merge, null deletes, lists with a merge key
    merge item by item (others are replaced); `UNKNOWN` on either side is `UNKNOWN`."""
    if base is UNKNOWN or patch is UNKNOWN:
        return UNKNOWN
    if not (isinstance(base, dict) and isinstance(patch, dict)):
        return patch
    merged = dict(base)
    for key, value in patch.items():
        current = merged.get(key)
        if value is None:
            merged.pop(key, None)
        elif key in merge_keys and isinstance(value, list) and isinstance(current, list):
            merged[key] = _merge_list(current, value, merge_keys[key], merge_keys)
        elif isinstance(value, dict) and isinstance(current, dict):
            merged[key] = _strategic_merge(current, value, merge_keys)
        else:
            merged[key] = value
    return merged


def _merge_list(base: list[Any], patch: list[Any], key: str, merge_keys: Mapping[str, str]) -> list[Any]:
    merged = list(base)
    for item in patch:
        identity = item.get(key) if isinstance(item, dict) else None
        index = next(
            (
                i
                for i, old in enumerate(merged)
                if identity is not None and isinstance(old, dict) and old.get(key) == identity
            ),
            None,
        )
        if index is None:
            merged.append(item)
        else:
            merged[index] = _strategic_merge(merged[index], item, merge_keys)
    return merged


def containers(spec: Any) -> tuple[list[dict[str, Any]], bool]:
    """Containers and init containers of a pod spec, and whether any of them is unknown."""
    if spec is UNKNOWN:
        return [], True
    regular, unknown_regular = dicts(spec.get("containers"))
    init, unknown_init = dicts(spec.get("initContainers"))
    return [*regular, *init], unknown_regular or unknown_init


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
