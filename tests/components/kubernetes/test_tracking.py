"""ExperimentTracking: MLflow behind basic auth, reachable from training namespaces only, secrets only in Secrets."""

from __future__ import annotations

import configparser
import json
from urllib.parse import unquote, urlsplit

import kubernetes_validate
import pulumi
import pytest

from components._common import gateway, pools
from components._common.tags import TIER_LABEL
from components.kubernetes import ExperimentTracking, ExperimentTrackingArgs, _charts
from components.kubernetes.training.tracking import (
    APPLY_TEAM_USERS,
    MIGRATION_POD_LABELS,
    SERVER_POD_LABELS,
    TEAM_CREDENTIALS_SECRET,
    TEAM_USERS_SECRET,
    USERS_POD_LABELS,
    auth_config,
    postgres_uri,
    tracking_network_policies,
)
from stacks.deployability import pod_security_violations
from tests.components.kubernetes.helpers import (
    kubernetes_objects,
    manifest,
    objects_of_kind,
    run_with_provider,
    selector_matches,
)
from tests.components.kubernetes.netpol import Endpoint, Pod, Policy, allowed
from tests.components.kubernetes.test_kubernetes_objects import KUBERNETES_VERSION

DB_PASSWORD = "s3cr%t@pass/word:1"
"""A password with every character a URI or an ini file treats specially."""
ROLE = "arn:aws:iam::123456789012:role/mlflow-tracking"
BASE: ExperimentTrackingArgs = {
    "database_host": "mlflow.abc123.eu-central-1.rds.amazonaws.com",
    "database_username": "mlflow_admin",
    "database_password": DB_PASSWORD,
    "database_egress_cidrs": ["10.0.32.0/20", "10.0.48.0/20"],
    "artifacts_destination": "s3://ml-artifacts/mlflow",
    "identity_id": ROLE,
}
PSA = "pod-security.kubernetes.io/"


def build(run, **extra):
    def make(opts):
        args = {**BASE, **extra}
        if isinstance(args.get("database_password"), str):
            args["database_password"] = pulumi.Output.secret(args["database_password"])
        ExperimentTracking("tracking", args, opts=opts)

    return run_with_provider(run, make)


def only(recorder, kind: str) -> dict:
    (found,) = objects_of_kind(recorder, kind)
    return found


def errors_of(raised: pytest.ExceptionInfo) -> dict[str, str]:
    return {error["property_path"]: error["reason"] for error in raised.value.errors}


def server_container(recorder) -> dict:
    (container,) = only(recorder, "Deployment")["spec"]["template"]["spec"]["containers"]
    return container


def flag(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


# --- Kubernetes objects and Pod Security ---------------------------------------------------------------------


def test_every_object_validates_against_the_kubernetes_openapi_schema(run) -> None:
    recorder = build(run, client_namespaces=["vision-train"])
    registrations = kubernetes_objects(recorder)
    assert {registration.inputs["kind"] for registration in registrations} == {
        "Namespace",
        "NetworkPolicy",
        "ServiceAccount",
        "Secret",
        "Job",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
    }
    for registration in registrations:
        kubernetes_validate.validate(manifest(registration), KUBERNETES_VERSION, strict=True)


def test_the_namespace_is_restricted_and_not_a_training_namespace(run) -> None:
    labels = only(build(run), "Namespace")["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"{PSA}{mode}"] == "restricted", f"PSA {mode} must be restricted for the tracking server"
    assert labels[TIER_LABEL] == "tracking", "not tier training: Kueue must not manage the migration Job"


def test_the_server_and_migration_pods_are_admitted_under_restricted(run) -> None:
    recorder = build(run, metrics=True, metrics_credentials_secret="mlflow-prometheus")
    for kind in ("Deployment", "Job"):
        pod = only(recorder, kind)["spec"]["template"]["spec"]
        violations, unset = pod_security_violations(pod, "restricted")
        assert not violations and not unset, f"{kind}: {violations + unset}"
        containers = pod["containers"] + pod.get("initContainers", [])
        assert all(c["securityContext"]["readOnlyRootFilesystem"] for c in containers), "root filesystems read-only"
        assert {"name": "tmp", "mountPath": "/tmp"} in containers[0]["volumeMounts"], "/tmp is the writable emptyDir"
        assert pod["securityContext"]["runAsUser"] == _charts.MLFLOW_IMAGE_USER != 0, "the image's root is not used"
        assert pod["automountServiceAccountToken"] is False, "MLflow never calls the Kubernetes API"


# --- The server ------------------------------------------------------------------------------------------


def test_the_server_runs_the_pinned_image_with_basic_auth_and_proxied_artifacts(run) -> None:
    container = server_container(build(run, workers=6))
    assert container["image"] == _charts.MLFLOW_IMAGE
    assert "@sha256:" in container["image"] and "-full" in container["image"], "digest-pinned, with drivers"
    args = container["args"]
    assert args[0] == "server" and container["command"] == ["mlflow"]
    assert flag(args, "--app-name") == "basic-auth", "every API behind MLflow's basic auth"
    assert "--serve-artifacts" in args, "clients upload through the server and hold no storage credentials"
    assert flag(args, "--artifacts-destination") == "s3://ml-artifacts/mlflow"
    assert flag(args, "--workers") == "6"
    hosts = flag(args, "--allowed-hosts").split(",")
    assert "mlflow.mlflow.svc.cluster.local" in hosts and "mlflow.mlflow.svc.cluster.local:5000" in hosts, (
        "MLflow 3 answers 403 to Host headers it does not know: the Service's names must be allowed"
    )
    assert "*" not in hosts, "DNS-rebinding protection stays on"
    assert not any("postgresql" in str(arg) for arg in args), "the database URI never appears on the command line"


def test_probes_hit_the_unauthenticated_health_endpoint(run) -> None:
    container = server_container(build(run))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}, (
            f"{probe}: /health is the one API basic auth and the host check leave open"
        )


def test_two_replicas_spread_over_platform_nodes_with_a_disruption_budget(run) -> None:
    recorder = build(run)
    deployment = only(recorder, "Deployment")
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}, "never below the replicas"
    assert pod["nodeSelector"] == pools.platform_pool_labels(), "on the platform pool like other platform services"
    assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} == {
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    }
    for constraint in pod["topologySpreadConstraints"]:
        assert selector_matches(constraint["labelSelector"], spec["template"]["metadata"]["labels"])
    assert not any(t.get("key") in ("nvidia.com/gpu", "workload", "sku") for t in pod["tolerations"]), "no GPU pool"
    pdb = only(recorder, "PodDisruptionBudget")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert selector_matches(pdb["spec"]["selector"], spec["template"]["metadata"]["labels"])
    service = only(recorder, "Service")
    assert service["spec"]["type"] == "ClusterIP", "reachable only inside the cluster"
    assert selector_matches({"matchLabels": service["spec"]["selector"]}, spec["template"]["metadata"]["labels"])
    assert service["spec"]["ports"] == [{"name": "http", "port": 5000, "targetPort": "http", "protocol": "TCP"}]


def test_the_aws_server_account_carries_its_irsa_role(run) -> None:
    recorder = build(run)
    (account,) = [a for a in objects_of_kind(recorder, "ServiceAccount") if a["metadata"]["name"] == "mlflow"]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == ROLE
    assert only(recorder, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "mlflow"
    (migrate,) = [a for a in objects_of_kind(recorder, "ServiceAccount") if a["metadata"]["name"] == "mlflow-migrate"]
    assert not migrate["metadata"].get("annotations"), "the migration Job gets no cloud identity"


def test_the_azure_server_account_uses_entra_workload_identity(run) -> None:
    recorder = build(
        run,
        identity_kind="azure",
        identity_id="00000000-0000-0000-0000-000000000001",
        artifacts_destination="wasbs://artifacts@mlplatformdata.blob.core.windows.net/mlflow",
    )
    (account,) = [a for a in objects_of_kind(recorder, "ServiceAccount") if a["metadata"]["name"] == "mlflow"]
    assert account["metadata"]["annotations"]["azure.workload.identity/client-id"].endswith("0001")
    labels = only(recorder, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert labels["azure.workload.identity/use"] == "true", "the webhook injects the federated token only then"
    args = server_container(recorder)["args"]
    assert flag(args, "--artifacts-destination").startswith("wasbs://artifacts@"), (
        "MLflow's Azure Blob repository uses DefaultAzureCredential without a connection string or key"
    )
    env = {item["name"] for item in server_container(recorder)["env"]}
    assert not env & {"AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCESS_KEY"}, "no storage keys"


# --- Secrets ---------------------------------------------------------------------------------------------


def test_the_database_password_never_appears_in_plain_in_any_resource(run) -> None:
    recorder = build(run)
    encoded = postgres_uri("u", DB_PASSWORD, "h", 1, "d").split(":")[2].split("@")[0]
    carriers = []
    for registration in recorder.registrations:
        for key, value in registration.inputs.items():
            text = json.dumps(value, default=str)
            if DB_PASSWORD in text or encoded in text:
                carriers.append((registration.inputs.get("kind"), key))
                assert key in registration.secret_inputs, f"{registration.type} {registration.name}.{key} is plain"
    assert carriers == [("Secret", "stringData")], f"the password lives in one Secret only: {carriers}"
    secrets = {s["metadata"]["name"] for s in objects_of_kind(recorder, "Secret")}
    assert secrets == {"mlflow-server", "mlflow-admin"}
    pod_specs = [only(recorder, kind)["spec"]["template"] for kind in ("Deployment", "Job")]
    assert DB_PASSWORD not in json.dumps(pod_specs) and encoded not in json.dumps(pod_specs), "only secretKeyRefs"


def test_the_backend_store_uri_requires_tls_and_reads_back_the_password(run) -> None:
    recorder = build(run)
    (server_secret,) = [s for s in objects_of_kind(recorder, "Secret") if s["metadata"]["name"] == "mlflow-server"]
    uri = urlsplit(server_secret["stringData"]["MLFLOW_BACKEND_STORE_URI"])
    assert uri.scheme == "postgresql+psycopg2", "psycopg2 is in the -full image"
    assert uri.query == "sslmode=require", "RDS and flexible server refuse non-TLS connections"
    assert unquote(uri.password or "") == DB_PASSWORD, "special characters survive percent-encoding"
    assert uri.path == "/mlflow" and uri.port == 5432
    env = {item["name"]: item for item in server_container(recorder)["env"]}
    assert env["MLFLOW_BACKEND_STORE_URI"]["valueFrom"]["secretKeyRef"] == {
        "name": "mlflow-server",
        "key": "MLFLOW_BACKEND_STORE_URI",
    }


def test_the_auth_config_parses_as_mlflow_reads_it(run) -> None:
    recorder = build(run)
    (server_secret,) = [s for s in objects_of_kind(recorder, "Secret") if s["metadata"]["name"] == "mlflow-server"]
    parser = configparser.ConfigParser()  # what mlflow/server/auth/config.py uses, interpolation included
    parser.read_string(server_secret["stringData"]["basic_auth.ini"])
    section = parser["mlflow"]
    assert section["default_permission"] == "NO_PERMISSIONS", "nothing is readable unless granted"
    assert section["admin_username"] == "admin"
    assert section["authorization_function"] == "mlflow.server.auth:authenticate_request_basic_auth"
    auth_uri = urlsplit(section["database_uri"])
    assert auth_uri.path == "/mlflow_auth", "a database of its own (both Alembic histories use alembic_version)"
    assert unquote(auth_uri.password or "") == DB_PASSWORD and auth_uri.query == "sslmode=require"
    (admin,) = [s for s in objects_of_kind(recorder, "Secret") if s["metadata"]["name"] == "mlflow-admin"]
    assert section["admin_password"] == admin["stringData"]["MLFLOW_TRACKING_PASSWORD"], "one generated password"
    assert len(section["admin_password"]) >= 16
    mount = {m["name"]: m for m in server_container(recorder)["volumeMounts"]}["auth-config"]
    env = {item["name"]: item.get("value") for item in server_container(recorder)["env"]}
    assert env["MLFLOW_AUTH_CONFIG_PATH"] == f"{mount['mountPath']}/basic_auth.ini" and mount["readOnly"]


def test_a_percent_sign_in_a_value_survives_the_ini_interpolation() -> None:
    text = auth_config(
        default_permission="READ", database_uri="postgresql://u:a%25b@h/db", admin_username="a", admin_password="x%y"
    )
    parser = configparser.ConfigParser()
    parser.read_string(text)
    assert parser["mlflow"]["database_uri"] == "postgresql://u:a%25b@h/db"
    assert parser["mlflow"]["admin_password"] == "x%y"


# --- Migrations --------------------------------------------------------------------------------------------


def test_one_job_per_version_migrates_before_the_server_starts(run) -> None:
    recorder = build(run)
    job = only(recorder, "Job")
    assert job["metadata"]["name"] == f"mlflow-migrate-{_charts.MLFLOW_VERSION.replace('.', '-')}", (
        "a version bump is a new Job, which Pulumi runs (and awaits) before it rolls the Deployment"
    )
    pod = job["spec"]["template"]["spec"]
    steps = [c["name"] for c in pod["initContainers"]] + [c["name"] for c in pod["containers"]]
    assert steps == ["create-auth-database", "upgrade-tracking-schema", "upgrade-auth-schema"]
    assert "mlflow db upgrade" in pod["initContainers"][1]["command"][-1]
    assert pod["restartPolicy"] == "Never" and job["spec"]["template"]["metadata"]["labels"] == MIGRATION_POD_LABELS
    (job_registration,) = recorder.by_type("kubernetes:batch/v1:Job")
    (deployment,) = recorder.by_type("kubernetes:apps/v1:Deployment")
    assert job_registration.urn in deployment.dependencies, "no replica starts (or races) before the migration"


# --- Network policies --------------------------------------------------------------------------------------

SERVER = Pod("mlflow", SERVER_POD_LABELS, {TIER_LABEL: "tracking"})
MIGRATION = Pod("mlflow", MIGRATION_POD_LABELS, {TIER_LABEL: "tracking"})
TRAINER = Pod("vision-train", {"job-name": "resnet"}, {TIER_LABEL: "training"})
SERVING = Pod("fraud-serving", {"app": "model"}, {TIER_LABEL: "serving"})
OTHER = Pod("default-apps", {"app": "x"}, {})
PROXY = Pod(gateway.GATEWAY_NAMESPACE, gateway.PROXY_POD_LABELS, {TIER_LABEL: "gateway"})
DATABASE = Endpoint("10.0.33.17")


def recorded_policies(recorder) -> list[Policy]:
    return [Policy(item["metadata"]["namespace"], item["spec"]) for item in objects_of_kind(recorder, "NetworkPolicy")]


def with_training_namespace_deny(policies: list[Policy]) -> list[Policy]:
    """The training namespace's own default deny (TrainingNamespace always has one)."""
    return [*policies, Policy("vision-train", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})]


def test_a_training_pod_reaches_the_server_and_serving_or_other_pods_do_not(run) -> None:
    policies = with_training_namespace_deny(recorded_policies(build(run, client_namespaces=["vision-train"])))
    assert allowed(policies, TRAINER, SERVER, 5000), "runs in a training namespace log to MLflow"
    assert not allowed(policies, TRAINER, SERVER, 5432), "only the server's port"
    assert not allowed(policies, SERVING, SERVER, 5000), "serving namespaces are not clients"
    assert not allowed(policies, OTHER, SERVER, 5000), "nor is any other namespace"
    assert not allowed(policies, PROXY, SERVER, 5000), "the gateway only when configured"
    assert not allowed(policies, TRAINER, OTHER, 5000), "the client policy opens the tracking server only"


def test_the_gateway_proxies_are_admitted_when_configured(run) -> None:
    policies = recorded_policies(build(run, gateway_namespace=gateway.GATEWAY_NAMESPACE))
    assert allowed(policies, PROXY, SERVER, 5000), "the UI through the ingress layer"
    other_gateway_pod = Pod(gateway.GATEWAY_NAMESPACE, {"control-plane": "envoy-gateway"}, {})
    assert not allowed(policies, other_gateway_pod, SERVER, 5000), "the proxies, not the controller"


PROMETHEUS = Pod("monitoring", {"app.kubernetes.io/name": "prometheus"}, {})


def test_prometheus_is_refused_while_metrics_are_off(run) -> None:
    recorder = build(run)
    assert not allowed(recorded_policies(recorder), PROMETHEUS, SERVER, 5000)
    assert not objects_of_kind(recorder, "ServiceMonitor")
    assert "--expose-prometheus" not in server_container(recorder)["args"]


def test_prometheus_scrapes_with_credentials_when_metrics_are_on(run) -> None:
    prometheus = PROMETHEUS
    recorder = build(run, metrics=True, metrics_credentials_secret="mlflow-prometheus")
    assert allowed(recorded_policies(recorder), prometheus, SERVER, 5000)
    monitor = only(recorder, "ServiceMonitor")
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics" and endpoint["basicAuth"]["password"]["name"] == "mlflow-prometheus", (
        "basic auth guards /metrics too"
    )
    assert flag(server_container(recorder)["args"], "--expose-prometheus").startswith("/var/run/")


def test_the_server_reaches_the_database_and_storage_and_nothing_else(run) -> None:
    policies = recorded_policies(build(run))
    assert allowed(policies, SERVER, DATABASE, 5432)
    assert allowed(policies, MIGRATION, DATABASE, 5432), "the migration Job connects too"
    assert not allowed(policies, SERVER, DATABASE, 22), "the database port only"
    assert not allowed(policies, SERVER, Endpoint("10.0.1.5"), 5432), "the database CIDRs only"
    assert allowed(policies, SERVER, Endpoint("52.219.170.10"), 443), "S3 / Blob and STS / Entra on 443"
    assert not allowed(policies, MIGRATION, Endpoint("52.219.170.10"), 443), "the Job needs no object storage"
    assert not allowed(policies, SERVER, TRAINER, 5000), "the server calls no pod"
    kube_dns = Pod("kube-system", {"k8s-app": "kube-dns"}, {})
    assert allowed(policies, SERVER, kube_dns, 53, "UDP")


def test_every_policy_set_starts_from_the_default_deny() -> None:
    specs = tracking_network_policies(
        database_cidrs=["10.0.0.0/24"],
        database_port=5432,
        storage_cidrs=[],
        gateway_namespace=None,
        monitoring_namespace=None,
    )
    assert next(iter(specs)) == "default-deny-all"
    assert all(rule.get("to") for spec in specs.values() for rule in spec.get("egress", [])), "no open egress"
    assert "allow-storage-egress" not in specs, "no storage CIDRs, no rule (never an egress rule without peers)"


# --- Outputs and bad input ---------------------------------------------------------------------------------


def test_outputs_tell_a_training_job_where_to_log(run) -> None:
    recorder = build(run, namespace="tracking")
    (component,) = recorder.by_type("mlplatform:index:ExperimentTracking")
    outputs = component.outputs
    assert outputs["trackingUri"] == "http://mlflow.tracking.svc.cluster.local:5000"
    assert outputs["namespace"] == "tracking" and outputs["serviceName"] == "mlflow"
    assert outputs["credentialsSecretName"] == "mlflow-admin"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"database_egress_cidrs": []}, "databaseEgressCidrs"),
        ({"database_egress_cidrs": ["10.0.0.1/8"]}, "databaseEgressCidrs[0]"),
        ({"artifacts_destination": "s3://ml-artifacts"}, "artifactsDestination"),
        ({"artifacts_destination": "wasbs://c@a.blob.core.windows.net/mlflow"}, "artifactsDestination"),
        ({"identity_kind": "none"}, "identityKind"),
        ({"default_permission": "ALL"}, "defaultPermission"),
        ({"auth_database_name": "mlflow"}, "authDatabaseName"),
        ({"workers": 0}, "workers"),
        ({"memory_limit": "512Mi"}, "memoryLimit"),
        ({"metrics": True}, "metricsCredentialsSecret"),
        ({"namespace": "kube-mlflow"}, "namespace"),
        ({"namespace_labels": {TIER_LABEL: "training"}}, f"namespaceLabels.{TIER_LABEL}"),
        ({"default_deny": False}, "defaultDeny"),
    ],
)
def test_bad_arguments_are_rejected_by_name_before_anything_is_created(run, recorder, change, path) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(lambda: ExperimentTracking("tracking", {**BASE, **change}))
    assert path in errors_of(raised), errors_of(raised)
    assert all(r.type == "pulumi:pulumi:Stack" for r in recorder.registrations), "nothing may be registered"


def test_missing_required_arguments_are_named(run) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(lambda: ExperimentTracking("tracking", {}))
    errors = errors_of(raised)
    for path in ("databaseHost", "databaseUsername", "databasePassword", "artifactsDestination", "identityId"):
        assert errors.get(path) == "required", path


def test_the_deployability_check_finds_nothing_that_cannot_run(run) -> None:
    from stacks.deployability import check_deployability

    report = check_deployability(build(run).registrations, pool_registrations=None)
    assert report.problems == [], report.problems
    assert {w.label for w in report.workloads} == {
        "Deployment/mlflow/mlflow",
        f"Job/mlflow/mlflow-migrate-{_charts.MLFLOW_VERSION.replace('.', '-')}",
    }
    assert report.checked["service-selector"] == 1 and report.checked["probe"] == 3, (
        "the Service selects the server pods and every probe hits a declared port"
    )


# --- Team users ------------------------------------------------------------------------------------------


def test_each_team_gets_its_own_mlflow_user_and_credentials_in_its_namespace(run) -> None:
    recorder = build(run, team_users={"vision-train": "vision-train", "nlp-train": "nlp-train"})
    secrets = {
        r.inputs["metadata"]["namespace"]: r
        for r in recorder.by_type("kubernetes:core/v1:Secret")
        if r.inputs["metadata"]["name"] == TEAM_CREDENTIALS_SECRET
    }
    assert set(secrets) == {"vision-train", "nlp-train"}, "one credentials Secret in each team namespace"
    for namespace, secret in secrets.items():
        data = secret.inputs["stringData"]
        assert data["MLFLOW_TRACKING_USERNAME"] == f"team-{namespace}", "the team's own user, never the admin"
        assert data["MLFLOW_TRACKING_URI"].startswith("http://mlflow.mlflow.svc.cluster.local:5000")
        assert "stringData" in secret.secret_inputs, "the password is a Pulumi secret in state"
    passwords = {s.inputs["stringData"]["MLFLOW_TRACKING_PASSWORD"] for s in secrets.values()}
    assert len(passwords) == 2, "each team its own password"
    (users,) = [
        r for r in recorder.by_type("kubernetes:core/v1:Secret") if r.inputs["metadata"]["name"] == TEAM_USERS_SECRET
    ]
    applied = json.loads(users.inputs["stringData"]["users.json"])
    assert applied == {f"team-{ns}": s.inputs["stringData"]["MLFLOW_TRACKING_PASSWORD"] for ns, s in secrets.items()}, (
        "the users Job applies exactly the passwords the teams hold"
    )
    policies = recorded_policies(recorder)
    nlp = Pod("nlp-train", {"job-name": "bert"}, {TIER_LABEL: "training"})
    assert allowed(
        [*policies, Policy("nlp-train", {"podSelector": {}, "policyTypes": ["Egress"]})], nlp, SERVER, 5000
    ), "a team namespace's default deny is opened towards the server"


def test_the_users_job_runs_restricted_and_reaches_only_the_server(run) -> None:
    recorder = build(run, team_users={"vision-train": "vision-train"})
    (job,) = [j for j in objects_of_kind(recorder, "Job") if j["metadata"]["name"].startswith("mlflow-users-")]
    pod = job["spec"]["template"]["spec"]
    violations, unset = pod_security_violations(pod, "restricted")
    assert not violations and not unset, violations + unset
    assert pod["automountServiceAccountToken"] is False
    users = Pod("mlflow", USERS_POD_LABELS, {TIER_LABEL: "tracking"})
    policies = recorded_policies(recorder)
    assert allowed(policies, users, SERVER, 5000), "the Job calls the server's auth API"
    assert not allowed(policies, users, DATABASE, 5432), "but never the database directly"
    assert not allowed(policies, users, Endpoint("52.95.110.1"), 443), "nor anything outside"


class _FakeMlflowAuth:
    """The basic-auth REST endpoints the users Job calls, as MLflow answers them: an existing user is refused with
    400 RESOURCE_ALREADY_EXISTS; every call needs the admin's basic credentials."""

    def __init__(self, existing: dict[str, str]) -> None:
        self.users = dict(existing)
        self.calls: list[tuple[str, str]] = []

    def handler(self):
        import base64
        from http.server import BaseHTTPRequestHandler

        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _reply(self, code: int, body: dict | None = None) -> None:
                payload = json.dumps(body or {}).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._reply(200 if self.path == "/health" else 404)

            def _body(self) -> dict:
                return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

            def _admin(self) -> bool:
                expected = "Basic " + base64.b64encode(b"admin:s3cret").decode()
                return self.headers.get("Authorization") == expected

            def do_POST(self) -> None:
                body = self._body()
                outer.calls.append(("POST", self.path))
                if not self._admin():
                    return self._reply(401)
                if body["username"] in outer.users:
                    return self._reply(400, {"error_code": "RESOURCE_ALREADY_EXISTS"})
                outer.users[body["username"]] = body["password"]
                return self._reply(200, {"user": {"username": body["username"]}})

            def do_PATCH(self) -> None:
                body = self._body()
                outer.calls.append(("PATCH", self.path))
                if not self._admin():
                    return self._reply(401)
                outer.users[body["username"]] = body["password"]
                return self._reply(200)

        return Handler


def test_the_users_script_creates_new_team_users_and_resets_existing_ones(tmp_path, monkeypatch) -> None:
    import subprocess
    import sys
    import threading
    from http.server import ThreadingHTTPServer

    fake = _FakeMlflowAuth({"team-vision-train": "old-password"})
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        users = tmp_path / "users.json"
        users.write_text(json.dumps({"team-vision-train": "new-password", "team-nlp-train": "p2"}))
        env = {
            "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{server.server_address[1]}",
            "MLFLOW_TRACKING_USERNAME": "admin",
            "MLFLOW_TRACKING_PASSWORD": "s3cret",
            "USERS_FILE": str(users),
        }
        result = subprocess.run(
            [sys.executable, "-c", APPLY_TEAM_USERS], env=env, capture_output=True, text=True, timeout=60
        )
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    assert fake.users == {"team-vision-train": "new-password", "team-nlp-train": "p2"}, (
        "a new team's user is created, an existing one's password reset to the one its Secret holds"
    )
    assert ("PATCH", "/api/2.0/mlflow/users/update-password") in fake.calls
