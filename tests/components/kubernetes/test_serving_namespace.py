"""ModelServingNamespace: restricted, quota'd (GPUs included), isolated by default, with a least-privilege team role."""

from __future__ import annotations

import pulumi
import pytest

from components._common import gpu
from components._common.gateway import PROXY_POD_LABELS
from components._common.tags import TIER_LABEL
from components.kubernetes import ModelServingNamespace, ModelServingNamespaceArgs
from components.kubernetes.serving import DEFAULT_DENY_POLICY, serving_network_policies
from tests.components.kubernetes.helpers import objects_of_kind, run_with_provider, selector_matches

PSA = "pod-security.kubernetes.io/"
BASE: ModelServingNamespaceArgs = {"namespace": "fraud", "team_group": "fraud-team"}


def build(run, **extra):
    return run_with_provider(run, lambda opts: ModelServingNamespace("fraud", {**BASE, **extra}, opts=opts))


def only(recorder, kind: str) -> dict:
    (found,) = objects_of_kind(recorder, kind)
    return found


def policies(recorder) -> dict[str, dict]:
    return {policy["metadata"]["name"]: policy for policy in objects_of_kind(recorder, "NetworkPolicy")}


def errors_of(raised: pytest.ExceptionInfo) -> dict[str, str]:
    return {error["property_path"]: error["reason"] for error in raised.value.errors}


def test_the_namespace_enforces_audits_and_warns_restricted_and_is_tiered_serving(run) -> None:
    labels = only(build(run, namespace_labels={"data-classification": "pii"}), "Namespace")["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"{PSA}{mode}"] == "restricted", f"PSA {mode} must be restricted in serving namespaces"
        assert labels[f"{PSA}{mode}-version"], f"PSA {mode} needs a version"
    assert labels[TIER_LABEL] == "serving", "the policy packs and SLO rules find serving namespaces by this label"
    assert labels["data-classification"] == "pii", "GDPR record labels pass through"


def test_the_quota_caps_gpus_cpu_memory_and_pods(run) -> None:
    hard = only(build(run, quota_gpus=2, quota_cpu="8", quota_memory="32Gi"), "ResourceQuota")["spec"]["hard"]
    assert gpu.GPU_QUOTA_KEY == "requests.nvidia.com/gpu"
    assert hard[gpu.GPU_QUOTA_KEY] == "2", "extended resources are quota'd only under the requests. prefix"
    assert hard["requests.cpu"] == "8" and hard["limits.cpu"] == "16", "CPU limits default to twice the requests"
    assert hard["requests.memory"] == "32Gi" and hard["limits.memory"] == "32Gi"
    assert hard["pods"] == "50"


def test_containers_get_default_requests_and_limits(run) -> None:
    (limits,) = only(build(run), "LimitRange")["spec"]["limits"]
    assert limits["type"] == "Container"
    assert limits["defaultRequest"] == {"cpu": "250m", "memory": "512Mi"}
    assert limits["default"] == {"cpu": "1", "memory": "1Gi"}
    assert gpu.GPU_RESOURCE not in limits["default"], "a default GPU limit would give every pod a GPU"


def test_the_namespace_starts_from_a_default_deny_of_all_ingress_and_egress(run) -> None:
    deny = policies(build(run))[DEFAULT_DENY_POLICY]["spec"]
    assert deny["podSelector"] == {}, "it must select every pod"
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny, "no rule means nothing is allowed"


def test_a_serving_namespace_without_its_default_deny_cannot_be_produced(run) -> None:
    fields = ModelServingNamespaceArgs.__annotations__
    assert not [field for field in fields if "deny" in field or "network_polic" in field], "no switch may exist"
    for egress in ([], ["10.0.0.0/16"]):
        for ingress in ([], ["serving-gateway", "istio-ingress"]):
            specs = serving_network_policies(ingress_namespaces=ingress, monitoring_namespace="m", egress_cidrs=egress)
            assert next(iter(specs)) == DEFAULT_DENY_POLICY, "every combination starts from the default deny"
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(lambda: ModelServingNamespace("fraud", {**BASE, "default_deny": False}))
    assert errors_of(raised)["defaultDeny"].startswith("unknown argument"), "an invented switch fails loudly"


def test_allowed_paths_are_dns_the_namespace_itself_the_gateway_proxies_prometheus_and_listed_https(run) -> None:
    found = policies(build(run, egress_cidrs=["10.0.0.0/16"]))
    dns = found["allow-dns"]["spec"]["egress"][0]
    (peer,) = dns["to"]
    assert selector_matches(peer["namespaceSelector"], {"kubernetes.io/metadata.name": "kube-system"}), "DNS"
    assert not selector_matches(peer["namespaceSelector"], {"kubernetes.io/metadata.name": "default"}), (
        "kube-system only"
    )
    assert selector_matches(peer.get("podSelector", {}), {"k8s-app": "kube-dns"}), "its DNS pods"
    assert {(port["protocol"], port["port"]) for port in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    ingress = found["allow-ingress-controllers"]["spec"]["ingress"][0]["from"][0]
    assert ingress["namespaceSelector"]["matchExpressions"][0]["values"] == ["serving-gateway"], (
        "by default the serving gateway's namespace, which ServingGateway creates (never an uninstalled controller)"
    )
    assert ingress["podSelector"] == {"matchLabels": PROXY_POD_LABELS}, "its Envoy proxies only, not the controller"
    scrape = found["allow-prometheus-scrape"]["spec"]["ingress"][0]["from"][0]
    assert scrape["namespaceSelector"]["matchExpressions"][0]["values"] == ["monitoring"]
    assert scrape["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}
    https = found["allow-https-egress"]["spec"]["egress"][0]
    assert https["to"] == [{"ipBlock": {"cidr": "10.0.0.0/16"}}] and https["ports"] == [
        {"protocol": "TCP", "port": 443}
    ]


def test_without_egress_cidrs_there_is_no_egress_rule_that_could_mean_everywhere(run) -> None:
    assert "allow-https-egress" not in policies(build(run)), "an egress rule without `to` allows every destination"


def test_the_team_role_grants_workload_rights_but_no_secrets_exec_rbac_or_wildcards(run) -> None:
    recorder = build(run)
    rules = only(recorder, "Role")["rules"]
    granted = {(group, resource) for rule in rules for group in rule["apiGroups"] for resource in rule["resources"]}
    assert ("apps", "deployments") in granted and ("", "pods") in granted
    for rule in rules:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcards in {field} grant future resources too"
        assert not {"bind", "escalate", "impersonate"} & set(rule["verbs"]), "no RBAC escalation verbs"
    resources = {resource for _, resource in granted}
    assert "secrets" not in resources, "the team must not read Secrets"
    assert not {"pods/exec", "pods/attach", "serviceaccounts/token"} & resources
    assert not any(group == "rbac.authorization.k8s.io" for group, _ in granted), "no roles/rolebindings writes"
    writable = {
        (group, resource)
        for rule in rules
        if set(rule["verbs"]) & {"create", "update", "patch", "delete"}
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    assert ("networking.k8s.io", "networkpolicies") not in writable, "the team cannot open its own namespace"
    assert ("", "resourcequotas") not in writable and ("", "serviceaccounts") not in writable


def test_the_team_group_is_bound_in_this_namespace_only(run) -> None:
    recorder = build(run)
    binding = only(recorder, "RoleBinding")
    assert binding["metadata"]["namespace"] == "fraud"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "serving-team"}
    assert binding["subjects"] == [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "fraud-team"}]
    assert not objects_of_kind(recorder, "ClusterRoleBinding") and not objects_of_kind(recorder, "ClusterRole")


@pytest.mark.parametrize(
    ("kind", "identity", "annotation", "pod_labels"),
    [
        ("aws", "arn:aws:iam::123456789012:role/fraud", "eks.amazonaws.com/role-arn", {}),
        (
            "azure",
            "6f1c0e2a-0000-4000-8000-000000000001",
            "azure.workload.identity/client-id",
            {"azure.workload.identity/use": "true"},
        ),
    ],
)
def test_the_service_account_carries_the_cloud_identity(run, kind, identity, annotation, pod_labels) -> None:
    recorder = build(run, identity_kind=kind, identity_id=pulumi.Output.from_input(identity))
    account = only(recorder, "ServiceAccount")
    assert account["metadata"]["annotations"][annotation] == identity
    assert account["automountServiceAccountToken"] is False, "the projected cloud token is separate"
    assert recorder.one("mlplatform:index:ModelServingNamespace").outputs["podLabels"] == pod_labels


def test_without_an_identity_the_service_account_has_no_cloud_annotation(run) -> None:
    account = only(build(run), "ServiceAccount")
    assert not account["metadata"].get("annotations")


def test_bad_arguments_are_reported_together_with_their_paths(run) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(
            lambda: ModelServingNamespace(
                "x",
                {
                    "namespace": "kube-fraud",
                    "team_group": "",
                    "quota_gpus": -1,
                    "quota_cpu": "8",
                    "quota_cpu_limits": "4",
                    "egress_cidrs": ["10.0.0.1/8"],
                    "identity_kind": "aws",
                    "ingress_namespaces": ["Ingress"],
                    "namespace_labels": {f"{PSA}enforce": "privileged"},
                },
            )
        )
    assert {
        "namespace",
        "teamGroup",
        "quotaGpus",
        "quotaCpuLimits",
        "egressCidrs[0]",
        "identityId",
        "ingressNamespaces[0]",
        f"namespaceLabels.{PSA}enforce",
    } <= set(errors_of(raised))
