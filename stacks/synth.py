"""Offline synthesis: run the Pulumi program under Pulumi's mock runtime and record every registration.

The same `RecordingMonitor` serves the tests (`tests/conftest.py`) and `python -m stacks`, so what the
tests assert is what the preview shows and what the policy packs replay.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import gc
import hashlib
import heapq
import json
import os
import runpy
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.settings import reset_options
from pulumi.runtime.sync_await import _sync_await

from stacks.stack_files import FULL_KEY, stack_config_from_file

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SPECIAL_SIG_KEY = "4dabf18193072939515e22adb298388d"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The wire value of a value that is unknown during preview."""

FAKE_ACCOUNT_ID = "123456789012"
"""The AWS account of every cloud-computed ARN offline: the account AWS's own documentation uses, never a real one."""
FAKE_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
FAKE_TENANT_ID = "11111111-1111-1111-1111-111111111111"
PLACEHOLDER_LEGEND = (
    f"Placeholders: account {FAKE_ACCOUNT_ID} (the account AWS's documentation uses), subscription "
    f"{FAKE_SUBSCRIPTION_ID} and tenant {FAKE_TENANT_ID} stand in for the deployer's; cloud-computed IDs, ARNs and "
    "endpoints are derived from the stack's region/location and resource names, not read from a cloud."
)
"""What the offline account, subscription and tenant IDs are, for every output that prints them."""
OFFLINE_SECRET = "offline-placeholder-secret"
"""The value every `secure:` stack config key takes offline (the real one needs the Pulumi CLI to decrypt)."""


@dataclass
class Registration:
    """One `RegisterResource` call as the engine would see it."""

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    provider: str
    inputs: dict[str, Any]
    """Inputs with secrets unwrapped; unknown values appear as `UNKNOWN`."""
    secret_inputs: list[str]
    """Top-level input keys whose value is, or contains, a secret."""
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    ignore_changes: list[str]
    replace_on_changes: list[str]
    additional_secret_outputs: list[str]
    request: Any = field(repr=False)
    """The raw `RegisterResourceRequest` (its `object` Struct is what the policy analyzer receives)."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """For components: the outputs passed to `register_outputs`."""


def _unwrap(value: Any, path: str, secrets: set[str]) -> Any:
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG_KEY) == SECRET_SIG:
            secrets.add(path)
            return _unwrap(value.get("value"), path, secrets)
        return {key: _unwrap(item, path, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap(item, path, secrets) for item in value]
    return value


def _registration_from(request: Any, urn: str) -> Registration:
    raw = json_format.MessageToDict(request.object, preserving_proto_field_name=True) if request.object else {}
    secrets: set[str] = set()
    inputs = {key: _unwrap(value, key, secrets) for key, value in raw.items()}
    return Registration(
        type=request.type,
        name=request.name,
        urn=urn,
        parent=request.parent,
        custom=request.custom,
        provider=request.provider,
        inputs=inputs,
        secret_inputs=sorted(secrets),
        dependencies=list(request.dependencies),
        property_dependencies={key: list(value.urns) for key, value in request.propertyDependencies.items()},
        protect=bool(request.protect),
        retain_on_delete=bool(request.retainOnDelete),
        delete_before_replace=bool(request.deleteBeforeReplace),
        ignore_changes=list(request.ignoreChanges),
        replace_on_changes=list(request.replaceOnChanges),
        additional_secret_outputs=list(request.additionalSecretOutputs),
        request=request,
    )


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock resource monitor that keeps every registration, in order, for assertions and replay."""

    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self._by_urn: dict[str, Registration] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        registration = _registration_from(request, response.urn)
        self.registrations.append(registration)
        self._by_urn[response.urn] = registration
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        registration = self._by_urn.get(request.urn)
        if registration is not None and request.outputs:
            secrets: set[str] = set()
            outputs = json_format.MessageToDict(request.outputs, preserving_proto_field_name=True)
            registration.outputs = {key: _unwrap(value, key, secrets) for key, value in outputs.items()}
        return super().RegisterResourceOutputs(request)

    # --- queries used by tests, the preview and the policy replay ---

    def by_type(self, type_token: str) -> list[Registration]:
        """Every registration of `type_token`, in registration order."""
        return [r for r in self.registrations if r.type == type_token]

    def one(self, type_token: str, name: str | None = None) -> Registration:
        """The single registration of `type_token` (and `name`); fails with the candidates listed."""
        found = [r for r in self.by_type(type_token) if name is None or r.name == name]
        if len(found) != 1:
            names = [r.name for r in self.by_type(type_token)]
            raise AssertionError(f"expected exactly one {type_token} named {name!r}; registered: {names}")
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        """The registration with this URN."""
        return self._by_urn[urn]

    def children_of(self, urn: str) -> list[Registration]:
        """Direct children of the resource `urn`."""
        return [r for r in self.registrations if r.parent == urn]


# --- Plausible outputs ----------------------------------------------------------------------------------

DEFAULT_REGION = "eu-central-1"
"""The AWS region of a resource whose provider names none (component tests without an explicit provider)."""
DEFAULT_LOCATION = "westeurope"
"""The Azure location of a resource that names none and whose provider names none."""


@dataclass(frozen=True)
class Place:
    """Where a resource is created, as its provider would see it: the values computed outputs are derived from."""

    region: str = DEFAULT_REGION
    location: str = DEFAULT_LOCATION


def _aws_arn(type_token: str, name: str, region: str = DEFAULT_REGION) -> str:
    service = type_token.split(":")[1].split("/")[0]
    resource = type_token.split(":")[-1].lower()
    return f"arn:aws:{service}:{region}:{FAKE_ACCOUNT_ID}:{resource}/{name}"


def autoname(name: str) -> str:
    """The physical name Pulumi's auto-naming gives a resource created without one: the logical name and a random
    7-character suffix, here derived from the name so every run prints the same."""
    return f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:7]}"


def _azure_id(type_token: str, name: str) -> str:
    module = type_token.split(":")[1].split("/")[0]
    kind = type_token.split(":")[-1]
    return (
        f"/subscriptions/{FAKE_SUBSCRIPTION_ID}/resourceGroups/offline-rg/providers/"
        f"Microsoft.{module.capitalize()}/{kind[0].lower()}{kind[1:]}s/{name}"
    )


AKS_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
"""The Entra server application of every AKS-managed Entra cluster (kubelogin's `--server-id`)."""


def fake_aks_user_kubeconfig(cluster: str, server: str) -> str:
    """An AKS Entra user kubeconfig as `listClusterUserCredential` returns it with `format=exec`: kubelogin with
    the device-code login, which the cluster component rewrites to a non-interactive mode."""
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster, "cluster": {"server": server, "certificate-authority-data": "LS0tLS1CRUdJTg=="}}
            ],
            "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": f"clusterUser_{cluster}"}}],
            "current-context": cluster,
            "users": [
                {
                    "name": f"clusterUser_{cluster}",
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "kubelogin",
                            "args": (
                                f"get-token --environment AzurePublicCloud --server-id {AKS_SERVER_ID} "
                                f"--client-id 80faf920-1908-4b52-b5ef-a8e7bedfc67a --tenant-id {FAKE_TENANT_ID} "
                                "--login devicecode"
                            ).split(),
                            "env": None,
                            "provideClusterInfo": False,
                        }
                    },
                }
            ],
        },
        sort_keys=False,
    )


def _untagged(image: str) -> str:
    """`registry/repo:tag` -> `registry/repo` (a registry host may carry a port, so only the last part counts)."""
    head, _, last = image.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def plausible_outputs(type_token: str, name: str, inputs: dict[str, Any], place: Place | None = None) -> dict[str, Any]:
    """Outputs a provider would return for `type_token`, beyond echoing the inputs, for a resource created in
    `place` (its provider's region; an Azure resource's own `location` input wins)."""
    place = place or Place()
    if isinstance(inputs.get("location"), str) and inputs["location"]:
        place = Place(place.region, inputs["location"])
    outputs: dict[str, Any] = {}
    if type_token.startswith("aws:"):
        outputs["arn"] = _aws_arn(type_token, name, place.region)
        outputs.update(auto_named(type_token, name, inputs))
    if type_token.startswith("azure-native:"):
        outputs["id"] = _azure_id(type_token, name)
        outputs.setdefault("name", inputs.get("resourceName", name))
        identity = _azure_identity_output(name, inputs.get("identity"))
        if identity is not None:
            outputs["identity"] = identity
    outputs.update(_SPECIFIC_OUTPUTS.get(type_token, lambda n, i, p: {})(name, {**inputs, **outputs}, place))
    return outputs


def auto_named(type_token: str, name: str, inputs: dict[str, Any]) -> dict[str, str]:
    """The auto-named property of a resource created without its name (`_AUTONAMED_AWS`), as the provider's
    Check fills it in (so it is known during a preview too); empty when the program names it."""
    prop = _AUTONAMED_AWS.get(type_token)
    return {prop: autoname(name)} if prop and not inputs.get(prop) else {}


_AUTONAMED_AWS: dict[str, str] = {
    "aws:backup/vault:Vault": "name",
    "aws:backup/plan:Plan": "name",
    "aws:backup/selection:Selection": "name",
}
"""Resource types whose name property Pulumi auto-names when the program gives none, and that property, where no
specific rule below computes it (those fall back to the logical name)."""


def _azure_identity_output(name: str, identity: Any) -> dict[str, Any] | None:
    """ARM returns `identity.userAssignedIdentities` as a map keyed by identity ID (requests send a list)."""
    if not isinstance(identity, dict) or not isinstance(identity.get("userAssignedIdentities"), list):
        return None

    return {
        **identity,
        "principalId": f"principal-{name}" if "SystemAssigned" in str(identity.get("type", "")) else None,
        "userAssignedIdentities": {
            identity_id: {
                "principalId": f"principal-{index}-{name}",
                "clientId": f"client-{index}-{name}",
            }
            for index, identity_id in enumerate(identity["userAssignedIdentities"])
            if isinstance(identity_id, str)
        },
    }


def preview_outputs(type_token: str, name: str, inputs: dict[str, Any], place: Place | None = None) -> dict[str, Any]:
    """What a provider returns for a resource during a preview: the update-mode outputs (`plausible_outputs`)
    with every value the cloud computes, i.e. not taken from the inputs, unknown. Auto-names stay known (the
    provider's Check assigns them before the plan), as does a value copied from an input (a name)."""
    known_inputs = _wire_unknowns(inputs)  # the rules below read strings; an unknown input is the wire string
    full = {**inputs, **plausible_outputs(type_token, name, known_inputs, place)}
    copied = {value for value in inputs.values() if isinstance(value, str)}
    outputs = {key: _unknown_beyond(inputs.get(key, _MISSING), value, copied) for key, value in full.items()}
    outputs.update(auto_named(type_token, name, inputs))
    return outputs


_MISSING = object()


def _wire_unknowns(value: Any) -> Any:
    """`value` with the SDK's `Unknown` placeholders (inputs unknown during a preview) as the wire value `UNKNOWN`."""
    if isinstance(value, dict):
        return {key: _wire_unknowns(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire_unknowns(item) for item in value]
    return UNKNOWN if isinstance(value, pulumi.output.Unknown) else value


def _unknown_beyond(given: Any, computed: Any, copied: set[str]) -> Any:
    """`computed` with every leaf absent from `given` unknown; where the shapes differ (ARM's identity map for
    the list a request sends), the computed shape with unknown leaves."""
    if isinstance(given, dict) and isinstance(computed, dict):
        merged = {key: _unknown_beyond(given.get(key, _MISSING), value, copied) for key, value in computed.items()}
        return {**given, **merged}
    if given is not _MISSING and type(given) is type(computed):
        return given
    if isinstance(computed, dict):
        return {key: _unknown_beyond(_MISSING, value, copied) for key, value in computed.items()}
    if isinstance(computed, list):
        return [_unknown_beyond(_MISSING, value, copied) for value in computed]
    if isinstance(computed, str) and computed in copied:
        return computed
    return UNKNOWN if computed is not None else None


_SPECIFIC_OUTPUTS: dict[str, Any] = {
    # AWS
    "aws:kms/key:Key": lambda n, i, p: {
        "keyId": f"{n}-key-id",
        "arn": f"arn:aws:kms:{p.region}:{FAKE_ACCOUNT_ID}:key/{n}",
    },
    "aws:s3/bucket:Bucket": lambda n, i, p: {
        "bucket": i.get("bucket", n),
        "arn": f"arn:aws:s3:::{i.get('bucket', n)}",
        "bucketDomainName": f"{i.get('bucket', n)}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{i.get('bucket', n)}.s3.{p.region}.amazonaws.com",
    },
    "aws:rds/instance:Instance": lambda n, i, p: {
        "arn": f"arn:aws:rds:{p.region}:{FAKE_ACCOUNT_ID}:db:{i.get('identifier', n)}",
        "address": f"{i.get('identifier', n)}.abcdefghijkl.{p.region}.rds.amazonaws.com",
        "endpoint": f"{i.get('identifier', n)}.abcdefghijkl.{p.region}.rds.amazonaws.com:{i.get('port', 5432)}",
        "port": i.get("port", 5432),
    },
    "aws:ecr/repository:Repository": lambda n, i, p: {
        "repositoryUrl": f"{FAKE_ACCOUNT_ID}.dkr.ecr.{p.region}.amazonaws.com/{i.get('name', n)}",
        "registryId": FAKE_ACCOUNT_ID,
    },
    "aws:eks/cluster:Cluster": lambda n, i, p: {
        "name": i.get("name", n),
        "endpoint": f"https://{n}.gr7.{p.region}.eks.amazonaws.com",
        "certificateAuthority": {"data": base64.b64encode(b"offline-ca").decode()},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{p.region}.amazonaws.com/id/{n.upper()}"}]}],
        "clusterSecurityGroupId": f"sg-{n}",
        "version": i.get("version", "1.34"),
        "vpcConfig": {**i.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{n}", "vpcId": f"vpc-{n}"},
    },
    "aws:eks/nodeGroup:NodeGroup": lambda n, i, p: {
        "nodeGroupName": i.get("nodeGroupName", n),
        "resources": [{"autoscalingGroups": [{"name": f"eks-{n}-asg"}]}],
        "status": "ACTIVE",
    },
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda n, i, p: {
        "arn": f"arn:aws:iam::{FAKE_ACCOUNT_ID}:oidc-provider/{i.get('url', n).removeprefix('https://')}",
    },
    "aws:iam/role:Role": lambda n, i, p: {
        "arn": f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/{i.get('name', n)}",
        "name": i.get("name", n),
    },
    "aws:iam/policy:Policy": lambda n, i, p: {"arn": f"arn:aws:iam::{FAKE_ACCOUNT_ID}:policy/{i.get('name', n)}"},
    "aws:ec2/launchTemplate:LaunchTemplate": lambda n, i, p: {"latestVersion": 1, "defaultVersion": 1},
    "aws:iam/serviceLinkedRole:ServiceLinkedRole": lambda n, i, p: {
        "name": "AWSServiceRoleForAutoScaling" if i.get("awsServiceName") == "autoscaling.amazonaws.com" else n,
        "arn": f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/aws-service-role/{i.get('awsServiceName', n)}/"
        + ("AWSServiceRoleForAutoScaling" if i.get("awsServiceName") == "autoscaling.amazonaws.com" else n),
    },
    "aws:sqs/queue:Queue": lambda n, i, p: {
        "name": i.get("name", n),
        "arn": f"arn:aws:sqs:{p.region}:{FAKE_ACCOUNT_ID}:{i.get('name', n)}",
        "url": f"https://sqs.{p.region}.amazonaws.com/{FAKE_ACCOUNT_ID}/{i.get('name', n)}",
    },
    "aws:cloudwatch/eventRule:EventRule": lambda n, i, p: {
        "name": i.get("name", n),
        "arn": f"arn:aws:events:{p.region}:{FAKE_ACCOUNT_ID}:rule/{i.get('name', n)}",
    },
    "aws:cloudwatch/logGroup:LogGroup": lambda n, i, p: {
        "name": i.get("name", n),
        "arn": f"arn:aws:logs:{p.region}:{FAKE_ACCOUNT_ID}:log-group:{i.get('name', n)}",
    },
    # Azure
    "azure-native:resources:ResourceGroup": lambda n, i, p: {"name": i.get("resourceGroupName", n)},
    "azure-native:dbforpostgresql:Server": lambda n, i, p: {
        "fullyQualifiedDomainName": f"{i.get('serverName', n)}.postgres.database.azure.com",
    },
    "azure-native:managedidentity:UserAssignedIdentity": lambda n, i, p: {
        "clientId": f"client-{n}",
        "principalId": f"principal-{n}",
        "tenantId": FAKE_TENANT_ID,
    },
    "azure-native:keyvault:Vault": lambda n, i, p: {
        "properties": {**i.get("properties", {}), "vaultUri": f"https://{n}.vault.azure.net/"}
    },
    "azure-native:keyvault:Key": lambda n, i, p: {
        "keyUri": f"https://vault.vault.azure.net/keys/{i.get('keyName', n)}",
        "keyUriWithVersion": f"https://vault.vault.azure.net/keys/{i.get('keyName', n)}/0123456789abcdef",
    },
    "azure-native:containerregistry:Registry": lambda n, i, p: {
        "loginServer": f"{i.get('registryName', n)}.azurecr.io"
    },
    "azure-native:storage:StorageAccount": lambda n, i, p: {
        "primaryEndpoints": {"blob": f"https://{i.get('accountName', n)}.blob.core.windows.net/"},
    },
    "azure-native:containerservice:ManagedCluster": lambda n, i, p: {
        "fqdn": f"{n}.hcp.{p.location}.azmk8s.io",
        "privateFQDN": f"{n}.privatelink.{p.location}.azmk8s.io",
        "oidcIssuerProfile": {
            "enabled": True,
            "issuerURL": f"https://{p.location}.oic.prod-aks.azure.com/{FAKE_TENANT_ID}/{n}/",
        },
        "identityProfile": {
            "kubeletidentity": {
                "clientId": f"kubelet-{n}",
                "objectId": f"kubelet-object-{n}",
                "resourceId": f"/subscriptions/{FAKE_SUBSCRIPTION_ID}/kubelet-{n}",
            }
        },
    },
    "azure-native:compute:DiskEncryptionSet": lambda n, i, p: {
        "identity": {**i.get("identity", {}), "principalId": f"principal-{n}", "tenantId": FAKE_TENANT_ID},
    },
    "azure-native:operationalinsights:Workspace": lambda n, i, p: {"customerId": f"workspace-{n}"},
    # Kubernetes / Docker / random
    "random:index/randomPassword:RandomPassword": lambda n, i, p: {"result": f"offline-password-{n}"},
    "tls:index/privateKey:PrivateKey": lambda n, i, p: {
        "privateKeyPem": f"-----BEGIN RSA PRIVATE KEY-----\noffline-{n}\n-----END RSA PRIVATE KEY-----\n",
        "publicKeyPem": f"-----BEGIN PUBLIC KEY-----\noffline-{n}\n-----END PUBLIC KEY-----\n",
    },
    "tls:index/selfSignedCert:SelfSignedCert": lambda n, i, p: {
        "certPem": f"-----BEGIN CERTIFICATE-----\noffline-{n}\n-----END CERTIFICATE-----\n",
    },
    "docker:index/image:Image": lambda n, i, p: {
        "repoDigest": f"{_untagged(i.get('imageName', n))}@sha256:{'0' * 64}",
        "imageName": i.get("imageName", n),
    },
    "docker-build:index:Image": lambda n, i, p: {
        "digest": f"sha256:{'0' * 64}",
        "ref": f"{(i.get('tags') or [n])[0]}@sha256:{'0' * 64}",
    },
}


OFFLINE_DEPLOYER_ROLE_ARN = f"arn:aws:iam::{FAKE_ACCOUNT_ID}:role/offline-deployer"
"""The IAM role the offline caller's session comes from: a plausible deployer that no shipped stack lists as admin."""
OFFLINE_CALLER_ARN = f"arn:aws:sts::{FAKE_ACCOUNT_ID}:assumed-role/offline-deployer/offline-session"
"""What `get_caller_identity` answers offline: an assumed-role session, as CI runners and SSO users have."""


def _session_context(arguments: dict[str, Any]) -> dict[str, Any]:
    """`get_session_context`: the role behind an assumed-role session ARN; any other ARN passes through."""
    arn = str(arguments.get("arn", ""))
    issuer, session = arn, ""
    prefix, _, rest = arn.partition(":assumed-role/")
    if rest:
        role, _, session = rest.partition("/")
        account = prefix.rsplit(":", 1)[-1]
        partition = prefix.split(":")[1]
        issuer = f"arn:{partition}:iam::{account}:role/{role}"
    return {
        "arn": arn, "issuerArn": issuer, "issuerId": "AROAOFFLINE", "issuerName": issuer.rsplit("/", 1)[-1],
        "sessionName": session, "id": arn,
    }  # fmt: skip


_CALL_RESULTS: dict[str, Any] = {
    "aws:index/getCallerIdentity:getCallerIdentity": lambda a: {
        "accountId": FAKE_ACCOUNT_ID, "arn": OFFLINE_CALLER_ARN, "userId": "AROAOFFLINE:offline-session", "id": FAKE_ACCOUNT_ID,
    },
    "aws:index/getPartition:getPartition": lambda a: {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"},
    "aws:iam/getSessionContext:getSessionContext": _session_context,
    "azure-native:authorization:getClientConfig": lambda a: {
        "clientId": "offline-client", "objectId": "offline-object", "subscriptionId": FAKE_SUBSCRIPTION_ID, "tenantId": FAKE_TENANT_ID,
    },
    "azure-native:containerservice:listManagedClusterUserCredentials": lambda a: {
        "kubeconfigs": [{"name": "clusterUser", "value": base64.b64encode(fake_aks_user_kubeconfig(
            a.get("resourceName", "aks"), "https://aks.privatelink.offline:443").encode()).decode()}],
    },
    "azure-native:containerregistry:listRegistryCredentials": lambda a: {
        "username": "offline", "passwords": [{"name": "password", "value": OFFLINE_SECRET}],
    },
}  # fmt: skip

_REGIONAL_CALL_RESULTS: dict[str, Any] = {
    "aws:index/getRegion:getRegion": lambda a, p: {"name": p.region, "region": p.region, "id": p.region},
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": lambda a, p: {
        "userName": "AWS", "password": OFFLINE_SECRET, "proxyEndpoint": f"https://{FAKE_ACCOUNT_ID}.dkr.ecr.{p.region}.amazonaws.com",
        "authorizationToken": OFFLINE_SECRET, "expiresAt": "2099-01-01T00:00:00Z", "id": p.region,
    },
}  # fmt: skip
"""Invokes whose answer depends on the provider's region (handlers take the arguments and the `Place`)."""


class PlausibleMocks(pulumi_mocks.Mocks):
    """Mocks that echo inputs and add the outputs providers compute (ids, ARNs, endpoints, kubeconfig).

    Computed values derive from the stack: an AWS resource's region is its provider's `region` (an explicit
    provider, or the stack's `aws:region` config for the default one), an Azure resource's location its own
    `location` input or its provider's. As a preview (`preview=True`) a resource's outputs are its inputs only:
    everything the cloud computes stays unknown, as `pulumi preview` shows it.

    Args:
        stack_outputs: outputs of other stacks by fully qualified name, served to `pulumi.StackReference`
            (e.g. a platform stack's synthesized outputs, for a team program that consumes them).
        default_place: the region/location of resources on the default providers (from the stack's config).
        preview: leave cloud-computed outputs unknown.
    """

    def __init__(
        self,
        stack_outputs: dict[str, dict[str, Any]] | None = None,
        stack_secret_outputs: dict[str, list[str]] | None = None,
        *,
        default_place: Place | None = None,
        preview: bool = False,
    ) -> None:
        super().__init__()
        self.stack_outputs = stack_outputs or {}
        self.stack_secret_outputs = stack_secret_outputs or {}
        self.default_place = default_place or Place()
        self.preview = preview
        self._provider_places: dict[tuple[str, str], Place] = {}
        """By provider type and name (the two last parts of the URN a provider reference carries)."""

    def place_of(self, provider_reference: str) -> Place:
        """The place of resources using `provider_reference` (`urn::id`, empty for the default provider)."""
        if not provider_reference:
            return self.default_place
        urn = provider_reference.rsplit("::", 1)[0]
        type_part, _, name = urn.rpartition("::")
        return self._provider_places.get((type_part.rsplit("::", 1)[-1].split("$")[-1], name), self.default_place)

    def _record_provider(self, args: pulumi_mocks.MockResourceArgs) -> None:
        if not args.typ.startswith("pulumi:providers:"):
            return
        region, location = args.inputs.get("region"), args.inputs.get("location")
        self._provider_places[(args.typ, args.name)] = Place(
            region if isinstance(region, str) and region else self.default_place.region,
            location if isinstance(location, str) and location else self.default_place.location,
        )

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "pulumi:pulumi:StackReference":
            name = args.inputs.get("name", args.name)
            if name not in self.stack_outputs:
                raise KeyError(f"no outputs given for stack reference '{name}' (pass stack_outputs=...)")
            secret_names = self.stack_secret_outputs.get(name, [])
            return name, {"name": name, "outputs": self.stack_outputs[name], "secretOutputNames": secret_names}
        self._record_provider(args)
        if self.preview and args.custom and not args.typ.startswith("pulumi:providers:"):
            # Outputs missing from the response are unknown during a preview; the ID is unknown too. Auto-names
            # are known: the provider's Check assigns them before the plan.
            return "", preview_outputs(args.typ, args.name, args.inputs, self.place_of(args.provider))
        place = self.place_of(args.provider)
        outputs = {**args.inputs, **plausible_outputs(args.typ, args.name, args.inputs, place)}
        resource_id = outputs.get("id") if args.typ.startswith("azure-native:") else f"{args.name}-id"
        return str(resource_id), outputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        # An empty failure list, not None: the mock monitor iterates it.
        regional = _REGIONAL_CALL_RESULTS.get(args.token)
        if regional is not None:
            return regional(args.args, self.place_of(args.provider)), []
        handler = _CALL_RESULTS.get(args.token)
        return (handler(args.args) if handler else {}), []


def install_recording_mocks(
    *,
    project: str = "mlplatform",
    stack: str = "test",
    preview: bool = False,
    stack_outputs: dict[str, dict[str, Any]] | None = None,
    stack_secret_outputs: dict[str, list[str]] | None = None,
    default_place: Place | None = None,
) -> RecordingMonitor:
    """Reset the Pulumi runtime and install a fresh `RecordingMonitor`. Returns it for assertions."""
    reset_options(project=project, stack=stack, preview=preview)
    mocks = PlausibleMocks(stack_outputs, stack_secret_outputs, default_place=default_place, preview=preview)
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    return monitor


# --- Running a whole program ----------------------------------------------------------------------------


@dataclass
class Synthesis:
    """The result of running a stack offline."""

    project: str
    stack: str
    monitor: RecordingMonitor
    outputs: dict[str, Any]
    """Stack outputs; one unknown during a preview (cloud-computed) is the wire value `UNKNOWN`."""
    secret_outputs: list[str]
    preview: bool = False
    """Synthesized as a preview: cloud-computed values are unknown rather than placeholders."""
    _canonical: list[Registration] = field(default_factory=list, init=False, repr=False, compare=False)

    @property
    def unknown_outputs(self) -> list[str]:
        """Output names whose value is unknown (only during a preview), sorted."""
        return sorted(key for key, value in self.outputs.items() if value == UNKNOWN)

    @property
    def registrations(self) -> list[Registration]:
        """Every registration, in a canonical order (`canonical_order`): one the engine could have seen, the same
        on every run, so the preview, the policy replay, the deployability check and their reports are stable.
        `monitor.registrations` keeps the order this run happened to register in."""
        if len(self._canonical) != len(self.monitor.registrations):
            self._canonical = canonical_order(self.monitor.registrations)
        return self._canonical


def project_name(project_dir: Path) -> str:
    """The `name:` of the project's Pulumi.yaml."""
    return str(yaml.safe_load((project_dir / "Pulumi.yaml").read_text())["name"])


def stack_names(project_dir: Path = PROJECT_ROOT) -> list[str]:
    """Every stack with a `Pulumi.<stack>.yaml` in the project directory."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def pulumi_config_for(stack: str, project_dir: Path) -> tuple[dict[str, str], list[str]]:
    """The stack's config as the Pulumi CLI hands it to a program: `ns:key` -> string, plus the secret keys."""
    project = project_name(project_dir)
    values: dict[str, str] = {}
    secret_keys: list[str] = []
    project_config = (yaml.safe_load((project_dir / "Pulumi.yaml").read_text()) or {}).get("config") or {}
    merged: dict[str, Any] = {}
    for key, spec in project_config.items():
        if isinstance(spec, dict) and "default" in spec:
            merged[key] = spec["default"]
        elif not isinstance(spec, dict):
            merged[key] = spec
    merged.update(stack_config_from_file(project_dir / f"Pulumi.{stack}.yaml"))
    for key, value in merged.items():
        full_key = key if ":" in key else f"{project}:{key}"
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[full_key] = OFFLINE_SECRET
            secret_keys.append(full_key)
        else:
            values[full_key] = value if isinstance(value, str) else json.dumps(value)
    return values, secret_keys


def default_place_of(config: dict[str, str]) -> Place:
    """The region/location of the default providers, from the stack's `aws:region` / `azure-native:location`
    config (explicit providers carry their own; see `PlausibleMocks`)."""
    return Place(
        config.get("aws:region") or DEFAULT_REGION,
        config.get("azure-native:location") or config.get("azure:location") or DEFAULT_LOCATION,
    )


@contextmanager
def _program_environment(project_dir: Path) -> Iterator[None]:
    previous_cwd, previous_path = Path.cwd(), list(sys.path)
    os.chdir(project_dir)
    sys.path.insert(0, str(project_dir))
    try:
        yield
    finally:
        os.chdir(previous_cwd)
        sys.path[:] = previous_path


@contextmanager
def _automatic_collection(enabled: bool) -> Iterator[None]:
    """CPython's automatic garbage collection on or off for a block, restored afterwards.

    Pulumi keeps every resource, Output and future of a program alive until it ends, so each automatic
    collection traverses the whole growing graph, and a synthesis pays for many of them: off, synthesis of
    prod scaled to 100 namespaces takes half the time for about a fifth more peak memory (docs/benchmarks.md,
    *Garbage collection*). The cycles left behind are collected once collection is back on.
    """
    was_enabled = gc.isenabled()
    if not enabled:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def synthesize(
    stack: str,
    project_dir: Path = PROJECT_ROOT,
    *,
    preview: bool = False,
    program: Path | None = None,
    stack_outputs: dict[str, dict[str, Any]] | None = None,
    collect_garbage: bool = False,
) -> Synthesis:
    """Run the project's program (or `program`) for `stack` under the recording mocks.

    Args:
        stack: the stack name; its `Pulumi.<stack>.yaml` supplies the config.
        project_dir: the directory holding Pulumi.yaml.
        preview: run as a preview (unknown outputs stay unknown) instead of an update.
        program: the program file; defaults to `<project_dir>/__main__.py`.
        stack_outputs: outputs served to `pulumi.StackReference` by stack name (see `PlausibleMocks`).
        collect_garbage: keep CPython's automatic garbage collection on while the program runs; off by
            default, because it costs more time than the memory it saves (see `_automatic_collection`).

    Raises:
        PlatformConfigError: when the stack configuration is invalid (before any registration).
    """
    project_dir = project_dir.resolve()
    project = project_name(project_dir)
    stack_secret_outputs: dict[str, list[str]] = {}
    if stack_outputs is None:
        stack_outputs, stack_secret_outputs = foundation_outputs(stack, project_dir, program=program)
    config, secret_keys = pulumi_config_for(stack, project_dir)
    monitor = install_recording_mocks(
        project=project,
        stack=stack,
        preview=preview,
        stack_outputs=stack_outputs,
        stack_secret_outputs=stack_secret_outputs,
        default_place=default_place_of(config),
    )
    pulumi.runtime.set_all_config(config, secret_keys)
    entry = program or project_dir / "__main__.py"

    with _program_environment(project_dir), _automatic_collection(collect_garbage):
        _sync_await(pulumi.runtime.stack.run_pulumi_func(lambda: runpy.run_path(str(entry), run_name="__main__")))
        outputs, secret_outputs = _resolve_stack_outputs()
    return Synthesis(project, stack, monitor, outputs, secret_outputs, preview)


def foundation_outputs(
    stack: str, project_dir: Path, *, program: Path | None = None
) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """For a cluster-layer stack whose foundation's stack file is in the project: the foundation synthesized
    offline, its outputs (and secret output names) under the name the StackReference asks for.

    The foundation runs as an update, not a preview: a StackReference reads a deployed stack, whose outputs are
    known. Empty for every other stack.

    Raises:
        PlatformConfigError: either file is invalid, or the cluster layer disagrees with its foundation.
    """
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        return {}, {}
    platform = stack_config_from_file(path).get(FULL_KEY)
    target = platform.get("target") if isinstance(platform, dict) else None
    if not (isinstance(target, dict) and target.get("foundation")):
        return {}, {}  # not a cluster-layer stack (or another program's stack file)
    # The config models load here, for a cluster layer only: synthesizing any other program needs none of them.
    from stacks.load import check_against_foundation, platform_config_from_stack_file

    config = platform_config_from_stack_file(path)
    if check_against_foundation(config, project_dir, stack) is None:
        return {}, {}
    assert config.foundation is not None
    foundation = synthesize(config.foundation.stack_name, project_dir, program=program)
    name = config.foundation.stack
    return {name: foundation.outputs}, {name: foundation.secret_outputs}


def cluster_layer_of(foundation_stack: str, project_dir: Path = PROJECT_ROOT) -> str | None:
    """The stack in this project whose Kubernetes layer reads `foundation_stack`, or None."""
    for stack in stack_names(project_dir):
        platform = stack_config_from_file(project_dir / f"Pulumi.{stack}.yaml").get(FULL_KEY) or {}
        foundation = (platform.get("target") or {}).get("foundation") or {}
        if isinstance(foundation, dict) and str(foundation.get("stack", "")).rsplit("/", 1)[-1] == foundation_stack:
            return stack
    return None


def whole_platform_config(foundation_stack: str, project_dir: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The config of a split environment as one stack: the foundation's file with its cluster layer's sections
    merged in and `kubernetesLayer: thisStack`, i.e. what one stack deployed from inside the network would hold.

    The cluster layer's sections win where both set one (monitoring, logging, the namespaces' quotas); namespaces
    are merged by name. Used to show that the split produces the same platform as one stack.
    """
    layer_stack = cluster_layer_of(foundation_stack, project_dir)
    foundation_config = stack_config_from_file(project_dir / f"Pulumi.{foundation_stack}.yaml")
    if layer_stack is None:
        return foundation_config
    layer_config = stack_config_from_file(project_dir / f"Pulumi.{layer_stack}.yaml")
    whole = copy.deepcopy(foundation_config[FULL_KEY])
    layer = copy.deepcopy(layer_config[FULL_KEY])
    layer.pop("target", None)
    layer.pop("deployment", None)
    layer_namespaces = {
        namespace["name"]: namespace for namespace in (layer.pop("serving", {}) or {}).get("namespaces", [])
    }
    for key, value in layer.items():
        whole[key] = _merged(whole.get(key), value)
    for namespace in (whole.get("serving") or {}).get("namespaces", []):
        namespace.update({k: v for k, v in layer_namespaces.get(namespace["name"], {}).items() if k != "name"})
    whole.setdefault("deployment", {})["kubernetesLayer"] = "thisStack"
    return {**foundation_config, **{k: v for k, v in layer_config.items() if k != FULL_KEY}, FULL_KEY: whole}


def _merged(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{key: _merged(base.get(key), value) for key, value in override.items()}}
    return copy.deepcopy(override)


def synthesize_whole(foundation_stack: str, project_dir: Path = PROJECT_ROOT, *, preview: bool = False) -> Synthesis:
    """Synthesize a split environment as one stack of the same name (see `whole_platform_config`); any other
    stack as it is."""
    if cluster_layer_of(foundation_stack, project_dir) is None:
        return synthesize(foundation_stack, project_dir, preview=preview)
    with tempfile.TemporaryDirectory(prefix="mlplatform-whole-") as directory:
        whole_dir = Path(directory)
        shutil.copy(project_dir / "Pulumi.yaml", whole_dir / "Pulumi.yaml")
        document = {"config": whole_platform_config(foundation_stack, project_dir)}
        (whole_dir / f"Pulumi.{foundation_stack}.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        return synthesize(foundation_stack, whole_dir, preview=preview, program=project_dir / "__main__.py")


def _resolve_stack_outputs() -> tuple[dict[str, Any], list[str]]:
    root = pulumi.runtime.get_root_resource()
    exported = dict(getattr(root, "outputs", {}) or {})

    async def resolve(value: Any) -> tuple[Any, bool]:
        output = pulumi.Output.from_input(value)
        known = await output.is_known()
        return (await output.future() if known else UNKNOWN), await output.is_secret()

    async def resolve_all() -> list[tuple[Any, bool]]:
        return list(await asyncio.gather(*(resolve(value) for value in exported.values())))

    # One run of the event loop for every output, not three per output.
    resolved = dict(zip(exported, _sync_await(resolve_all()), strict=True))
    values = {key: value for key, (value, _) in resolved.items()}
    return values, sorted(key for key, (_, secret) in resolved.items() if secret)


UNKNOWN_MARK = "[unknown]"
"""How the preview prints a value only the cloud computes (`pulumi preview` prints `output<string>`)."""


def shown(value: Any) -> Any:
    """`value` with every unknown (the wire value `UNKNOWN`) replaced by `UNKNOWN_MARK`, for printing."""
    if isinstance(value, str):
        return UNKNOWN_MARK if value == UNKNOWN else value
    if isinstance(value, dict):
        return {key: shown(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [shown(item) for item in value]
    return value


def canonical_order(registrations: list[Registration]) -> list[Registration]:
    """`registrations` in a stable order that is still a registration order: every resource after its parent,
    its provider and everything it depends on; among the resources free to come next, the first by type, name
    and URN. The order a program registers in depends on when its asynchronous outputs resolve, which changes
    from run to run."""
    by_urn = {registration.urn: registration for registration in registrations}
    waiting_on: dict[str, set[str]] = {}
    unblocks: dict[str, list[str]] = {}
    for registration in registrations:
        before = {registration.parent, registration.provider.rsplit("::", 1)[0], *registration.dependencies}
        for urns in registration.property_dependencies.values():
            before.update(urns)
        before = {urn for urn in before if urn in by_urn and urn != registration.urn}
        waiting_on[registration.urn] = before
        for urn in before:
            unblocks.setdefault(urn, []).append(registration.urn)
    ready = [registration_sort_key(by_urn[urn]) for urn, before in waiting_on.items() if not before]
    heapq.heapify(ready)
    ordered: list[Registration] = []
    while ready:
        *_, urn = heapq.heappop(ready)
        ordered.append(by_urn[urn])
        for follower in unblocks.get(urn, []):
            waiting_on[follower].discard(urn)
            if not waiting_on[follower]:
                heapq.heappush(ready, registration_sort_key(by_urn[follower]))
    placed = {registration.urn for registration in ordered}
    # A cycle cannot be registered; should one appear, its members follow in sorted order rather than vanish.
    return ordered + sorted_registrations([r for r in registrations if r.urn not in placed])


def registration_sort_key(registration: Registration) -> tuple[str, str, str]:
    """The order every listing of registrations uses: by type, name and URN, never by the order the program's
    asynchronous outputs happened to resolve in (which changes from run to run)."""
    return registration.type, registration.name, registration.urn


def sorted_registrations(registrations: list[Registration]) -> list[Registration]:
    """`registrations` in a stable order (`registration_sort_key`): for the preview tree and graph, and for any
    list the policy check prints (e.g. the resources a provider renders)."""
    return sorted(registrations, key=registration_sort_key)


def default_provider_packages(registrations: list[Registration]) -> list[str]:
    """Packages whose default provider the engine creates: some custom resource of theirs names no provider.
    The same rule as the policy replay's (`policies.replay`), which sends those providers to the packs."""
    return sorted(
        {
            r.type.split(":", 1)[0]
            for r in registrations
            if r.custom and not r.provider and not r.type.startswith("pulumi:")
        }
    )


@dataclass(frozen=True)
class ResourceCount:
    """What a stack creates, counted as the engine counts it: the stack resource, every registration and the
    default providers the engine adds. `preview` prints `total`; `check` replays the same `total` resources."""

    stack: int
    components: int
    custom: int
    explicit_providers: int
    default_providers: int

    @property
    def total(self) -> int:
        return self.stack + self.components + self.custom + self.explicit_providers + self.default_providers

    def explained(self) -> str:
        """E.g. `1 stack, 20 components, 120 resources, 1 explicit provider, 2 default providers`."""

        def plural(count: int, noun: str) -> str:
            return f"{count} {noun}{'' if count == 1 else 's'}"

        return ", ".join(
            (
                plural(self.stack, "stack"),
                plural(self.components, "component"),
                plural(self.custom, "cloud/Kubernetes resource"),
                plural(self.explicit_providers, "explicit provider"),
                plural(self.default_providers, "default provider"),
            )
        )


def resource_count(registrations: list[Registration]) -> ResourceCount:
    """Count `registrations` as the engine does (see `ResourceCount`)."""
    providers = [r for r in registrations if r.type.startswith("pulumi:providers:")]
    stack = [r for r in registrations if r.type == "pulumi:pulumi:Stack"]
    components = [r for r in registrations if not r.custom and r.type != "pulumi:pulumi:Stack"]
    custom = [r for r in registrations if r.custom and not r.type.startswith("pulumi:providers:")]
    return ResourceCount(
        stack=len(stack),
        components=len(components),
        custom=len(custom),
        explicit_providers=len(providers),
        default_providers=len(default_provider_packages(registrations)),
    )


def run_program(build: Any) -> None:
    """Run `build()` as a Pulumi program under the installed mocks and wait until every registration is done."""
    _sync_await(pulumi.runtime.stack.run_pulumi_func(build))


def close_event_loops() -> None:
    """Stop the mock runtime's executor threads and close every event loop it opened, before the interpreter exits.

    Pulumi's mock monitor runs `_sync_await` on the default executor's threads, each of which opens an event loop
    nobody closes. Collected during shutdown, after their self-pipe sockets, they print "Exception ignored ...
    Invalid file descriptor" under a command's output. The calling thread gets a fresh loop (with a fresh
    executor), so a later synthesis in the same process still runs.
    """
    policy = asyncio.get_event_loop_policy()
    own = policy.get_event_loop()
    if own.is_running():
        return
    if not own.is_closed():
        own.run_until_complete(own.shutdown_default_executor())
        own.close()
    policy.set_event_loop(policy.new_event_loop())
    fresh = policy.get_event_loop()
    for candidate in gc.get_objects():
        if (
            isinstance(candidate, asyncio.AbstractEventLoop)
            and candidate is not fresh
            and not candidate.is_running()
            and not candidate.is_closed()
        ):
            candidate.close()
