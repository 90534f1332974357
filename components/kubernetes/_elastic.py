"""Pure builders of the ECK custom resources, the index lifecycle policy and its setup script."""

import json
from typing import Any

import pulumi

from components.kubernetes._values import volume_claim_template

ES_HTTP_PORT = 9200
KIBANA_HTTP_PORT = 5601
ELASTIC_USER = "elastic"
WRITER_ROLE = "mlplatform-log-writer"
ROLLOVER_MAX_AGE = "1d"
"""Backing indices roll over daily (or at `ROLLOVER_MAX_PRIMARY_SHARD_SIZE`), so deletion is day-granular."""
ROLLOVER_MAX_PRIMARY_SHARD_SIZE = "50gb"
"""Elastic's recommended ceiling for one primary shard."""
CONFIG_MOUNT = "/config"
CA_MOUNT = "/es-ca"


def es_http_service(name: str) -> str:
    """The HTTP Service ECK creates for Elasticsearch `name`."""
    return f"{name}-es-http"


def es_http_host(name: str, namespace: str) -> str:
    """The in-cluster DNS name of that Service (one of the names in ECK's self-signed certificate)."""
    return f"{es_http_service(name)}.{namespace}.svc"


def es_ca_secret(name: str) -> str:
    """The Secret in which ECK publishes the HTTP CA (`ca.crt`), for clients that verify TLS."""
    return f"{name}-es-http-certs-public"


def es_http_ca_secret(name: str) -> str:
    """The Secret with the platform's HTTP CA (`ca.crt`, `ca.key`) from which ECK issues and rotates the
    HTTP certificate of Elasticsearch `name` (`spec.http.tls.certificate`)."""
    return f"{name}-es-http-ca"


def es_http_ca_config_map(name: str) -> str:
    """The ConfigMap with that CA's certificate (`ca.crt`) in the log shippers' namespace."""
    return f"{name}-es-http-ca"


def es_elastic_user_secret(name: str) -> str:
    """The Secret in which ECK stores the `elastic` superuser's password (key `elastic`)."""
    return f"{name}-es-elastic-user"


def kibana_http_service(name: str) -> str:
    """The HTTP Service ECK creates for Kibana `name`."""
    return f"{name}-kb-http"


def elasticsearch_spec(
    *,
    version: str,
    nodes: int,
    storage_class_name: pulumi.Input[str] | None,
    volume_size: str,
    cpu: str,
    memory: str,
    roles_secret: str,
    users_secret: str,
    http_ca_secret: str,
) -> dict[str, Any]:
    """The `spec` of the Elasticsearch resource.

    Args:
        version: Elasticsearch version.
        nodes: number of Elasticsearch nodes (all roles).
        storage_class_name: the encrypted storage class of the data volumes; None for the cluster default.
        volume_size: data volume per node (quantity).
        cpu: CPU request per node (quantity).
        memory: memory request and limit per node (quantity); ECK sizes the heap to half of it.
        roles_secret: Secret with `roles.yml` defining the log writer's role.
        users_secret: basic-auth Secret of the dedicated log writer user (file realm).
        http_ca_secret: Secret with the CA (`ca.crt`, `ca.key`) ECK issues the HTTP certificate from.
    """
    return {
        "version": version,
        # ECK's default also deletes the data volumes when the Elasticsearch resource is deleted; logs are
        # records a regulator may ask for, so only an explicit scale-down may delete a volume.
        "volumeClaimDeletePolicy": "DeleteOnScaledownOnly",
        # TLS on the HTTP layer (stated so nobody turns it off unseen). ECK issues and rotates the certificate
        # from the platform's CA (ECK v3.5.0 `certificates.ReconcileCAAndHTTPCerts`: a `certificate` Secret with
        # `ca.crt` and `ca.key` is used as the CA), whose certificate the platform can hand to clients in other
        # namespaces without any of them reading ECK's Secrets.
        "http": {"tls": {"selfSignedCertificate": {"disabled": False}, "certificate": {"secretName": http_ca_secret}}},
        "auth": {"roles": [{"secretName": roles_secret}], "fileRealm": [{"secretName": users_secret}]},
        "nodeSets": [
            {
                "name": "default",
                "count": nodes,
                "config": {
                    # Elasticsearch wants vm.max_map_count >= 262144 for memory-mapped index files, which on
                    # EKS/AKS node images means a privileged init container or a sysctl DaemonSet. Turning mmap
                    # off keeps every Elasticsearch pod unprivileged (niofs instead of mmapfs: slightly slower
                    # searches, irrelevant for log ingestion) and needs no change to the node images.
                    "node.store.allow_mmap": False,
                },
                "podTemplate": {
                    "spec": {
                        "containers": [
                            {
                                "name": "elasticsearch",
                                "resources": {
                                    "requests": {"cpu": cpu, "memory": memory},
                                    "limits": {"memory": memory},
                                },
                            }
                        ]
                    }
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "elasticsearch-data"},
                        **volume_claim_template(storage_class_name, volume_size),
                    }
                ],
            }
        ],
    }


def kibana_spec(*, version: str, elasticsearch_name: str, memory: str) -> dict[str, Any]:
    """The `spec` of the Kibana resource, connected to `elasticsearch_name` (TLS with ECK's self-signed CA)."""
    return {
        "version": version,
        "count": 1,
        "elasticsearchRef": {"name": elasticsearch_name},
        "http": {"tls": {"selfSignedCertificate": {"disabled": False}}},
        "podTemplate": {
            "spec": {
                "containers": [
                    {
                        "name": "kibana",
                        "resources": {"requests": {"cpu": "500m", "memory": memory}, "limits": {"memory": memory}},
                    }
                ]
            }
        },
    }


def writer_roles_yaml(data_stream: str) -> str:
    """`roles.yml` of the log writer: append documents to the log data stream, nothing else.

    No `create_index`: the data stream is created from its index template on the first write
    (`auto_configure`), never as a plain index that the lifecycle policy would not govern.
    """
    # JSON is valid YAML, and json.dumps cannot produce an indentation mistake.
    role = {
        WRITER_ROLE: {
            "cluster": ["monitor"],
            "indices": [{"names": [f"{data_stream}*"], "privileges": ["create_doc", "auto_configure"]}],
        }
    }
    return json.dumps(role, indent=2)


def ilm_policy(retention_days: int) -> dict[str, Any]:
    """The lifecycle policy: roll over daily, delete `retention_days` after rollover."""
    return {
        "policy": {
            "_meta": {"managed_by": "mlplatform", "description": f"container logs, {retention_days} days"},
            "phases": {
                "hot": {
                    "min_age": "0ms",
                    "actions": {
                        "rollover": {
                            "max_age": ROLLOVER_MAX_AGE,
                            "max_primary_shard_size": ROLLOVER_MAX_PRIMARY_SHARD_SIZE,
                        }
                    },
                },
                "delete": {"min_age": f"{retention_days}d", "actions": {"delete": {}}},
            },
        }
    }


def index_template(*, data_stream: str, policy_name: str, replicas: int) -> dict[str, Any]:
    """The index template that makes `data_stream` a data stream governed by `policy_name`.

    Priority 500 wins over Elasticsearch's built-in `logs-*-*` template (priority 100).
    """
    return {
        "index_patterns": [f"{data_stream}*"],
        "data_stream": {},
        "priority": 500,
        "template": {
            "settings": {
                "index.lifecycle.name": policy_name,
                "index.number_of_replicas": replicas,
                "index.number_of_shards": 1,
            },
            "mappings": {"properties": {"@timestamp": {"type": "date"}}},
        },
        "_meta": {"managed_by": "mlplatform"},
    }


def ilm_setup_script(*, es_url: str, policy_name: str, template_name: str) -> str:
    """The shell script of the setup Job: PUT the lifecycle policy, then the index template.

    Both calls are idempotent PUTs, retried until Elasticsearch answers (it may still be starting). The
    password goes into a curl config file on the memory-backed /tmp, never on a command line.
    """
    curl = (
        "curl --silent --show-error --fail-with-body --retry 60 --retry-delay 10 --retry-all-errors"
        f" --cacert {CA_MOUNT}/ca.crt --config /tmp/auth.cfg -H 'Content-Type: application/json' -X PUT"
    )
    return "\n".join(
        [
            "set -eu",
            "umask 077",
            f'printf \'user = "{ELASTIC_USER}:%s"\\n\' "$ES_PASSWORD" > /tmp/auth.cfg',
            f"{curl} --data-binary @{CONFIG_MOUNT}/ilm-policy.json '{es_url}/_ilm/policy/{policy_name}'",
            "echo",
            f"{curl} --data-binary @{CONFIG_MOUNT}/index-template.json '{es_url}/_index_template/{template_name}'",
            "echo",
        ]
    )
