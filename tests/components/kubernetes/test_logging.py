"""Logging: ECK Elasticsearch and Kibana over TLS, a lifecycle policy that deletes, and Fluent Bit wired to both."""

from __future__ import annotations

import hashlib
import json

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.kubernetes import Logging, Monitoring
from components.kubernetes import _charts as charts
from components.kubernetes._elastic import WRITER_ROLE
from tests.components.kubernetes.helpers import (
    chart,
    chart_values,
    every_gpu_taint,
    objects_of_kind,
    run_with_provider,
    tolerates,
)

PSA = "pod-security.kubernetes.io/"


def build(run, args=None):
    args = args or {}
    return run_with_provider(run, lambda opts: Logging("logging", args, opts=opts))


def only(recorder, kind: str) -> dict:
    (found,) = objects_of_kind(recorder, kind)
    return found


def errors_of(raised: pytest.ExceptionInfo) -> dict[str, str]:
    return {error["property_path"]: error["reason"] for error in raised.value.errors}


def test_the_eck_operator_is_pinned_and_reconciles_only_the_logging_namespace(run) -> None:
    recorder = build(run)
    operator = chart(recorder, "eck-operator")
    assert operator.inputs["version"] == charts.ECK_OPERATOR.version
    assert operator.inputs["namespace"] == "elastic-system"
    assert chart_values(recorder, "eck-operator")["managedNamespaces"] == ["logging"]


def test_only_the_log_shippers_namespace_is_privileged(run) -> None:
    recorder = build(run)
    labels = {ns["metadata"]["name"]: ns["metadata"]["labels"] for ns in objects_of_kind(recorder, "Namespace")}
    assert labels["elastic-system"][f"{PSA}enforce"] == "baseline"
    assert labels["logging"][f"{PSA}enforce"] == "baseline", "Elasticsearch and Kibana need no host access"
    assert labels["logging"][f"{PSA}audit"] == "restricted"
    assert labels["fluent-bit"][f"{PSA}enforce"] == "privileged", "Fluent Bit reads /var/log on every node"
    workloads = {
        registration.inputs["metadata"]["namespace"]
        for registration in recorder.registrations
        if registration.type.startswith("kubernetes:")
        and registration.type.split(":")[-1] in ("Elasticsearch", "Kibana", "Job")
    }
    assert workloads == {"logging"}, "nothing but Fluent Bit in the privileged namespace"


def test_elasticsearch_keeps_its_namespace_and_resource_names_so_existing_volumes_stay(run) -> None:
    recorder = build(run)
    namespace = recorder.one("kubernetes:core/v1:Namespace", "logging-namespace")
    assert namespace.inputs["metadata"]["name"] == "logging", "only the namespace's labels change"
    elasticsearch = recorder.one("kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch", "logging-elasticsearch")
    assert elasticsearch.inputs["metadata"] == {"name": "logs", "namespace": "logging"}


def test_fluent_bit_trusts_the_platform_ca_and_uses_its_own_namespaces_copies_only(run) -> None:
    recorder = build(run)
    ca_secret = recorder.one("kubernetes:core/v1:Secret", "logging-es-http-ca")
    assert ca_secret.inputs["metadata"] == {"name": "logs-es-http-ca", "namespace": "logging"}
    assert set(ca_secret.inputs["stringData"]) == {"ca.crt", "ca.key"}, "ECK issues the HTTP certificate from it"
    spec = only(recorder, "Elasticsearch")["spec"]
    assert spec["http"]["tls"]["certificate"] == {"secretName": "logs-es-http-ca"}
    ca_copy = recorder.one("kubernetes:core/v1:ConfigMap", "logging-agent-es-http-ca")
    assert ca_copy.inputs["metadata"] == {"name": "logs-es-http-ca", "namespace": "fluent-bit"}
    assert ca_copy.inputs["data"]["ca.crt"] == ca_secret.inputs["stringData"]["ca.crt"], "the same certificate"
    writer = recorder.one("kubernetes:core/v1:Secret", "logging-agent-log-writer")
    assert writer.inputs["metadata"] == {"name": "logs-log-writer", "namespace": "fluent-bit"}
    assert set(writer.inputs["stringData"]) == {"username", "password"}
    values = chart_values(recorder, "fluent-bit")
    assert values["podAnnotations"]["mlplatform.io/es-ca-sha256"], "a renewed CA restarts Fluent Bit"
    # Every Secret and ConfigMap Fluent Bit mounts or reads is one that exists in its own namespace.
    in_agent_namespace = {
        (registration.type.split(":")[-1], registration.inputs["metadata"]["name"])
        for registration in recorder.registrations
        if registration.type in ("kubernetes:core/v1:Secret", "kubernetes:core/v1:ConfigMap")
        and registration.inputs["metadata"]["namespace"] == "fluent-bit"
    }
    used = {("ConfigMap", volume["configMap"]["name"]) for volume in values["extraVolumes"]}
    used |= {("Secret", item["valueFrom"]["secretKeyRef"]["name"]) for item in values["env"]}
    assert used <= in_agent_namespace, used - in_agent_namespace


def test_the_three_namespaces_get_the_platform_network_policies(run) -> None:
    recorder = build(run)
    names = {
        (policy["metadata"]["namespace"], policy["metadata"]["name"])
        for policy in objects_of_kind(recorder, "NetworkPolicy")
    }
    for namespace in ("logging", "elastic-system", "fluent-bit"):
        assert (namespace, "default-deny-all") in names, namespace
    assert ("fluent-bit", "allow-fluent-bit-to-elasticsearch") in names
    assert ("elastic-system", "allow-webhook-from-api-server") in names


def test_elasticsearch_has_tls_encrypted_volumes_resources_and_no_privileged_sysctl(run) -> None:
    recorder = build(run, {"storage_class_name": "encrypted-gp3", "nodes": 3, "volume_size": "200Gi"})
    elasticsearch = only(recorder, "Elasticsearch")
    spec = elasticsearch["spec"]
    assert spec["version"] == charts.ELASTIC_STACK_VERSION
    assert spec["http"]["tls"]["selfSignedCertificate"]["disabled"] is False, "HTTP stays TLS"
    (node_set,) = spec["nodeSets"]
    assert node_set["count"] == 3
    assert node_set["config"]["node.store.allow_mmap"] is False, "no vm.max_map_count init container needed"
    assert "initContainers" not in node_set["podTemplate"]["spec"], "no privileged sysctl container"
    (claim,) = node_set["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "elasticsearch-data", "ECK's data volume name"
    assert claim["spec"]["storageClassName"] == "encrypted-gp3"
    assert claim["spec"]["resources"]["requests"]["storage"] == "200Gi"
    resources = node_set["podTemplate"]["spec"]["containers"][0]["resources"]
    assert resources["requests"]["memory"] == resources["limits"]["memory"], "ECK sizes the heap from the limit"
    assert spec["volumeClaimDeletePolicy"] == "DeleteOnScaledownOnly", "deleting the resource keeps the logs"


def test_kibana_connects_to_this_elasticsearch_over_tls(run) -> None:
    recorder = build(run)
    kibana = only(recorder, "Kibana")
    assert kibana["spec"]["elasticsearchRef"] == {"name": only(recorder, "Elasticsearch")["metadata"]["name"]}
    assert kibana["spec"]["http"]["tls"]["selfSignedCertificate"]["disabled"] is False


def test_fluent_bit_writes_as_a_dedicated_user_that_can_only_append_logs(run) -> None:
    recorder = build(run)
    writer = recorder.one("kubernetes:core/v1:Secret", "logging-log-writer")
    assert writer.inputs["type"] == "kubernetes.io/basic-auth", "ECK's file realm reads basic-auth Secrets"
    assert writer.secret_inputs == ["stringData"], "the generated password stays a Pulumi secret"
    assert writer.inputs["stringData"]["roles"] == WRITER_ROLE
    roles = recorder.one("kubernetes:core/v1:Secret", "logging-roles").inputs["stringData"]["roles.yml"]
    role = json.loads(roles)[WRITER_ROLE]
    assert role["indices"] == [{"names": ["container-logs*"], "privileges": ["create_doc", "auto_configure"]}]
    auth = only(recorder, "Elasticsearch")["spec"]["auth"]
    assert auth["fileRealm"] == [{"secretName": writer.inputs["metadata"]["name"]}]
    assert auth["roles"] == [{"secretName": "logs-roles"}]
    values = chart_values(recorder, "fluent-bit")
    user = {item["name"]: item["valueFrom"]["secretKeyRef"]["name"] for item in values["env"]}
    assert set(user.values()) == {writer.inputs["metadata"]["name"]}, "Fluent Bit is not the elastic superuser"


def test_fluent_bit_ships_to_the_eck_http_service_verifying_ecks_ca(run) -> None:
    recorder = build(run)
    values = chart_values(recorder, "fluent-bit")
    assert "Host logs-es-http.logging.svc" in values["config"]["outputs"]
    assert "tls.verify On" in values["config"]["outputs"]
    assert values["extraVolumes"] == [{"name": "es-ca", "configMap": {"name": "logs-es-http-ca"}}]
    assert chart(recorder, "fluent-bit").inputs["namespace"] == "fluent-bit", "the node agent's own namespace"


def test_fluent_bit_runs_on_every_clouds_gpu_nodes(run) -> None:
    tolerations = chart_values(run_with_provider(run, lambda o: Logging("logging", {}, opts=o)), "fluent-bit")[
        "tolerations"
    ]
    for cloud, taint in every_gpu_taint():
        assert tolerates(tolerations, taint), f"no logs from {cloud} GPU nodes ({taint.aks()})"


def test_the_lifecycle_policy_deletes_after_the_retention_and_governs_the_data_stream(run) -> None:
    recorder = build(run, {"retention_days": 45, "nodes": 1})
    documents = recorder.one("kubernetes:core/v1:ConfigMap", "logging-ilm-config").inputs["data"]
    policy = json.loads(documents["ilm-policy.json"])["policy"]
    assert policy["phases"]["delete"] == {"min_age": "45d", "actions": {"delete": {}}}
    assert "rollover" in policy["phases"]["hot"]["actions"], "deletion works on rolled-over backing indices"
    template = json.loads(documents["index-template.json"])
    assert template["index_patterns"] == ["container-logs*"] and template["data_stream"] == {}
    assert template["template"]["settings"]["index.lifecycle.name"] == "container-logs-retention"
    assert template["template"]["settings"]["index.number_of_replicas"] == 0, "one node cannot hold replicas"
    assert template["priority"] > 100, "must win over Elasticsearch's built-in logs-*-* template"
    assert "Index container-logs" in chart_values(recorder, "fluent-bit")["config"]["outputs"]


def test_a_restricted_job_applies_the_policy_over_verified_tls_and_reruns_when_it_changes(run) -> None:
    recorder = build(run)
    job = recorder.one("kubernetes:batch/v1:Job")
    pod = job.inputs["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["image"] == charts.CURL_IMAGE, "the image is pinned in _charts.py"
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["spec"]["automountServiceAccountToken"] is False
    script = container["command"][-1]
    assert "https://logs-es-http.logging.svc:9200/_ilm/policy/container-logs-retention" in script
    assert "--cacert /es-ca/ca.crt" in script and "--insecure" not in script and " -k " not in script
    assert "$ES_PASSWORD" in script and "-u " not in script, "the password never appears on a command line"
    password = container["env"][0]["valueFrom"]["secretKeyRef"]
    assert password == {"name": "logs-es-elastic-user", "key": "elastic"}, "ECK's generated superuser"
    volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}
    assert volumes["es-ca"]["secret"]["secretName"] == "logs-es-http-certs-public"
    documents = recorder.one("kubernetes:core/v1:ConfigMap", "logging-ilm-config").inputs["data"]
    digest = hashlib.sha256(json.dumps(documents, sort_keys=True).encode()).hexdigest()
    assert pod["metadata"]["annotations"]["mlplatform.io/documents-sha256"] == digest, (
        "a changed policy changes the pod template, which replaces the Job, which applies the new policy"
    )
    assert job.delete_before_replace, "the replacement keeps the Job's name"
    elasticsearch = recorder.one("kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch")
    assert elasticsearch.urn in job.dependencies


def test_fluent_bit_starts_only_after_the_index_template_exists(run) -> None:
    recorder = build(run)
    job = recorder.one("kubernetes:batch/v1:Job")
    assert job.urn in chart(recorder, "fluent-bit").dependencies, (
        "a first write without the template would create a plain index no lifecycle policy governs"
    )


def test_fluent_bits_service_monitor_carries_the_labels_and_waits_only_for_the_crds(run) -> None:
    def program(opts: pulumi.ResourceOptions) -> None:
        monitoring = Monitoring("monitoring", {}, opts=opts)
        Logging(
            "logging",
            {"fluent_bit_service_monitor": True, "service_monitor_labels": monitoring.service_monitor_labels},
            opts=opts,
        )

    recorder = run_with_provider(run, program)
    monitor = chart_values(recorder, "fluent-bit")["serviceMonitor"]
    assert monitor == {"enabled": True, "selector": {"release": "monitoring"}}, (
        "the chart puts `selector` on the ServiceMonitor's labels"
    )
    fluent_bit = chart(recorder, "fluent-bit")
    assert chart(recorder, "prometheus-operator-crds").urn in fluent_bit.property_dependencies["values"], (
        "the chart renders its ServiceMonitor only when the CRD exists, so it must wait for it"
    )
    logging_resources = [r for r in recorder.registrations if r.name.startswith("logging-")]
    kps = chart(recorder, "kube-prometheus-stack").urn
    assert all(kps not in r.dependencies for r in logging_resources), "nothing of Logging waits for the whole stack"
    namespace = recorder.one("kubernetes:core/v1:Namespace", "logging-namespace")
    assert not namespace.dependencies, "Logging's namespaces and operator start at once"


def test_an_output_storage_class_name_reaches_elasticsearch_as_its_only_storage_dependency(run) -> None:
    def program(opts: pulumi.ResourceOptions) -> None:
        storage_class = k8s.storage.v1.StorageClass(
            "encrypted", metadata={"name": "encrypted-gp3"}, provisioner="ebs.csi.aws.com", opts=opts
        )
        Logging("logging", {"storage_class_name": storage_class.metadata.name}, opts=opts)

    recorder = run_with_provider(run, program)
    elasticsearch = recorder.one("kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch")
    (claim,) = elasticsearch.inputs["spec"]["nodeSets"][0]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "encrypted-gp3"
    storage_class = recorder.one("kubernetes:storage.k8s.io/v1:StorageClass").urn
    assert storage_class in elasticsearch.property_dependencies["spec"], "volumes come after their class"
    others = [r for r in recorder.registrations if r.name.startswith("logging-") and r is not elasticsearch]
    assert all(
        storage_class not in {*r.dependencies, *(urn for urns in r.property_dependencies.values() for urn in urns)}
        for r in others
    ), "nothing else in Logging waits for the class"


@pytest.mark.parametrize("protect", [True, False])
def test_protect_keeps_elasticsearch_and_its_volumes(run, protect: bool) -> None:
    recorder = build(run, {"protect": protect})
    elasticsearch = recorder.one("kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch")
    assert elasticsearch.protect is protect and elasticsearch.retain_on_delete is protect


def test_bad_arguments_are_reported_together_with_their_paths(run) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run(
            lambda: Logging(
                "logging",
                {
                    "nodes": 0,
                    "retention_days": 0,
                    "data_stream": "Container Logs",
                    "operator_namespace": "logging",
                    "version": "latest",
                    "volume_size": "lots",
                },
            )
        )
    assert {"nodes", "retentionDays", "dataStream", "operatorNamespace", "version", "volumeSize"} <= set(
        errors_of(raised)
    )


def test_outputs_name_the_urls_secrets_stream_and_policy(run) -> None:
    outputs = build(run).one("mlplatform:index:Logging").outputs
    assert outputs["elasticsearchUrl"] == "https://logs-es-http.logging.svc:9200"
    assert outputs["kibanaUrl"] == "https://logs-kb-http.logging.svc:5601"
    assert outputs["elasticUserSecretName"] == "logs-es-elastic-user"
    assert outputs["dataStream"] == "container-logs"
    assert outputs["ilmPolicyName"] == "container-logs-retention"
