"""`ModelServingNamespace`: a locked-down namespace in which one team serves models on GPUs."""

import re
from typing import Any, NotRequired, Required, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components._common import gateway
from components._common.validation import Problems, require_args_mapping
from components.kubernetes._checks import check_choice, check_object_name
from components.kubernetes._team_namespace import (
    DEFAULT_DENY_POLICY,
    TeamNamespaceDefaults,
    base_network_policies,
    check_cidrs,
    check_team_namespace,
    cidr_egress_policy,
    create_team_namespace,
    namespace_peer,
)
from components.kubernetes.secrets_store import (
    PROVIDERS,
    SECRET_PROVIDER_CLASS_NAME,
    SPC_API_VERSION,
    SYNCED_SECRET_NAME,
    check_secret_names,
    secret_provider_class_spec,
)

DEFAULT_SERVICE_ACCOUNT_NAME = "model-server"
DEFAULT_INGRESS_NAMESPACES: list[str] = [gateway.GATEWAY_NAMESPACE]
DEFAULT_MONITORING_NAMESPACE = "monitoring"
DEFAULT_EGRESS_CIDRS: list[str] = []
DEFAULT_QUOTA_GPUS = 1
DEFAULT_QUOTA_CPU = "16"
DEFAULT_QUOTA_MEMORY = "64Gi"
DEFAULT_QUOTA_PODS = 50
MAX_QUOTA_PODS = 10000
DEFAULT_CONTAINER_CPU_REQUEST = "250m"
DEFAULT_CONTAINER_MEMORY_REQUEST = "512Mi"
DEFAULT_CONTAINER_CPU_LIMIT = "1"
DEFAULT_CONTAINER_MEMORY_LIMIT = "1Gi"
DEFAULTS = TeamNamespaceDefaults(
    service_account=DEFAULT_SERVICE_ACCOUNT_NAME,
    monitoring_namespace=DEFAULT_MONITORING_NAMESPACE,
    quota_gpus=DEFAULT_QUOTA_GPUS,
    quota_cpu=DEFAULT_QUOTA_CPU,
    quota_memory=DEFAULT_QUOTA_MEMORY,
    quota_pods=DEFAULT_QUOTA_PODS,
    max_pods=MAX_QUOTA_PODS,
    container_cpu_request=DEFAULT_CONTAINER_CPU_REQUEST,
    container_memory_request=DEFAULT_CONTAINER_MEMORY_REQUEST,
    container_cpu_limit=DEFAULT_CONTAINER_CPU_LIMIT,
    container_memory_limit=DEFAULT_CONTAINER_MEMORY_LIMIT,
)

SERVING_TIER = "serving"

TEAM_ROLE_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": [""],
        "resources": ["pods", "services", "configmaps", "persistentvolumeclaims"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {
        "apiGroups": [""],
        "resources": [
            "pods/log",
            "pods/status",
            "endpoints",
            "events",
            "serviceaccounts",
            "resourcequotas",
            "limitranges",
        ],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": [""], "resources": ["pods/portforward"], "verbs": ["create"]},
    {
        "apiGroups": ["apps"],
        "resources": ["deployments", "statefulsets", "replicasets", "deployments/scale", "statefulsets/scale"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {
        "apiGroups": ["autoscaling"],
        "resources": ["horizontalpodautoscalers"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    # ModelDeployment's autoscaling. Not TriggerAuthentications: through them KEDA's operator would read the
    # namespace's Secrets on the team's behalf.
    {
        "apiGroups": ["keda.sh"],
        "resources": ["scaledobjects"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {
        "apiGroups": ["batch"],
        "resources": ["jobs", "cronjobs"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {
        "apiGroups": ["policy"],
        "resources": ["poddisruptionbudgets"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["ingresses"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    # Visible, not writable: the team cannot weaken the namespace's isolation.
    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["get", "list", "watch"]},
    # Which secrets the namespace may mount is the platform's: a SecretProviderClass picks the identity that fetches.
    {
        "apiGroups": ["secrets-store.csi.x-k8s.io"],
        "resources": ["secretproviderclasses", "secretproviderclasspodstatuses"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["monitoring.coreos.com"],
        "resources": ["servicemonitors", "podmonitors", "prometheusrules"],
        "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
    },
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["get", "list", "watch"]},
]
"""What the team may do in its namespace: run and observe workloads. Deliberately absent: Secrets (no read;
secrets reach pods through the platform), pods/exec and pods/attach, ServiceAccount writes and tokens, every
RBAC resource and the bind/escalate/impersonate verbs, NetworkPolicy / ResourceQuota / LimitRange writes,
and wildcards."""


class ServingSecretStoreArgs(TypedDict):
    """Where a serving namespace's secrets live and which ones its pods may mount (a SecretProviderClass)."""

    provider: str
    """`aws` (Secrets Manager, through the namespace's IRSA role) or `azure` (Key Vault, through its workload
    identity); must match `identity_kind`. Required."""

    secrets: list[str]
    """Names of the secrets pods may mount (letters, digits, inner hyphens; each becomes file and Secret key
    `<name>`). On AWS each is the Secrets Manager entry `<namePrefix>/<name>`; on Azure the vault entry `<name>`.
    Required."""

    name_prefix: NotRequired[str]
    """Secrets Manager name prefix of this namespace's secrets, e.g. `<stack-prefix>/<namespace>` (aws): the same
    prefix the namespace's IAM role may read (`AwsServingIdentity.secretNamePrefix`). Defaults to the namespace."""

    aws_region: NotRequired[pulumi.Input[str]]
    """Region of the secrets (aws). Defaults to the provider reading the node's region."""

    key_vault_name: NotRequired[pulumi.Input[str]]
    """The namespace's own Key Vault (azure), on which its identity holds Key Vault Secrets User. Required for
    azure."""

    tenant_id: NotRequired[pulumi.Input[str]]
    """Entra tenant of the vault (azure). Required for azure."""

    sync_to_kubernetes: NotRequired[bool]
    """Also sync the secrets into the Kubernetes Secret `app-secrets` (one key per name), so `ModelDeployment`
    can pass them as env vars (`secrets[].env`). The trade-off: the values then also live in etcd (encrypted with
    the cluster's KMS key) and need the driver's sync (`SecretsStoreCsi.syncSecrets` on EKS; the AKS
    add-on syncs by default). Defaults to false (files only)."""


class ModelServingNamespaceArgs(TypedDict, total=False):
    """Arguments of `ModelServingNamespace`."""

    namespace: Required[str]
    """Name of the namespace to create (DNS-1123 label, not a Kubernetes system namespace). Required."""

    team_group: Required[str]
    """Identity-provider group bound to the team role (Kubernetes RBAC group; on AKS with Entra ID the group's
    object ID, on EKS the group of the access entry). Required."""

    quota_gpus: int
    """GPUs the namespace may request in total (`requests.nvidia.com/gpu`). Defaults to 1."""

    quota_cpu: str
    """Total CPU requests (Kubernetes quantity). Defaults to 16."""

    quota_cpu_limits: str
    """Total CPU limits (Kubernetes quantity), at least `quota_cpu`. Defaults to twice `quota_cpu`."""

    quota_memory: str
    """Total memory requests (Kubernetes quantity). Defaults to 64Gi."""

    quota_memory_limits: str
    """Total memory limits (Kubernetes quantity), at least `quota_memory`. Defaults to `quota_memory`."""

    quota_pods: int
    """Most pods. Defaults to 50."""

    container_cpu_request: str
    """CPU request given to containers that set none (LimitRange). Defaults to 250m."""

    container_memory_request: str
    """Memory request given to containers that set none (LimitRange). Defaults to 512Mi."""

    container_cpu_limit: str
    """CPU limit given to containers that set none (LimitRange). Defaults to 1."""

    container_memory_limit: str
    """Memory limit given to containers that set none (LimitRange). Defaults to 1Gi."""

    ingress_namespaces: list[str]
    """Namespaces whose Envoy proxies (pods labelled as `ServingGateway`'s proxies are) may open connections to
    serving pods: the serving gateway's. Defaults to ["serving-gateway"]."""

    monitoring_namespace: str
    """Namespace whose Prometheus pods may scrape serving pods. Defaults to monitoring."""

    egress_cidrs: list[str]
    """CIDRs serving pods may reach on TCP 443: model storage, registry and identity endpoints. Cloud
    endpoints have no fixed addresses: use private endpoints / VPC interface endpoints (then the VPC or VNet
    CIDR) or the provider's published ranges. IRSA needs STS (sts.<region>.amazonaws.com), Entra workload
    identity needs login.microsoftonline.com. Image pulls are done by the node, not the pod, and need no rule.
    Defaults to none (DNS only)."""

    identity_kind: str
    """Cloud identity of the serving ServiceAccount: `aws` (IRSA role ARN annotation), `azure` (Entra workload
    identity client ID annotation; pods must carry `pod_labels`) or `none`. Defaults to none."""

    identity_id: pulumi.Input[str]
    """The IAM role ARN (`aws`) or managed identity client ID (`azure`) the cloud layer created. Required unless
    `identity_kind` is none."""

    service_account_name: str
    """Name of the ServiceAccount serving pods run as. Defaults to model-server."""

    secret_store: ServingSecretStoreArgs
    """Create the namespace's SecretProviderClass (`app-secrets`), bound to its cloud identity, listing the secrets
    its pods may mount through the Secrets Store CSI driver (`SecretsStoreCsi`). Defaults to none (no secrets)."""

    namespace_labels: dict[str, str]
    """Extra namespace labels, e.g. the GDPR record-of-processing labels (`data-classification`, `data-owner`,
    `processing-activity`, `retention`); cannot override the tier or Pod Security labels. Defaults to none."""


class ModelServingNamespace(pulumi.ComponentResource):
    """A namespace in which one team serves models on GPUs, isolated by default.

    Creates:
    - the Namespace, Pod Security `restricted` (enforce, audit and warn) and tier `serving`;
    - a ResourceQuota on GPUs (`requests.nvidia.com/gpu`), CPU and memory requests and limits, and pods;
    - a LimitRange giving containers default requests and limits;
    - NetworkPolicies: default deny of all ingress and egress (always; there is no switch), then DNS to
      kube-system, traffic within the namespace, ingress from the serving gateway's Envoy proxies, scraping by
      Prometheus, and HTTPS egress to `egress_cidrs`;
    - the ServiceAccount serving pods run as, annotated for IRSA or Entra workload identity, with no
      automounted API token;
    - a Role and RoleBinding giving `team_group` workload rights in this namespace only;
    - with `secret_store`, the SecretProviderClass `app-secrets` bound to the namespace's identity (IRSA role or
      workload identity), listing the secrets pods may mount, optionally synced into the Secret `app-secrets`.

    Security defaults: no Secret access (secrets reach pods only through the CSI driver, under the namespace's
    identity, which can read only the namespace's own secrets; the team cannot write SecretProviderClasses), no
    exec, no RBAC or NetworkPolicy writes and no wildcards for the
    team; nothing reachable or reaching out unless listed.
    """

    namespace: pulumi.Output[str]
    """The namespace name."""

    service_account_name: pulumi.Output[str]
    """The ServiceAccount serving pods must use (`ModelDeployment` does)."""

    pod_labels: pulumi.Output[dict[str, str]]
    """Labels serving pods must carry for the cloud identity to work (`azure.workload.identity/use` on Azure)."""

    default_deny_policy_name: pulumi.Output[str]
    """Name of the default-deny NetworkPolicy."""

    network_policy_names: pulumi.Output[list[str]]
    """Every NetworkPolicy in the namespace."""

    role_name: pulumi.Output[str]
    """The team's Role."""

    secret_provider_class_name: pulumi.Output[str]
    """The SecretProviderClass pods mount (`ModelDeployment.secrets`); empty without `secretStore`."""

    synced_secret_name: pulumi.Output[str]
    """The Kubernetes Secret the driver syncs the secrets into; empty unless `secretStore.syncToKubernetes`."""

    def __init__(self, name: str, args: ModelServingNamespaceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        ingress_namespaces = args.get("ingress_namespaces", DEFAULT_INGRESS_NAMESPACES)
        egress_cidrs = args.get("egress_cidrs", DEFAULT_EGRESS_CIDRS)

        problems = Problems()
        settings = check_team_namespace(problems, args, ModelServingNamespaceArgs, DEFAULTS)
        if not isinstance(ingress_namespaces, list):
            problems.add("ingressNamespaces", "must be a list of namespace names")
        else:
            for index, ingress in enumerate(ingress_namespaces):
                check_object_name(problems, f"ingressNamespaces[{index}]", ingress)
        check_cidrs(problems, "egressCidrs", egress_cidrs)
        secret_store = args.get("secret_store")
        secret_names = (
            _check_secret_store(problems, secret_store, settings.identity_kind) if secret_store is not None else []
        )
        problems.raise_if_any(f"ModelServingNamespace '{name}'")

        super().__init__("mlplatform:index:ModelServingNamespace", name, {"tier": SERVING_TIER}, opts)

        policies = serving_network_policies(
            ingress_namespaces=list(ingress_namespaces),
            monitoring_namespace=settings.monitoring_namespace,
            egress_cidrs=list(egress_cidrs),
        )
        made = create_team_namespace(
            self,
            name,
            settings,
            tier=SERVING_TIER,
            quota_name="serving-quota",
            policies=policies,
            role_name="serving-team",
            rules=TEAM_ROLE_RULES,
        )
        child = pulumi.ResourceOptions(parent=self)
        ns_name, namespace, identity_id = made.namespace, settings.namespace, settings.identity_id

        self.secret_provider_class_name = pulumi.Output.from_input("")
        self.synced_secret_name = pulumi.Output.from_input("")
        if secret_store is not None:
            sync = bool(secret_store.get("sync_to_kubernetes", False))
            spc = k8s.apiextensions.CustomResource(
                f"{name}-secret-provider-class",
                api_version=SPC_API_VERSION,
                kind="SecretProviderClass",
                metadata={"name": SECRET_PROVIDER_CLASS_NAME, "namespace": ns_name},
                spec=secret_provider_class_spec(
                    provider=secret_store["provider"],
                    secrets=secret_names,
                    sync=sync,
                    aws_region=secret_store.get("aws_region"),
                    name_prefix=secret_store.get("name_prefix", namespace),
                    client_id=identity_id,
                    key_vault_name=secret_store.get("key_vault_name"),
                    tenant_id=secret_store.get("tenant_id"),
                ),
                opts=child,
            )
            # The name is ours; through the URN the output waits for the object (custom resources' metadata is untyped).
            self.secret_provider_class_name = spc.urn.apply(lambda _: SECRET_PROVIDER_CLASS_NAME)
            if sync:
                self.synced_secret_name = spc.urn.apply(lambda _: SYNCED_SECRET_NAME)

        self.namespace = ns_name
        self.service_account_name = made.service_account.metadata.name
        self.pod_labels = pulumi.Output.from_input(made.pod_labels)
        self.default_deny_policy_name = pulumi.Output.from_input(DEFAULT_DENY_POLICY)
        self.network_policy_names = pulumi.Output.from_input(list(policies))
        self.role_name = made.role.metadata.name
        self.register_outputs(
            {
                "namespace": self.namespace,
                "serviceAccountName": self.service_account_name,
                "podLabels": self.pod_labels,
                "defaultDenyPolicyName": self.default_deny_policy_name,
                "networkPolicyNames": self.network_policy_names,
                "roleName": self.role_name,
                "secretProviderClassName": self.secret_provider_class_name,
                "syncedSecretName": self.synced_secret_name,
            }
        )


_SECRET_STORE_KEYS = frozenset(ServingSecretStoreArgs.__annotations__)


def _check_secret_store(problems: Problems, store: object, identity_kind: object) -> list[str]:
    """Record every problem of `secret_store` under `secretStore.<field>`; return its valid secret names."""
    if not isinstance(store, dict):
        problems.add("secretStore", "must be a map (provider, secrets, ...)")
        return []
    for key in store:
        if key not in _SECRET_STORE_KEYS:
            problems.add(f"secretStore.{key}", f"unknown argument; known: {', '.join(sorted(_SECRET_STORE_KEYS))}")
    provider = store.get("provider")
    check_choice(problems, "secretStore.provider", provider, PROVIDERS)
    if provider in PROVIDERS and identity_kind != provider:
        problems.add(
            "secretStore.provider",
            f"{provider} secrets are read with the namespace's {provider} identity: set identityKind {provider} "
            "(and identityId)",
        )
    names = check_secret_names(problems, "secretStore.secrets", store.get("secrets"))
    if provider == "azure":
        for key, path in (("key_vault_name", "keyVaultName"), ("tenant_id", "tenantId")):
            if store.get(key) is None:
                problems.add(f"secretStore.{path}", "required for azure: the namespace's vault and its tenant")
    for key, path in (("name_prefix", "namePrefix"), ("aws_region", "awsRegion")):
        if provider == "azure" and key in store:
            problems.add(f"secretStore.{path}", "aws only")
    if provider == "aws":
        for key, path in (("key_vault_name", "keyVaultName"), ("tenant_id", "tenantId")):
            if key in store:
                problems.add(f"secretStore.{path}", "azure only")
        prefix = store.get("name_prefix")
        if prefix is not None and (
            not isinstance(prefix, str) or not re.fullmatch(r"[A-Za-z0-9_+=.@-]+(/[A-Za-z0-9_+=.@-]+)*", prefix)
        ):
            problems.add(
                "secretStore.namePrefix", f"{prefix!r} must be a Secrets Manager name prefix without '/' at the ends"
            )
    sync = store.get("sync_to_kubernetes", False)
    if not isinstance(sync, bool):
        problems.add("secretStore.syncToKubernetes", "must be true or false")
    return names


def serving_network_policies(
    *, ingress_namespaces: list[str], monitoring_namespace: str, egress_cidrs: list[str]
) -> dict[str, dict[str, Any]]:
    """The NetworkPolicy specs of a serving namespace, by name; the default deny is always the first.

    There is deliberately no parameter that removes the default deny: every other policy only adds allowed
    paths on top of it.
    """

    # Pods of one serving namespace usually form one application (router, model, transformer): they talk freely.
    policies = base_network_policies(monitoring_namespace=monitoring_namespace)
    if ingress_namespaces:
        # The proxies only: the gateway controller (and anything else in those namespaces) never reaches a model.
        policies["allow-ingress-controllers"] = {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            **namespace_peer(*ingress_namespaces),
                            "podSelector": {"matchLabels": dict(gateway.PROXY_POD_LABELS)},
                        }
                    ]
                }
            ],
        }
    # An egress rule with an empty `to` would allow every destination: only created when CIDRs are given.
    if egress_cidrs:
        policies["allow-https-egress"] = cidr_egress_policy(egress_cidrs, 443)
    return policies
