"""`Logging`: ELK on Kubernetes: ECK operator, Elasticsearch, Kibana, a lifecycle policy and Fluent Bit."""

import hashlib
import json
import re
from typing import TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumi_tls as tls

from components._common.validation import Problems, require_args_mapping
from components.kubernetes import _charts, _elastic, _platform_policies, _values
from components.kubernetes._checks import (
    check_bool,
    check_int,
    check_known_arguments,
    check_object_name,
    check_quantity,
    check_release_names,
    check_string_map,
)
from components.kubernetes._namespaces import check_extra_labels, check_namespace_name, create_namespace

DEFAULT_NAMESPACE = "logging"
DEFAULT_OPERATOR_NAMESPACE = "elastic-system"
DEFAULT_AGENT_NAMESPACE = "fluent-bit"
DEFAULT_ELASTICSEARCH_NAME = "logs"
DEFAULT_VERSION = _charts.ELASTIC_STACK_VERSION
DEFAULT_NODES = 3
DEFAULT_STORAGE_CLASS_NAME: str | None = None
DEFAULT_VOLUME_SIZE = "100Gi"
DEFAULT_ELASTICSEARCH_CPU = "1"
DEFAULT_ELASTICSEARCH_MEMORY = "4Gi"
DEFAULT_KIBANA = True
DEFAULT_KIBANA_MEMORY = "1Gi"
DEFAULT_RETENTION_DAYS = 30
DEFAULT_DATA_STREAM = "container-logs"
DEFAULT_FLUENT_BIT_SERVICE_MONITOR = False
DEFAULT_PROTECT = False

LOGGING_TIER = "logging"
CA_VALIDITY_HOURS = 10 * 365 * 24
"""Lifetime of the Elasticsearch HTTP CA; ECK issues and rotates the short-lived server certificate from it."""
CA_EARLY_RENEWAL_HOURS = 365 * 24
"""A `pulumi up` in the CA's last year renews it (ECK reissues the certificate, Fluent Bit restarts)."""
ILM_SETUP_TIMEOUT = "30m"
"""How long `pulumi up` waits for the lifecycle setup Job (Elasticsearch may take minutes to form)."""

_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
# Elasticsearch index names: lower case, no leading '-', '_' or '+', none of \ / * ? " < > | , # : or spaces.
_DATA_STREAM = re.compile(r"^[a-z0-9][a-z0-9._-]{0,199}$")


class LoggingArgs(TypedDict, total=False):
    """Arguments of `Logging`."""

    namespace: str
    """Namespace of Elasticsearch, Kibana and the lifecycle Job (Pod Security `baseline` enforced,
    `restricted` audited and warned). Defaults to logging."""

    operator_namespace: str
    """Namespace of the ECK operator (Pod Security `baseline`). Defaults to elastic-system."""

    agent_namespace: str
    """Namespace of Fluent Bit, Pod Security `privileged` (it reads the nodes' log files); it holds nothing
    else, and gets its own copies of the CA certificate and the writer's credentials. Defaults to fluent-bit."""

    elasticsearch_name: str
    """Name of the Elasticsearch and Kibana resources; ECK derives `<name>-es-http`, `<name>-es-elastic-user`
    and `<name>-kb-http` from it. Defaults to logs."""

    version: str
    """Elasticsearch and Kibana version. Defaults to the version pinned in `_charts.py` (9.5.0)."""

    nodes: int
    """Elasticsearch nodes (each holds every role); 1 means no replica shards. Defaults to 3."""

    storage_class_name: pulumi.Input[str]
    """Storage class of the Elasticsearch data volumes; must be encrypted (see `Monitoring`). Pass
    `EncryptedStorageClass.class_name` so that only Elasticsearch waits for the class. Defaults to the
    cluster's default class."""

    volume_size: str
    """Data volume per Elasticsearch node (Kubernetes quantity). Defaults to 100Gi."""

    elasticsearch_cpu: str
    """CPU request per Elasticsearch node (Kubernetes quantity). Defaults to 1."""

    elasticsearch_memory: str
    """Memory request and limit per Elasticsearch node; the JVM heap is half of it. Defaults to 4Gi."""

    kibana: bool
    """Run Kibana. Defaults to true."""

    retention_days: int
    """Days container logs are kept: backing indices are deleted this many days after their daily rollover.
    Defaults to 30."""

    data_stream: str
    """Name of the data stream Fluent Bit writes to; its index template attaches the lifecycle policy.
    Defaults to container-logs."""

    fluent_bit_service_monitor: bool
    """Create a ServiceMonitor for Fluent Bit's own metrics. Needs the Prometheus operator CRDs before Fluent
    Bit's chart renders (it leaves the ServiceMonitor out otherwise): pass `Monitoring.service_monitor_labels`
    as `service_monitor_labels`, which resolves once they exist. Defaults to false."""

    service_monitor_labels: pulumi.Input[dict[str, str]]
    """Extra labels on Fluent Bit's ServiceMonitor, so a Prometheus that selects by label picks it up. Pass
    `Monitoring.service_monitor_labels`: only Fluent Bit then waits for the Prometheus operator CRDs. Defaults
    to none."""

    protect: bool
    """Protect the Elasticsearch resource (and so its volumes) against `pulumi destroy` and keep it in the
    cluster when removed from the program. Set in prod. Defaults to false."""

    namespace_labels: dict[str, str]
    """Extra labels on both namespaces (e.g. the GDPR record-of-processing labels); cannot override the tier or
    Pod Security labels. Defaults to none."""


class Logging(pulumi.ComponentResource):
    """Ships every container's logs, GPU nodes included, to an Elasticsearch that deletes them on schedule.

    Creates:
    - the ECK operator (helm.v4.Chart, CRDs and validating webhook) in its own `baseline` namespace;
    - an Elasticsearch cluster (ECK custom resource) in a `baseline` namespace: TLS from the platform's HTTP CA
      (ECK issues and rotates the certificate), encrypted persistent volumes of `storage_class_name`,
      `node.store.allow_mmap: false` instead of a privileged sysctl init container, volumes kept when the
      resource is deleted;
    - Kibana (ECK custom resource) with TLS;
    - a dedicated log-writer user (random password, file realm) whose role may only append to the data stream;
    - a lifecycle policy (rollover daily, delete after `retention_days`) and the index template that binds it
      to the data stream, applied by a Job (pinned curl image, restricted security context, verified TLS);
    - Fluent Bit as a DaemonSet on every node, GPU nodes included, in its own `privileged` namespace, shipping
      to `<name>-es-http` over TLS verified against the CA certificate, with copies of that certificate and
      of the writer's credentials in its namespace;
    - NetworkPolicies in the three namespaces: default deny, then DNS, the API server for the operator and
      Fluent Bit, Elasticsearch's clients (Fluent Bit, Kibana, the Job, the operator), ECK's webhook.

    Security defaults: TLS verified end to end; no superuser password outside Elasticsearch's own Secret;
    the writer cannot read, delete or create other indices; no privileged pod except Fluent Bit, and nothing
    else in its namespace; no pod reads another namespace's Secrets.
    """

    namespace: pulumi.Output[str]
    """Namespace of Elasticsearch and Kibana."""

    operator_namespace: pulumi.Output[str]
    """Namespace of the ECK operator."""

    agent_namespace: pulumi.Output[str]
    """Namespace of Fluent Bit."""

    elasticsearch_url: pulumi.Output[str]
    """In-cluster HTTPS URL of Elasticsearch (its CA certificate in `<name>-es-http-certs-public`)."""

    kibana_url: pulumi.Output[str]
    """In-cluster HTTPS URL of Kibana (empty when Kibana is off)."""

    elastic_user_secret_name: pulumi.Output[str]
    """The ECK Secret holding the `elastic` superuser's password (key `elastic`)."""

    log_writer_secret_name: pulumi.Output[str]
    """The basic-auth Secret of the log-writer user Fluent Bit uses."""

    data_stream: pulumi.Output[str]
    """The data stream holding container logs."""

    ilm_policy_name: pulumi.Output[str]
    """The index lifecycle policy governing that data stream."""

    def __init__(self, name: str, args: LoggingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        namespace = args.get("namespace", DEFAULT_NAMESPACE)
        operator_namespace = args.get("operator_namespace", DEFAULT_OPERATOR_NAMESPACE)
        agent_namespace = args.get("agent_namespace", DEFAULT_AGENT_NAMESPACE)
        es_name = args.get("elasticsearch_name", DEFAULT_ELASTICSEARCH_NAME)
        version = args.get("version", DEFAULT_VERSION)
        nodes = args.get("nodes", DEFAULT_NODES)
        storage_class_name = args.get("storage_class_name", DEFAULT_STORAGE_CLASS_NAME)
        volume_size = args.get("volume_size", DEFAULT_VOLUME_SIZE)
        es_cpu = args.get("elasticsearch_cpu", DEFAULT_ELASTICSEARCH_CPU)
        es_memory = args.get("elasticsearch_memory", DEFAULT_ELASTICSEARCH_MEMORY)
        kibana_enabled = args.get("kibana", DEFAULT_KIBANA)
        retention_days = args.get("retention_days", DEFAULT_RETENTION_DAYS)
        data_stream = args.get("data_stream", DEFAULT_DATA_STREAM)
        fluent_bit_monitor = args.get("fluent_bit_service_monitor", DEFAULT_FLUENT_BIT_SERVICE_MONITOR)
        monitor_labels = args.get("service_monitor_labels")
        protect = args.get("protect", DEFAULT_PROTECT)
        namespace_labels = args.get("namespace_labels", {})

        problems = Problems()
        check_known_arguments(problems, args, LoggingArgs)
        check_release_names(problems, name, ("eck-operator", "fluent-bit"))
        check_namespace_name(problems, "namespace", namespace)
        check_namespace_name(problems, "operatorNamespace", operator_namespace)
        check_namespace_name(problems, "agentNamespace", agent_namespace)
        if namespace == operator_namespace:
            problems.add("operatorNamespace", "must differ from namespace (the operator gets its own)")
        if agent_namespace in (namespace, operator_namespace):
            problems.add(
                "agentNamespace", "must differ from namespace and operatorNamespace (it is privileged; they are not)"
            )
        check_object_name(problems, "elasticsearchName", es_name)
        if not isinstance(version, str) or not _VERSION.match(version):
            problems.add("version", f"must be an exact version such as '{DEFAULT_VERSION}' (got {version!r})")
        check_int(problems, "nodes", nodes, minimum=1, maximum=15)
        if storage_class_name is not None and not (
            isinstance(storage_class_name, pulumi.Output)
            or (isinstance(storage_class_name, str) and storage_class_name)
        ):
            problems.add("storageClassName", "must be a storage class name")
        check_quantity(problems, "volumeSize", volume_size)
        check_quantity(problems, "elasticsearchCpu", es_cpu)
        check_quantity(problems, "elasticsearchMemory", es_memory)
        check_bool(problems, "kibana", kibana_enabled)
        check_int(problems, "retentionDays", retention_days, minimum=1, maximum=3650)
        if not isinstance(data_stream, str) or not _DATA_STREAM.match(data_stream):
            problems.add(
                "dataStream", f"{data_stream!r} is not a valid Elasticsearch name (lower case, digits, '.', '_', '-')"
            )
        check_bool(problems, "fluentBitServiceMonitor", fluent_bit_monitor)
        if monitor_labels is not None and not isinstance(monitor_labels, pulumi.Output):
            check_string_map(problems, "serviceMonitorLabels", monitor_labels)
        check_bool(problems, "protect", protect)
        check_extra_labels(problems, "namespaceLabels", namespace_labels)
        problems.raise_if_any(f"Logging '{name}'")

        super().__init__("mlplatform:index:Logging", name, {}, opts)

        operator_ns = create_namespace(
            f"{name}-operator-namespace",
            operator_namespace,
            tier=LOGGING_TIER,
            enforce="baseline",
            extra_labels=namespace_labels,
            parent=self,
        )
        # Same resource and name as when Fluent Bit lived here: the namespace, and Elasticsearch's volumes in
        # it, stay; only its Pod Security labels tighten.
        ns = create_namespace(
            f"{name}-namespace",
            namespace,
            tier=LOGGING_TIER,
            enforce="baseline",
            extra_labels=namespace_labels,
            parent=self,
        )
        agent_ns = create_namespace(
            f"{name}-agent-namespace",
            agent_namespace,
            tier=LOGGING_TIER,
            enforce="privileged",
            extra_labels=namespace_labels,
            parent=self,
        )
        for prefix, policy_namespace, policies in (
            (
                f"{name}-netpol",
                ns.metadata.name,
                _platform_policies.elasticsearch_network_policies(
                    operator_namespace=operator_namespace, agent_namespace=agent_namespace
                ),
            ),
            (
                f"{name}-operator-netpol",
                operator_ns.metadata.name,
                _platform_policies.eck_operator_network_policies(managed_namespaces=[namespace]),
            ),
            (
                f"{name}-agent-netpol",
                agent_ns.metadata.name,
                _platform_policies.log_agent_network_policies(
                    elasticsearch_namespace=namespace, metrics_scrape=fluent_bit_monitor
                ),
            ),
        ):
            _platform_policies.create_network_policies(prefix, policy_namespace, policies, parent=self)
        operator = _charts.helm_chart(
            f"{name}-eck-operator",
            _charts.ECK_OPERATOR,
            release_name=f"{name}-eck-operator",
            namespace=operator_ns.metadata.name,
            values=_values.eck_operator_values([namespace]),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[operator_ns, ns]),
        )

        # The dedicated writer: ECK reads users from basic-auth Secrets (file realm) and roles from `roles.yml`.
        writer_password = random.RandomPassword(
            f"{name}-log-writer-password", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        writer_secret_name = f"{es_name}-log-writer"
        writer_secret = k8s.core.v1.Secret(
            f"{name}-log-writer",
            metadata={"name": writer_secret_name, "namespace": ns.metadata.name},
            type="kubernetes.io/basic-auth",
            string_data={
                "username": "log-writer",
                "password": writer_password.result,
                "roles": _elastic.WRITER_ROLE,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Fluent Bit's copy, in its own namespace: pods read only Secrets of their namespace.
        agent_writer_secret = k8s.core.v1.Secret(
            f"{name}-agent-log-writer",
            metadata={"name": writer_secret_name, "namespace": agent_ns.metadata.name},
            type="kubernetes.io/basic-auth",
            string_data={"username": "log-writer", "password": writer_password.result},
            opts=pulumi.ResourceOptions(parent=self),
        )
        http_ca_secret, http_ca_config_map, ca_digest = self._http_ca(
            name, es_name=es_name, namespace=ns.metadata.name, agent_namespace=agent_ns.metadata.name
        )
        roles_secret = k8s.core.v1.Secret(
            f"{name}-roles",
            metadata={"name": f"{es_name}-roles", "namespace": ns.metadata.name},
            type="Opaque",
            string_data={"roles.yml": _elastic.writer_roles_yaml(data_stream)},
            opts=pulumi.ResourceOptions(parent=self),
        )

        elasticsearch = k8s.apiextensions.CustomResource(
            f"{name}-elasticsearch",
            api_version="elasticsearch.k8s.elastic.co/v1",
            kind="Elasticsearch",
            metadata={"name": es_name, "namespace": ns.metadata.name},
            spec=_elastic.elasticsearch_spec(
                version=version,
                nodes=nodes,
                storage_class_name=storage_class_name,
                volume_size=volume_size,
                cpu=es_cpu,
                memory=es_memory,
                roles_secret=f"{es_name}-roles",
                users_secret=writer_secret_name,
                http_ca_secret=_elastic.es_http_ca_secret(es_name),
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[operator, writer_secret, roles_secret, http_ca_secret],
                protect=protect,
                retain_on_delete=protect,
            ),
        )
        if kibana_enabled:
            k8s.apiextensions.CustomResource(
                f"{name}-kibana",
                api_version="kibana.k8s.elastic.co/v1",
                kind="Kibana",
                metadata={"name": es_name, "namespace": ns.metadata.name},
                spec=_elastic.kibana_spec(version=version, elasticsearch_name=es_name, memory=DEFAULT_KIBANA_MEMORY),
                # The Kibana CRD comes with the operator; ECK itself waits for the referenced Elasticsearch.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[operator]),
            )

        setup_job = self._lifecycle_setup(
            name,
            namespace=ns.metadata.name,
            es_name=es_name,
            es_url=f"https://{_elastic.es_http_host(es_name, namespace)}:{_elastic.ES_HTTP_PORT}",
            retention_days=retention_days,
            data_stream=data_stream,
            replicas=0 if nodes == 1 else 1,
            depends_on=[elasticsearch],
        )

        # Fluent Bit starts only after the index template exists: a first write without it would create a
        # plain index that no lifecycle policy governs.
        _charts.helm_chart(
            f"{name}-fluent-bit",
            _charts.FLUENT_BIT,
            release_name=f"{name}-fluent-bit",
            namespace=agent_ns.metadata.name,
            values=_values.fluent_bit_values(
                es_host=_elastic.es_http_host(es_name, namespace),
                data_stream=data_stream,
                # Through the ConfigMap's output, the chart waits for it.
                ca_config_map=http_ca_config_map.metadata.name,
                credentials_secret=writer_secret_name,
                service_monitor=fluent_bit_monitor,
                service_monitor_labels=monitor_labels,
                ca_digest=ca_digest,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[agent_ns, agent_writer_secret, setup_job]),
        )

        self.namespace = ns.metadata.name
        self.operator_namespace = operator_ns.metadata.name
        self.agent_namespace = agent_ns.metadata.name
        self.elasticsearch_url = pulumi.Output.from_input(
            f"https://{_elastic.es_http_host(es_name, namespace)}:{_elastic.ES_HTTP_PORT}"
        )
        self.kibana_url = pulumi.Output.from_input(
            f"https://{_elastic.kibana_http_service(es_name)}.{namespace}.svc:{_elastic.KIBANA_HTTP_PORT}"
            if kibana_enabled
            else ""
        )
        self.elastic_user_secret_name = pulumi.Output.from_input(_elastic.es_elastic_user_secret(es_name))
        self.log_writer_secret_name = writer_secret.metadata.name
        self.data_stream = pulumi.Output.from_input(data_stream)
        self.ilm_policy_name = pulumi.Output.from_input(_policy_name(data_stream))
        self.register_outputs(
            {
                "namespace": self.namespace,
                "operatorNamespace": self.operator_namespace,
                "agentNamespace": self.agent_namespace,
                "elasticsearchUrl": self.elasticsearch_url,
                "kibanaUrl": self.kibana_url,
                "elasticUserSecretName": self.elastic_user_secret_name,
                "logWriterSecretName": self.log_writer_secret_name,
                "dataStream": self.data_stream,
                "ilmPolicyName": self.ilm_policy_name,
            }
        )

    def _http_ca(
        self,
        name: str,
        *,
        es_name: str,
        namespace: pulumi.Input[str],
        agent_namespace: pulumi.Input[str],
    ) -> tuple[k8s.core.v1.Secret, k8s.core.v1.ConfigMap, pulumi.Output[str]]:
        """The HTTP CA: its key pair for ECK in Elasticsearch's namespace, its certificate in Fluent Bit's.

        ECK's own self-signed CA lives only in Secrets of Elasticsearch's namespace, which a pod in another
        namespace cannot mount; copying it at deploy time would go stale when ECK rotates it. A CA the platform
        owns is known to both sides: ECK issues and rotates the server certificate from it, Fluent Bit trusts
        its certificate. Returns the Secret, the ConfigMap and the certificate's SHA-256.
        """
        key = tls.PrivateKey(
            f"{name}-es-http-ca-key", algorithm="RSA", rsa_bits=4096, opts=pulumi.ResourceOptions(parent=self)
        )
        certificate = tls.SelfSignedCert(
            f"{name}-es-http-ca",
            private_key_pem=key.private_key_pem,
            is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(
                common_name=f"{es_name} Elasticsearch HTTP CA", organization="mlplatform"
            ),
            validity_period_hours=CA_VALIDITY_HOURS,
            early_renewal_hours=CA_EARLY_RENEWAL_HOURS,
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        secret = k8s.core.v1.Secret(
            f"{name}-es-http-ca",
            metadata={"name": _elastic.es_http_ca_secret(es_name), "namespace": namespace},
            type="Opaque",
            string_data={"ca.crt": certificate.cert_pem, "ca.key": pulumi.Output.secret(key.private_key_pem)},
            opts=pulumi.ResourceOptions(parent=self),
        )
        config_map = k8s.core.v1.ConfigMap(
            f"{name}-agent-es-http-ca",
            metadata={"name": _elastic.es_http_ca_config_map(es_name), "namespace": agent_namespace},
            data={"ca.crt": certificate.cert_pem},
            opts=pulumi.ResourceOptions(parent=self),
        )
        digest = certificate.cert_pem.apply(lambda pem: hashlib.sha256(pem.encode()).hexdigest())
        return secret, config_map, digest

    def _lifecycle_setup(
        self,
        name: str,
        *,
        namespace: pulumi.Input[str],
        es_name: str,
        es_url: str,
        retention_days: int,
        data_stream: str,
        replicas: int,
        depends_on: list[pulumi.Resource],
    ) -> k8s.batch.v1.Job:
        """The ConfigMap, ServiceAccount and Job that apply the lifecycle policy and index template.

        Elasticsearch's `spec.nodeSets[].config` cannot hold lifecycle policies and ECK has no resource for
        them, so a Job calls the REST API. Its pod template carries a hash of both documents: changing the
        retention changes the template, which replaces the Job, which applies the new policy.
        """
        policy_name = _policy_name(data_stream)
        documents = {
            "ilm-policy.json": json.dumps(_elastic.ilm_policy(retention_days), indent=2, sort_keys=True),
            "index-template.json": json.dumps(
                _elastic.index_template(data_stream=data_stream, policy_name=policy_name, replicas=replicas),
                indent=2,
                sort_keys=True,
            ),
        }
        digest = hashlib.sha256(json.dumps(documents, sort_keys=True).encode()).hexdigest()
        setup_name = f"{es_name}-ilm-setup"
        config = k8s.core.v1.ConfigMap(
            f"{name}-ilm-config",
            metadata={"name": setup_name, "namespace": namespace},
            data=documents,
            opts=pulumi.ResourceOptions(parent=self),
        )
        account = k8s.core.v1.ServiceAccount(
            f"{name}-ilm-setup",
            metadata={"name": setup_name, "namespace": namespace},
            automount_service_account_token=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        script = _elastic.ilm_setup_script(es_url=es_url, policy_name=policy_name, template_name=data_stream)
        return k8s.batch.v1.Job(
            f"{name}-ilm-setup-job",
            metadata={"name": setup_name, "namespace": namespace},
            spec={
                "backoffLimit": 6,
                "template": {
                    "metadata": {
                        "labels": {"app.kubernetes.io/name": "ilm-setup", "app.kubernetes.io/part-of": "mlplatform"},
                        "annotations": {"mlplatform.io/documents-sha256": digest},
                    },
                    "spec": {
                        "serviceAccountName": setup_name,
                        "automountServiceAccountToken": False,
                        "restartPolicy": "OnFailure",
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": _charts.CURL_IMAGE_USER,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [
                            {
                                "name": "ilm-setup",
                                "image": _charts.CURL_IMAGE,
                                "command": ["/bin/sh", "-c", script],
                                "env": [
                                    {
                                        "name": "ES_PASSWORD",
                                        "valueFrom": {
                                            "secretKeyRef": {
                                                "name": _elastic.es_elastic_user_secret(es_name),
                                                "key": _elastic.ELASTIC_USER,
                                            }
                                        },
                                    }
                                ],
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True,
                                    "runAsNonRoot": True,
                                    "capabilities": {"drop": ["ALL"]},
                                },
                                "resources": {
                                    "requests": {"cpu": "10m", "memory": "32Mi"},
                                    "limits": {"memory": "64Mi"},
                                },
                                "volumeMounts": [
                                    {"name": "documents", "mountPath": _elastic.CONFIG_MOUNT, "readOnly": True},
                                    {"name": "es-ca", "mountPath": _elastic.CA_MOUNT, "readOnly": True},
                                    {"name": "tmp", "mountPath": "/tmp"},
                                ],
                            }
                        ],
                        "volumes": [
                            {"name": "documents", "configMap": {"name": setup_name}},
                            {"name": "es-ca", "secret": {"secretName": _elastic.es_ca_secret(es_name)}},
                            {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}},
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*depends_on, config, account],
                # The Job keeps its name, and a changed pod template forces a replacement.
                delete_before_replace=True,
                custom_timeouts=pulumi.CustomTimeouts(create=ILM_SETUP_TIMEOUT, update=ILM_SETUP_TIMEOUT),
            ),
        )


def _policy_name(data_stream: str) -> str:
    return f"{data_stream}-retention"
