"""`ExperimentTracking`: the MLflow tracking server and model registry on a managed PostgreSQL, behind MLflow's
basic-auth app, reachable only inside the cluster."""

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components._common import gateway, gpu, pools
from components._common.tags import TIER_LABEL
from components._common.validation import Problems, require_args_mapping
from components.kubernetes import _charts, _platform_policies
from components.kubernetes._checks import (
    camel,
    check_bool,
    check_choice,
    check_int,
    check_known_arguments,
    check_object_name,
    check_quantity,
    check_string_map,
)
from components.kubernetes._namespaces import check_extra_labels, check_namespace_name, create_namespace
from components.kubernetes._platform_policies import create_network_policies
from components.kubernetes._team_namespace import (
    DEFAULT_DENY_POLICY,
    PROMETHEUS_POD_LABELS,
    check_cidrs,
    cidr_egress_policy,
    namespace_peer,
    workload_service_account,
)
from components.kubernetes._values import RESTRICTED_CONTAINER_SECURITY_CONTEXT
from components.kubernetes.training.namespace import TRACKING_CREDENTIALS_SECRET, TRAINING_TIER

TRACKING_TIER = "tracking"
"""Tier label of the tracking namespace (`mlplatform.io/tier: tracking`)."""
DEFAULT_NAMESPACE = "mlflow"
SERVICE_NAME = "mlflow"
SERVICE_ACCOUNT_NAME = gpu.TRACKING_SERVICE_ACCOUNT
"""The server's ServiceAccount, the subject its cloud identity trusts (`system:serviceaccount:<ns>:mlflow`)."""
MIGRATION_SERVICE_ACCOUNT_NAME = "mlflow-migrate"
"""The migration Job's ServiceAccount: no cloud identity, no API token."""
PORT = 5000
DEFAULT_DATABASE_PORT = 5432
DEFAULT_DATABASE_NAME = "mlflow"
DEFAULT_AUTH_DATABASE_NAME = "mlflow_auth"
DEFAULT_ADMIN_USERNAME = "admin"
PERMISSIONS: tuple[str, ...] = ("NO_PERMISSIONS", "READ", "EDIT", "MANAGE")
"""MLflow's basic-auth permissions (mlflow/server/auth/permissions.py)."""
DEFAULT_PERMISSION = "NO_PERMISSIONS"
DEFAULT_IDENTITY_KIND = "aws"
IDENTITY_KINDS: tuple[str, ...] = ("aws", "azure")
DEFAULT_REPLICAS = 2
DEFAULT_WORKERS = 4
MAX_WORKERS = 32
DEFAULT_CPU_REQUEST = "500m"
DEFAULT_MEMORY_REQUEST = "1Gi"
DEFAULT_CPU_LIMIT = "2"
DEFAULT_MEMORY_LIMIT = "2Gi"
DEFAULT_MONITORING_NAMESPACE = "monitoring"
DEFAULT_STORAGE_EGRESS_CIDRS: list[str] = ["0.0.0.0/0"]
DEFAULT_NODE_SELECTOR: dict[str, str] = pools.platform_pool_labels()
DEFAULT_METRICS = False
HTTPS_PORT = 443
TMP_SIZE = "1Gi"
"""Size of the writable /tmp (uploads are streamed through it on their way to object storage)."""
METRICS_DIR = "/var/run/mlflow-metrics"
"""Where the Prometheus exporter keeps its multi-process metric files (`--expose-prometheus <dir>`)."""
AUTH_CONFIG_DIR = "/etc/mlflow"
AUTH_CONFIG_FILE = "basic_auth.ini"
AUTH_CONFIG_PATH = f"{AUTH_CONFIG_DIR}/{AUTH_CONFIG_FILE}"
SERVER_SECRET_NAME = "mlflow-server"
"""Secret holding the backend-store URI, the auth database URI and the basic-auth config (passwords inside)."""
CREDENTIALS_SECRET_NAME = "mlflow-admin"
"""Secret holding the admin user's credentials as MLflow's client environment variables."""
BACKEND_STORE_URI_KEY = "MLFLOW_BACKEND_STORE_URI"
AUTH_DATABASE_URI_KEY = "MLFLOW_AUTH_DATABASE_URI"
USERNAME_KEY = "MLFLOW_TRACKING_USERNAME"
PASSWORD_KEY = "MLFLOW_TRACKING_PASSWORD"
SERVER_POD_LABELS: dict[str, str] = {"app.kubernetes.io/name": "mlflow", "app.kubernetes.io/component": "tracking"}
MIGRATION_POD_LABELS: dict[str, str] = {"app.kubernetes.io/name": "mlflow", "app.kubernetes.io/component": "migration"}
CLIENT_EGRESS_POLICY = "allow-mlflow-egress"
USERS_POD_LABELS: dict[str, str] = {"app.kubernetes.io/name": "mlflow", "app.kubernetes.io/component": "users"}
TEAM_CREDENTIALS_SECRET = TRACKING_CREDENTIALS_SECRET
"""The Secret in each team namespace with the team's MLflow address and credentials (`envFrom` it)."""
TEAM_USERS_SECRET = "mlflow-team-users"
"""The Secret (tracking namespace) with every team user's password, which the users Job applies."""
TRACKING_URI_KEY = "MLFLOW_TRACKING_URI"


def team_username(namespace: str) -> str:
    """The MLflow user of a team namespace."""
    return f"team-{namespace}"


APPLY_TEAM_USERS = """\
import base64
import json
import os
import time
import urllib.error
import urllib.request

base = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")
admin = os.environ["MLFLOW_TRACKING_USERNAME"] + ":" + os.environ["MLFLOW_TRACKING_PASSWORD"]
headers = {"Authorization": "Basic " + base64.b64encode(admin.encode()).decode(), "Content-Type": "application/json"}


def call(method, path, body):
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


for attempt in range(60):
    try:
        urllib.request.urlopen(base + "/health", timeout=5)
        break
    except (urllib.error.URLError, OSError):
        time.sleep(5)
with open(os.environ.get("USERS_FILE", "/users/users.json")) as handle:
    users = json.load(handle)
for username, password in sorted(users.items()):
    try:
        call("POST", "/api/2.0/mlflow/users/create", {"username": username, "password": password})
        print("created", username)
    except urllib.error.HTTPError as error:
        if error.code not in (400, 409):
            raise
        call("PATCH", "/api/2.0/mlflow/users/update-password", {"username": username, "password": password})
        print("updated", username)
"""
"""Creates each team's MLflow user through the basic-auth REST API (`POST /api/2.0/mlflow/users/create`, an
existing user answers RESOURCE_ALREADY_EXISTS and gets `PATCH /api/2.0/mlflow/users/update-password`), as the
admin, once the server answers `/health`. Standard library only."""
"""Name of the egress NetworkPolicy created in each client namespace."""
ARTIFACT_SCHEMES: dict[str, str] = {"aws": "s3://", "azure": "wasbs://"}
"""The artifact URI scheme each cloud identity can write (S3 through IRSA; Blob through Entra workload identity)."""
SERVER_RESOURCES_DEFAULTS = {
    "cpu_request": DEFAULT_CPU_REQUEST,
    "memory_request": DEFAULT_MEMORY_REQUEST,
    "cpu_limit": DEFAULT_CPU_LIMIT,
    "memory_limit": DEFAULT_MEMORY_LIMIT,
}
MIGRATION_RESOURCES: dict[str, dict[str, str]] = {
    "requests": {"cpu": "100m", "memory": "512Mi"},
    "limits": {"cpu": "1", "memory": "1Gi"},
}

CREATE_AUTH_DATABASE = """\
import os

import psycopg2
from psycopg2 import errors, sql

name = os.environ["MLFLOW_AUTH_DATABASE"]
connection = psycopg2.connect(os.environ["MLFLOW_BACKEND_STORE_URI"].replace("postgresql+psycopg2://", "postgresql://", 1))
connection.autocommit = True  # CREATE DATABASE cannot run inside a transaction
with connection.cursor() as cursor:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
    if cursor.fetchone() is None:
        try:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except errors.DuplicateDatabase:
            pass
connection.close()
"""
"""Creates the basic-auth database next to the tracking database (RDS and flexible server create only one). The
master user may: RDS gives it CREATEDB (rds_superuser), flexible server's administrator is in azure_pg_admin."""

MIGRATE_AUTH_DATABASE = """\
import os

import sqlalchemy
from mlflow.server.auth.db import utils

engine = sqlalchemy.create_engine(os.environ["MLFLOW_AUTH_DATABASE_URI"])
utils.migrate(engine, "head")
engine.dispose()
"""
"""Upgrades the basic-auth schema to the image's head (what `mlflow.server.auth.db.cli upgrade` does)."""


class ExperimentTrackingArgs(TypedDict, total=False):
    """Arguments of `ExperimentTracking`."""

    database_host: Required[pulumi.Input[str]]
    """Host name of the PostgreSQL server (`AwsPostgres.endpoint`, `AzurePostgres.fqdn`). Required."""

    database_username: Required[pulumi.Input[str]]
    """PostgreSQL user MLflow connects as (the server's master / administrator login). Required."""

    database_password: Required[pulumi.Input[str]]
    """Its password, as a Pulumi secret (e.g. `config.require_secret`); it only ever lands in a Kubernetes Secret.
    Required."""

    database_egress_cidrs: Required[list[str]]
    """CIDRs of the database (its private subnets, or the private endpoint's subnet) the server and migration pods
    may reach on `databasePort`. Required, at least one."""

    artifacts_destination: Required[pulumi.Input[str]]
    """Where the server stores artifacts it proxies (`--artifacts-destination`), under a prefix of its own:
    `s3://<artifacts-bucket>/mlflow` (AWS, `AwsTrackingIdentity.artifactsDestination`) or
    `wasbs://<container>@<account>.blob.core.windows.net/mlflow` (Azure: MLflow's Blob repository then signs in
    with `DefaultAzureCredential`, i.e. the workload identity the webhook injects, as no connection string or key
    is set; proxied multipart uploads stay off, MLflow's Blob implementation of them needs an account key).
    Required."""

    identity_kind: str
    """Cloud identity of the server's ServiceAccount, which writes the artifacts: `aws` (IRSA role ARN annotation,
    `AwsTrackingIdentity`) or `azure` (Entra workload identity client ID annotation and pod label,
    `AzureWorkloadIdentity` with a `blobWriters` prefix). Defaults to aws."""

    identity_id: Required[pulumi.Input[str]]
    """The IAM role ARN (`aws`) or the managed identity's client ID (`azure`). Required."""

    namespace: str
    """Namespace to create for the server (Pod Security `restricted`, tier `tracking`). Defaults to mlflow."""

    database_port: int
    """PostgreSQL port. Defaults to 5432."""

    database_name: str
    """Database of the tracking store and model registry (created with the server). Defaults to mlflow."""

    auth_database_name: str
    """Database of the basic-auth users and permissions, on the same server; created by the migration Job if
    missing (MLflow's and the auth app's Alembic histories share a version table name, so they cannot share a
    database). Defaults to mlflow_auth."""

    admin_username: str
    """MLflow admin user, created at first start with a generated password. Defaults to admin."""

    default_permission: str
    """Permission every authenticated user has on experiments and models nobody granted them: NO_PERMISSIONS,
    READ, EDIT or MANAGE. Defaults to NO_PERMISSIONS (runs may hold health or personal data: access is granted per
    experiment and model, never implied)."""

    replicas: int
    """Server replicas (stateless; spread over nodes, a PodDisruptionBudget keeps one up). Defaults to 2."""

    workers: int
    """Server worker processes per replica (`--workers`, 1-32). Defaults to 4."""

    cpu_request: str
    """CPU request of the server container. Defaults to 500m."""

    memory_request: str
    """Memory request of the server container. Defaults to 1Gi."""

    cpu_limit: str
    """CPU limit of the server container. Defaults to 2."""

    memory_limit: str
    """Memory limit of the server container. Defaults to 2Gi."""

    storage_egress_cidrs: list[str]
    """CIDRs the server may reach on TCP 443: object storage and the identity endpoints (STS for IRSA,
    login.microsoftonline.com for Entra workload identity). Give the VPC/VNet CIDR with VPC or private endpoints.
    Defaults to ["0.0.0.0/0"] (any address, port 443 only)."""

    client_namespaces: list[pulumi.Input[str]]
    """Training namespaces (`TrainingNamespace.namespace`) to give an egress NetworkPolicy to the server: their
    default deny otherwise stops runs from logging. The server admits every namespace of tier `training`.
    Defaults to none."""

    team_users: dict[str, pulumi.Input[str]]
    """Team namespace -> that namespace's name as an output (`TrainingNamespace.namespace`): each team gets its own
    MLflow user `team-<namespace>` with a generated password, created (or its password reset) by a Job through the
    server's auth API, and a Secret `mlflow-credentials` in its namespace with `MLFLOW_TRACKING_URI`,
    `MLFLOW_TRACKING_USERNAME` and `MLFLOW_TRACKING_PASSWORD`, which its jobs reference (`envFrom`); the team
    role cannot read Secrets, so only its pods see it. Each namespace also gets the egress policy of
    `client_namespaces`. Defaults to none."""

    gateway_namespace: str
    """Namespace of the serving gateway's Envoy proxies, admitted to the server (to route the UI through the
    ingress layer, with an HTTPRoute there). Defaults to none (no ingress from the gateway)."""

    allowed_hosts: list[str]
    """Further Host headers the server accepts besides its cluster DNS names (`--allowed-hosts`), e.g. the
    gateway's hostname for the UI. Defaults to none."""

    monitoring_namespace: str
    """Namespace of the Prometheus allowed to scrape the server when `metrics` is on. Defaults to monitoring."""

    metrics: bool
    """Expose Prometheus metrics on /metrics (`--expose-prometheus`), admit Prometheus and create a ServiceMonitor
    (needs the Prometheus operator CRDs). Basic auth also guards /metrics (only /health and static files are
    open), so the ServiceMonitor authenticates with `metricsCredentialsSecret`. Defaults to false."""

    metrics_credentials_secret: str
    """Secret in the tracking namespace with `username` and `password` of an MLflow user Prometheus scrapes as
    (any authenticated user may read /metrics; create it with the admin credentials). Required with `metrics`."""

    node_selector: dict[str, str]
    """Node labels the pods select: the platform pool's, or `{}` on a cluster without one. Defaults to
    {"mlplatform.io/pool-role": "platform"}."""

    namespace_labels: dict[str, str]
    """Extra namespace labels (e.g. GDPR record-of-processing labels); cannot override the tier or Pod Security
    labels. Defaults to none."""


def _check(args: Mapping[str, Any]) -> Problems:
    problems = Problems()
    check_known_arguments(problems, args, ExperimentTrackingArgs)
    for key, path in (
        ("database_host", "databaseHost"),
        ("database_username", "databaseUsername"),
        ("database_password", "databasePassword"),
        ("artifacts_destination", "artifactsDestination"),
        ("identity_id", "identityId"),
    ):
        if args.get(key) is None:
            problems.add(path, "required")
    database_cidrs = args.get("database_egress_cidrs")
    check_cidrs(problems, "databaseEgressCidrs", database_cidrs)
    if isinstance(database_cidrs, list) and not database_cidrs:
        problems.add(
            "databaseEgressCidrs", "required: at least one CIDR of the database, or the server cannot reach it"
        )
    check_cidrs(problems, "storageEgressCidrs", args.get("storage_egress_cidrs", DEFAULT_STORAGE_EGRESS_CIDRS))
    kind = args.get("identity_kind", DEFAULT_IDENTITY_KIND)
    check_choice(problems, "identityKind", kind, IDENTITY_KINDS)
    destination = args.get("artifacts_destination")
    if isinstance(destination, str) and kind in ARTIFACT_SCHEMES:
        scheme = ARTIFACT_SCHEMES[kind]
        rest = destination[len(scheme) :] if destination.startswith(scheme) else ""
        if "/" not in rest.rstrip("/") or "*" in rest:
            problems.add(
                "artifactsDestination",
                f"'{destination}' must be {scheme}<{'bucket' if kind == 'aws' else 'container@account.blob.core.windows.net'}>"
                "/<prefix> for identityKind "
                f"{kind}: a prefix of its own in the artifacts store, which the server's identity may write",
            )
    check_namespace_name(problems, "namespace", args.get("namespace", DEFAULT_NAMESPACE))
    check_int(problems, "databasePort", args.get("database_port", DEFAULT_DATABASE_PORT), minimum=1, maximum=65535)
    for key, path, default in (
        ("database_name", "databaseName", DEFAULT_DATABASE_NAME),
        ("auth_database_name", "authDatabaseName", DEFAULT_AUTH_DATABASE_NAME),
    ):
        value = args.get(key, default)
        if not (isinstance(value, str) and value.replace("_", "a").isalnum() and value[:1].isalpha()):
            problems.add(path, f"'{value}' is not a database name: a letter, then letters, digits, _")
    if args.get("auth_database_name", DEFAULT_AUTH_DATABASE_NAME) == args.get("database_name", DEFAULT_DATABASE_NAME):
        problems.add("authDatabaseName", "must differ from databaseName: both stores keep an alembic_version table")
    admin = args.get("admin_username", DEFAULT_ADMIN_USERNAME)
    if not (isinstance(admin, str) and admin and admin.replace("-", "").replace("_", "").isalnum()):
        problems.add("adminUsername", f"'{admin}' must be letters, digits, '-' or '_'")
    check_choice(problems, "defaultPermission", args.get("default_permission", DEFAULT_PERMISSION), PERMISSIONS)
    check_int(problems, "replicas", args.get("replicas", DEFAULT_REPLICAS), minimum=1, maximum=10)
    check_int(problems, "workers", args.get("workers", DEFAULT_WORKERS), minimum=1, maximum=MAX_WORKERS)
    quantities = {
        key: check_quantity(problems, camel(key), args.get(key, default))
        for key, default in SERVER_RESOURCES_DEFAULTS.items()
    }
    for kind_of in ("cpu", "memory"):
        request, limit = quantities[f"{kind_of}_request"], quantities[f"{kind_of}_limit"]
        if request is not None and limit is not None and limit < request:
            problems.add(f"{kind_of}Limit", f"must be at least {kind_of}Request")
    gateway_namespace = args.get("gateway_namespace")
    if gateway_namespace is not None:
        check_namespace_name(problems, "gatewayNamespace", gateway_namespace)
    check_namespace_name(
        problems, "monitoringNamespace", args.get("monitoring_namespace", DEFAULT_MONITORING_NAMESPACE)
    )
    hosts = args.get("allowed_hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h and "," not in h for h in hosts):
        problems.add("allowedHosts", "must be a list of host names (no commas)")
    clients = args.get("client_namespaces", [])
    if not isinstance(clients, list):
        problems.add("clientNamespaces", "must be a list of namespace names")
    else:
        for index, client in enumerate(clients):
            if isinstance(client, str):
                check_namespace_name(problems, f"clientNamespaces[{index}]", client)
    teams = args.get("team_users", {})
    if not isinstance(teams, dict):
        problems.add("teamUsers", "must map each team namespace to its name output")
    else:
        for team in teams:
            check_namespace_name(problems, f"teamUsers.{team}", team)
    metrics = args.get("metrics", DEFAULT_METRICS)
    check_bool(problems, "metrics", metrics)
    secret = args.get("metrics_credentials_secret")
    if metrics is True and secret is None:
        problems.add("metricsCredentialsSecret", "required with metrics: basic auth guards /metrics as well")
    if secret is not None:
        check_object_name(problems, "metricsCredentialsSecret", secret)
    check_string_map(problems, "nodeSelector", args.get("node_selector", DEFAULT_NODE_SELECTOR))
    check_extra_labels(problems, "namespaceLabels", args.get("namespace_labels", {}))
    return problems


def postgres_uri(username: str, password: str, host: str, port: int, database: str) -> str:
    """A SQLAlchemy URI for psycopg2 that requires TLS (RDS with `rds.force_ssl` and flexible server with
    `require_secure_transport` refuse anything else); user and password percent-encoded."""
    return (
        f"postgresql+psycopg2://{quote(username, safe='')}:{quote(password, safe='')}@{host}:{port}/{database}"
        "?sslmode=require"
    )


def auth_config(*, default_permission: str, database_uri: str, admin_username: str, admin_password: str) -> str:
    """MLflow's basic-auth config file (`MLFLOW_AUTH_CONFIG_PATH`; keys of mlflow/server/auth/basic_auth.ini, read
    by mlflow/server/auth/config.py with a default `ConfigParser`, whose interpolation makes `%` special: doubled)."""
    values = {
        "default_permission": default_permission,
        "database_uri": database_uri,
        "admin_username": admin_username,
        "admin_password": admin_password,
        "authorization_function": "mlflow.server.auth:authenticate_request_basic_auth",
    }
    lines = ["[mlflow]", *(f"{key} = {value.replace('%', '%%')}" for key, value in values.items())]
    return "\n".join(lines) + "\n"


def service_hosts(service: str, namespace: str, extra: Sequence[str] = ()) -> list[str]:
    """Host headers the server accepts (`--allowed-hosts`): its Service's cluster DNS names, with and without the
    port, and `extra`. MLflow 3 rejects other Host headers with 403 (DNS-rebinding protection,
    mlflow/server/fastapi_security.py `HostValidationMiddleware`); /health is exempt, so probes pass."""
    names = [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.cluster.local",
    ]
    return [*names, *(f"{name}:{PORT}" for name in names), *extra]


def server_args(
    *, workers: int, hosts: Sequence[str], metrics: bool, artifacts_destination: pulumi.Input[str]
) -> list[pulumi.Input[str]]:
    """Arguments of `mlflow server` (mlflow/cli.py `server` options at the pinned release).

    The backend-store URI comes from `MLFLOW_BACKEND_STORE_URI` (the option's environment variable), never the
    command line; artifacts are proxied (`--serve-artifacts`) to `--artifacts-destination`, so clients need no
    storage credentials; `--app-name basic-auth` puts every API behind MLflow's basic auth.
    """
    args: list[pulumi.Input[str]] = [
        "server",
        "--host",
        "0.0.0.0",
        "--port",
        str(PORT),
        "--workers",
        str(workers),
        "--serve-artifacts",
        "--artifacts-destination",
        artifacts_destination,
        "--app-name",
        "basic-auth",
        "--allowed-hosts",
        ",".join(hosts),
    ]
    if metrics:
        args += ["--expose-prometheus", METRICS_DIR]
    return args


def tracking_network_policies(
    *,
    database_cidrs: Sequence[str],
    database_port: int,
    storage_cidrs: Sequence[str],
    gateway_namespace: str | None,
    monitoring_namespace: str | None,
) -> dict[str, dict[str, Any]]:
    """The NetworkPolicy specs of the tracking namespace, by name, the default deny first.

    In: the server's port from pods of every `training`-tier namespace, the gateway's Envoy proxies (when given)
    and Prometheus (when scraping). Out: DNS; the database from the server and the migration Job; object storage
    and identity endpoints on 443 from the server only. Nothing else, in or out.
    """
    server = {"matchLabels": dict(SERVER_POD_LABELS)}
    clients: list[dict[str, Any]] = [
        {"namespaceSelector": {"matchLabels": {TIER_LABEL: TRAINING_TIER}}, "podSelector": {}}
    ]
    if gateway_namespace is not None:
        clients.append(
            {**namespace_peer(gateway_namespace), "podSelector": {"matchLabels": dict(gateway.PROXY_POD_LABELS)}}
        )
    policies: dict[str, dict[str, Any]] = {
        DEFAULT_DENY_POLICY: _platform_policies.default_deny(),
        "allow-dns": _platform_policies.dns_egress(),
        "allow-clients": {
            "podSelector": server,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": clients, "ports": [{"protocol": "TCP", "port": PORT}]}],
        },
        "allow-database-egress": {
            "podSelector": {
                "matchExpressions": [
                    {
                        "key": "app.kubernetes.io/name",
                        "operator": "In",
                        "values": [SERVER_POD_LABELS["app.kubernetes.io/name"]],
                    },
                    {
                        "key": "app.kubernetes.io/component",
                        "operator": "In",
                        "values": [
                            SERVER_POD_LABELS["app.kubernetes.io/component"],
                            MIGRATION_POD_LABELS["app.kubernetes.io/component"],
                        ],
                    },
                ]
            },
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": cidr}} for cidr in database_cidrs],
                    "ports": [{"protocol": "TCP", "port": database_port}],
                }
            ],
        },
    }
    users = {"matchLabels": dict(USERS_POD_LABELS)}
    policies["allow-users-job"] = {
        "podSelector": server,
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": users}], "ports": [{"protocol": "TCP", "port": PORT}]}],
    }
    policies["allow-users-job-egress"] = {
        "podSelector": users,
        "policyTypes": ["Egress"],
        "egress": [{"to": [{"podSelector": server}], "ports": [{"protocol": "TCP", "port": PORT}]}],
    }
    if monitoring_namespace is not None:
        policies["allow-prometheus-scrape"] = {
            "podSelector": server,
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            **namespace_peer(monitoring_namespace),
                            "podSelector": {"matchLabels": dict(PROMETHEUS_POD_LABELS)},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": PORT}],
                }
            ],
        }
    if storage_cidrs:
        policies["allow-storage-egress"] = {**cidr_egress_policy(storage_cidrs, HTTPS_PORT), "podSelector": server}
    return policies


def client_egress_policy(namespace: str) -> dict[str, Any]:
    """Egress from every pod of a client (training) namespace to the tracking server's port, and nowhere else."""
    return {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [
            {
                "to": [{**namespace_peer(namespace), "podSelector": {"matchLabels": dict(SERVER_POD_LABELS)}}],
                "ports": [{"protocol": "TCP", "port": PORT}],
            }
        ],
    }


def _pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": _charts.MLFLOW_IMAGE_USER,
        "runAsGroup": _charts.MLFLOW_IMAGE_USER,
        "fsGroup": _charts.MLFLOW_IMAGE_USER,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _secret_env(name: str, key: str, secret: str = SERVER_SECRET_NAME) -> dict[str, Any]:
    """An env var read from a key of a Secret of the tracking namespace (the server's, by default)."""
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


_COMMON_ENV: list[dict[str, Any]] = [
    # The image has no home directory for the non-root uid; caches and temp files go to the writable /tmp.
    {"name": "HOME", "value": "/tmp"},
    {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
]


class ExperimentTracking(pulumi.ComponentResource):
    """The MLflow tracking server and model registry, for training runs to log to and serving to promote from.

    Creates:
    - a namespace (Pod Security `restricted`, tier `tracking`) with default-deny NetworkPolicies and only these
      allows: in, the server port from pods of `training`-tier namespaces, the gateway's proxies (opt-in) and
      Prometheus (with `metrics`); out, DNS, the database CIDRs on its port (server and migration Job), and 443 to
      object storage and the identity endpoints (server only); plus an egress policy in each `clientNamespaces`;
    - a Secret with the backend-store URI (`sslmode=require`), the auth database URI and the basic-auth config,
      all built from Pulumi secret outputs, and a Secret with the admin credentials (a generated password);
    - a migration Job per MLflow version: creates the auth database if missing, runs `mlflow db upgrade` and the
      basic-auth schema upgrade; the Deployment waits for it, so one process migrates and no replicas race;
    - the server Deployment of the official image (pinned by digest): `mlflow server --app-name basic-auth
      --serve-artifacts` with the artifacts under its own prefix through its own ServiceAccount's cloud identity,
      `--allowed-hosts` set to its Service names, non-root with a read-only root filesystem, /tmp an emptyDir,
      probes on /health, replicas spread over nodes of the platform pool, rolling updates one pod at a time;
    - a ClusterIP Service, a PodDisruptionBudget, and with `metrics` a ServiceMonitor.

    Security defaults: reachable only inside the cluster, every API (UI included) behind basic auth with
    `NO_PERMISSIONS` for what was not granted, passwords only in Secrets, TLS to the database, artifacts written by
    the server's identity under its prefix only (clients hold no storage credentials).

    Version bumps migrate through the Job of the new version (a new Job name, so Pulumi runs it before rolling the
    Deployment); MLflow's schema migrations are additive in a release line, and old pods keep serving until the new
    ones are ready. What the server still does at start: the basic-auth app creates the admin user when it is
    missing; two replicas starting together on a fresh database may both try, the loser exits on the unique
    constraint and its restart finds the user. Teams get their own MLflow users through the admin API (`mlflow.server.auth.client`
    `AuthServiceClient.create_user` with the admin credentials, then `create_experiment_permission` /
    `create_registered_model_permission`); their jobs set `MLFLOW_TRACKING_URI`, `MLFLOW_TRACKING_USERNAME` and
    `MLFLOW_TRACKING_PASSWORD` (from a Secret in their namespace).
    """

    tracking_uri: pulumi.Output[str]
    """In-cluster URI clients set as `MLFLOW_TRACKING_URI` (`http://mlflow.<namespace>.svc.cluster.local:5000`)."""
    namespace: pulumi.Output[str]
    """The tracking namespace."""
    service_name: pulumi.Output[str]
    """The server's ClusterIP Service."""
    port: pulumi.Output[int]
    """The server's port (5000)."""
    credentials_secret_name: pulumi.Output[str]
    """Secret (in `namespace`) with the admin credentials as `MLFLOW_TRACKING_USERNAME` / `MLFLOW_TRACKING_PASSWORD`."""
    admin_password: pulumi.Output[str]
    """The generated admin password (secret)."""
    service_account_name: pulumi.Output[str]
    """The server's ServiceAccount (the subject its cloud identity must trust)."""
    server_pod_labels: pulumi.Output[dict[str, str]]
    """Labels of the server pods (for NetworkPolicies elsewhere that must reach them)."""
    client_egress_policy_names: pulumi.Output[list[str]]
    """`namespace/name` of the egress NetworkPolicy created in each client namespace."""

    def __init__(self, name: str, args: ExperimentTrackingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        _check(args).raise_if_any(f"ExperimentTracking '{name}'")
        super().__init__("mlplatform:index:ExperimentTracking", name, {}, opts)

        namespace_name = args.get("namespace", DEFAULT_NAMESPACE)
        kind = args.get("identity_kind", DEFAULT_IDENTITY_KIND)
        database_port = args.get("database_port", DEFAULT_DATABASE_PORT)
        database_name = args.get("database_name", DEFAULT_DATABASE_NAME)
        auth_database_name = args.get("auth_database_name", DEFAULT_AUTH_DATABASE_NAME)
        admin_username = args.get("admin_username", DEFAULT_ADMIN_USERNAME)
        metrics = args.get("metrics", DEFAULT_METRICS)
        replicas = args.get("replicas", DEFAULT_REPLICAS)
        child = pulumi.ResourceOptions(parent=self)

        namespace = create_namespace(
            f"{name}-namespace",
            namespace_name,
            tier=TRACKING_TIER,
            enforce="restricted",
            extra_labels=args.get("namespace_labels"),
            parent=self,
        )
        ns = namespace.metadata.name
        policies = tracking_network_policies(
            database_cidrs=list(args["database_egress_cidrs"]),
            database_port=database_port,
            storage_cidrs=list(args.get("storage_egress_cidrs", DEFAULT_STORAGE_EGRESS_CIDRS)),
            gateway_namespace=args.get("gateway_namespace"),
            monitoring_namespace=args.get("monitoring_namespace", DEFAULT_MONITORING_NAMESPACE) if metrics else None,
        )
        create_network_policies(name, ns, policies, parent=self)
        client_policies = [
            k8s.networking.v1.NetworkPolicy(
                f"{name}-client-{index}",
                metadata={"name": CLIENT_EGRESS_POLICY, "namespace": client},
                spec=client_egress_policy(namespace_name),
                opts=child,
            )
            for index, client in enumerate([*args.get("client_namespaces", []), *args.get("team_users", {}).values()])
        ]

        service_account, identity_labels = workload_service_account(
            f"{name}-sa",
            namespace=ns,
            name=SERVICE_ACCOUNT_NAME,
            identity_kind=kind,
            identity_id=args["identity_id"],
            parent=self,
        )
        migration_account = k8s.core.v1.ServiceAccount(
            f"{name}-migrate-sa",
            metadata={"name": MIGRATION_SERVICE_ACCOUNT_NAME, "namespace": ns},
            automount_service_account_token=False,
            opts=child,
        )

        admin_password = random.RandomPassword(
            f"{name}-admin-password",
            length=32,
            special=False,
            opts=child,
        )
        credentials = pulumi.Output.all(
            args["database_username"], args["database_password"], args["database_host"], admin_password.result
        )
        backend_uri = pulumi.Output.secret(
            credentials.apply(lambda v: postgres_uri(v[0], v[1], v[2], database_port, database_name))
        )
        auth_uri = pulumi.Output.secret(
            credentials.apply(lambda v: postgres_uri(v[0], v[1], v[2], database_port, auth_database_name))
        )
        default_permission = args.get("default_permission", DEFAULT_PERMISSION)
        config = pulumi.Output.secret(
            pulumi.Output.all(auth_uri, admin_password.result).apply(
                lambda v: auth_config(
                    default_permission=default_permission,
                    database_uri=v[0],
                    admin_username=admin_username,
                    admin_password=v[1],
                )
            )
        )
        server_secret = k8s.core.v1.Secret(
            f"{name}-server-secret",
            metadata={"name": SERVER_SECRET_NAME, "namespace": ns},
            type="Opaque",
            string_data=pulumi.Output.secret(
                pulumi.Output.all(backend_uri, auth_uri, config).apply(
                    lambda v: {BACKEND_STORE_URI_KEY: v[0], AUTH_DATABASE_URI_KEY: v[1], AUTH_CONFIG_FILE: v[2]}
                )
            ),
            opts=child,
        )
        credentials_secret = k8s.core.v1.Secret(
            f"{name}-admin-secret",
            metadata={"name": CREDENTIALS_SECRET_NAME, "namespace": ns},
            type="Opaque",
            string_data=pulumi.Output.secret(
                admin_password.result.apply(lambda password: {USERNAME_KEY: admin_username, PASSWORD_KEY: password})
            ),
            opts=child,
        )

        node_selector = dict(args.get("node_selector", DEFAULT_NODE_SELECTOR))
        # Only the AKS system pool's taint; never a GPU or training taint: the server belongs on the platform pool.
        tolerations = [{"key": gpu.CRITICAL_ADDONS_TAINT.key, "operator": "Exists", "effect": "NoSchedule"}]
        tmp = {"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE}}
        migration = k8s.batch.v1.Job(
            f"{name}-migrate-{_charts.MLFLOW_VERSION.replace('.', '-')}",
            metadata={"name": f"mlflow-migrate-{_charts.MLFLOW_VERSION.replace('.', '-')}", "namespace": ns},
            spec={
                "backoffLimit": 3,
                "template": {
                    "metadata": {"labels": dict(MIGRATION_POD_LABELS)},
                    "spec": migration_pod_spec(auth_database_name, node_selector, tolerations),
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[server_secret, migration_account]),
        )

        hosts = service_hosts(SERVICE_NAME, namespace_name, args.get("allowed_hosts", []))
        pod_labels = {**SERVER_POD_LABELS, **identity_labels}
        deployment = k8s.apps.v1.Deployment(
            f"{name}-server",
            metadata={"name": SERVICE_NAME, "namespace": ns, "labels": dict(SERVER_POD_LABELS)},
            spec={
                "replicas": replicas,
                "selector": {"matchLabels": dict(SERVER_POD_LABELS)},
                # One new pod at a time, none taken away before its successor is ready.
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                "template": {
                    "metadata": {
                        "labels": pod_labels,
                        # Changing the auth config or database URIs restarts the pods that read them at start.
                        "annotations": {"mlplatform.io/config-hash": pulumi.Output.secret(config.apply(_hash))},
                    },
                    "spec": server_pod_spec(
                        workers=args.get("workers", DEFAULT_WORKERS),
                        hosts=hosts,
                        metrics=metrics,
                        resources={
                            "requests": {
                                "cpu": args.get("cpu_request", DEFAULT_CPU_REQUEST),
                                "memory": args.get("memory_request", DEFAULT_MEMORY_REQUEST),
                            },
                            "limits": {
                                "cpu": args.get("cpu_limit", DEFAULT_CPU_LIMIT),
                                "memory": args.get("memory_limit", DEFAULT_MEMORY_LIMIT),
                            },
                        },
                        artifacts_destination=args["artifacts_destination"],
                        node_selector=node_selector,
                        tolerations=tolerations,
                        tmp=tmp,
                    ),
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[migration, service_account, credentials_secret]),
        )
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": SERVICE_NAME, "namespace": ns, "labels": dict(SERVER_POD_LABELS)},
            spec={
                "type": "ClusterIP",
                "selector": dict(SERVER_POD_LABELS),
                "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
            },
            opts=child,
        )
        tracking_uri = pulumi.Output.all(service.metadata.name, ns).apply(
            lambda v: f"http://{v[0]}.{v[1]}.svc.cluster.local:{PORT}"
        )
        team_users = dict(args.get("team_users", {}))
        if team_users:
            self._team_users(name, ns, team_users, tracking_uri, node_selector, tolerations, deployment, child)
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata={"name": SERVICE_NAME, "namespace": ns, "labels": dict(SERVER_POD_LABELS)},
            spec={"maxUnavailable": 1, "selector": {"matchLabels": dict(SERVER_POD_LABELS)}},
            opts=child,
        )
        if metrics:
            k8s.apiextensions.CustomResource(
                f"{name}-service-monitor",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata={"name": SERVICE_NAME, "namespace": ns, "labels": dict(SERVER_POD_LABELS)},
                spec={
                    "selector": {"matchLabels": dict(SERVER_POD_LABELS)},
                    "endpoints": [
                        {
                            "port": "http",
                            "path": "/metrics",
                            "interval": "30s",
                            "basicAuth": {
                                "username": {"name": args["metrics_credentials_secret"], "key": "username"},
                                "password": {"name": args["metrics_credentials_secret"], "key": "password"},
                            },
                        }
                    ],
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[service]),
            )

        self.namespace = ns
        self.service_name = service.metadata.name
        self.port = pulumi.Output.from_input(PORT)
        self.tracking_uri = tracking_uri
        self.credentials_secret_name = credentials_secret.metadata.name
        self.admin_password = pulumi.Output.secret(admin_password.result)
        self.service_account_name = service_account.metadata.name
        self.server_pod_labels = pulumi.Output.from_input(dict(SERVER_POD_LABELS))
        self.client_egress_policy_names = pulumi.Output.all(
            *(policy.metadata.apply(lambda m: f"{m['namespace']}/{m['name']}") for policy in client_policies)
        ).apply(list)
        self.register_outputs(
            {
                "trackingUri": self.tracking_uri,
                "namespace": self.namespace,
                "serviceName": self.service_name,
                "port": self.port,
                "credentialsSecretName": self.credentials_secret_name,
                "adminPassword": self.admin_password,
                "serviceAccountName": self.service_account_name,
                "serverPodLabels": self.server_pod_labels,
                "clientEgressPolicyNames": self.client_egress_policy_names,
            }
        )

    def _team_users(
        self,
        name: str,
        ns: pulumi.Output[str],
        teams: dict[str, pulumi.Input[str]],
        tracking_uri: pulumi.Output[str],
        node_selector: Mapping[str, str],
        tolerations: list[dict[str, str]],
        deployment: k8s.apps.v1.Deployment,
        child: pulumi.ResourceOptions,
    ) -> None:
        """One MLflow user per team, its credentials in the team's namespace, applied by a Job once the server runs."""
        passwords = {
            team: random.RandomPassword(f"{name}-team-{team}-password", length=32, special=False, opts=child).result
            for team in sorted(teams)
        }
        for team, team_namespace in sorted(teams.items()):
            k8s.core.v1.Secret(
                f"{name}-team-{team}-credentials",
                metadata={"name": TEAM_CREDENTIALS_SECRET, "namespace": team_namespace},
                type="Opaque",
                string_data=pulumi.Output.secret(
                    pulumi.Output.all(tracking_uri, passwords[team]).apply(
                        lambda v, team=team: {
                            TRACKING_URI_KEY: v[0],
                            USERNAME_KEY: team_username(team),
                            PASSWORD_KEY: v[1],
                        }
                    )
                ),
                opts=child,
            )
        users = k8s.core.v1.Secret(
            f"{name}-team-users",
            metadata={"name": TEAM_USERS_SECRET, "namespace": ns},
            type="Opaque",
            string_data=pulumi.Output.secret(
                pulumi.Output.all(*passwords.values()).apply(
                    lambda values: {
                        "users.json": json.dumps(
                            {team_username(team): value for team, value in zip(passwords, values, strict=True)},
                            sort_keys=True,
                        )
                    }
                )
            ),
            opts=child,
        )
        # A new Job (and run) whenever the set of teams changes; a password change alone is applied by the next one.
        suffix = _hash(",".join(sorted(teams)))[:10]
        k8s.batch.v1.Job(
            f"{name}-users-{suffix}",
            metadata={"name": f"mlflow-users-{suffix}", "namespace": ns},
            spec={
                "backoffLimit": 4,
                "ttlSecondsAfterFinished": 86400,
                "template": {
                    "metadata": {"labels": dict(USERS_POD_LABELS)},
                    "spec": users_pod_spec(tracking_uri, node_selector, tolerations),
                },
            },
            # After the server is ready (Pulumi waits for the Deployment's rollout) and the users it applies exist.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[deployment, users]),
        )


def users_pod_spec(
    tracking_uri: pulumi.Input[str], node_selector: Mapping[str, str], tolerations: list[dict[str, str]]
) -> dict[str, Any]:
    """The users Job's pod: the admin's credentials from the admin Secret, the users from theirs; Pod Security
    `restricted`, no API token, no cloud identity."""
    return {
        "serviceAccountName": MIGRATION_SERVICE_ACCOUNT_NAME,
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "securityContext": _pod_security_context(),
        "nodeSelector": dict(node_selector),
        "tolerations": tolerations,
        "containers": [
            {
                "name": "apply-users",
                "image": _charts.MLFLOW_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "command": ["python", "-c", APPLY_TEAM_USERS],
                "env": [
                    *_COMMON_ENV,
                    {"name": TRACKING_URI_KEY, "value": tracking_uri},
                    _secret_env(USERNAME_KEY, USERNAME_KEY, CREDENTIALS_SECRET_NAME),
                    _secret_env(PASSWORD_KEY, PASSWORD_KEY, CREDENTIALS_SECRET_NAME),
                ],
                "resources": {key: dict(value) for key, value in MIGRATION_RESOURCES.items()},
                "securityContext": dict(RESTRICTED_CONTAINER_SECURITY_CONTEXT),
                "volumeMounts": [
                    {"name": "tmp", "mountPath": "/tmp"},
                    {"name": "users", "mountPath": "/users", "readOnly": True},
                ],
            }
        ],
        "volumes": [
            {"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE}},
            {"name": "users", "secret": {"secretName": TEAM_USERS_SECRET, "defaultMode": 0o440}},
        ],
    }


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def server_pod_spec(
    *,
    workers: int,
    hosts: Sequence[str],
    metrics: bool,
    resources: dict[str, dict[str, str]],
    artifacts_destination: pulumi.Input[str],
    node_selector: Mapping[str, str],
    tolerations: list[dict[str, str]],
    tmp: dict[str, Any],
) -> dict[str, Any]:
    """The server's pod spec: Pod Security `restricted`, the auth config mounted read-only from the Secret."""
    volumes: list[dict[str, Any]] = [
        tmp,
        {
            "name": "auth-config",
            "secret": {
                "secretName": SERVER_SECRET_NAME,
                "items": [{"key": AUTH_CONFIG_FILE, "path": AUTH_CONFIG_FILE}],
                "defaultMode": 0o440,
            },
        },
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "tmp", "mountPath": "/tmp"},
        {"name": "auth-config", "mountPath": AUTH_CONFIG_DIR, "readOnly": True},
    ]
    if metrics:
        volumes.append({"name": "metrics", "emptyDir": {"sizeLimit": "256Mi"}})
        mounts.append({"name": "metrics", "mountPath": METRICS_DIR})
    probe = {"httpGet": {"path": "/health", "port": "http"}, "timeoutSeconds": 5}
    return {
        "serviceAccountName": SERVICE_ACCOUNT_NAME,
        "automountServiceAccountToken": False,
        "securityContext": _pod_security_context(),
        "nodeSelector": dict(node_selector),
        "tolerations": tolerations,
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": key,
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": dict(SERVER_POD_LABELS)},
            }
            for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
        ],
        "containers": [
            {
                "name": "mlflow",
                "image": _charts.MLFLOW_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "command": ["mlflow"],
                "args": server_args(
                    workers=workers, hosts=hosts, metrics=metrics, artifacts_destination=artifacts_destination
                ),
                "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                "env": [
                    *_COMMON_ENV,
                    _secret_env(BACKEND_STORE_URI_KEY, BACKEND_STORE_URI_KEY),
                    {"name": "MLFLOW_AUTH_CONFIG_PATH", "value": AUTH_CONFIG_PATH},
                ],
                "resources": resources,
                "securityContext": dict(RESTRICTED_CONTAINER_SECURITY_CONTEXT),
                "volumeMounts": mounts,
                # The first start of a replica loads the app and checks the schema: give it time before liveness.
                "startupProbe": {**probe, "periodSeconds": 5, "failureThreshold": 36},
                "readinessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 3},
                "livenessProbe": {**probe, "periodSeconds": 20, "failureThreshold": 3},
            }
        ],
        "volumes": volumes,
    }


def migration_pod_spec(
    auth_database_name: str, node_selector: Mapping[str, str], tolerations: list[dict[str, str]]
) -> dict[str, Any]:
    """The migration Job's pod: create the auth database, upgrade the tracking schema, upgrade the auth schema, in
    that order (init containers run one after the other; a failure retries the pod)."""

    def step(container_name: str, command: list[str]) -> dict[str, Any]:
        return {
            "name": container_name,
            "image": _charts.MLFLOW_IMAGE,
            "imagePullPolicy": "IfNotPresent",
            "command": command,
            "env": [
                *_COMMON_ENV,
                _secret_env(BACKEND_STORE_URI_KEY, BACKEND_STORE_URI_KEY),
                _secret_env(AUTH_DATABASE_URI_KEY, AUTH_DATABASE_URI_KEY),
                {"name": "MLFLOW_AUTH_DATABASE", "value": auth_database_name},
            ],
            "resources": {key: dict(value) for key, value in MIGRATION_RESOURCES.items()},
            "securityContext": dict(RESTRICTED_CONTAINER_SECURITY_CONTEXT),
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        }

    return {
        "serviceAccountName": MIGRATION_SERVICE_ACCOUNT_NAME,
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "securityContext": _pod_security_context(),
        "nodeSelector": dict(node_selector),
        "tolerations": tolerations,
        "initContainers": [
            step("create-auth-database", ["python", "-c", CREATE_AUTH_DATABASE]),
            # `mlflow db upgrade <url>`: the only supported way to move the tracking schema to a new release.
            step("upgrade-tracking-schema", ["sh", "-c", f'exec mlflow db upgrade "${BACKEND_STORE_URI_KEY}"']),
        ],
        "containers": [step("upgrade-auth-schema", ["python", "-c", MIGRATE_AUTH_DATABASE])],
        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE}}],
    }
