"""The admission-time restatement of the Kubernetes baseline rules: one `AdmissionRule` per pack rule, in CEL.

Only rules decidable from the one object under admission are here; rules that need the rest of the stack
(default-deny NetworkPolicies, quotas, serving-tier placement) or settings the binding cannot carry (allowed
registries per tier) stay in the packs. Each check is a CEL predicate; the generator (`manifests.py`) wraps
per-container predicates in `all()` over the pod's containers, init containers and, for the security checks,
ephemeral containers (added with `kubectl debug` through the `pods/ephemeralcontainers` subresource, which the
packs never see).

The CEL uses only the standard macros (`has`, `all`), `in`, `string()` and, for annotation values, `lowerAscii()`
from the Kubernetes CEL strings library ("CEL in Kubernetes", Kubernetes documentation, "Kubernetes strings
library"): no optional fields, no quantity library, so it runs on every Kubernetes from 1.30 (ValidatingAdmissionPolicy
GA, "Validating Admission Policy", Kubernetes documentation).
"""

from __future__ import annotations

from dataclasses import dataclass

POD_SPEC = "variables.podSpec"
"""The pod spec of any workload kind (the `podSpec` variable the generator declares)."""


@dataclass(frozen=True)
class CelCheck:
    """One CEL validation: `expression` must be true for the object to be admitted."""

    expression: str
    """A CEL predicate; over `c` (one container) when `per_container`, else over `variables.podSpec` / `object`."""
    message: str
    """What is wrong, naming the field, and the fix (shown by the API server on deny and warn)."""
    per_container: bool = False
    """Check every container and init container (`c`)."""
    ephemeral: bool = True
    """With `per_container`: ephemeral containers too (False where the API forbids the field on them)."""


@dataclass(frozen=True)
class AdmissionRule:
    """A pack rule restated in CEL: its policy is named after the pack rule it mirrors."""

    pack_rule: str
    """Name of the CrossGuard rule (policies/rules) this mirrors; the policy and binding carry the same name."""
    scope: str
    """`workloads` (every kind with a pod template) or `services`."""
    checks: tuple[CelCheck, ...]


def _has(base: str, path: str) -> str:
    """`has(base.a) && has(base.a.b) ...`: true when every step of `path` under `base` is set."""
    steps = path.split(".")
    return " && ".join(f"has({base}.{'.'.join(steps[: index + 1])})" for index in range(len(steps)))


def _is(base: str, path: str, value: str) -> str:
    """The field is set and equals `value` (a CEL literal)."""
    return f"({_has(base, path)} && {base}.{path} == {value})"


_CONTAINERS = "every container and init container"

RESTRICTED_VOLUME_TYPES = (
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
)  # fmt: skip
"""Volume sources Pod Security restricted allows (the pack's kubernetes-workload-host-isolation; a test keeps the
two lists equal)."""

_WORKLOAD_RULES = (
    AdmissionRule(
        "kubernetes-workload-no-privilege-escalation",
        "workloads",
        (
            CelCheck(
                f"!{_is('c', 'securityContext.privileged', 'true')}",
                "a container sets securityContext.privileged=true; remove it (only node agents in the exempt "
                "namespaces may run privileged).",
                per_container=True,
            ),
            CelCheck(
                _is("c", "securityContext.allowPrivilegeEscalation", "false"),
                f"securityContext.allowPrivilegeEscalation must be false on {_CONTAINERS}; set it to false.",
                per_container=True,
            ),
        ),
    ),
    AdmissionRule(
        "kubernetes-workload-capabilities-dropped",
        "workloads",
        (
            CelCheck(
                f"{_has('c', 'securityContext.capabilities.drop')} && 'ALL' in c.securityContext.capabilities.drop",
                f"securityContext.capabilities.drop must contain ALL on {_CONTAINERS}; set drop: [ALL].",
                per_container=True,
            ),
            CelCheck(
                f"!({_has('c', 'securityContext.capabilities.add')}) || "
                "c.securityContext.capabilities.add.all(capability, capability == 'NET_BIND_SERVICE')",
                "securityContext.capabilities.add may hold only NET_BIND_SERVICE; remove the other capabilities.",
                per_container=True,
            ),
        ),
    ),
    AdmissionRule(
        "kubernetes-workload-run-as-non-root",
        "workloads",
        (
            CelCheck(
                f"!{_is(POD_SPEC, 'securityContext.runAsUser', '0')}",
                "the pod's securityContext.runAsUser is 0 (root); set a non-zero UID such as 10001.",
            ),
            CelCheck(
                f"!{_is('c', 'securityContext.runAsUser', '0')}",
                "a container's securityContext.runAsUser is 0 (root); set a non-zero UID such as 10001.",
                per_container=True,
            ),
            CelCheck(
                f"({_has('c', 'securityContext.runAsNonRoot')}) ? c.securityContext.runAsNonRoot == true : "
                f"{_is(POD_SPEC, 'securityContext.runAsNonRoot', 'true')}",
                "securityContext.runAsNonRoot must be true on the pod (or on every container) and false on none; "
                "set runAsNonRoot: true.",
                per_container=True,
            ),
        ),
    ),
    AdmissionRule(
        "kubernetes-workload-seccomp-profile",
        "workloads",
        (
            CelCheck(
                f"({_has('c', 'securityContext.seccompProfile.type')}) ? "
                "c.securityContext.seccompProfile.type in ['RuntimeDefault', 'Localhost'] : "
                f"({_has(POD_SPEC, 'securityContext.seccompProfile.type')} && "
                f"{POD_SPEC}.securityContext.seccompProfile.type in ['RuntimeDefault', 'Localhost'])",
                "securityContext.seccompProfile.type must be RuntimeDefault or Localhost on the pod (or on every "
                "container) and Unconfined on none; set seccompProfile: {type: RuntimeDefault}.",
                per_container=True,
            ),
        ),
    ),
    AdmissionRule(
        "kubernetes-workload-host-isolation",
        "workloads",
        (
            *(
                CelCheck(
                    f"!{_is(POD_SPEC, field, 'true')}",
                    f"the pod sets {field}=true and shares the node's namespace; remove {field}.",
                )
                for field in ("hostNetwork", "hostPID", "hostIPC")
            ),
            CelCheck(
                f"!has({POD_SPEC}.volumes) || {POD_SPEC}.volumes.all(v, !has(v.hostPath))",
                "a volume mounts a node path (volumes[].hostPath); use a PersistentVolumeClaim or emptyDir.",
            ),
            CelCheck(
                # A volume has exactly one source (API validation), so "has an allowed source" is "its source is".
                f"!has({POD_SPEC}.volumes) || {POD_SPEC}.volumes.all(v, "
                + " || ".join(f"has(v.{kind})" for kind in RESTRICTED_VOLUME_TYPES)
                + ")",
                "a volume uses a type outside the restricted set (volumes[]); use configMap, csi, downwardAPI, "
                "emptyDir, ephemeral, persistentVolumeClaim, projected or secret.",
            ),
            CelCheck(
                "!has(c.ports) || c.ports.all(port, !has(port.hostPort) || port.hostPort == 0)",
                "a container binds a host port (ports[].hostPort); remove hostPort and expose it through a Service.",
                per_container=True,
                ephemeral=False,  # ephemeral containers may not declare ports (API validation)
            ),
        ),
    ),
    AdmissionRule(
        "kubernetes-workload-read-only-root-filesystem",
        "workloads",
        (
            CelCheck(
                _is("c", "securityContext.readOnlyRootFilesystem", "true"),
                f"securityContext.readOnlyRootFilesystem must be true on {_CONTAINERS}; set it and mount an "
                "emptyDir where the process writes (e.g. /tmp).",
                per_container=True,
            ),
        ),
    ),
    AdmissionRule(
        "kubernetes-workload-resource-requests",
        "workloads",
        (
            CelCheck(
                f"{_has('c', 'resources.requests')} && 'cpu' in c.resources.requests && "
                "'memory' in c.resources.requests && "
                f"{_has('c', 'resources.limits')} && 'memory' in c.resources.limits",
                f"resources.requests.cpu, resources.requests.memory and resources.limits.memory must be set on "
                f"{_CONTAINERS}; declare them so the scheduler and quotas can account for it.",
                per_container=True,
                ephemeral=False,  # ephemeral containers may not declare resources (API validation)
            ),
            CelCheck(
                "!has(c.resources) || "
                "((!has(c.resources.requests) || !('nvidia.com/gpu' in c.resources.requests)) && "
                "(!has(c.resources.limits) || !('nvidia.com/gpu' in c.resources.limits))) || "
                f"({_has('c', 'resources.requests')} && {_has('c', 'resources.limits')} && "
                "'nvidia.com/gpu' in c.resources.requests && 'nvidia.com/gpu' in c.resources.limits && "
                "string(c.resources.requests['nvidia.com/gpu']) == string(c.resources.limits['nvidia.com/gpu']))",
                "resources.requests and resources.limits of nvidia.com/gpu must be the same count; set both.",
                per_container=True,
                ephemeral=False,
            ),
        ),
    ),
)

INTERNAL_LOAD_BALANCER_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
}
"""Annotations that make a LoadBalancer Service internal (the pack's kubernetes-load-balancer-internal)."""

_ANNOTATIONS = "object.metadata.annotations"

_SERVICE_RULES = (
    AdmissionRule(
        "kubernetes-load-balancer-internal",
        "services",
        (
            CelCheck(
                "!has(object.spec.type) || object.spec.type != 'LoadBalancer' || "
                f"(has({_ANNOTATIONS}) && ("
                + " || ".join(
                    f"('{key}' in {_ANNOTATIONS} && {_ANNOTATIONS}['{key}'].lowerAscii() == '{value}')"
                    for key, value in INTERNAL_LOAD_BALANCER_ANNOTATIONS.items()
                )
                + "))",
                "a Service of type LoadBalancer gets a public address; annotate it "
                "service.beta.kubernetes.io/aws-load-balancer-internal: 'true' (EKS) or "
                "service.beta.kubernetes.io/azure-load-balancer-internal: 'true' (AKS), or exempt its namespace "
                "for a reviewed public endpoint.",
            ),
        ),
    ),
)

ADMISSION_RULES: tuple[AdmissionRule, ...] = (*_WORKLOAD_RULES, *_SERVICE_RULES)
"""Every rule enforced at admission, in the order the policies are created."""
