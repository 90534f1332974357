"""A shared corpus of compliant and violating Kubernetes objects, judged both by the packs and by the admission CEL.

Pod-spec variants (each one change to a pod spec that passes every workload rule) are wrapped in every kind that
carries a pod template, at its own path; Services vary type and annotations. Objects are as the API server hands
them to admission: camelCase fields, defaults applied (a volume always has a source), quantities as strings.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.policies.harness import DELETE, mutate

NAMESPACE = "team-a"

COMPLIANT_CONTAINER: dict[str, Any] = {
    "name": "app",
    "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:" + "a" * 64,
    "securityContext": {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    },
    "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
}

COMPLIANT_POD_SPEC: dict[str, Any] = {
    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [COMPLIANT_CONTAINER],
    "initContainers": [{**copy.deepcopy(COMPLIANT_CONTAINER), "name": "init", "ports": []}],
    "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "config", "configMap": {"name": "app"}}],
}

_INIT = "initContainers[0]"
_APP = "containers[0]"

POD_SPEC_VARIANTS: dict[str, dict[str, Any]] = {
    "compliant": {},
    "no container securityContext": {f"{_APP}.securityContext": DELETE},
    "privileged": {f"{_APP}.securityContext.privileged": True},
    "privilege escalation allowed": {f"{_APP}.securityContext.allowPrivilegeEscalation": True},
    "escalation unset on the init container": {f"{_INIT}.securityContext.allowPrivilegeEscalation": DELETE},
    "capabilities not dropped": {f"{_APP}.securityContext.capabilities": DELETE},
    "drops NET_RAW only": {f"{_APP}.securityContext.capabilities.drop": ["NET_RAW"]},
    "adds SYS_ADMIN": {f"{_APP}.securityContext.capabilities.add": ["SYS_ADMIN"]},
    "adds NET_BIND_SERVICE": {f"{_APP}.securityContext.capabilities.add": ["NET_BIND_SERVICE"]},
    "pod runAsNonRoot false": {"securityContext.runAsNonRoot": False},
    "pod runAsNonRoot unset": {"securityContext.runAsNonRoot": DELETE},
    "runAsNonRoot on every container only": {
        "securityContext.runAsNonRoot": DELETE,
        f"{_APP}.securityContext.runAsNonRoot": True,
        f"{_INIT}.securityContext.runAsNonRoot": True,
    },
    "runAsNonRoot on one container only": {
        "securityContext.runAsNonRoot": DELETE,
        f"{_APP}.securityContext.runAsNonRoot": True,
    },
    "container overrides runAsNonRoot false": {f"{_INIT}.securityContext.runAsNonRoot": False},
    "pod runs as UID 0": {"securityContext.runAsUser": 0},
    "container runs as UID 0": {f"{_APP}.securityContext.runAsUser": 0},
    "pod seccomp Unconfined": {"securityContext.seccompProfile.type": "Unconfined"},
    "pod seccomp unset": {"securityContext.seccompProfile": DELETE},
    "seccomp Localhost": {"securityContext.seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}},
    "seccomp on every container only": {
        "securityContext.seccompProfile": DELETE,
        f"{_APP}.securityContext.seccompProfile": {"type": "RuntimeDefault"},
        f"{_INIT}.securityContext.seccompProfile": {"type": "RuntimeDefault"},
    },
    "container seccomp Unconfined": {f"{_INIT}.securityContext.seccompProfile": {"type": "Unconfined"}},
    "hostNetwork": {"hostNetwork": True},
    "hostNetwork false": {"hostNetwork": False},
    "hostPID": {"hostPID": True},
    "hostIPC": {"hostIPC": True},
    "hostPath volume": {"volumes[1]": {"name": "root", "hostPath": {"path": "/", "type": ""}}},
    "nfs volume": {"volumes[1]": {"name": "share", "nfs": {"server": "10.0.0.5", "path": "/data"}}},
    "csi, projected, secret, PVC volumes": {
        "volumes": [
            {"name": "tmp", "emptyDir": {}},
            {"name": "csi", "csi": {"driver": "secrets-store.csi.k8s.io"}},
            {"name": "token", "projected": {"sources": []}},
            {"name": "tls", "secret": {"secretName": "tls"}},
            {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
        ]
    },
    "hostPort": {f"{_APP}.ports[0].hostPort": 8080},
    "writable root filesystem": {f"{_APP}.securityContext.readOnlyRootFilesystem": False},
    "readOnlyRootFilesystem unset on init": {f"{_INIT}.securityContext.readOnlyRootFilesystem": DELETE},
    "no cpu request": {f"{_APP}.resources.requests.cpu": DELETE},
    "no memory limit": {f"{_INIT}.resources.limits": DELETE},
    "no resources": {f"{_APP}.resources": DELETE},
    "GPU request equals limit": {
        f'{_APP}.resources.requests["nvidia.com/gpu"]': "2",
        f'{_APP}.resources.limits["nvidia.com/gpu"]': "2",
    },
    "GPU request differs from limit": {
        f'{_APP}.resources.requests["nvidia.com/gpu"]': "1",
        f'{_APP}.resources.limits["nvidia.com/gpu"]': "2",
    },
    "GPU limit without request": {f'{_APP}.resources.limits["nvidia.com/gpu"]': "1"},
}
"""Name -> changes to COMPLIANT_POD_SPEC (harness.mutate paths)."""

KINDS: dict[str, tuple[str, str]] = {
    "Pod": ("v1", "kubernetes:core/v1:Pod"),
    "Deployment": ("apps/v1", "kubernetes:apps/v1:Deployment"),
    "StatefulSet": ("apps/v1", "kubernetes:apps/v1:StatefulSet"),
    "DaemonSet": ("apps/v1", "kubernetes:apps/v1:DaemonSet"),
    "ReplicaSet": ("apps/v1", "kubernetes:apps/v1:ReplicaSet"),
    "Job": ("batch/v1", "kubernetes:batch/v1:Job"),
    "CronJob": ("batch/v1", "kubernetes:batch/v1:CronJob"),
    "ReplicationController": ("v1", "kubernetes:core/v1:ReplicationController"),
    "PodTemplate": ("v1", "kubernetes:core/v1:PodTemplate"),
}
"""Kind -> (apiVersion, Pulumi type token)."""

_LABELS = {"app.kubernetes.io/name": "app"}


def pod_spec(variant: str) -> dict[str, Any]:
    """The compliant pod spec with one variant applied."""
    return mutate(COMPLIANT_POD_SPEC, POD_SPEC_VARIANTS[variant])


def workload(kind: str, spec: dict[str, Any], namespace: str = NAMESPACE) -> dict[str, Any]:
    """An object of `kind` carrying `spec` at that kind's pod-spec path."""
    template = {"metadata": {"labels": dict(_LABELS)}, "spec": spec}
    selector = {"matchLabels": dict(_LABELS)}
    body: dict[str, Any]
    if kind == "Pod":
        body = {"spec": spec}
    elif kind == "PodTemplate":
        body = {"template": template}
    elif kind == "CronJob":
        body = {"spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}}}
    elif kind == "Job":
        body = {"spec": {"template": template}}
    elif kind == "ReplicationController":
        body = {"spec": {"selector": dict(_LABELS), "template": template}}
    elif kind == "StatefulSet":
        body = {"spec": {"selector": selector, "serviceName": "app", "template": template}}
    else:
        body = {"spec": {"selector": selector, "template": template}}
    if kind in ("Job", "CronJob"):
        target = body["spec"]["template"] if kind == "Job" else body["spec"]["jobTemplate"]["spec"]["template"]
        target["spec"] = {**target["spec"], "restartPolicy": "Never"}
    return {
        "apiVersion": KINDS[kind][0],
        "kind": kind,
        "metadata": {"name": "app", "namespace": namespace},
        **body,
    }


_AWS_INTERNAL = "service.beta.kubernetes.io/aws-load-balancer-internal"
_AWS_SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme"
_AZURE_INTERNAL = "service.beta.kubernetes.io/azure-load-balancer-internal"

SERVICE_VARIANTS: dict[str, dict[str, Any]] = {
    "ClusterIP": {"type": "ClusterIP"},
    "NodePort": {"type": "NodePort"},
    "public LoadBalancer": {"type": "LoadBalancer"},
    **{
        f"LoadBalancer, {key.rsplit('/', 1)[-1]}: {value}": {"type": "LoadBalancer", "annotations": {key: value}}
        for key, value in (
            (_AWS_INTERNAL, "true"),
            (_AWS_INTERNAL, "True"),
            (_AWS_SCHEME, "internal"),
            (_AWS_SCHEME, "internet-facing"),
            (_AZURE_INTERNAL, "true"),
            (_AZURE_INTERNAL, "false"),
            ("team", "a"),
        )
    },
}
"""Name -> Service type and annotations."""


def service(variant: str, namespace: str = NAMESPACE) -> dict[str, Any]:
    """A Service of one variant, as admitted (type defaulted)."""
    settings = SERVICE_VARIANTS[variant]
    metadata: dict[str, Any] = {"name": "app", "namespace": namespace}
    if "annotations" in settings:
        metadata["annotations"] = dict(settings["annotations"])
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {"type": settings["type"], "selector": dict(_LABELS), "ports": [{"port": 80, "targetPort": 8080}]},
    }
