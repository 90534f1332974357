"""Compliant baselines and mutations for the Kubernetes and GPU rules."""

from __future__ import annotations

import copy
import json
from typing import Any

from components._common import gpu
from components.kubernetes.training import _kueue
from tests.policies.cases import (
    DIGEST,
    ECR_IMAGE,
    KEY,
    RECORD_TAGS,
    ConfigCase,
    Fail,
    ResourceCase,
    StackCase,
    StackConfigCase,
    StackFail,
    add,
    change,
    drop,
    then,
)
from tests.policies.harness import DELETE, UNKNOWN, Res, mutate

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
DAEMON_SET = "kubernetes:apps/v1:DaemonSet"
NAMESPACE = "kubernetes:core/v1:Namespace"
CHART = "kubernetes:helm.sh/v4:Chart"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
CONFIG_MAP_ONLY = ("kubernetes:core/v1:ConfigMap", {"metadata": {"namespace": "team-a"}, "data": {}})
PSA = "pod-security.kubernetes.io/enforce"
C = "spec.template.spec.containers[0]"
P = "spec.template.spec"

POD_SPEC: dict[str, Any] = {
    "serviceAccountName": "fraud-api",
    "automountServiceAccountToken": False,
    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001.0, "seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [
        {
            "name": "server",
            "image": ECR_IMAGE,
            "ports": [{"containerPort": 8080.0}],
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
            },
            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }
    ],
    "volumes": [{"name": "tmp", "emptyDir": {}}, {"name": "config", "configMap": {"name": "fraud-api"}}],
}


def workload(namespace: str = "team-a", spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Deployment's props with the compliant pod spec."""
    return {
        "metadata": {"namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": "fraud-api"}},
            "template": {"metadata": {"labels": {"app": "fraud-api"}}, "spec": copy.deepcopy(spec or POD_SPEC)},
        },
    }


def node_agent(namespace: str = "kube-system") -> tuple[str, dict[str, Any]]:
    """A privileged node agent DaemonSet (host network, root, host path)."""
    spec = {
        "hostNetwork": True,
        "containers": [
            {
                "name": "agent",
                "image": "nvcr.io/nvidia/agent:1.0",
                "securityContext": {"privileged": True, "runAsUser": 0.0},
            }
        ],
        "volumes": [{"name": "host", "hostPath": {"path": "/var/log"}}],
    }
    return DAEMON_SET, workload(namespace, spec)


def _workload_case(rule: str, fails: dict[str, Fail], unknown: dict[str, Any], **extra: Any) -> ResourceCase:
    return ResourceCase(
        rule=rule,
        type=DEPLOYMENT,
        props=workload(),
        fails=fails,
        unknown=unknown,
        not_applicable={"node agent in a system namespace": node_agent(), "other type": CONFIG_MAP_ONLY},
        **extra,
    )


ENVOY_PROXY = "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy"
LOAD_BALANCERS: list[tuple[str, str, dict[str, Any], str, str, str]] = [
    # (variant, type, props of an internal load balancer, annotations path, type path, source ranges path)
    (
        "Service",
        "kubernetes:core/v1:Service",
        {
            "metadata": {
                "name": "gateway-lb",
                "namespace": "serving-gateway",
                "annotations": {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"},
            },
            "spec": {"type": "LoadBalancer", "ports": [{"port": 443.0}]},
        },
        "metadata.annotations",
        "spec.type",
        "spec.loadBalancerSourceRanges",
    ),
    (
        "EnvoyProxy",
        ENVOY_PROXY,
        {
            "metadata": {"name": "serving-proxy", "namespace": "serving-gateway"},
            "spec": {
                "provider": {
                    "type": "Kubernetes",
                    "kubernetes": {
                        "envoyService": {
                            "type": "LoadBalancer",
                            "annotations": {
                                "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
                                "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
                            },
                        }
                    },
                }
            },
        },
        "spec.provider.kubernetes.envoyService.annotations",
        "spec.provider.kubernetes.envoyService.type",
        "spec.provider.kubernetes.envoyService.loadBalancerSourceRanges",
    ),
]
"""The two ways a load balancer is declared: a Service, and the Service Envoy Gateway makes from an EnvoyProxy."""


RESOURCE_CASES: list[ResourceCase] = [
    _workload_case(
        "kubernetes-workload-run-as-non-root",
        {
            "root allowed": Fail(
                {f"{P}.securityContext.runAsNonRoot": DELETE},
                "container 'server' of Deployment 'subject' may run as root",
            ),
            "uid 0": Fail({f"{C}.securityContext.runAsUser": 0.0}, "runs as UID 0"),
            "container override": Fail({f"{C}.securityContext.runAsNonRoot": False}, "may run as root"),
        },
        {f"{P}.securityContext.runAsNonRoot": UNKNOWN},
        passes={
            "per container": {f"{P}.securityContext.runAsNonRoot": DELETE, f"{C}.securityContext.runAsNonRoot": True}
        },
    ),
    _workload_case(
        "kubernetes-workload-no-privilege-escalation",
        {
            "privileged": Fail({f"{C}.securityContext.privileged": True}, "is privileged"),
            "escalation unset": Fail(
                {f"{C}.securityContext.allowPrivilegeEscalation": DELETE}, "allow_privilege_escalation=False"
            ),
        },
        {f"{C}.securityContext.allowPrivilegeEscalation": UNKNOWN},
    ),
    _workload_case(
        "kubernetes-workload-capabilities-dropped",
        {
            "default capabilities": Fail({f"{C}.securityContext.capabilities": DELETE}, "capabilities.drop=['ALL']"),
            "sys admin": Fail({f"{C}.securityContext.capabilities.add": ["SYS_ADMIN"]}, "adds capabilities SYS_ADMIN"),
        },
        {f"{C}.securityContext.capabilities": UNKNOWN},
        passes={"bind low ports": {f"{C}.securityContext.capabilities.add": ["NET_BIND_SERVICE"]}},
    ),
    _workload_case(
        "kubernetes-workload-seccomp-profile",
        {
            "no profile": Fail({f"{P}.securityContext.seccompProfile": DELETE}, "without a seccomp profile (unset)"),
            "unconfined": Fail({f"{C}.securityContext.seccompProfile": {"type": "Unconfined"}}, "(Unconfined)"),
        },
        {f"{P}.securityContext.seccompProfile.type": UNKNOWN},
    ),
    _workload_case(
        "kubernetes-workload-host-isolation",
        {
            "host network": Fail({f"{P}.hostNetwork": True}, "shares the node's Network namespace"),
            "host pid": Fail({f"{P}.hostPID": True}, "host_pid=True"),
            "host path": Fail(
                {f"{P}.volumes[1]": {"name": "logs", "hostPath": {"path": "/var/log"}}}, "mounts the node path /var/log"
            ),
            "nfs volume": Fail(
                {f"{P}.volumes[1]": {"name": "share", "nfs": {"server": "n", "path": "/"}}}, "uses a nfs volume"
            ),
            "host port": Fail({f"{C}.ports[0].hostPort": 8080.0}, "binds host port 8080"),
        },
        {f"{P}.hostNetwork": UNKNOWN},
    ),
    _workload_case(
        "kubernetes-workload-read-only-root-filesystem",
        {"writable": Fail({f"{C}.securityContext.readOnlyRootFilesystem": False}, "can write to its root filesystem")},
        {f"{C}.securityContext.readOnlyRootFilesystem": UNKNOWN},
    ),
    ResourceCase(
        rule="kubernetes-workload-resource-requests",
        type=DEPLOYMENT,
        props=workload(),
        fails={
            "no requests": Fail(
                {f"{C}.resources": DELETE}, "does not set requests.cpu, requests.memory, limits.memory"
            ),
            "gpu mismatch": Fail(
                {f'{C}.resources.requests["nvidia.com/gpu"]': "1"}, "requests 1 and limits None nvidia.com/gpu"
            ),
        },
        unknown={f"{C}.resources": UNKNOWN},
        passes={
            "gpu requested and limited": {
                f'{C}.resources.requests["nvidia.com/gpu"]': "1",
                f'{C}.resources.limits["nvidia.com/gpu"]': 1.0,
            }
        },
        not_applicable={"other type": CONFIG_MAP_ONLY},
    ),
    ResourceCase(
        rule="kubernetes-workload-service-account-token",
        type=DEPLOYMENT,
        props=workload(),
        fails={
            "default account": Fail({f"{P}.serviceAccountName": DELETE}, "runs as the 'default' service account"),
            "automounted token": Fail({f"{P}.automountServiceAccountToken": DELETE}, "automounts an API token"),
        },
        unknown={f"{P}.automountServiceAccountToken": UNKNOWN},
        not_applicable={"other type": CONFIG_MAP_ONLY},
        configs={
            "allow-listed token": ConfigCase(
                {"tokenAllowlist": ["team-a/fraud-api"]}, {f"{P}.automountServiceAccountToken": True}
            )
        },
    ),
    ResourceCase(
        rule="kubernetes-workload-no-plaintext-secret-env",
        type=DEPLOYMENT,
        props=workload(),
        fails={
            "literal password": Fail({f"{C}.env": [{"name": "DB_PASSWORD", "value": "hunter2"}]}, "'DB_PASSWORD'"),
            "literal api key": Fail({f"{C}.env": [{"name": "OPENAI_API_KEY", "value": "sk-1"}]}, "'OPENAI_API_KEY'"),
            "unknown token value": Fail({f"{C}.env": [{"name": "HF_TOKEN", "value": UNKNOWN}]}, "'HF_TOKEN'"),
        },
        unknown={f"{C}.env": UNKNOWN},
        passes={
            "secret reference": {
                f"{C}.env": [
                    {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "app-secrets", "key": "hf-token"}}}
                ]
            },
            "not a secret": {f"{C}.env": [{"name": "TOKENIZERS_PARALLELISM", "value": "false"}]},
            "points at a file": {f"{C}.env": [{"name": "HF_TOKEN_PATH", "value": "/var/run/secrets/app/hf-token"}]},
        },
        not_applicable={"other type": CONFIG_MAP_ONLY},
    ),
    ResourceCase(
        rule="kubernetes-secret-provider-class-workload-identity",
        type="kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass",
        props={
            "metadata": {"name": "app-secrets", "namespace": "team-a"},
            "spec": {
                "provider": "azure",
                "parameters": {
                    "usePodIdentity": "false",
                    "clientID": "00000000-0000-0000-0000-000000000001",
                    "keyvaultName": "kv-team-a",
                    "tenantId": "tenant",
                    "objects": "array: []",
                },
            },
        },
        fails={
            "node identity": Fail({"spec.parameters.useVMManagedIdentity": "true"}, "useVMManagedIdentity: true"),
            "pod identity": Fail({"spec.parameters.usePodIdentity": "true"}, "usePodIdentity: true"),
            "no workload identity": Fail({"spec.parameters.clientID": DELETE}, "names no workload identity"),
        },
        unknown={"spec.parameters.useVMManagedIdentity": UNKNOWN},
        not_applicable={
            "aws provider": (
                "kubernetes:secrets-store.csi.x-k8s.io/v1:SecretProviderClass",
                {"metadata": {"name": "x", "namespace": "team-a"}, "spec": {"provider": "aws", "parameters": {}}},
            ),
            "other type": CONFIG_MAP_ONLY,
        },
    ),
    ResourceCase(
        rule="kubernetes-resource-namespace-set",
        type="kubernetes:core/v1:ConfigMap",
        props={"metadata": {"namespace": "team-a"}, "data": {"a": "b"}},
        fails={
            "no namespace": Fail({"metadata": DELETE}, "lands in the 'default' namespace"),
            "default": Fail({"metadata.namespace": "default"}, "ConfigMap 'subject' lands in the 'default' namespace"),
        },
        unknown={"metadata.namespace": UNKNOWN},
        not_applicable={
            "cluster-scoped": ("kubernetes:storage.k8s.io/v1:StorageClass", {"provisioner": "ebs.csi.aws.com"}),
            "cluster-prefixed custom kind": ("kubernetes:nvidia.com/v1:ClusterPolicy", {"spec": {}}),
            "gateway class (a *.k8s.io group, cluster-scoped)": (
                "kubernetes:gateway.networking.k8s.io/v1:GatewayClass",
                {"spec": {"controllerName": "gateway.envoyproxy.io/gatewayclass-controller"}},
            ),
            "Kueue's resource flavor (cluster-scoped)": (
                "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor",
                {"metadata": {"name": "gpu-h100"}, "spec": {"nodeLabels": {"mlplatform.io/gpu-pool": "gpu-h100"}}},
            ),
            "Kueue's cluster queue": ("kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue", {"spec": {}}),
            "aws resource": ("aws:s3/bucket:Bucket", {}),
        },
        configs={
            "a declared cluster-scoped kind": ConfigCase(
                {"clusterScopedKinds": ["ConfigMap"]}, {"metadata.namespace": "default"}
            )
        },
    ),
    ResourceCase(
        rule="kubernetes-rbac-least-privilege-rules",
        type="kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
        props={"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]},
        fails={
            "wildcard verbs": Fail({"rules[0].verbs": ["*"]}, "uses '*' in verbs"),
            "cluster-wide secrets": Fail({"rules[0].resources": ["secrets"]}, "reads secrets in every namespace"),
            "impersonation": Fail({"rules[0].verbs": ["impersonate"]}, "grants impersonate"),
        },
        unknown={"rules": UNKNOWN},
        not_applicable={"other type": CONFIG_MAP_ONLY},
    ),
    ResourceCase(
        rule="kubernetes-rbac-no-cluster-admin-binding",
        type="kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        props={
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "Group", "name": "ml-fraud"}],
        },
        fails={"cluster admin": Fail({"roleRef.name": "cluster-admin"}, "binds Group:ml-fraud to cluster-admin")},
        unknown={"roleRef.name": UNKNOWN},
        not_applicable={"other type": CONFIG_MAP_ONLY},
        configs={
            "an allow-listed admin group": ConfigCase(
                {"adminSubjects": ["Group:ml-fraud"]}, {"roleRef.name": "cluster-admin"}
            )
        },
    ),
    ResourceCase(
        rule="kubernetes-ingress-tls",
        type="kubernetes:networking.k8s.io/v1:Ingress",
        props={
            "metadata": {"namespace": "team-a"},
            "spec": {"tls": [{"hosts": ["fraud.example.com"], "secretName": "fraud-tls"}]},
        },
        fails={"plain http": Fail({"spec.tls": DELETE}, "serves plain HTTP")},
        unknown={"spec.tls": UNKNOWN},
        not_applicable={"other type": CONFIG_MAP_ONLY},
    ),
    *[
        ResourceCase(
            rule="kubernetes-load-balancer-internal",
            variant=variant,
            type=type_token,
            props=props,
            fails={"public": Fail({annotations: DELETE}, "makes a public load balancer")},
            unknown={annotations: UNKNOWN},
            passes={
                "aws in-tree": {annotations: {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}},
                "aws load balancer controller": {
                    annotations: {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}
                },
            },
            not_applicable={
                "cluster ip": (type_token, mutate(props, {kind: "ClusterIP", annotations: DELETE})),
                "other type": CONFIG_MAP_ONLY,
            },
        )
        for variant, type_token, props, annotations, kind, _ in LOAD_BALANCERS
    ],
    *[
        ResourceCase(
            rule="kubernetes-load-balancer-source-ranges",
            variant=variant,
            type=type_token,
            props=mutate(props, {annotations: DELETE, ranges: ["203.0.113.0/24"]}),
            fails={
                "no allow-list": Fail({ranges: DELETE}, "admits every address"),
                "everyone": Fail({ranges: ["203.0.113.0/24", "0.0.0.0/0"]}, "admits the whole internet"),
                "everyone over ipv6": Fail({ranges: ["::/0"]}, "admits the whole internet"),
            },
            unknown={ranges: UNKNOWN},
            not_applicable={"internal": (type_token, props), "other type": CONFIG_MAP_ONLY},
        )
        for variant, type_token, props, annotations, _, ranges in LOAD_BALANCERS
    ],
    ResourceCase(
        rule="kubernetes-gateway-listener-tls",
        type="kubernetes:gateway.networking.k8s.io/v1:Gateway",
        props={
            "metadata": {"name": "serving", "namespace": "serving-gateway"},
            "spec": {
                "gatewayClassName": "mlplatform-serving",
                "listeners": [
                    {
                        "name": "https",
                        "protocol": "HTTPS",
                        "port": 443.0,
                        "hostname": "*.models.internal.example",
                        "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "serving-tls"}]},
                    }
                ],
            },
        },
        fails={
            "plain http": Fail(
                {"spec.listeners": [{"name": "http", "protocol": "HTTP", "port": 80.0}]}, "serves HTTP in clear text"
            ),
            "no certificate": Fail(
                {"spec.listeners[0].tls.certificateRefs": []}, "terminates TLS without a certificate"
            ),
        },
        unknown={"spec.listeners": UNKNOWN},
        passes={
            "passthrough": {
                "spec.listeners[0]": {"name": "tls", "protocol": "TLS", "port": 443.0, "tls": {"mode": "Passthrough"}}
            },
        },
        not_applicable={"other type": CONFIG_MAP_ONLY},
    ),
    ResourceCase(
        rule="kubernetes-storage-class-encrypted",
        type="kubernetes:storage.k8s.io/v1:StorageClass",
        props={"provisioner": "ebs.csi.aws.com", "parameters": {"encrypted": "true", "kmsKeyId": KEY, "type": "gp3"}},
        fails={
            "unencrypted": Fail({"parameters.encrypted": "false"}, "without a customer-managed key"),
            "aws-managed key": Fail({"parameters.kmsKeyId": DELETE}, "without a customer-managed key"),
            "azure platform keys": Fail(
                {"provisioner": "disk.csi.azure.com", "parameters": {"skuname": "Premium_ZRS"}}, "platform-managed keys"
            ),
        },
        unknown={"parameters.encrypted": UNKNOWN},
        passes={
            "azure disk encryption set": {
                "provisioner": "disk.csi.azure.com",
                "parameters": {"diskEncryptionSetID": "/des"},
            }
        },
        not_applicable={
            "local path provisioner": (
                "kubernetes:storage.k8s.io/v1:StorageClass",
                {"provisioner": "rancher.io/local-path"},
            )
        },
    ),
    ResourceCase(
        rule="kubernetes-node-pool-limits",
        type=NODE_POOL,
        props={
            "metadata": {"name": "gpu-a10g"},
            "spec": {
                "template": {"spec": {"nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass"}}},
                "limits": {"cpu": "32", "nvidia.com/gpu": "4"},
            },
        },
        fails={
            "unbounded": Fail({"spec.limits": DELETE}, "has no spec.limits"),
            "empty limits": Fail({"spec.limits": {}}, "launch nodes without bound"),
        },
        unknown={"spec.limits": UNKNOWN},
        passes={
            "nodes only": {"spec.limits": {"nodes": "4"}},
            "static pool": {"spec.limits": DELETE, "spec.replicas": 2.0},
        },
        not_applicable={"ec2 node class": ("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", {"spec": {}})},
    ),
    ResourceCase(
        rule="kubernetes-gpu-daemonset-tolerations",
        type=DAEMON_SET,
        props=workload(
            "gpu-operator",
            {**POD_SPEC, "nodeSelector": gpu.gpu_node_selector(), "tolerations": gpu.agent_tolerations()},
        ),
        fails={
            "no tolerations": Fail(
                {f"{P}.tolerations": DELETE}, "does not tolerate nvidia.com/gpu=true:NoSchedule, sku=gpu:NoSchedule"
            ),
            "nvidia only": Fail(
                {f"{P}.tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}]},
                "does not tolerate sku=gpu:NoSchedule",
            ),
        },
        unknown={f"{P}.tolerations": UNKNOWN},
        passes={
            "tolerates everything": {f"{P}.tolerations": [{"operator": "Exists"}]},
            "gpu affinity outside agent namespaces": {
                "metadata.namespace": "team-a",
                f"{P}.nodeSelector": DELETE,
                f"{P}.affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {
                                    "matchExpressions": [
                                        {"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]}
                                    ]
                                }
                            ]
                        }
                    }
                },
            },
        },
        not_applicable={"cpu daemonset": (DAEMON_SET, workload("team-a")), "deployment": (DEPLOYMENT, workload())},
        configs={
            "no agent namespaces": ConfigCase(
                {"gpuAgentNamespaces": []}, {f"{P}.nodeSelector": DELETE, f"{P}.tolerations": DELETE}
            )
        },
    ),
    ResourceCase(
        rule="kubernetes-helm-chart-version-pinned",
        type=CHART,
        props={
            "chart": "kube-prometheus-stack",
            "version": "82.13.3",
            "namespace": "monitoring",
            "repositoryOpts": {"repo": "https://prometheus-community.github.io/helm-charts"},
        },
        fails={
            "range": Fail({"version": "^82.0.0"}, "is not pinned (version ^82.0.0)"),
            "latest": Fail({"version": DELETE}, "version unset"),
        },
        unknown={"version": UNKNOWN},
        not_applicable={
            "vendored chart": (CHART, {"chart": "./charts/serving", "namespace": "team-a"}),
            "other type": CONFIG_MAP_ONLY,
        },
    ),
    ResourceCase(
        rule="kubernetes-helm-chart-repository-allowed",
        type=CHART,
        props={
            "chart": "kube-prometheus-stack",
            "version": "82.13.3",
            "namespace": "monitoring",
            "repositoryOpts": {"repo": "https://prometheus-community.github.io/helm-charts"},
        },
        fails={
            "plain http": Fail(
                {"repositoryOpts.repo": "http://prometheus-community.github.io/helm-charts"}, "insecure scheme"
            ),
            "unknown repository": Fail(
                {"repositoryOpts.repo": "https://charts.example.com"}, "not in allowedChartRepos"
            ),
            "local alias": Fail(
                {"chart": "prometheus-community/kube-prometheus-stack", "repositoryOpts": DELETE},
                "local repository alias",
            ),
        },
        unknown={"repositoryOpts.repo": UNKNOWN},
        passes={
            "oci in the platform ecr": {
                "chart": "oci://123456789012.dkr.ecr.eu-central-1.amazonaws.com/charts/serving",
                "repositoryOpts": DELETE,
            },
            "vendored chart": {"chart": "./charts/serving", "repositoryOpts": DELETE},
        },
        not_applicable={"other type": CONFIG_MAP_ONLY},
        configs={
            "a reviewed repository": ConfigCase(
                {"allowedChartRepos": ["https://charts.example.com"]},
                {"repositoryOpts.repo": "https://charts.example.com/stable"},
            )
        },
    ),
    ResourceCase(
        rule="kubernetes-helm-release-rendered",
        type="kubernetes:helm.sh/v3:Release",
        props={"chart": "kube-prometheus-stack", "version": "82.13.3", "namespace": "monitoring"},
        fails={"release": Fail({}, "use kubernetes.helm.v4.Chart")},
        unknown={"values": UNKNOWN},
        always_fails=True,
        not_applicable={"chart v4": (CHART, {"chart": "kube-prometheus-stack"})},
    ),
    ResourceCase(
        rule="kubernetes-observability-retention",
        type=CHART,
        props={
            "chart": "kube-prometheus-stack",
            "version": "82.13.3",
            "namespace": "monitoring",
            "values": {"prometheus": {"prometheusSpec": {"retention": "30d"}}},
        },
        fails={
            "chart default": Fail({"values": {}}, "sets no retention (prometheus.prometheusSpec.retention)"),
            "too short": Fail({"values.prometheus.prometheusSpec.retention": "2d"}, "keeps data 2 days"),
            "too long": Fail({"values.prometheus.prometheusSpec.retention": "2y"}, "keeps data 730 days"),
        },
        unknown={"values.prometheus.prometheusSpec.retention": UNKNOWN},
        passes={"loki": {"chart": "loki", "values": {"loki": {"limits_config": {"retention_period": "744h"}}}}},
        not_applicable={"ingress controller": (CHART, {"chart": "ingress-nginx", "namespace": "ingress-nginx"})},
        configs={
            "a 1-day minimum": ConfigCase(
                {"minMetricsRetentionDays": 1}, {"values.prometheus.prometheusSpec.retention": "2d"}
            )
        },
    ),
]


# --- Stack rules -----------------------------------------------------------------------------------------


def namespace(name: str, tier: str | None = "serving") -> Res:
    """A Namespace, labelled as a serving namespace unless `tier` is None."""
    labels: dict[str, str] = {PSA: "restricted", **RECORD_TAGS}
    if tier:
        labels["mlplatform.io/tier"] = tier
    return Res(NAMESPACE, name, {"metadata": {"name": name, "labels": labels}})


def in_namespace(type_token: str, name: str, ns: str, props: dict[str, Any]) -> Res:
    """A namespaced object joined to its Namespace through `metadata`."""
    return Res(type_token, name, {"metadata": {"name": name, "namespace": ns}, **props}, {"metadata": [ns]})


DENY_ALL = {"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
QUOTA = "kubernetes:core/v1:ResourceQuota"
SERVICE = "kubernetes:core/v1:Service"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
PVC = "kubernetes:core/v1:PersistentVolumeClaim"
ENCRYPTED_CLASS = Res(
    STORAGE_CLASS,
    "encrypted-gp3",
    {
        "metadata": {"name": "encrypted-gp3"},
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"encrypted": "true", "kmsKeyId": KEY},
    },
)
PROMETHEUS_VALUES = {
    "prometheus": {
        "prometheusSpec": {
            "retention": "30d",
            "storageSpec": {
                "volumeClaimTemplate": {
                    "spec": {"storageClassName": "encrypted-gp3", "resources": {"requests": {"storage": "50Gi"}}}
                }
            },
        }
    }
}

STACK_CASES: list[StackCase] = [
    StackCase(
        rule="kubernetes-serving-namespace-default-deny",
        resources=[
            namespace("fraud"),
            in_namespace(NETWORK_POLICY, "default-deny", "fraud", DENY_ALL),
            namespace("tools", None),
        ],
        fails={
            "no policy": StackFail(
                drop("default-deny"), "fraud", "Serving namespace 'fraud' has no default-deny NetworkPolicy"
            ),
            "ingress only": StackFail(
                change("default-deny", {"spec.policyTypes": ["Ingress"]}), "fraud", "no default-deny"
            ),
            "selects some pods": StackFail(
                change("default-deny", {"spec.podSelector": {"matchLabels": {"app": "x"}}}), "fraud", "no default-deny"
            ),
            "allows traffic": StackFail(
                change("default-deny", {"spec.ingress": [{"from": [{"namespaceSelector": {}}]}]}),
                "fraud",
                "cancels the default deny",
            ),
            "allows some traffic": StackFail(
                change("default-deny", {"spec.ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "x"}}}]}]}),
                "fraud",
                "no default-deny",
            ),
            "an allow-all policy beside the deny": StackFail(
                add(in_namespace(NETWORK_POLICY, "allow-all", "fraud", {"spec": {"podSelector": {}, "ingress": [{}]}})),
                "fraud",
                "'allow-all' in serving namespace 'fraud' admits everyone (Ingress",
            ),
        },
        unknown=change("default-deny", {"spec": UNKNOWN}),
        not_applicable=drop("fraud", "default-deny"),
        configs={
            "a serving namespace from another stack": StackConfigCase({"servingNamespaces": ["tools"]}, passes=False)
        },
    ),
    StackCase(
        rule="kubernetes-serving-namespace-gpu-quota",
        resources=[
            namespace("fraud"),
            in_namespace(
                QUOTA, "gpu-quota", "fraud", {"spec": {"hard": {gpu.GPU_QUOTA_KEY: "2", "requests.cpu": "16"}}}
            ),
        ],
        fails={
            "no quota": StackFail(drop("gpu-quota"), "fraud", "Serving namespace 'fraud' has no GPU quota"),
            "cpu quota only": StackFail(
                change("gpu-quota", {"spec.hard": {"requests.cpu": "16"}}), "fraud", "has no GPU quota"
            ),
        },
        unknown=change("gpu-quota", {"spec.hard": UNKNOWN}),
        passes={"zero gpus": change("gpu-quota", {f'spec.hard["{gpu.GPU_QUOTA_KEY}"]': "0"})},
        not_applicable=drop("fraud", "gpu-quota"),
        configs={"a configured serving namespace": StackConfigCase({"servingNamespaces": ["legacy"]}, passes=False)},
    ),
    StackCase(
        rule="kubernetes-service-not-publicly-exposed",
        resources=[
            namespace("fraud"),
            in_namespace(SERVICE, "fraud-api", "fraud", {"spec": {"type": "ClusterIP", "ports": [{"port": 80.0}]}}),
        ],
        fails={
            "public lb": StackFail(
                change("fraud-api", {"spec.type": "LoadBalancer"}), "fraud-api", "is a public LoadBalancer"
            ),
            "node port": StackFail(change("fraud-api", {"spec.type": "NodePort"}), "fraud-api", "is a public NodePort"),
        },
        unknown=change("fraud-api", {"spec.type": UNKNOWN}),
        passes={
            "internal lb": change(
                "fraud-api",
                {
                    "spec.type": "LoadBalancer",
                    "metadata.annotations": {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"},
                },
            ),
            "public lb outside serving": add(
                namespace("tools", None), in_namespace(SERVICE, "tools-lb", "tools", {"spec": {"type": "LoadBalancer"}})
            ),
        },
        not_applicable=drop("fraud-api"),
    ),
    StackCase(
        rule="kubernetes-workload-image-pinned",
        resources=[
            namespace("fraud"),
            namespace("tools", None),
            Res(DEPLOYMENT, "fraud-api", workload("fraud")),
            Res(DEPLOYMENT, "tool", workload("tools")),
        ],
        fails={
            "tag in serving": StackFail(
                change("fraud-api", {f"{C}.image": "123456789012.dkr.ecr.eu-central-1.amazonaws.com/fraud/api:1.4.2"}),
                "fraud-api",
                "pin it by digest",
            ),
            "latest elsewhere": StackFail(
                change("tool", {f"{C}.image": "quay.io/prometheus/busybox:latest"}), "tool", "floats with 'latest'"
            ),
            "no tag elsewhere": StackFail(
                change("tool", {f"{C}.image": "quay.io/prometheus/busybox"}), "tool", "floats with 'latest'"
            ),
        },
        unknown=change("fraud-api", {f"{C}.image": UNKNOWN}),
        passes={"version tag elsewhere": change("tool", {f"{C}.image": "quay.io/prometheus/node-exporter:v1.9.1"})},
        not_applicable=drop("fraud-api", "tool"),
        configs={
            "a configured serving namespace": StackConfigCase(
                {"servingNamespaces": ["tools"]},
                change("tool", {f"{C}.image": "quay.io/prometheus/node-exporter:v1.9.1"}),
                passes=False,
            )
        },
    ),
    StackCase(
        rule="kubernetes-workload-image-registry-allowed",
        resources=[
            namespace("fraud"),
            namespace("tools", None),
            Res(DEPLOYMENT, "fraud-api", workload("fraud")),
            Res(
                DEPLOYMENT,
                "tool",
                workload(
                    "tools",
                    {**POD_SPEC, "containers": [{"name": "t", "image": f"nvcr.io/nvidia/k8s/dcgm-exporter@{DIGEST}"}]},
                ),
            ),
        ],
        fails={
            "docker hub in serving": StackFail(
                change("fraud-api", {f"{C}.image": f"nginx@{DIGEST}"}), "fraud-api", "pulls from docker.io"
            ),
            "vendor registry in serving": StackFail(
                change("fraud-api", {f"{C}.image": f"nvcr.io/nvidia/tritonserver@{DIGEST}"}),
                "fraud-api",
                "pulls from nvcr.io",
            ),
            "us ecr": StackFail(
                change("fraud-api", {f"{C}.image": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/api@{DIGEST}"}),
                "fraud-api",
                "not an allowed registry",
            ),
            "unknown vendor": StackFail(
                change("tool", {f"{C}.image": "ghcr.io/someone/tool:1.0"}), "tool", "pulls from ghcr.io"
            ),
        },
        unknown=change("tool", {f"{C}.image": UNKNOWN}),
        passes={
            "acr in serving": change("fraud-api", {f"{C}.image": f"mlplatformprod.azurecr.io/fraud/api@{DIGEST}"}),
            # A publisher allowed on a shared host by `host/repository`, not the whole host.
            "keda on ghcr": change("tool", {f"{C}.image": f"ghcr.io/kedacore/keda@{DIGEST}"}),
        },
        not_applicable=drop("fraud-api", "tool"),
        configs={
            "an extra vendor": StackConfigCase(
                {"vendorRegistries": [r"ghcr\.io"]}, change("tool", {f"{C}.image": "ghcr.io/someone/tool:1.0"})
            )
        },
    ),
    StackCase(
        rule="kubernetes-persistent-volume-encrypted-class",
        resources=[
            ENCRYPTED_CLASS,
            Res(
                PVC, "model-cache", {"metadata": {"namespace": "fraud"}, "spec": {"storageClassName": "encrypted-gp3"}}
            ),
            Res(
                CHART,
                "monitoring",
                {
                    "chart": "kube-prometheus-stack",
                    "version": "82.13.3",
                    "namespace": "monitoring",
                    "values": PROMETHEUS_VALUES,
                },
            ),
            Res(
                "kubernetes:apps/v1:StatefulSet",
                "vector-db",
                {
                    "metadata": {"namespace": "fraud"},
                    "spec": {
                        "volumeClaimTemplates": [
                            {"metadata": {"name": "data"}, "spec": {"storageClassName": "encrypted-gp3"}}
                        ]
                    },
                },
            ),
        ],
        fails={
            "default class": StackFail(
                change("model-cache", {"spec.storageClassName": DELETE}),
                "model-cache",
                "uses the cluster's default StorageClass",
            ),
            "unencrypted class": StackFail(
                then(
                    add(
                        Res(
                            STORAGE_CLASS,
                            "gp2",
                            {
                                "metadata": {"name": "gp2"},
                                "provisioner": "ebs.csi.aws.com",
                                "parameters": {"type": "gp2"},
                            },
                        )
                    ),
                    change("vector-db", {"spec.volumeClaimTemplates[0].spec.storageClassName": "gp2"}),
                ),
                "vector-db",
                "uses StorageClass 'gp2', which does not encrypt",
            ),
            "unknown class in chart values": StackFail(
                change(
                    "monitoring",
                    {
                        "values.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName": "standard"
                    },
                ),
                "monitoring",
                "neither defined in this stack nor listed in encryptedStorageClasses",
            ),
            "chart persistence on the default class": StackFail(
                change("monitoring", {"values.grafana": {"persistence": {"enabled": True, "size": "10Gi"}}}),
                "monitoring",
                "values.grafana.persistence",
            ),
        },
        unknown=change("model-cache", {"spec.storageClassName": UNKNOWN}),
        passes={
            "encrypted default class": then(
                change(
                    "encrypted-gp3", {"metadata.annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}
                ),
                change("model-cache", {"spec.storageClassName": DELETE}),
            )
        },
        not_applicable=drop("model-cache", "monitoring", "vector-db"),
        configs={
            "a class from the cluster baseline": StackConfigCase(
                {"encryptedStorageClasses": ["standard"]}, change("model-cache", {"spec.storageClassName": "standard"})
            ),
            "an encrypted default class elsewhere": StackConfigCase(
                {"defaultStorageClassEncrypted": True}, change("model-cache", {"spec.storageClassName": DELETE})
            ),
        },
    ),
]


# --- Training: GPU namespaces admitted through Kueue, GPU queues, private training namespaces ----------------

CLUSTER_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
LOCAL_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue"
JOB_SET = "kubernetes:jobset.x-k8s.io/v1alpha2:JobSet"
JOB = "kubernetes:batch/v1:Job"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
GPU_ENTRY = "spec.resourceGroups[0].flavors[0].resources[2]"


def cluster_queue_props(namespaces: list[str], gpus: str = "8") -> dict[str, Any]:
    """A team's ClusterQueue as GpuQueues builds it (one flavor)."""
    return _kueue.cluster_queue(
        "vision",
        namespaces=namespaces,
        cohort="training",
        quotas=[{"flavor": "gpu-h100", "gpus": gpus, "cpu": "96", "memory": "1536Gi"}],
        within_cluster_queue="LowerPriority",
        reclaim_within_cohort="Any",
    )


def kueue_chart(**config_changes: Any) -> Res:
    """Kueue's chart with the configuration GpuQueues gives it (managing jobs in vision-train), changed."""
    config = {**_kueue.controller_config(managed_namespaces=["vision-train"], integrations=_kueue.INTEGRATIONS)}
    config.update(config_changes)
    for key in [key for key, value in config.items() if value is DELETE]:
        del config[key]
    return Res(
        CHART,
        "gpu-queues-kueue",
        {
            "chart": "oci://registry.k8s.io/kueue/charts/kueue",
            "version": "0.19.2",
            "namespace": "kueue-system",
            "values": {"managerConfig": {"controllerManagerConfigYaml": json.dumps(config)}},
        },
    )


def replace(name: str, resource: Res) -> Any:
    """Swap the resource `name` for `resource`."""
    return then(drop(name), add(resource))


TRAINING_STACK: list[Res] = [
    namespace("vision-train", "training"),
    in_namespace(QUOTA, "training-quota", "vision-train", {"spec": {"hard": {gpu.GPU_QUOTA_KEY: "8"}}}),
    Res(CLUSTER_QUEUE, "queue-vision", cluster_queue_props(["vision-train"])),
    Res(
        LOCAL_QUEUE,
        "local-vision-train",
        _kueue.local_queue("vision", namespace="vision-train", cluster_queue_name="vision"),
        {"spec": ["queue-vision"]},
    ),
    kueue_chart(),
    in_namespace(JOB_SET, "pretrain", "vision-train", {"spec": {"replicatedJobs": []}}),
]

STACK_CASES += [
    StackCase(
        rule="kubernetes-gpu-namespace-kueue-admission",
        resources=TRAINING_STACK,
        fails={
            "no local queue": StackFail(drop("local-vision-train"), "vision-train", "has no Kueue LocalQueue"),
            "queue for other namespaces": StackFail(
                change("queue-vision", {"spec.namespaceSelector.matchExpressions[0].values": ["nlp-train"]}),
                "vision-train",
                "does not select namespace 'vision-train'",
            ),
            "queue without GPUs": StackFail(
                change("queue-vision", {f"{GPU_ENTRY}.nominalQuota": "0"}),
                "vision-train",
                "has no nominal nvidia.com/gpu quota",
            ),
            "jobs without a queue name run": StackFail(
                replace("gpu-queues-kueue", kueue_chart(manageJobsWithoutQueueName=False)),
                "vision-train",
                "set manageJobsWithoutQueueName: true",
            ),
            "the chart's default configuration": StackFail(
                change("gpu-queues-kueue", {"values": {}}), "vision-train", "set manageJobsWithoutQueueName: true"
            ),
            "namespace outside the managed selector": StackFail(
                replace(
                    "gpu-queues-kueue",
                    kueue_chart(
                        managedJobsNamespaceSelector={
                            "matchExpressions": [
                                {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["nlp-train"]}
                            ]
                        }
                    ),
                ),
                "vision-train",
                "managedJobsNamespaceSelector excludes it",
            ),
            "job kind not integrated": StackFail(
                replace("gpu-queues-kueue", kueue_chart(integrations={"frameworks": ["batch/job"]})),
                "vision-train",
                "does not queue jobset.x-k8s.io/jobset jobs, so 'pretrain'",
            ),
            "untiered namespace running GPU jobs": StackFail(
                add(
                    namespace("batch-gpu", None),
                    in_namespace(
                        JOB,
                        "finetune",
                        "batch-gpu",
                        {
                            "spec": {
                                "template": {
                                    "spec": {
                                        "containers": [{"name": "t", "resources": {"limits": {gpu.GPU_RESOURCE: "1"}}}]
                                    }
                                }
                            }
                        },
                    ),
                ),
                "batch-gpu",
                "GPU namespace 'batch-gpu' has no Kueue LocalQueue",
            ),
        },
        unknown=change("gpu-queues-kueue", {"values.managerConfig.controllerManagerConfigYaml": UNKNOWN}),
        passes={
            "a training namespace without GPUs needs no queue": add(
                namespace("cpu-train", "training"),
                in_namespace(QUOTA, "cpu-quota", "cpu-train", {"spec": {"hard": {gpu.GPU_QUOTA_KEY: "0"}}}),
            ),
            "Kueue's default managed-namespace selector": replace(
                "gpu-queues-kueue", kueue_chart(managedJobsNamespaceSelector=DELETE)
            ),
            "a job namespace without a GPU quota": add(
                namespace("migrations", None), in_namespace(JOB, "migrate", "migrations", {"spec": {}})
            ),
            "the queue joined by name only": change("local-vision-train", {"spec.clusterQueue": "vision"}),
        },
        not_applicable=drop("vision-train", "training-quota", "local-vision-train", "pretrain"),
        configs={
            "a configured training namespace": StackConfigCase({"trainingNamespaces": ["legacy-train"]}, passes=False),
        },
    ),
    StackCase(
        rule="kubernetes-training-namespace-not-exposed",
        resources=[
            namespace("vision-train", "training"),
            namespace("mlflow", "tracking"),
            in_namespace(
                SERVICE, "mlflow-server", "mlflow", {"spec": {"type": "ClusterIP", "ports": [{"port": 5000.0}]}}
            ),
        ],
        fails={
            "internal load balancer": StackFail(
                change(
                    "mlflow-server",
                    {
                        "spec.type": "LoadBalancer",
                        "metadata.annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"},
                    },
                ),
                "mlflow-server",
                "is a LoadBalancer, reachable from outside the cluster",
            ),
            "node port": StackFail(
                change("mlflow-server", {"spec.type": "NodePort"}), "mlflow-server", "is a NodePort"
            ),
            "external IPs": StackFail(
                change("mlflow-server", {"spec.externalIPs": ["198.51.100.7"]}),
                "mlflow-server",
                "answers on external IPs",
            ),
            "ingress": StackFail(
                add(
                    in_namespace(
                        INGRESS,
                        "tensorboard",
                        "vision-train",
                        {"spec": {"tls": [{"hosts": ["tb.example.com"]}], "rules": []}},
                    )
                ),
                "tensorboard",
                "exposes private namespace 'vision-train'",
            ),
            "a load balancer beside a LocalQueue (no tier label)": StackFail(
                add(
                    namespace("research", None),
                    in_namespace(
                        "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue",
                        "queue",
                        "research",
                        {"spec": {"clusterQueue": "r"}},
                    ),
                    in_namespace(SERVICE, "tb", "research", {"spec": {"type": "LoadBalancer"}}),
                ),
                "tb",
                "in private namespace 'research' is a LoadBalancer",
            ),
            "a node port beside a JobSet (no tier label)": StackFail(
                add(
                    namespace("research", None),
                    in_namespace("kubernetes:jobset.x-k8s.io/v1alpha2:JobSet", "run", "research", {"spec": {}}),
                    in_namespace(SERVICE, "tb", "research", {"spec": {"type": "NodePort"}}),
                ),
                "tb",
                "in private namespace 'research' is a NodePort",
            ),
        },
        unknown=change("mlflow-server", {"spec.type": UNKNOWN}),
        passes={
            "load balancer outside private tiers": add(
                namespace("tools", None), in_namespace(SERVICE, "tools-lb", "tools", {"spec": {"type": "LoadBalancer"}})
            ),
        },
        not_applicable=drop("mlflow-server"),
        configs={
            "a configured private namespace": StackConfigCase(
                {"privateNamespaces": ["tools"]},
                add(
                    namespace("tools", None), in_namespace(SERVICE, "tools-lb", "tools", {"spec": {"type": "NodePort"}})
                ),
                passes=False,
            ),
            "tracking not private": StackConfigCase(
                {"privateTiers": ["training"]}, change("mlflow-server", {"spec.type": "NodePort"})
            ),
        },
    ),
]

_QUEUE = cluster_queue_props(["vision-train"])

RESOURCE_CASES += [
    ResourceCase(
        rule="kubernetes-kueue-cluster-queue-gpu-quota",
        type=CLUSTER_QUEUE,
        props=_QUEUE,
        names_as="vision",
        fails={
            "no GPU quota in a flavor": Fail(
                {
                    "spec.resourceGroups[0].flavors[0].resources": _QUEUE["spec"]["resourceGroups"][0]["flavors"][0][
                        "resources"
                    ][:2]
                },
                "gives flavor 'gpu-h100' no whole nvidia.com/gpu nominalQuota",
            ),
            "fractional GPUs": Fail({f"{GPU_ENTRY}.nominalQuota": "1500m"}, "no whole nvidia.com/gpu nominalQuota"),
            "not a quantity": Fail({f"{GPU_ENTRY}.nominalQuota": "unlimited"}, "no whole nvidia.com/gpu nominalQuota"),
        },
        unknown={f"{GPU_ENTRY}.nominalQuota": UNKNOWN},
        passes={"v1beta1": {"spec.cohort": "training"}},
        not_applicable={
            "CPU-only queue": (
                CLUSTER_QUEUE,
                mutate(
                    _QUEUE,
                    {
                        "spec.resourceGroups[0].coveredResources": ["cpu", "memory"],
                        "spec.resourceGroups[0].flavors[0].resources": _QUEUE["spec"]["resourceGroups"][0]["flavors"][
                            0
                        ]["resources"][:2],
                    },
                ),
            ),
            "other type": CONFIG_MAP_ONLY,
        },
    ),
    ResourceCase(
        rule="kubernetes-kueue-cluster-queue-cohort-borrowing",
        type=CLUSTER_QUEUE,
        props=_QUEUE,
        names_as="vision",
        fails={
            "never reclaims, no limit": Fail(
                {"spec.preemption.reclaimWithinCohort": "Never"}, "without a borrowingLimit (flavors gpu-h100)"
            ),
            "Kueue's default preemption": Fail({"spec.preemption": DELETE}, "reclaimWithinCohort Never"),
        },
        unknown={"spec.preemption.reclaimWithinCohort": UNKNOWN},
        passes={
            "borrowing limited": {
                "spec.preemption.reclaimWithinCohort": "Never",
                f"{GPU_ENTRY}.borrowingLimit": "4",
            },
            "reclaims from lower priorities": {"spec.preemption.reclaimWithinCohort": "LowerPriority"},
        },
        not_applicable={
            "no cohort": (CLUSTER_QUEUE, mutate(_QUEUE, {"spec.cohortName": DELETE})),
            "other type": CONFIG_MAP_ONLY,
        },
    ),
]


# --- Namespace roles by structure (issue 20, class 1): a route's backend, an Ingress or an InferenceService makes a
# namespace a serving namespace whatever its labels; a LocalQueue or a JobSet makes it a training namespace.

HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"


def route_to(name: str, route_namespace: str, backend_namespace: str | None = None) -> Res:
    """An HTTPRoute in `route_namespace` whose backend is the Service `api` (in `backend_namespace` if given)."""
    ref: dict[str, Any] = {"name": "api", "port": 8080.0}
    if backend_namespace:
        ref["namespace"] = backend_namespace
    return in_namespace(HTTP_ROUTE, name, route_namespace, {"spec": {"rules": [{"backendRefs": [ref]}]}})


def unlabelled(name: str, psa: str = "baseline", **labels: str) -> Res:
    """A Namespace with no tier label, only its Pod Security level (and the given labels)."""
    return Res(NAMESPACE, name, {"metadata": {"name": name, "labels": {PSA: psa, **labels}}})


STACK_CASES += [
    StackCase(
        rule="kubernetes-namespace-pod-security-level",
        resources=[unlabelled("team-a"), unlabelled("gpu-operator", "privileged")],
        fails={
            "unlabelled": StackFail(
                change("team-a", {"metadata.labels": {}}),
                "team-a",
                "Namespace 'team-a' enforces pod security level none",
            ),
            "privileged app namespace": StackFail(
                change("team-a", {f'metadata.labels["{PSA}"]': "privileged"}), "team-a", "level privileged; set"
            ),
            "baseline serving (declared)": StackFail(
                change("team-a", {'metadata.labels["mlplatform.io/tier"]': "serving"}), "team-a", "='restricted'"
            ),
            "baseline namespace behind a route (no label)": StackFail(
                add(route_to("api-route", "team-a")), "team-a", "='restricted'"
            ),
            "baseline namespace behind a cross-namespace route": StackFail(
                add(unlabelled("gateway", "restricted"), route_to("api-route", "gateway", "team-a")),
                "team-a",
                "='restricted'",
            ),
            "baseline namespace behind an Ingress": StackFail(
                add(in_namespace("kubernetes:networking.k8s.io/v1:Ingress", "web", "team-a", {"spec": {"rules": []}})),
                "team-a",
                "='restricted'",
            ),
            "baseline namespace with a KServe InferenceService": StackFail(
                add(
                    in_namespace(
                        "kubernetes:serving.kserve.io/v1beta1:InferenceService", "fraud", "team-a", {"spec": {}}
                    )
                ),
                "team-a",
                "='restricted'",
            ),
        },
        unknown=change("team-a", {"metadata.labels": UNKNOWN}),
        passes={
            "restricted serving": change(
                "team-a", {"metadata.labels": {"mlplatform.io/tier": "serving", PSA: "restricted"}}
            ),
            "a route to a UI in a node-agent namespace": add(
                unlabelled("monitoring", "privileged"), route_to("grafana", "monitoring")
            ),
            "a route whose backend is not a Service": add(
                in_namespace(
                    HTTP_ROUTE,
                    "to-backend",
                    "team-a",
                    {"spec": {"rules": [{"backendRefs": [{"group": "example.io", "kind": "Backend", "name": "x"}]}]}},
                )
            ),
        },
        not_applicable=drop("team-a", "gpu-operator"),
        configs={
            "a configured serving namespace": StackConfigCase({"servingNamespaces": ["team-a"]}, passes=False),
            "a configured system namespace": StackConfigCase(
                {"systemNamespaces": ["team-a", "gpu-operator"]},
                change("team-a", {f'metadata.labels["{PSA}"]': "privileged"}),
            ),
        },
    ),
    StackCase(
        rule="kubernetes-namespace-processing-record-labels",
        resources=[
            unlabelled("team-a", "restricted", **{**RECORD_TAGS, "mlplatform.io/tier": "serving"}),
            unlabelled("tools", "baseline"),
        ],
        fails={
            "no owner": StackFail(
                change("team-a", {"metadata.labels.data-owner": DELETE}),
                "team-a",
                "Namespace 'team-a' lacks the record-of-processing labels data-owner",
            ),
            "serving without records": StackFail(
                change("team-a", {"metadata.labels": {"mlplatform.io/tier": "serving"}}),
                "team-a",
                "data-classification, data-owner",
            ),
            "an unlabelled namespace behind a route": StackFail(
                add(route_to("tools-route", "tools")), "tools", "Namespace 'tools' lacks the record-of-processing"
            ),
        },
        unknown=change("team-a", {"metadata.labels": UNKNOWN}),
        passes={
            "classified platform namespace": change("team-a", {'metadata.labels["mlplatform.io/tier"]': "monitoring"}),
        },
        not_applicable=drop("team-a"),
        configs={"a configured serving namespace": StackConfigCase({"servingNamespaces": ["tools"]}, passes=False)},
    ),
]
