"""Kubernetes workload hardening (Pod Security Standards 'restricted'), resources and namespace placement."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from policies.rules.base import (
    UNKNOWN,
    Finding,
    NotApplicable,
    Resource,
    Unverified,
    as_bool,
    as_dict,
    as_list,
    as_number,
    dig,
    must_be_true,
    resource_rule,
    string_list,
)
from policies.rules.kubernetes_common import (
    HELM_TYPES,
    PodTemplate,
    containers,
    is_built_in_group,
    is_system_daemon_set,
    kind_of,
    may_carry_pods,
    namespace_of,
    pod_templates,
)
from policies.rules.settings import CRD_POD_SPEC_PATHS, SYSTEM_NAMESPACES

_NODE_AGENT_NOTE = "DaemonSets in the configured systemNamespaces (node agents) are exempt."

TemplateCheck = Callable[[PodTemplate, list[dict[str, Any]]], Iterator[Finding]]


def each_template(workload: Resource, config: dict[str, Any], check: TemplateCheck) -> Iterator[Finding]:
    """Findings of `check` on every pod template of `workload` with its containers; unverifiable when unreadable.

    NotApplicable when the resource carries no pod template (see `pod_templates`).
    """
    for template in pod_templates(workload, config):
        items, unknown = containers(template.spec)
        if template.spec is UNKNOWN or unknown:
            yield template.unverified()
            continue
        yield from check(template, items)


def each_hardened(workload: Resource, config: dict[str, Any], check: TemplateCheck) -> Iterator[Finding]:
    """`each_template` for the hardening rules: unverifiable while the namespace is unknown; NotApplicable for
    node-agent DaemonSets in the configured systemNamespaces."""
    if namespace_of(workload) is UNKNOWN:
        yield Unverified(f"the namespace of {kind_of(workload)} '{workload.name}'")
        return
    if is_system_daemon_set(workload, as_list(config.get("systemNamespaces"))):
        raise NotApplicable(
            f"DaemonSet '{workload.name}' is a node agent in system namespace '{namespace_of(workload)}'"
        )
    yield from each_template(workload, config, check)


def security_context(holder: dict[str, Any]) -> Any:
    """The `securityContext` of a pod spec or a container, {} or `UNKNOWN`."""
    return as_dict(holder.get("securityContext"))


@resource_rule(
    name="kubernetes-workload-run-as-non-root",
    title="Containers run as a non-root user",
    description=f"Pods set run_as_non_root=True at pod level or on every container, none overrides it to false, and no container runs as UID 0. {_NODE_AGENT_NOTE}",
    remediation="Set security_context={'run_as_non_root': True, 'run_as_user': 10001} in the pod spec and build images with a non-root USER.",
    scope="workloads",
    matches=may_carry_pods,
    settings=(SYSTEM_NAMESPACES, CRD_POD_SPEC_PATHS),
)
def run_as_non_root(workload: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from each_hardened(workload, config, _run_as_non_root)


def _run_as_non_root(template: PodTemplate, items: list[dict[str, Any]]) -> Iterator[Finding]:
    pod_context = as_dict(template.spec.get("securityContext"))
    pod_non_root = as_bool(dig_context(pod_context, "runAsNonRoot"))
    if dig_context(pod_context, "runAsUser") in (0, 0.0):
        yield f"{template.where} runs its pod as UID 0; set security_context.run_as_user to a non-zero UID."
    for container in items:
        context = security_context(container)
        non_root = as_bool(dig_context(context, "runAsNonRoot"))
        user = dig_context(context, "runAsUser")
        label = template.container(container)
        if UNKNOWN in (non_root, user, pod_non_root):
            yield Unverified(f"the user of {label}")
            continue
        if user in (0, 0.0):
            yield f"{label} runs as UID 0; set security_context.run_as_user to a non-zero UID."
        if non_root is False or (non_root is None and pod_non_root is not True):
            yield f"{label} may run as root; set run_as_non_root=True in the pod or container security_context."


def dig_context(context: Any, key: str) -> Any:
    """A security context field, `UNKNOWN` when the context is unknown."""
    return UNKNOWN if context is UNKNOWN else as_dict(context).get(key)


@resource_rule(
    name="kubernetes-workload-no-privilege-escalation",
    title="Containers are unprivileged and cannot escalate",
    description=f"Every container sets allow_privilege_escalation=False and is not privileged. {_NODE_AGENT_NOTE}",
    remediation="Set security_context={'allow_privilege_escalation': False, 'privileged': False} on every container.",
    scope="workloads",
    matches=may_carry_pods,
    settings=(SYSTEM_NAMESPACES, CRD_POD_SPEC_PATHS),
)
def no_privilege_escalation(workload: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from each_hardened(workload, config, _no_privilege_escalation)


def _no_privilege_escalation(template: PodTemplate, items: list[dict[str, Any]]) -> Iterator[Finding]:
    for container in items:
        context = security_context(container)
        label = template.container(container)
        privileged, escalation = (
            as_bool(dig_context(context, "privileged")),
            as_bool(dig_context(context, "allowPrivilegeEscalation")),
        )
        if privileged is True:
            yield f"{label} is privileged; remove security_context.privileged=True."
        if UNKNOWN in (privileged, escalation):
            yield Unverified(f"the security context of {label}")
        elif escalation is not False:
            yield f"{label} may escalate privileges; set security_context.allow_privilege_escalation=False."


@resource_rule(
    name="kubernetes-workload-capabilities-dropped",
    title="Containers drop all Linux capabilities",
    description=f"Every container drops ALL capabilities and adds back at most NET_BIND_SERVICE. {_NODE_AGENT_NOTE}",
    remediation="Set security_context.capabilities={'drop': ['ALL']} (add: ['NET_BIND_SERVICE'] only to bind ports below 1024).",
    scope="workloads",
    matches=may_carry_pods,
    settings=(SYSTEM_NAMESPACES, CRD_POD_SPEC_PATHS),
)
def capabilities_dropped(workload: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from each_hardened(workload, config, _capabilities_dropped)


def _capabilities_dropped(template: PodTemplate, items: list[dict[str, Any]]) -> Iterator[Finding]:
    for container in items:
        capabilities = dig_context(security_context(container), "capabilities")
        label = template.container(container)
        if capabilities is UNKNOWN:
            yield Unverified(f"the capabilities of {label}")
            continue
        drop, add = as_list(as_dict(capabilities).get("drop")), as_list(as_dict(capabilities).get("add"))
        if UNKNOWN in (drop, add) or UNKNOWN in add:
            yield Unverified(f"the capabilities of {label}")
            continue
        if "ALL" not in drop:
            yield f"{label} keeps the default Linux capabilities; set security_context.capabilities.drop=['ALL']."
        extra = [capability for capability in add if capability != "NET_BIND_SERVICE"]
        if extra:
            yield f"{label} adds capabilities {', '.join(map(str, extra))}; add at most NET_BIND_SERVICE."


_SECCOMP_OK = ("RuntimeDefault", "Localhost")


@resource_rule(
    name="kubernetes-workload-seccomp-profile",
    title="Containers run under a seccomp profile",
    description=f"Pods set seccomp_profile.type RuntimeDefault or Localhost at pod level or on every container, and no container sets Unconfined. {_NODE_AGENT_NOTE}",
    remediation="Set security_context={'seccomp_profile': {'type': 'RuntimeDefault'}} in the pod spec.",
    scope="workloads",
    matches=may_carry_pods,
    settings=(SYSTEM_NAMESPACES, CRD_POD_SPEC_PATHS),
)
def seccomp_profile(workload: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from each_hardened(workload, config, _seccomp_profile)


def _seccomp_profile(template: PodTemplate, items: list[dict[str, Any]]) -> Iterator[Finding]:
    pod_type = dig(template.spec, "securityContext.seccompProfile.type")
    for container in items:
        profile = dig_context(security_context(container), "seccompProfile")
        kind = UNKNOWN if profile is UNKNOWN else as_dict(profile).get("type")
        label = template.container(container)
        effective = pod_type if kind is None else kind
        if effective in _SECCOMP_OK:
            continue
        if effective is UNKNOWN:
            yield Unverified(f"the seccomp profile of {label}")
        else:
            yield f"{label} runs without a seccomp profile ({effective or 'unset'}); set seccomp_profile.type='RuntimeDefault'."


_RESTRICTED_VOLUMES = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
)


@resource_rule(
    name="kubernetes-workload-host-isolation",
    title="Pods share nothing with the node",
    description=(
        "Pods use no host network, PID or IPC namespace, no hostPath or other non-restricted volume types and no "
        f"host ports. {_NODE_AGENT_NOTE}"
    ),
    remediation="Remove host_network/host_pid/host_ipc, hostPath volumes and host_port; use PersistentVolumeClaims, emptyDir or projected volumes.",
    scope="workloads",
    matches=may_carry_pods,
    settings=(SYSTEM_NAMESPACES, CRD_POD_SPEC_PATHS),
)
def host_isolation(workload: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from each_hardened(workload, config, _host_isolation)


def _host_isolation(template: PodTemplate, items: list[dict[str, Any]]) -> Iterator[Finding]:
    spec, name = template.spec, template.where
    for field_name, argument in (("hostNetwork", "host_network"), ("hostPID", "host_pid"), ("hostIPC", "host_ipc")):
        value = as_bool(spec.get(field_name))
        if value is UNKNOWN:
            yield Unverified(f"{argument} of {name}")
        elif value is True:
            yield f"{name} shares the node's {field_name[4:]} namespace; remove {argument}=True."
    volumes = as_list(spec.get("volumes"))
    if volumes is UNKNOWN:
        yield Unverified(f"the volumes of {name}")
    else:
        for volume in volumes:
            volume = as_dict(volume)
            if volume is UNKNOWN:
                yield Unverified(f"a volume of {name}")
                continue
            kinds = [key for key in volume if key != "name"]
            for kind in kinds:
                if kind == "hostPath":
                    path = dig(volume, "hostPath.path", "?")
                    yield f"{name} mounts the node path {path} (volume '{volume.get('name')}'); use a PersistentVolumeClaim or emptyDir."
                elif kind not in _RESTRICTED_VOLUMES:
                    yield f"{name} uses a {kind} volume ('{volume.get('name')}'), outside the restricted volume types; use a PersistentVolumeClaim, CSI or projected volume."
    for container in items:
        ports = as_list(container.get("ports"))
        if ports is UNKNOWN:
            yield Unverified(f"the ports of {template.container(container)}")
            continue
        for port in ports:
            host_port = as_dict(port).get("hostPort")
            if host_port is UNKNOWN:
                yield Unverified(f"the ports of {template.container(container)}")
            elif host_port:
                yield f"{template.container(container)} binds host port {host_port}; remove host_port and expose it through a Service."


@resource_rule(
    name="kubernetes-workload-read-only-root-filesystem",
    title="Containers have a read-only root filesystem",
    description=f"Every container sets read_only_root_filesystem=True and writes only to mounted volumes. {_NODE_AGENT_NOTE}",
    remediation="Set security_context.read_only_root_filesystem=True and mount an emptyDir where the process must write (e.g. /tmp).",
    scope="workloads",
    matches=may_carry_pods,
    settings=(SYSTEM_NAMESPACES, CRD_POD_SPEC_PATHS),
)
def read_only_root_filesystem(workload: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from each_hardened(workload, config, _read_only_root_filesystem)


def _read_only_root_filesystem(template: PodTemplate, items: list[dict[str, Any]]) -> Iterator[Finding]:
    for container in items:
        label = template.container(container)
        yield from must_be_true(
            dig_context(security_context(container), "readOnlyRootFilesystem"),
            f"read_only_root_filesystem of {label}",
            f"{label} can write to its root filesystem; set security_context.read_only_root_filesystem=True.",
        )


_GPU = "nvidia.com/gpu"


def _count(value: Any) -> Any:
    """A GPU count as a number when it is one ("2", 2 and 2.0 are equal), else the value itself."""
    number = as_number(value)
    return number if isinstance(number, float) else value


@resource_rule(
    name="kubernetes-workload-resource-requests",
    title="Containers declare CPU and memory requests and a memory limit",
    description="Every container requests CPU and memory and limits memory; a container that requests GPUs limits them to the same count.",
    remediation="Set resources={'requests': {'cpu': '500m', 'memory': '1Gi'}, 'limits': {'memory': '1Gi'}} (GPUs: requests and limits {'nvidia.com/gpu': n}).",
    scope="workloads",
    matches=may_carry_pods,
    settings=(CRD_POD_SPEC_PATHS,),
)
def resource_requests(workload: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from each_template(workload, config, _resource_requests)


def _resource_requests(template: PodTemplate, items: list[dict[str, Any]]) -> Iterator[Finding]:
    for container in items:
        label = template.container(container)
        resources = as_dict(container.get("resources"))
        if resources is UNKNOWN:
            yield Unverified(f"the resources of {label}")
            continue
        requests, limits = as_dict(resources.get("requests")), as_dict(resources.get("limits"))
        if UNKNOWN in (requests, limits):
            yield Unverified(f"the resources of {label}")
            continue
        missing = [
            name
            for name, present in (
                ("requests.cpu", requests.get("cpu")),
                ("requests.memory", requests.get("memory")),
                ("limits.memory", limits.get("memory")),
            )
            if present in (None, "")
        ]
        if missing:
            yield f"{label} does not set {', '.join(missing)}; declare them so the scheduler and quotas can account for it."
        gpu_request, gpu_limit = requests.get(_GPU), limits.get(_GPU)
        if (gpu_request is not None or gpu_limit is not None) and _count(gpu_request) != _count(gpu_limit):
            yield f"{label} requests {gpu_request} and limits {gpu_limit} nvidia.com/gpu; set both to the same count."


# --- Namespace placement ---------------------------------------------------------------------------------

_CLUSTER_SCOPED_KINDS = frozenset(
    {
        "Namespace", "Node", "PersistentVolume", "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment",
        "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "APIService", "PriorityClass",
        "RuntimeClass", "IngressClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "CertificateSigningRequest",
        "FlowSchema", "PriorityLevelConfiguration", "VolumeSnapshotClass", "ComponentStatus",
        "NodePool", "EC2NodeClass", "NodeClaim", "AKSNodeClass", "NodeFeatureRule", "GatewayClass",
        # Kueue v0.19.2 (config/components/crd/bases, `scope: Cluster`; ClusterQueue is caught by its prefix)
        "ResourceFlavor", "Cohort", "AdmissionCheck", "Topology", "WorkloadPriorityClass", "MultiKueueCluster",
        "MultiKueueConfig", "ProvisioningRequestConfig",
    }
)  # fmt: skip
CLUSTER_SCOPED_KINDS = string_list(
    "clusterScopedKinds",
    "Further cluster-scoped custom resource kinds (besides the built-in ones and kinds named Cluster*).",
)


def _namespaced_candidate(type_token: str) -> bool:
    if not type_token.startswith("kubernetes:"):
        return False
    module = type_token.split(":")[1]
    return not module.startswith(("yaml", "kustomize")) and not type_token.endswith("List")


@resource_rule(
    name="kubernetes-resource-namespace-set",
    title="Namespaced objects live in a named namespace",
    description=(
        "Every namespaced Kubernetes object and Helm chart names its namespace (on the object, or through the "
        "provider's default namespace) and that namespace is not 'default'."
    ),
    remediation="Set metadata={'namespace': <team or platform namespace>} (Helm: namespace=...), or give the kubernetes.Provider a namespace.",
    scope="namespaced Kubernetes objects and Helm charts",
    matches=_namespaced_candidate,
    settings=(CLUSTER_SCOPED_KINDS,),
)
def namespace_set(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    group_version, kind = resource.type.split(":")[1], resource.type.rsplit(":", 1)[-1]
    base_kind = kind.removesuffix("Patch")
    if resource.type in HELM_TYPES:
        namespace = resource.props.get("namespace") or namespace_of(resource)
    else:
        if (
            base_kind in _CLUSTER_SCOPED_KINDS
            or base_kind.startswith("Cluster")
            or base_kind in as_list(config.get("clusterScopedKinds"))
        ):
            raise NotApplicable(f"{base_kind} is cluster-scoped")
        namespace = namespace_of(resource)
        if (
            namespace == "default"
            and resource.get("metadata.namespace") is None
            and not is_built_in_group(group_version)
        ):
            yield Unverified(
                f"the scope of {kind} '{resource.name}'",
                "is not known to this rule; set metadata.namespace, or list the kind in clusterScopedKinds if it is cluster-scoped",
            )
            return
    if namespace is UNKNOWN:
        yield Unverified(f"the namespace of {kind} '{resource.name}'")
    elif namespace == "default":
        yield f"{kind} '{resource.name}' lands in the 'default' namespace; set metadata.namespace (or the chart's namespace) to a dedicated namespace."


_SECRET_WORDS = frozenset({"PASSWORD", "PASSWD", "SECRET", "TOKEN", "APIKEY", "CREDENTIALS", "CREDENTIAL"})
_SECRET_PAIRS = frozenset({("API", "KEY"), ("ACCESS", "KEY"), ("PRIVATE", "KEY"), ("CLIENT", "SECRET")})
_POINTER_SUFFIXES = frozenset({"FILE", "PATH", "DIR", "URL"})


def looks_like_secret(variable: str) -> bool:
    """Whether an environment variable's name says it holds a secret (`DB_PASSWORD`, `HF_TOKEN`, `OPENAI_API_KEY`).

    Words are the `_`-separated parts, so `TOKENIZERS_PARALLELISM` is not one; names that point at where a secret
    is (`..._FILE`, `..._PATH`, `..._DIR`, `..._URL`) are not secrets themselves.
    """
    words = [word for word in variable.upper().replace("-", "_").split("_") if word]
    if not words or words[-1] in _POINTER_SUFFIXES:
        return False
    return bool(_SECRET_WORDS & set(words)) or any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words))


@resource_rule(
    name="kubernetes-workload-no-plaintext-secret-env",
    title="Secrets reach containers by reference, never as literal env values",
    description=(
        "No container sets an environment variable whose name marks a secret (PASSWORD, SECRET, TOKEN, API_KEY, "
        "ACCESS_KEY, PRIVATE_KEY, CREDENTIALS ...) to a literal value: the value would be stored in the workload "
        "spec, readable by anyone who can get the workload and outside the cluster's Secret encryption. Such "
        "variables come from value_from (a Secret synced by the Secrets Store CSI driver), or the secret is a "
        "mounted file."
    ),
    remediation=(
        "Store the value in Secrets Manager / Key Vault under the namespace's prefix or vault, list it in the "
        "namespace's secret store and pass it with ModelDeployment secrets=[{'name': ..., 'env': ...}] (a "
        "value_from.secret_key_ref), or mount it as a file."
    ),
    scope="workloads",
    matches=may_carry_pods,
    settings=(CRD_POD_SPEC_PATHS,),
)
def no_plaintext_secret_env(workload: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from each_template(workload, config, _no_plaintext_secret_env)


def _no_plaintext_secret_env(template: PodTemplate, items: list[dict[str, Any]]) -> Iterator[Finding]:
    for container in items:
        variables = as_list(container.get("env"))
        if variables is UNKNOWN:
            yield Unverified(f"the env of {template.container(container)}")
            continue
        for variable in variables or []:
            variable = as_dict(variable)
            if variable is UNKNOWN:
                yield Unverified(f"an env entry of {template.container(container)}")
                continue
            name = variable.get("name")
            if name is UNKNOWN:
                yield Unverified(f"an env name of {template.container(container)}")
                continue
            # An unknown value (a Pulumi secret or output) is still a literal in the spec: it counts as set.
            literal = variable.get("value")
            if isinstance(name, str) and looks_like_secret(name) and literal not in (None, ""):
                yield (
                    f"{template.container(container)} sets secret-named env var '{name}' to a literal value; "
                    "pass it with value_from.secret_key_ref (ModelDeployment secrets[].env) or mount it as a file."
                )
