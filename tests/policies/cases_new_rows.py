"""Compliant baselines and mutations for the rows issue 20 adds: trust policies, NSGs, public registries,
hostPath PersistentVolumes, the rest of Pod Security baseline, monitoring UIs and cluster-wide Secret readers."""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.policies.cases import (
    ConfigCase,
    Fail,
    ResourceCase,
    StackCase,
    StackChange,
    StackConfigCase,
    StackFail,
    add,
    change,
    drop,
)
from tests.policies.cases_kubernetes import POD_SPEC, node_agent, workload
from tests.policies.harness import DELETE, UNKNOWN, Res, mutate

OTHER = ("aws:s3/bucket:Bucket", {"bucket": "x"})
K8S_OTHER = ("kubernetes:core/v1:ConfigMap", {"metadata": {"namespace": "team-a"}, "data": {}})

# --- IAM role trust policies --------------------------------------------------------------------------------

OIDC = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-central-1.amazonaws.com/id/ABCDEF0123456789"
GITHUB = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
ISSUER = "oidc.eks.eu-central-1.amazonaws.com/id/ABCDEF0123456789"
IRSA = {
    "Effect": "Allow",
    "Principal": {"Federated": OIDC},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {
        "StringEquals": {
            f"{ISSUER}:sub": "system:serviceaccount:team-a:trainer",
            f"{ISSUER}:aud": "sts.amazonaws.com",
        }
    },
}
POD_IDENTITY = {
    "Effect": "Allow",
    "Principal": {"Service": "pods.eks.amazonaws.com"},
    "Action": ["sts:AssumeRole", "sts:TagSession"],
}


def trust(*statements: dict[str, Any]) -> str:
    """A trust policy as the JSON string `aws.iam.Role(assume_role_policy=...)` sends."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _irsa_condition(condition: dict[str, Any]) -> str:
    return trust({**IRSA, "Condition": condition})


ROLE_CASE = ResourceCase(
    rule="aws-iam-role-trust-policy-pinned",
    type="aws:iam/role:Role",
    props={"assumeRolePolicy": trust(IRSA)},
    fails={
        "anyone": Fail(
            {"assumeRolePolicy": trust({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"})},
            "lets any AWS principal assume the role",
        ),
        "any aws principal": Fail(
            {"assumeRolePolicy": trust({"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "sts:AssumeRole"})},
            "lets any AWS principal assume the role",
        ),
        "wildcard with an IfExists condition": Fail(
            {
                "assumeRolePolicy": trust(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEqualsIfExists": {"sts:ExternalId": "x-123"}},
                    }
                )
            },
            "lets any AWS principal assume the role",
        ),
        "wildcard with a wildcard org": Fail(
            {
                "assumeRolePolicy": trust(
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringLike": {"aws:PrincipalOrgID": "*"}},
                    }
                )
            },
            "lets any AWS principal assume the role",
        ),
        "not principal": Fail(
            {
                "assumeRolePolicy": trust(
                    {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "Action": "sts:AssumeRole"}
                )
            },
            "allows everyone but its NotPrincipal",
        ),
        "irsa without sub": Fail(
            {"assumeRolePolicy": _irsa_condition({"StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"}})},
            "lets any service account of the cluster assume the role",
        ),
        "irsa sub with StringLike": Fail(
            {
                "assumeRolePolicy": _irsa_condition(
                    {
                        "StringLike": {f"{ISSUER}:sub": "system:serviceaccount:team-a:*"},
                        "StringEquals": {f"{ISSUER}:aud": "sts.amazonaws.com"},
                    }
                )
            },
            "with StringLike",
        ),
        "irsa two service accounts": Fail(
            {
                "assumeRolePolicy": _irsa_condition(
                    {
                        "StringEquals": {
                            f"{ISSUER}:sub": ["system:serviceaccount:team-a:a", "system:serviceaccount:team-b:b"],
                            f"{ISSUER}:aud": "sts.amazonaws.com",
                        }
                    }
                )
            },
            "pin exactly one",
        ),
        "irsa wildcard in StringEquals": Fail(
            {
                "assumeRolePolicy": _irsa_condition(
                    {
                        "StringEquals": {
                            f"{ISSUER}:sub": "system:serviceaccount:team-a:*",
                            f"{ISSUER}:aud": "sts.amazonaws.com",
                        }
                    }
                )
            },
            "without wildcards",
        ),
        "irsa without aud": Fail(
            {
                "assumeRolePolicy": _irsa_condition(
                    {"StringEquals": {f"{ISSUER}:sub": "system:serviceaccount:team-a:trainer"}}
                )
            },
            "does not pin",
        ),
        "irsa pinned on another issuer": Fail(
            {
                "assumeRolePolicy": _irsa_condition(
                    {
                        "StringEquals": {
                            "oidc.eks.eu-west-1.amazonaws.com/id/OTHER:sub": "system:serviceaccount:team-a:trainer",
                            f"{ISSUER}:aud": "sts.amazonaws.com",
                        }
                    }
                )
            },
            "lets any service account of the cluster",
        ),
        "ci provider without a subject": Fail(
            {
                "assumeRolePolicy": trust(
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": GITHUB},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}},
                    }
                )
            },
            "lets any identity of token.actions.githubusercontent.com",
        ),
        "self-managed cluster issuer with StringLike": Fail(
            {
                "assumeRolePolicy": trust(
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/k8s.example.com"},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {
                            "StringLike": {"k8s.example.com:sub": "system:serviceaccount:*"},
                            "StringEquals": {"k8s.example.com:aud": "sts.amazonaws.com"},
                        },
                    }
                )
            },
            "with StringLike",
        ),
        "not a document": Fail({"assumeRolePolicy": "not json"}, "has no readable trust policy"),
    },
    unknown={"assumeRolePolicy": UNKNOWN},
    passes={
        "pod identity": {"assumeRolePolicy": trust(POD_IDENTITY)},
        "ci provider pinned to a repository": {
            "assumeRolePolicy": trust(
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": GITHUB},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                        "StringLike": {
                            "token.actions.githubusercontent.com:sub": "repo:example/models:ref:refs/heads/main"
                        },
                    },
                }
            )
        },
        "object document": {"assumeRolePolicy": json.loads(trust(IRSA))},
        "service principal": {
            "assumeRolePolicy": trust(
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            )
        },
        "account principal": {
            "assumeRolePolicy": trust(
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
            )
        },
        "wildcard pinned by external id": {
            "assumeRolePolicy": trust(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": "vendor-7731"}},
                }
            )
        },
        "wildcard pinned by organisation": {
            "assumeRolePolicy": trust(
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
                }
            )
        },
        "deny statement with a wildcard": {
            "assumeRolePolicy": trust(IRSA, {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"})
        },
    },
    not_applicable={"other type": OTHER},
)

# --- Azure NSG rules ---------------------------------------------------------------------------------------

API_RULE = {
    "name": "allow-api-clients",
    "priority": 100,
    "direction": "Inbound",
    "access": "Allow",
    "protocol": "Tcp",
    "sourceAddressPrefixes": ["203.0.113.0/24"],
    "sourcePortRange": "*",
    "destinationAddressPrefix": "*",
    "destinationPortRange": "443",
}
DENY_RULE = {
    "name": "deny-internet-inbound",
    "priority": 4096,
    "direction": "Inbound",
    "access": "Deny",
    "protocol": "*",
    "sourceAddressPrefix": "Internet",
    "sourcePortRange": "*",
    "destinationAddressPrefix": "*",
    "destinationPortRange": "*",
}
S = "securityRules[0]"
NSG_CASE = ResourceCase(
    rule="azure-nsg-no-internet-admin-ports",
    type="azure-native:network:NetworkSecurityGroup",
    props={"location": "westeurope", "securityRules": [API_RULE, DENY_RULE]},
    variant="NetworkSecurityGroup",
    fails={
        "ssh from anywhere": Fail(
            {f"{S}.sourceAddressPrefixes": ["*"], f"{S}.destinationPortRange": "22"}, "data ports [22]"
        ),
        "rdp from the internet tag": Fail(
            {
                f"{S}.sourceAddressPrefixes": DELETE,
                f"{S}.sourceAddressPrefix": "Internet",
                f"{S}.destinationPortRange": "3389",
            },
            "data ports [3389]",
        ),
        "postgres in a range from a list with 0.0.0.0/0": Fail(
            {f"{S}.sourceAddressPrefixes": ["10.0.0.0/8", "0.0.0.0/0"], f"{S}.destinationPortRange": "5400-5500"},
            "data ports [5432]",
        ),
        "every port from Any": Fail(
            {f"{S}.sourceAddressPrefixes": ["Any"], f"{S}.destinationPortRange": "*"},
            "restrict source_address_prefixes",
        ),
        "ipv6 everywhere in port ranges": Fail(
            {
                f"{S}.sourceAddressPrefixes": ["::/0"],
                f"{S}.destinationPortRange": DELETE,
                f"{S}.destinationPortRanges": ["443", "22"],
            },
            "data ports [22]",
        ),
    },
    unknown={f"{S}.sourceAddressPrefixes": UNKNOWN},
    passes={
        "https from anywhere": {f"{S}.sourceAddressPrefixes": ["*"]},
        "ssh from a known range": {f"{S}.destinationPortRange": "22"},
        "ssh from anywhere but denied": {
            f"{S}.sourceAddressPrefixes": ["*"],
            f"{S}.destinationPortRange": "22",
            f"{S}.access": "Deny",
        },
        "outbound": {
            f"{S}.sourceAddressPrefixes": ["*"],
            f"{S}.destinationPortRange": "22",
            f"{S}.direction": "Outbound",
        },
        "icmp": {f"{S}.sourceAddressPrefixes": ["*"], f"{S}.destinationPortRange": "*", f"{S}.protocol": "Icmp"},
        "no rules": {"securityRules": DELETE},
    },
    not_applicable={"other type": ("azure-native:network:VirtualNetwork", {"location": "westeurope"})},
    configs={
        "https is configured as denied": ConfigCase(
            {"internetDeniedPorts": [443]}, {f"{S}.sourceAddressPrefixes": ["*"]}, passes=False
        ),
        "ssh no longer denied": ConfigCase(
            {"internetDeniedPorts": [3389]},
            {f"{S}.sourceAddressPrefixes": ["*"], f"{S}.destinationPortRange": "22"},
        ),
    },
)
NSG_RULE_CASE = ResourceCase(
    rule="azure-nsg-no-internet-admin-ports",
    type="azure-native:network:SecurityRule",
    props={**API_RULE, "networkSecurityGroupName": "aks-nodes", "resourceGroupName": "rg"},
    variant="SecurityRule",
    fails={
        "ssh from anywhere": Fail({"sourceAddressPrefixes": ["0.0.0.0/0"], "destinationPortRange": "22"}, "[22]"),
        "unreadable port": Fail({"sourceAddressPrefixes": ["*"], "destinationPortRange": "ssh"}, "cannot be read"),
    },
    unknown={"destinationPortRange": UNKNOWN},
    passes={"from the virtual network": {"sourceAddressPrefixes": ["VirtualNetwork"], "destinationPortRange": "22"}},
    not_applicable={"other type": ("azure-native:network:VirtualNetwork", {"location": "westeurope"})},
)

# --- Public registries -------------------------------------------------------------------------------------

ECR_PUBLIC_CASE = ResourceCase(
    rule="aws-ecrpublic-repository-not-used",
    type="aws:ecrpublic/repository:Repository",
    props={"repositoryName": "models"},
    fails={"any public repository": Fail({}, "serves its images to anyone")},
    unknown={"repositoryName": UNKNOWN},
    always_fails=True,
    not_applicable={"private repository": ("aws:ecr/repository:Repository", {"name": "models"})},
)
ACR_CASE = ResourceCase(
    rule="azure-acr-registry-not-public",
    type="azure-native:containerregistry:Registry",
    props={
        "sku": {"name": "Premium"},
        "anonymousPullEnabled": False,
        "publicNetworkAccess": "Disabled",
        "networkRuleSet": {"defaultAction": "Deny", "ipRules": []},
    },
    fails={
        "anonymous pull": Fail({"anonymousPullEnabled": True}, "allows anonymous pull"),
        "public without rules": Fail(
            {"publicNetworkAccess": "Enabled", "networkRuleSet": DELETE}, "accepts pulls from any network"
        ),
        "public by default, rules allow": Fail(
            {"publicNetworkAccess": DELETE, "networkRuleSet.defaultAction": "Allow"}, "Enabled by default"
        ),
    },
    unknown={"anonymousPullEnabled": UNKNOWN},
    passes={
        "public behind deny-by-default rules": {
            "publicNetworkAccess": "Enabled",
            "networkRuleSet.ipRules": [{"iPAddressOrRange": "203.0.113.0/24", "action": "Allow"}],
        },
        "anonymous pull unset": {"anonymousPullEnabled": DELETE},
    },
    not_applicable={"other type": ("azure-native:network:VirtualNetwork", {"location": "westeurope"})},
)

# --- hostPath PersistentVolumes ----------------------------------------------------------------------------

PV_CASE = ResourceCase(
    rule="kubernetes-persistent-volume-no-host-path",
    type="kubernetes:core/v1:PersistentVolume",
    props={
        "metadata": {"name": "datasets"},
        "spec": {
            "capacity": {"storage": "100Gi"},
            "accessModes": ["ReadOnlyMany"],
            "csi": {"driver": "efs.csi.aws.com", "volumeHandle": "fs-0123456789abcdef0"},
        },
    },
    fails={
        "host path": Fail(
            {"spec.csi": DELETE, "spec.hostPath": {"path": "/var/lib"}}, "mounts the node directory /var/lib"
        )
    },
    unknown={"spec.hostPath": UNKNOWN},
    passes={"storage class only": {"spec.csi": DELETE, "spec.storageClassName": "gp3-encrypted"}},
    not_applicable={"claim": ("kubernetes:core/v1:PersistentVolumeClaim", {"metadata": {"namespace": "team-a"}})},
)

# --- The rest of Pod Security baseline ---------------------------------------------------------------------

P = "spec.template.spec"
C = f"{P}.containers[0]"
AGENT_TYPE, AGENT_PROPS = node_agent("gpu-operator")
BASELINE_CASE = ResourceCase(
    rule="kubernetes-workload-pod-security-baseline",
    type="kubernetes:apps/v1:Deployment",
    props=workload(),
    fails={
        "unmasked proc": Fail({f"{C}.securityContext.procMount": "Unmasked"}, "sets proc_mount Unmasked"),
        "selinux spc_t": Fail({f"{P}.securityContext.seLinuxOptions": {"type": "spc_t"}}, "SELinux type 'spc_t'"),
        "selinux user": Fail(
            {f"{C}.securityContext.seLinuxOptions": {"type": "container_t", "user": "system_u"}}, "SELinux user"
        ),
        "selinux role": Fail({f"{C}.securityContext.seLinuxOptions": {"role": "sysadm_r"}}, "SELinux role"),
        "apparmor unconfined field": Fail(
            {f"{C}.securityContext.appArmorProfile": {"type": "Unconfined"}}, "AppArmor profile Unconfined"
        ),
        "apparmor unconfined annotation": Fail(
            {
                'spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io/server"]': (
                    "unconfined"
                )
            },
            "use runtime/default",
        ),
        "unsafe sysctl": Fail(
            {f"{P}.securityContext.sysctls": [{"name": "kernel.msgmax", "value": "65536"}]}, "unsafe sysctls"
        ),
        "host process": Fail(
            {f"{P}.securityContext.windowsOptions": {"hostProcess": True}}, "Windows HostProcess container"
        ),
        "init container proc mount": Fail(
            {
                f"{P}.initContainers": [
                    {**POD_SPEC["containers"][0], "name": "init", "securityContext": {"procMount": "Unmasked"}}
                ]
            },
            "container 'init'",
        ),
    },
    unknown={f"{C}.securityContext.procMount": UNKNOWN},
    passes={
        "safe sysctls": {
            f"{P}.securityContext.sysctls": [
                {"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"},
                {"name": "net.ipv4.tcp_keepalive_time", "value": "600"},
            ]
        },
        "default proc mount": {f"{C}.securityContext.procMount": "Default"},
        "container_t": {f"{P}.securityContext.seLinuxOptions": {"type": "container_t", "level": "s0:c123,c456"}},
        "localhost apparmor": {
            f"{C}.securityContext.appArmorProfile": {"type": "Localhost", "localhostProfile": "k8s-trainer"},
            'spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io/server"]': (
                "runtime/default"
            ),
        },
    },
    not_applicable={"node agent": (AGENT_TYPE, AGENT_PROPS), "config map": K8S_OTHER},
    configs={
        "node agents elsewhere": ConfigCase(
            {"systemNamespaces": ["kube-system"]},
            {"metadata.namespace": "gpu-operator", f"{C}.securityContext.procMount": "Unmasked"},
            passes=False,
        )
    },
)

# --- Monitoring and logging UIs ----------------------------------------------------------------------------

SERVICE = "kubernetes:core/v1:Service"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
GRAFANA_IMAGE = "docker.io/grafana/grafana:12.1.1@sha256:" + "b" * 64


def _ui_workload(name: str, image: str, app: str) -> Res:
    props = workload("monitoring")
    props["metadata"]["name"] = name
    props["spec"]["selector"] = {"matchLabels": {"app": app}}
    props["spec"]["template"]["metadata"]["labels"] = {"app": app}
    props["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return Res("kubernetes:apps/v1:Deployment", f"{name}-server", props)


def _service(name: str, app: str, service_type: str = "ClusterIP") -> Res:
    return Res(
        SERVICE,
        name,
        {
            "metadata": {"name": name, "namespace": "monitoring"},
            "spec": {"type": service_type, "selector": {"app": app}, "ports": [{"port": 80.0}]},
        },
    )


def _ingress(name: str, service: str) -> Res:
    backend = {"service": {"name": service, "port": {"number": 80.0}}}
    return Res(
        INGRESS,
        name,
        {
            "metadata": {"name": name, "namespace": "monitoring"},
            "spec": {
                "rules": [
                    {
                        "host": "ui.example.com",
                        "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
                    }
                ]
            },
        },
    )


def _retype(name: str, service_type: str) -> StackChange:
    """Set the type of the Service `name` (a Deployment of the same name is left alone)."""

    def apply(resources: list[Res]) -> list[Res]:
        return [
            Res(r.type, r.name, mutate(r.props, {"spec.type": service_type}), r.deps)
            if r.type == SERVICE and r.name == name
            else r
            for r in copy.deepcopy(resources)
        ]

    return apply


UI_CASE = StackCase(
    rule="kubernetes-monitoring-ui-not-exposed",
    resources=[
        _ui_workload("grafana", GRAFANA_IMAGE, "grafana"),
        _service("grafana", "grafana"),
        _ui_workload("api", POD_SPEC["containers"][0]["image"], "api"),
        _service("api", "api", "LoadBalancer"),
        _ingress("api-ingress", "api"),
        Res(
            "kubernetes:helm.sh/v4:Chart",
            "kube-prometheus-stack",
            {
                "chart": "kube-prometheus-stack",
                "version": "82.13.3",
                "values": {"grafana": {"service": {"type": "ClusterIP"}, "ingress": {"enabled": False}}},
            },
        ),
    ],
    fails={
        "grafana load balancer": StackFail(
            _retype("grafana", "LoadBalancer"), "grafana", "exposes Grafana as a LoadBalancer"
        ),
        "grafana node port": StackFail(_retype("grafana", "NodePort"), "grafana", "exposes Grafana as a NodePort"),
        "ingress to grafana": StackFail(add(_ingress("grafana-ui", "grafana")), "grafana-ui", "routes to Grafana"),
        "http route to kibana": StackFail(
            add(
                _ui_workload("kibana", "docker.elastic.co/kibana/kibana:9.1.3", "kibana"),
                _service("kibana", "kibana"),
                Res(
                    HTTP_ROUTE,
                    "kibana-route",
                    {
                        "metadata": {"name": "kibana-route", "namespace": "monitoring"},
                        "spec": {
                            "parentRefs": [{"name": "edge"}],
                            "rules": [{"backendRefs": [{"name": "kibana", "port": 80.0}]}],
                        },
                    },
                ),
            ),
            "kibana-route",
            "routes to Kibana",
        ),
        "eck kibana load balancer": StackFail(
            add(
                Res(
                    "kubernetes:kibana.k8s.elastic.co/v1:Kibana",
                    "logs",
                    {
                        "metadata": {"name": "logs", "namespace": "monitoring"},
                        "spec": {"version": "9.1.3", "http": {"service": {"spec": {"type": "LoadBalancer"}}}},
                    },
                )
            ),
            "logs",
            "Kibana 'logs' is exposed as a LoadBalancer",
        ),
        "ingress to eck kibana": StackFail(
            add(
                Res(
                    "kubernetes:kibana.k8s.elastic.co/v1:Kibana",
                    "logs",
                    {"metadata": {"name": "logs", "namespace": "monitoring"}, "spec": {"version": "9.1.3"}},
                ),
                _ingress("kibana-ui", "logs-kb-http"),
            ),
            "kibana-ui",
            "routes to Kibana",
        ),
        "chart grafana load balancer": StackFail(
            change("kube-prometheus-stack", {"values.grafana.service.type": "LoadBalancer"}),
            "kube-prometheus-stack",
            "grafana.service.type",
        ),
        "chart grafana ingress": StackFail(
            change("kube-prometheus-stack", {"values.grafana.ingress.enabled": True}),
            "kube-prometheus-stack",
            "grafana.ingress.enabled",
        ),
    },
    unknown=_retype("grafana", UNKNOWN),
    passes={
        "grafana disabled in the chart": change(
            "kube-prometheus-stack", {"values.grafana": {"enabled": False, "ingress": {"enabled": True}}}
        ),
        "exposed api is not a UI": lambda r: r,
    },
    not_applicable=lambda resources: [r for r in resources if r.type == "kubernetes:apps/v1:Deployment"],
)


# --- Cluster-wide Secret readers ---------------------------------------------------------------------------

CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"


def _binding(name: str, role: str, *subjects: dict[str, Any]) -> Res:
    return Res(
        BINDING,
        name,
        {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": list(subjects),
        },
    )


def _role_rules(resources: list[str], verbs: list[str], groups: tuple[str, ...] = ("",)) -> StackChange:
    """Replace the rules of the ClusterRole 'controller-read'."""

    def apply(stack: list[Res]) -> list[Res]:
        rule = {"apiGroups": list(groups), "resources": resources, "verbs": verbs}
        return [
            Res(r.type, r.name, mutate(r.props, {"rules": [rule]}), r.deps) if r.type == CLUSTER_ROLE else r
            for r in copy.deepcopy(stack)
        ]

    return apply


CONTROLLER = {"kind": "ServiceAccount", "name": "workflow-controller", "namespace": "ci-tools"}
SECRETS_CASE = StackCase(
    rule="kubernetes-rbac-no-cluster-wide-secret-readers",
    resources=[
        Res(
            CLUSTER_ROLE,
            "controller-read",
            {
                "metadata": {"name": "controller-read"},
                "rules": [{"apiGroups": [""], "resources": ["pods", "configmaps"], "verbs": ["get", "list", "watch"]}],
            },
        ),
        _binding("controller-read-binding", "controller-read", CONTROLLER),
        _binding("viewers", "view", {"kind": "Group", "name": "auditors", "apiGroup": "rbac.authorization.k8s.io"}),
        _binding("masters", "cluster-admin", {"kind": "Group", "name": "system:masters"}),
    ],
    fails={
        "role reads secrets": StackFail(
            _role_rules(["pods", "secrets"], ["get"]),
            "controller-read-binding",
            "read Secrets in every namespace",
        ),
        "role has every core resource": StackFail(
            _role_rules(["*"], ["list"]), "controller-read-binding", "ServiceAccount:ci-tools/workflow-controller"
        ),
        "edit cluster-wide": StackFail(
            add(_binding("devs", "edit", {"kind": "Group", "name": "developers"})), "devs", "Group:developers"
        ),
        "admin to every service account": StackFail(
            add(_binding("sas", "admin", {"kind": "Group", "name": "system:serviceaccounts"})),
            "sas",
            "Group:system:serviceaccounts",
        ),
        "cluster-admin to a user": StackFail(
            add(_binding("alice", "cluster-admin", {"kind": "User", "name": "alice@example.com"})),
            "alice",
            "through ClusterRole 'cluster-admin'",
        ),
    },
    unknown=lambda stack: [
        Res(r.type, r.name, mutate(r.props, {"roleRef": UNKNOWN}), r.deps) if r.type == BINDING else r
        for r in copy.deepcopy(stack)
    ],
    passes={
        "secrets write only": _role_rules(["secrets"], ["create"]),
        "secrets in another group": _role_rules(["secrets"], ["get"], ("example.com",)),
    },
    not_applicable=drop("controller-read-binding", "viewers", "masters"),
    configs={
        "a reviewed controller": StackConfigCase(
            {"secretReaderSubjects": ["ServiceAccount:ci-tools/workflow-controller"]}, _role_rules(["secrets"], ["get"])
        ),
        "another reviewed subject": StackConfigCase(
            {"secretReaderSubjects": ["ServiceAccount:ci-tools/other"]}, _role_rules(["secrets"], ["get"]), passes=False
        ),
        # The platform's operators run in namespaces no team can create a ServiceAccount in; by default their
        # charts' cluster-wide Secret readers pass, and a stack that narrows the list sees them again.
        "an operator namespace": StackConfigCase(
            {"secretReaderNamespaces": ["ci-tools"]}, _role_rules(["secrets"], ["get"])
        ),
        "no operator namespaces": StackConfigCase(
            {"secretReaderNamespaces": []}, _role_rules(["secrets"], ["get"]), passes=False
        ),
    },
)


RESOURCE_CASES: list[ResourceCase] = [
    ROLE_CASE,
    NSG_CASE,
    NSG_RULE_CASE,
    ECR_PUBLIC_CASE,
    ACR_CASE,
    PV_CASE,
    BASELINE_CASE,
]
STACK_CASES: list[StackCase] = [UI_CASE, SECRETS_CASE]
